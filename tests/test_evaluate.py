"""Evaluation: metric functions by hand, bad question sets, and an end-to-end run with the real model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from conftest import EVALSETS, ROOT, SAMPLES, STORES, store_setting

from rag.errors import RagError
from rag.evaluate.metrics import (
    QuestionResult,
    contains_answer,
    load_questions,
    parse_bounds,
    sample,
)
from rag.evaluate.summary import aggregate, f1, ndcg_at, recall_at, reciprocal_rank


def result(unanswerable=False, abstained=False, retrieved=(), cites=(), contains=False, latency=10.0):
    return QuestionResult(
        "q",
        "?",
        unanswerable,
        abstained,
        "",
        tuple(("d", i, r) for i, r in enumerate(retrieved)),
        1,
        tuple(("d", 1, 0, 1, c) for c in cites),
        contains,
        latency,
    )


def test_rank_metrics_by_hand():
    ranks = [False, True, False, True]
    assert recall_at(ranks, 1) == 0 and recall_at(ranks, 2) == 1
    assert reciprocal_rank(ranks) == 0.5 and reciprocal_rank([False] * 3) == 0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg_at(ranks, 2, 10) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert ndcg_at([True], 1, 10) == 1.0 and ndcg_at([False], 0, 10) == 0.0
    assert f1(0.5, 1.0) == pytest.approx(2 / 3) and f1(0, 0) == 0


def test_answer_containment_normalises_like_squad():
    assert contains_answer("They began THE joint-arms production.", ["joint arms production"])
    assert contains_answer("In 1934, Mutual filed.", ["nothing", "1934"])
    assert not contains_answer("Arms were produced.", ["arms production", ""])


def test_aggregate_by_hand():
    results = [
        result(retrieved=[True, False], cites=[True, False], contains=True, latency=10),
        result(retrieved=[False, False, True], cites=[False], latency=20),
        result(abstained=True, retrieved=[False], latency=30),  # answerable but abstained
        result(unanswerable=True, abstained=True, latency=40),
        result(unanswerable=True, abstained=False, latency=50),
    ]
    m = aggregate(results)
    assert (m["answerable"], m["unanswerable"]) == (3, 2)
    third = pytest.approx(1 / 3, abs=1e-4)  # metrics are rounded to 4 places
    assert m["recall@1"] == third and m["recall@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)  # ranks 1 and 3, then none
    assert m["citation_precision"] == third  # 1 of 3 citations, abstained excluded
    assert m["citation_recall"] == third and m["top_citation_correct"] == third
    assert m["answer_containment"] == third
    assert m["abstention_precision"] == 0.5 and m["abstention_recall"] == 0.5
    assert m["abstention_f1"] == 0.5 and m["false_abstention_rate"] == third
    assert m["latency_p50_ms"] == 30 and m["latency_p95_ms"] == 40


def test_malformed_lines_are_reported_with_numbers(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "ok", "question": "Why?", "gold": [{"doc": "a.txt", "quote": "x"}]}),
                "{oops",
                json.dumps({"id": "nogold", "question": "Who?"}),
                json.dumps({"id": "u", "question": "When?", "gold": [], "unanswerable": True}),
                json.dumps(["not", "an", "object"]),
                json.dumps({"id": "empty", "question": " "}),
            ]
        )
        + "\n"
    )
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["ok", "u"]
    assert problems == [
        f"{path} line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        f'{path} line 3: an answerable question needs "gold" quotes (or "unanswerable": true)',
        f"{path} line 5: a line must be a JSON object",
        f'{path} line 6: "question" must be a non-empty string',
    ]
    with pytest.raises(RagError, match="no valid questions"):
        (tmp_path / "bad.jsonl").write_text("{}\n")
        load_questions(tmp_path / "bad.jsonl")


def test_unknown_metric_in_fail_under_is_rejected():
    assert parse_bounds(["recall@5=0.9", "answer_containment=0.7"]) == {
        "recall@5": 0.9,
        "answer_containment": 0.7,
    }
    with pytest.raises(RagError, match="METRIC one of recall@1"):
        parse_bounds(["recal@5=0.9"])
    with pytest.raises(RagError, match="not a number"):
        parse_bounds(["recall@5=high"])


def test_sample_is_evenly_spaced_and_stable():
    items = list(range(100))
    assert sample(items, 4) == [0, 25, 50, 75] and sample(items, None) == items


def rag(*args, store: str = "faiss"):
    env = {**os.environ, "RAG_STORE": store}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=env,
    )


@pytest.mark.model
@pytest.mark.parametrize("store", STORES)
def test_eval_end_to_end_on_the_seed_set_agrees_with_the_independent_scorer(tmp_path, store):
    store = store_setting(store, tmp_path / "vectors.db")
    out = tmp_path / "report"
    questions = tmp_path / "seed.jsonl"
    lines = (EVALSETS / "seed_dev.jsonl").read_text().splitlines()
    bad_gold = json.dumps(
        {
            "id": "x1",
            "question": "Where is it?",
            "gold": [{"doc": "000_b170d9b6d041f30c.txt", "quote": "not in the article"}],
        }
    )
    questions.write_text("\n".join(lines + ["{broken", bad_gold]) + "\n")
    index = tmp_path / "idx"
    run = rag(
        "eval",
        str(questions),
        "--articles",
        str(SAMPLES),
        "--index",
        str(index),
        "--compare",
        "--out",
        str(out),
        "--fail-under",
        "recall@5=0.9",
        store=store,
    )
    assert run.returncode == 0, run.stderr
    assert f"{questions} line 13: not valid JSON" in run.stderr
    assert (
        "question x1 (line 14): gold quote 'not in the article' is not in 000_b170d9b6d041f30c.txt"
        in run.stderr
    )
    assert "recall@5" in run.stdout and "hybrid" in run.stdout and "bm25" in run.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    hybrid = metrics["modes"]["hybrid"]
    assert hybrid["questions"] == 12 and hybrid["recall@5"] >= 0.9
    assert set(metrics["modes"]) == {"dense", "bm25", "hybrid"} and len(metrics["data_errors"]) == 1
    rows = [json.loads(r) for r in (out / "per_question.jsonl").read_text().splitlines()]
    assert len(rows) == 36 and {"retrieved", "citations", "contains_answer", "first_relevant_rank"} <= set(
        rows[0]
    )
    assert (out / "recall_at_k.png").read_bytes()[:4] == b"\x89PNG"
    assert "![recall_at_k.png](recall_at_k.png)" in (out / "report.md").read_text()

    # the independent scorer, on `rag ask --batch` output of the same questions, agrees
    results = tmp_path / "results.jsonl"
    rag(
        "ask",
        "--batch",
        str(EVALSETS / "seed_dev.jsonl"),
        "--out",
        str(results),
        "--index",
        str(index),
        store=store,
    )
    scored = subprocess.run(
        [
            sys.executable,
            str(EVALSETS / "score.py"),
            str(EVALSETS / "seed_dev.jsonl"),
            str(results),
            str(SAMPLES),
        ],
        capture_output=True,
        text=True,
    )
    independent = json.loads(scored.stdout)
    assert independent["bad_offsets"] == 0
    for theirs, ours in [
        ("passage_recall@1", "recall@1"),
        ("passage_recall@5", "recall@5"),
        ("citation_recall", "citation_recall"),
        ("citation_precision", "citation_precision"),
        ("top_citation_correct", "top_citation_correct"),
        ("answer_containment", "answer_containment"),
        ("abstention_recall", "abstention_recall"),
        ("abstention_precision", "abstention_precision"),
    ]:
        assert independent[theirs] == pytest.approx(hybrid[ours], abs=1e-3), theirs


@pytest.mark.model
def test_fail_under_exits_non_zero_when_a_bound_is_missed(tmp_path):
    run = rag(
        "eval",
        str(EVALSETS / "seed_dev.jsonl"),
        "--articles",
        str(SAMPLES),
        "--fail-under",
        "recall@5=0.99",
        "citation_precision=0.99",
    )
    assert run.returncode == 3
    assert "FAIL (hybrid): citation_precision" in run.stderr
    bad = rag("eval", str(EVALSETS / "seed_dev.jsonl"), "--fail-under", "speed=1")
    assert bad.returncode == 1 and "METRIC one of" in bad.stderr
