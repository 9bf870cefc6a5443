"""The README's commands are the ones CI runs, so a newcomer's first two commands are tested."""

from __future__ import annotations

import re

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", quick, re.S)]


def test_readme_gives_two_commands_and_ci_runs_both_verbatim():
    commands = readme_commands()
    assert len(commands) == 2
    install, tests = commands
    assert "pip install torch==2.13.0" in install and "rag " in install
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert install in ci and tests in ci
    assert ci.index(install) < ci.index(tests)


def test_readme_is_one_page_and_its_docs_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "the README is a one-page overview; details go in docs/"
    for name in ("settings", "api", "architecture", "evaluation"):
        assert f"(docs/{name}.md)" in text and (ROOT / "docs" / f"{name}.md").exists()
