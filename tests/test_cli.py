"""The ``rag`` command as a user runs it: real processes, real model, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES


def rag(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def test_help_imports_nothing_heavy():
    code = (
        "import sys, rag.cli\n"
        "try:\n    rag.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio', 'numpy', "
        "'langchain_text_splitters', 'bs4', 'pypdf') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
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


def test_bad_settings_stop_with_one_line_and_unknown_ones_are_named(tmp_path):
    ask = ("ask", "What have Ukraine and NATO begun doing together?", "--index", str(tmp_path / "none"))
    fusion = rag(*ask, env={"RAG_FUSION": "bogus"})
    assert fusion.returncode == 1 and fusion.stderr == "error: RAG_FUSION='bogus' is not one of: score, rrf\n"
    verify = rag(*ask, env={"RAG_VERIFY": "ture"})
    assert verify.returncode == 1 and verify.stderr.count("\n") == 1 and "Traceback" not in verify.stderr
    assert "error: RAG_VERIFY='ture' is not a boolean; use one of true, 1, yes, false, 0, no" in verify.stderr
    topk = rag(*ask, env={"RAG_TOPK": "3"})  # warned about, then the command goes on (to the missing index)
    assert topk.stderr.startswith(
        "warning: RAG_TOPK is not a setting and is ignored; did you mean RAG_TOP_K?\n"
    )
    assert "error: no index in" in topk.stderr


def test_corrupt_index_message_says_how_to_rebuild(tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    (index / "manifest.json").write_text("{broken")
    out = rag("index", str(SAMPLES), "--index", str(index))
    assert out.returncode == 1
    assert "manifest.json is damaged" in out.stderr and "--rebuild" in out.stderr


@pytest.fixture(scope="module")
def built_index(tmp_path_factory):
    index = tmp_path_factory.mktemp("cli") / "idx"
    assert rag("index", str(SAMPLES), "--index", str(index), "--quiet").returncode == 0
    return index


@pytest.mark.model
def test_ask_prints_answer_and_sources(built_index):
    out = rag("ask", "Why are joint exercises held with Ukrainian forces?", "--index", str(built_index))
    assert out.returncode == 0, out.stderr
    assert "interoperability" in out.stdout and "[1]" in out.stdout
    assert "Sources:" in out.stdout and "para. 7 (004_4f21d8328f07c64f.txt, characters" in out.stdout


@pytest.mark.model
def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(built_index):
    """As with ``rag ask ... | head -1``: the reader is gone before the answer is written."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "ask",
            "Why are joint exercises held?",
            "--index",
            str(built_index),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "error" not in err.lower(), err


@pytest.mark.model
def test_ask_json_matches_the_contract(built_index):
    out = rag(
        "ask",
        "What is the announcement said to signal?",
        "--index",
        str(built_index),
        "--json",
        "-k",
        "3",
        "--mode",
        "bm25",
    )
    data = json.loads(out.stdout)
    assert data["abstained"] is False and len(data["passages"]) == 3
    cite = data["citations"][0]
    text = (SAMPLES / cite["doc"]).read_text(encoding="utf-8")
    assert text[cite["start"] : cite["end"]] == cite["quote"] and "closer collaboration" in cite["quote"]


@pytest.mark.model
def test_ask_doc_answers_from_the_chosen_article_and_titles_untitled_ones(built_index):
    question = "What have Ukraine and NATO begun doing together?"
    out = rag("ask", question, "--index", str(built_index), "--json", "--doc", "004_4f21d8328f07c64f.txt")
    data = json.loads(out.stdout)
    assert {p["doc"] for p in data["passages"]} == {"004_4f21d8328f07c64f.txt"}
    assert all(c["doc"] == "004_4f21d8328f07c64f.txt" for c in data["citations"])
    out = rag(
        "ask",
        question,
        "--index",
        str(built_index),
        "--json",
        "--doc",
        "nato ukraine defense: a coalition meeting",
        "--doc",
        "000_b170d9b6d041f30c.txt",
    )
    data = json.loads(out.stdout)
    first = data["citations"][0]  # the untitled sample is named by its first sentence
    assert (first["doc"], first["title"]) == (
        "000_b170d9b6d041f30c.txt",
        "Ukraine and the North Atlantic Alliance have begun joint arms production",
    )
    assert {p["doc"] for p in data["passages"]} == {"000_b170d9b6d041f30c.txt", "004_4f21d8328f07c64f.txt"}
    missing = rag("ask", question, "--index", str(built_index), "--doc", "nope.txt")
    assert missing.returncode == 1 and "error: no article is named 'nope.txt'" in missing.stderr


@pytest.mark.model
def test_batch_answers_good_lines_and_reports_bad_ones(built_index, tmp_path):
    lines = [
        json.dumps({"id": "q1", "question": "What have Ukraine and NATO begun doing together?"}),
        "{not json",
        json.dumps({"id": "q3"}),
        "",
        json.dumps(
            {"id": "q5", "question": "What is the exchange rate of the hryvnia to the euro?", "extra": [1, 2]}
        ),
    ]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(lines) + "\n")
    results = tmp_path / "r.jsonl"
    out = rag("ask", "--batch", str(questions), "--out", str(results), "--index", str(built_index))
    assert out.returncode == 0, out.stderr
    assert f"{questions} line 2: not valid JSON" in out.stderr
    assert f'{questions} line 3: needs a "question" string' in out.stderr
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r.get("id") for r in rows] == ["q1", None, "q3", "q5"]
    assert "joint arms production" in rows[0]["answer"] and rows[0]["citations"]
    assert rows[1] == {
        "line": 2,
        "error": "not valid JSON (Expecting property name enclosed in double quotes)",
    }
    assert rows[3]["abstained"] is True and rows[3]["extra"] == [1, 2]
    assert "Answered 2 questions (1 abstained)" in out.stderr


def test_ask_without_an_index_says_to_run_rag_index(tmp_path):
    out = rag("ask", "anything?", "--index", str(tmp_path / "none"))
    assert out.returncode == 1
    assert f"no index in {tmp_path / 'none'} yet. Build it: rag index" in out.stderr


def test_ask_rejects_a_100kb_question_with_a_message(tmp_path):
    out = rag("ask", "q" * 100_000, "--index", str(tmp_path / "none"))
    assert out.returncode == 1 and "the limit is 2,000" in out.stderr
