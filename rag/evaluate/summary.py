"""A run's numbers: retrieval (recall@k, MRR, nDCG), citation, answer and abstention metrics, and curves."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .metrics import QuestionResult

RETRIEVE_K = 10  # passages retrieved per question, for recall@10 and nDCG@10


# ---- metric functions ---------------------------------------------------------------------------
def recall_at(relevant: Sequence[bool], k: int) -> float:
    """1 if any of the first ``k`` passages is relevant."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    return next((1.0 / rank for rank, rel in enumerate(relevant, start=1) if rel), 0.0)


def ndcg_at(relevant: Sequence[bool], n_relevant: int, k: int) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts all ``n_relevant`` paragraphs first."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, as the value at or below it (no interpolation);
    0 for no values. The one percentile of the project: evaluation, tests and benchmarks use it."""
    if not values:
        return 0.0
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype="float64"), q * 100, method="lower"))


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def aggregate(results: Sequence[QuestionResult]) -> dict:
    """All metrics of a run; retrieval, citation and answer metrics are over answerable questions."""
    answerable = [r for r in results if not r.unanswerable]
    unanswerable = [r for r in results if r.unanswerable]
    n = max(len(answerable), 1)
    ranked = [[rel for _, _, rel in r.retrieved] for r in answerable]
    answered = [r for r in answerable if not r.abstained]
    cites = [c for r in answered for c in r.citations]
    true_abst = sum(r.abstained for r in unanswerable)
    false_abst = sum(r.abstained for r in answerable)
    precision = true_abst / (true_abst + false_abst) if true_abst + false_abst else 0.0
    recall = true_abst / len(unanswerable) if unanswerable else 0.0
    latencies = [r.latency_ms for r in results]
    metrics = {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall@1": sum(recall_at(r, 1) for r in ranked) / n,
        "recall@5": sum(recall_at(r, 5) for r in ranked) / n,
        "recall@10": sum(recall_at(r, 10) for r in ranked) / n,
        "mrr": sum(reciprocal_rank(r) for r in ranked) / n,
        "ndcg@10": sum(ndcg_at(rel, r.relevant_paragraphs, 10) for rel, r in zip(ranked, answerable)) / n,
        "citation_precision": sum(c[-1] for c in cites) / len(cites) if cites else 0.0,
        "citation_recall": sum(any(c[-1] for c in r.citations) for r in answered) / n,
        "top_citation_correct": sum(bool(r.citations) and r.citations[0][-1] for r in answered) / n,
        "answer_containment": sum(r.contains_answer for r in answerable) / n,
        "false_abstention_rate": false_abst / n,
        "latency_p50_ms": statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": percentile(latencies, 0.95),
    }
    if unanswerable:
        metrics.update(
            {
                "abstention_precision": precision,
                "abstention_recall": recall,
                "abstention_f1": f1(precision, recall),
            }
        )
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


CURVE_THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))


def abstention_curve(
    results: Sequence[QuestionResult], thresholds: Sequence[float] = CURVE_THRESHOLDS
) -> list[dict]:
    """What abstaining under each confidence threshold would give: abstention precision and
    recall (over unanswerable questions) and the false abstention rate (over answerable ones)."""
    unanswerable = [r for r in results if r.unanswerable]
    answerable = [r for r in results if not r.unanswerable]
    rows = []
    for t in thresholds:
        true_abst = sum(r.confidence < t for r in unanswerable)
        false_abst = sum(r.confidence < t for r in answerable)
        rows.append(
            {
                "threshold": t,
                "abstention_precision": round(true_abst / (true_abst + false_abst), 4)
                if true_abst + false_abst
                else 0.0,
                "abstention_recall": round(true_abst / len(unanswerable), 4) if unanswerable else 0.0,
                "false_abstention_rate": round(false_abst / len(answerable), 4) if answerable else 0.0,
            }
        )
    return rows


def recall_curve(results: Sequence[QuestionResult], k_max: int = RETRIEVE_K) -> list[float]:
    ranked = [[rel for _, _, rel in r.retrieved] for r in results if not r.unanswerable]
    return [sum(recall_at(r, k) for r in ranked) / max(len(ranked), 1) for k in range(1, k_max + 1)]


# ---- running ------------------------------------------------------------------------------------
