"""The ``rag`` command as a user runs it: real processes, real model, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES


def rag(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, **(env or {})}, timeout=600)


def test_help_imports_nothing_heavy():
    code = ("import sys, rag.cli\n"
            "try:\n    rag.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio', 'numpy', "
            "'langchain_text_splitters', 'bs4', 'pypdf') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "index" in out.stdout and "HEAVY []" in out.stdout


@pytest.mark.model
def test_index_command_prints_a_summary_and_updates(tmp_path):
    index = tmp_path / "idx"
    first = rag("index", str(SAMPLES), "--index", str(index))
    assert first.returncode == 0, first.stderr
    assert "2 articles, 18 paragraphs" in first.stdout and "2 added" in first.stdout
    assert "chunks/s" in first.stdout
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["counts"]["articles"] == 2
    second = rag("index", str(SAMPLES), "--index", str(index))
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in second.stdout


@pytest.mark.model
def test_index_command_warns_about_a_bad_file_and_goes_on(tmp_path):
    folder = tmp_path / "arts"
    folder.mkdir()
    (folder / "ok.txt").write_text("Glaciers carve valleys over thousands of years.\n")
    (folder / "bad.txt").write_bytes(b"\x00\x00\x00")
    out = rag("index", str(folder), "--index", str(tmp_path / "idx"), "--quiet")
    assert out.returncode == 0
    assert f"warning: {folder / 'bad.txt'}: looks like a binary file" in out.stderr
    assert "1 added" in out.stdout and "1 skipped with errors" in out.stdout


def test_errors_name_the_object_and_exit_non_zero(tmp_path):
    missing = rag("index", str(tmp_path / "nowhere"), "--index", str(tmp_path / "idx"))
    assert missing.returncode == 1
    assert f"error: articles folder {tmp_path / 'nowhere'} does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_env = rag("index", str(SAMPLES), env={"RAG_BATCH_SIZE": "many"})
    assert bad_env.returncode == 1 and "RAG_BATCH_SIZE='many' is not a valid int" in bad_env.stderr


def test_corrupt_index_message_says_how_to_rebuild(tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    (index / "manifest.json").write_text("{broken")
    out = rag("index", str(SAMPLES), "--index", str(index))
    assert out.returncode == 1
    assert "manifest.json is damaged" in out.stderr and "--rebuild" in out.stderr
