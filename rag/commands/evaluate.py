"""``rag eval``: score a question set (retrieval, citations, answers, abstention, latency)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_QUALITY, INDEX_HELP, add_answer_options, say, settings_from, warn

if TYPE_CHECKING:
    from ..evaluate.metrics import EvalRun
    from ..settings import Settings


def add(commands: argparse._SubParsersAction) -> None:
    from ..settings import CHOICES

    p = commands.add_parser(
        "eval",
        help="score a question set: retrieval, citations, answers, abstention, latency",
        description="Ask every question of a JSONL set (format: evalsets/README.md) and report the metrics.",
    )
    p.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    p.add_argument(
        "--articles",
        type=Path,
        help="index these articles first (in a temporary folder, or in --index when given)",
    )
    p.add_argument("--index", type=Path, help=INDEX_HELP)
    p.add_argument("--mode", choices=CHOICES["mode"], default=None, help="retrieval mode (default hybrid)")
    p.add_argument("--compare", action="store_true", help="run dense, bm25 and hybrid side by side")
    p.add_argument(
        "--out", type=Path, help="write metrics.json, per_question.jsonl, report.md and charts here"
    )
    p.add_argument(
        "--sample", type=int, metavar="N", help="only N questions, evenly spaced (the same ones every run)"
    )
    p.add_argument(
        "--fail-under",
        nargs="+",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 3 when a metric (of --mode, default hybrid) is below VALUE",
    )
    add_answer_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import tempfile
    from contextlib import AbstractContextManager, nullcontext

    from ..evaluate.metrics import failures, parse_bounds

    bounds = parse_bounds(args.fail_under)  # refuse unknown names before any slow work
    scratch: AbstractContextManager[str | None] = (
        tempfile.TemporaryDirectory(prefix="rag-eval-")
        if args.articles and not args.index
        else nullcontext(None)
    )
    with scratch as tmp:
        settings = settings_from(args)
        if tmp:
            from ..store.factory import scratch_index

            with scratch_index(settings, Path(tmp) / "index") as settings:
                runs, data_errors, problems = evaluate(args, settings)
        else:
            runs, data_errors, problems = evaluate(args, settings)
    from ..evaluate.report import format_curve, format_table, write_outputs

    for problem in problems + data_errors:
        warn(str(problem))
    print(format_table(runs))
    if runs[-1].metrics.get("unanswerable"):
        print("\n" + format_curve(runs[-1]))
    if args.out:
        write_outputs(args.out, runs, data_errors, args.questions)
        print(f"Report: {args.out / 'report.md'} (with metrics.json, per_question.jsonl, charts)")
    primary = runs[-1]  # the main mode runs last
    failed = failures(primary.metrics, bounds)
    for failure in failed:
        say(f"FAIL ({primary.mode}): {failure}")
    return EXIT_QUALITY if failed else EXIT_OK


def evaluate(args: argparse.Namespace, settings: Settings) -> tuple[list[EvalRun], list, list]:
    """Index ``--articles`` if given, then run the question set in each mode asked for."""
    from dataclasses import replace
    from functools import partial

    from ..answer.assistant import Assistant
    from ..evaluate.metrics import load_questions, run_eval, sample
    from ..evaluate.summary import RETRIEVE_K
    from ..store.indexer import update_index
    from .index import format_report

    questions, problems = load_questions(args.questions)
    questions = sample(questions, args.sample)
    assistant = Assistant(settings, notify=say)
    if args.articles:
        report = update_index(args.articles, settings, embedder=assistant.embedder)
        say(format_report(report))
        assistant.use_index(report.index)  # the updated index, as it is in memory
    assistant.ask(questions[0].question)  # warm up (model, index, caches) outside the timings
    primary = args.mode or settings.mode
    modes = (
        [m for m in ("dense", "bm25", "hybrid") if m != primary] + [primary] if args.compare else [primary]
    )
    runs: list[EvalRun] = []
    data_errors: list[str] = []
    for mode in modes:
        run, data_errors = run_eval(
            partial(assistant.ask, k=RETRIEVE_K, mode=mode), questions, assistant.index, mode
        )
        if settings.answer_mode != "extractive":
            run = replace(
                run, mode=f"{mode}/{settings.answer_mode}{'' if settings.verify else '-unverified'}"
            )
        runs.append(run)
    return runs, data_errors, problems
