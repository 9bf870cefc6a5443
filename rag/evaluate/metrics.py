"""Question sets in, metrics out: retrieval, citations, answers, abstention and latency.

A question set is JSONL (see evalsets/README.md): ``id``, ``question``, ``gold`` (a list of
``{"doc", "quote"}``, each quote found in its article by exact substring search),
``answer_any`` and, for questions the articles do not answer, ``unanswerable: true``.

A retrieved passage or a citation is correct when its character span overlaps the span of a
gold quote in the same article. The definitions follow ``evalsets``' independent scorer so
that both agree on the same run; every metric is defined in docs/evaluation.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RagError
from ..store.index import Index
from ..types import Answer
from .summary import aggregate

HIGHER_IS_BETTER = (
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr",
    "ndcg@10",
    "citation_precision",
    "citation_recall",
    "top_citation_correct",
    "answer_containment",
    "abstention_precision",
    "abstention_recall",
    "abstention_f1",
)
LOWER_IS_BETTER = ("latency_p50_ms", "latency_p95_ms", "false_abstention_rate")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold: tuple[tuple[str, str], ...]  # (doc, quote)
    answer_any: tuple[str, ...]
    unanswerable: bool
    line: int


@dataclass(frozen=True)
class QuestionResult:
    """How one answer scored; kept for per_question.jsonl."""

    id: str
    question: str
    unanswerable: bool
    abstained: bool
    answer: str
    retrieved: tuple[tuple[str, int, bool], ...]  # (doc, paragraph, relevant) in rank order
    relevant_paragraphs: int  # gold paragraphs in the index (for nDCG's ideal ranking)
    citations: tuple[tuple[str, int, int, int, bool], ...]  # (doc, paragraph, start, end, correct)
    contains_answer: bool
    latency_ms: float
    confidence: float = 0.0  # the answer's calibrated confidence (abstentions have one too)


@dataclass(frozen=True, kw_only=True)
class EvalRun:
    mode: str
    results: tuple[QuestionResult, ...]
    metrics: dict = field(default_factory=dict)


# ---- reading question sets --------------------------------------------------------------------
def load_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    """The questions of a set, and one message per malformed line (with its number)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"cannot read question set {path} ({exc}). Check the path") from None
    questions, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line), number))
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"{path} line {number}: {_describe(exc)}")
    if not questions:
        raise RagError(f"{path} holds no valid questions. See evalsets/README.md for the format")
    return questions, problems


def _describe(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg})"
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return str(exc)


def _question(row: dict, number: int) -> EvalQuestion:
    if not isinstance(row, dict):
        raise TypeError("a line must be a JSON object")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise ValueError('"question" must be a non-empty string')
    gold = tuple((str(g["doc"]), str(g["quote"])) for g in row.get("gold", []))
    unanswerable = bool(row.get("unanswerable", False))
    if not gold and not unanswerable:
        raise ValueError('an answerable question needs "gold" quotes (or "unanswerable": true)')
    return EvalQuestion(
        str(row.get("id", f"line-{number}")),
        row["question"],
        gold,
        tuple(str(a) for a in row.get("answer_any", [])),
        unanswerable,
        number,
    )


def gold_spans(question: EvalQuestion, index: Index) -> list[tuple[str, int, int]]:
    """(doc, start, end) of each gold quote; raises ValueError naming a quote not found."""
    spans = []
    for doc, quote in question.gold:
        article = index.article_by_doc(doc)
        if article is None:
            raise ValueError(
                f"question {question.id} (line {question.line}): gold article {doc!r} is not in the index"
            )
        at = article.text.find(quote)
        if at < 0 or not quote:
            raise ValueError(
                f"question {question.id} (line {question.line}): gold quote {quote[:60]!r} is not in {doc}"
            )
        spans.append((doc, at, at + len(quote)))
    return spans


# ---- scoring one answer -------------------------------------------------------------------------
def overlaps(doc: str, start: int, end: int, spans: Iterable[tuple[str, int, int]]) -> bool:
    return any(doc == d and start < e and end > s for d, s, e in spans)


def normalize(text: str) -> str:
    """Lower case, no articles, no punctuation, single spaces (SQuAD's answer normalisation)."""
    text = re.sub(r"\b(a|an|the)\b", " ", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def contains_answer(answer: str, answer_any: Sequence[str]) -> bool:
    said = normalize(answer)
    return any(normalize(a) and normalize(a) in said for a in answer_any)


def relevant_paragraph_count(index: Index, spans: list[tuple[str, int, int]]) -> int:
    count = 0
    for doc in {d for d, _, _ in spans}:
        article = index.article_by_doc(doc)
        if article is None:  # a gold span in an article the index lacks (reported elsewhere)
            continue
        count += sum(overlaps(doc, p.start, p.end, spans) for p in article.paragraphs)
    return count


def score_answer(
    question: EvalQuestion, answer: Answer, spans: list[tuple[str, int, int]], index: Index
) -> QuestionResult:
    retrieved = tuple((h.doc, h.paragraph, overlaps(h.doc, h.start, h.end, spans)) for h in answer.passages)
    citations = tuple(
        (c.doc, c.paragraph, c.start, c.end, overlaps(c.doc, c.start, c.end, spans)) for c in answer.citations
    )
    return QuestionResult(
        id=question.id,
        question=question.question,
        unanswerable=question.unanswerable,
        abstained=answer.abstained,
        answer=answer.text,
        retrieved=retrieved,
        relevant_paragraphs=relevant_paragraph_count(index, spans) if spans else 0,
        citations=citations,
        contains_answer=not answer.abstained and contains_answer(answer.text, question.answer_any),
        latency_ms=float(answer.timings_ms.get("total", 0.0)),
        confidence=float(answer.confidence),
    )


def run_eval(
    ask: Callable[[str], Answer],
    questions: Sequence[EvalQuestion],
    index: Index,
    mode: str,
    progress: bool | None = None,
) -> tuple[EvalRun, list[str]]:
    """Ask every question (in ``mode``), score the answers; questions with bad gold data are
    reported as data errors and not scored."""
    from tqdm import tqdm

    results, data_errors = [], []
    for question in tqdm(
        questions, desc=f"Evaluating {mode}", unit="q", disable=None if progress is None else not progress
    ):
        try:
            spans = gold_spans(question, index)
        except ValueError as exc:
            data_errors.append(str(exc))
            continue
        results.append(score_answer(question, ask(question.question), spans, index))
    return EvalRun(mode=mode, results=tuple(results), metrics=aggregate(results)), data_errors


def parse_bounds(specs: Sequence[str]) -> dict[str, float]:
    """``METRIC=VALUE`` pairs for --fail-under; unknown metric names are refused."""
    bounds = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or name not in HIGHER_IS_BETTER:
            raise RagError(
                f"--fail-under {spec!r}: use METRIC=VALUE with METRIC one of {', '.join(HIGHER_IS_BETTER)}"
            )
        try:
            bounds[name] = float(value)
        except ValueError:
            raise RagError(f"--fail-under {spec!r}: {value!r} is not a number") from None
    return bounds


def failures(metrics: dict, bounds: dict[str, float]) -> list[str]:
    return [
        f"{name} = {metrics.get(name, 0.0):.4f} is under {bound}"
        for name, bound in bounds.items()
        if metrics.get(name, 0.0) < bound
    ]


def sample(questions: list[EvalQuestion], size: int | None) -> list[EvalQuestion]:
    """``size`` questions evenly spaced through the set: the same ones on every run."""
    if not size or size >= len(questions):
        return questions
    step = len(questions) / size
    return [questions[int(i * step)] for i in range(size)]
