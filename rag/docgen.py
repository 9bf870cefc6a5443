"""Documentation generated from the code, so that it cannot drift: ``docs/settings.md``.

    python -m rag.docgen            # rewrite docs/settings.md from rag/settings.py
    python -m rag.docgen --check    # exit 1 if docs/settings.md is not what the code says

Each setting's description is the comment above its field in ``rag/settings.py``; its choices
and range are the ones ``Settings`` checks.
"""

from __future__ import annotations

import argparse
import inspect
import io
import sys
import tokenize
from dataclasses import MISSING, fields
from pathlib import Path

from .settings import CHOICES, FALSE, PROJECT_ROOT, RANGES, TRUE, USER_CACHE, Settings, env_name

SETTINGS_DOC = PROJECT_ROOT / "docs" / "settings.md"
HEADER = """# Settings

<!-- Generated from rag/settings.py by `python -m rag.docgen`; edit the comments there, not this
file. tests/test_settings.py fails when the two differ. -->

Every setting has a default in `rag/settings.py` (the `Settings` dataclass) and can be changed
with an environment variable `RAG_<NAME>`. They are read once, at start-up, by `rag` and by
`python app.py`, and checked there: a value of the wrong type, outside its choices or out of its
range stops the program with one line naming the variable, the value and what is allowed, and a
`RAG_*` variable that is no setting gets a warning naming the closest one. Booleans take
`true`/`false`, `1`/`0` or `yes`/`no`. From Python, `Settings(...)` checks the same way, and
`Settings.from_env()` reads the environment.

Changing the model or the chunking needs `rag index ... --rebuild`; the tool says so.

| variable | default | allowed | meaning |
|---|---|---|---|
"""


def field_comments() -> dict[str, str]:
    """The comment lines just above each field of ``Settings``, joined: the field's description."""
    source = inspect.getsource(Settings)
    comments: dict[str, str] = {}
    pending: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.start[1] == 4:
            pending.append(token.string.lstrip("#").strip())
        elif token.type == tokenize.NAME and token.start[1] == 4 and pending:
            comments[token.string] = " ".join(pending)
            pending = []
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT):
            if token.start[1] == 4:
                pending = []
    return comments


def _default(value: object, name: str) -> str:
    if isinstance(value, Path):
        if value.is_relative_to(PROJECT_ROOT):
            return f"`{value.relative_to(PROJECT_ROOT)}/`"
        if value.is_relative_to(USER_CACHE):  # the user's cache folder differs from machine to machine
            return f"`$XDG_CACHE_HOME/{value.relative_to(USER_CACHE)}` (or `~/.cache/...`)"
        return f"`{value}`"
    if value == "":
        return "(none)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _allowed(name: str, kind: object) -> str:
    if name in CHOICES:
        return ", ".join(f"`{c}`" for c in CHOICES[name])
    if kind is bool or kind == "bool":
        return ", ".join(f"`{t}`" for t in TRUE + FALSE)
    low, high = RANGES.get(name, (None, None))
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"{low} or more"
    if high is not None:
        return f"{high} or less"
    return "text" if str(kind) in ("str", "<class 'str'>") else "a path"


def settings_markdown() -> str:
    comments = field_comments()
    rows = []
    for f in fields(Settings):
        default = f.default if f.default is not MISSING else None
        meaning = comments.get(f.name, "").replace("|", "\\|")
        rows.append(
            f"| `{env_name(f.name)}` | {_default(default, f.name)} | {_allowed(f.name, f.type)} | {meaning} |"
        )
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.docgen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code")
    args = parser.parse_args(argv)
    text = settings_markdown()
    if args.check:
        current = SETTINGS_DOC.read_text(encoding="utf-8") if SETTINGS_DOC.exists() else ""
        if current != text:
            print(f"{SETTINGS_DOC} is out of date: run python -m rag.docgen", file=sys.stderr)
            return 1
        return 0
    SETTINGS_DOC.parent.mkdir(parents=True, exist_ok=True)
    SETTINGS_DOC.write_text(text, encoding="utf-8")
    print(f"wrote {SETTINGS_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
