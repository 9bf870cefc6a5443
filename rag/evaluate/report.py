"""Evaluation results for people: a terminal table, and metrics.json, per_question.jsonl,
report.md and PNG charts in an output folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .metrics import HIGHER_IS_BETTER, EvalRun, QuestionResult
from .summary import abstention_curve, recall_curve

# The metrics of the terminal table, in this order: the ones to raise, then the ones to lower.
TABLE_ROWS = HIGHER_IS_BETTER + ("false_abstention_rate", "latency_p50_ms", "latency_p95_ms")


def format_table(runs: Sequence[EvalRun]) -> str:
    """Metrics as rows, modes as columns."""
    head = f"{'metric':24}" + "".join(f"{run.mode:>10}" for run in runs)
    lines = [head, "-" * len(head)]
    for name in TABLE_ROWS:
        if not any(name in run.metrics for run in runs):
            continue
        cells = "".join(f"{_cell(run.metrics.get(name)):>10}" for run in runs)
        lines.append(f"{name:24}{cells}")
    first = runs[0].metrics
    lines.append(
        f"({first['questions']} questions: {first['answerable']} answerable, "
        f"{first['unanswerable']} unanswerable)"
    )
    return "\n".join(lines)


def format_curve(run: EvalRun) -> str:
    """Abstention precision/recall if the assistant abstained under each confidence threshold."""
    lines = [
        f"Abstention by confidence threshold ({run.mode}):",
        f"{'threshold':>10}{'precision':>11}{'recall':>9}{'false abst.':>13}",
    ]
    for row in abstention_curve(run.results):
        lines.append(
            f"{row['threshold']:>10.1f}{row['abstention_precision']:>11.3f}"
            f"{row['abstention_recall']:>9.3f}{row['false_abstention_rate']:>13.3f}"
        )
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) and value > 1.5 else f"{value:.3f}"


def write_outputs(
    out: Path, runs: Sequence[EvalRun], data_errors: Sequence[str], questions_path: Path
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "questions_file": str(questions_path),
        "data_errors": list(data_errors),
        "modes": {run.mode: run.metrics for run in runs},
        "abstention_curve": {run.mode: abstention_curve(run.results) for run in runs},
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as rows:
        for run in runs:
            for result in run.results:
                rows.write(json.dumps({"mode": run.mode, **_row(result)}, ensure_ascii=False) + "\n")
    charts = _charts(out, runs)
    (out / "report.md").write_text(_markdown(runs, data_errors, questions_path, charts), encoding="utf-8")


def _row(result: QuestionResult) -> dict:
    row = asdict(result)
    row["retrieved"] = [{"doc": d, "paragraph": p, "relevant": r} for d, p, r in result.retrieved]
    row["citations"] = [
        {"doc": d, "paragraph": p, "start": s, "end": e, "correct": c} for d, p, s, e, c in result.citations
    ]
    row["first_relevant_rank"] = next(
        (i for i, (_, _, rel) in enumerate(result.retrieved, start=1) if rel), None
    )
    return row


def _charts(out: Path, runs: Sequence[EvalRun]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for run in runs:
        curve = recall_curve(run.results)
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=run.mode)
    ax.set(xlabel="k (passages)", ylabel="paragraph recall@k", title="Retrieval: recall@k by mode")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for run in runs:
        ax.hist([r.latency_ms for r in run.results], bins=30, alpha=0.5, label=run.mode)
    ax.set(xlabel="milliseconds per question", ylabel="questions", title="Latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return ["recall_at_k.png", "latency.png"]


def _markdown(
    runs: Sequence[EvalRun], data_errors: Sequence[str], questions_path: Path, charts: Sequence[str]
) -> str:
    lines = [
        f"# Evaluation of `{questions_path}`",
        "",
        "```",
        format_table(runs),
        "",
        format_curve(runs[-1]),
        "```",
        "",
    ]
    lines += [f"![{name}]({name})" for name in charts] + [""]
    if data_errors:
        lines += ["## Data errors (not scored)", ""] + [f"- {e}" for e in data_errors] + [""]
    for run in runs:
        missed = [r for r in run.results if not r.unanswerable and not any(x[-1] for x in r.retrieved[:5])]
        lines += [
            f"## {run.mode}: answerable questions with no gold paragraph in the top 5 ({len(missed)})",
            "",
        ]
        lines += [f"- {r.id}: {r.question}" for r in missed[:20]]
        lines += ["- ..." if len(missed) > 20 else "", ""]
    lines += ["Metric definitions: see docs/evaluation.md.", ""]
    return "\n".join(lines)
