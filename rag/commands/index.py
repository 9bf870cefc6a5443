"""``rag index``: build the index from a folder of articles, or bring it up to date."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_OK, INDEX_HELP, say, settings_from, warn

if TYPE_CHECKING:
    from ..types import IndexReport


def add(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "index",
        help="build or update the index from a folder of articles",
        description="Build the index, or update it: unchanged articles are "
        "not re-embedded, changed ones replaced, deleted ones removed.",
    )
    p.add_argument(
        "articles",
        nargs="?",
        type=Path,
        help="folder of .txt/.md/.html/.pdf articles (default: the bundled samples)",
    )
    p.add_argument("--index", type=Path, help=INDEX_HELP)
    p.add_argument("--rebuild", action="store_true", help="start over instead of updating")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--profile", action="store_true", help="print where the time went, stage by stage")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..store.indexer import update_index

    settings = settings_from(args)
    articles = args.articles or settings.articles_dir
    report = update_index(
        articles,
        settings,
        rebuild=args.rebuild,
        progress=False if args.quiet else None,
        notify=say,
    )
    for warning in report.warnings:
        warn(str(warning))
    print(format_report(report))
    if args.profile:
        print(format_profile(report))
    return EXIT_OK


def format_report(report: IndexReport) -> str:
    rate = f" ({report.chunks_per_second:.1f} chunks/s)" if report.embedded_chunks else ""
    failed = f", {report.failed} skipped with errors" if report.failed else ""
    return (
        f"Index {report.index_dir}: {report.articles} articles, {report.paragraphs} paragraphs, "
        f"{report.chunks} chunks{'; ' + report.store if report.store else ''}"
        f"{'; ' + report.encoder + ' encoder' if report.encoder else ''}.\n"
        f"This run: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged{failed}; embedded {report.embedded_chunks} chunks in "
        f"{report.embed_seconds:.1f} s{rate}; {report.seconds:.1f} s in all."
    )


def format_profile(report: IndexReport) -> str:
    """Seconds and share of the run per stage (rag index --profile)."""
    stages = list(report.stages)
    other = report.seconds - sum(seconds for _, seconds in stages)
    rows = [*sorted(stages, key=lambda s: -s[1]), ("other (scanning, bookkeeping)", max(other, 0.0))]
    width = max(len(name) for name, _ in rows)
    lines = [f"Where the {report.seconds:.1f} s went ({report.encoder or 'unknown'} encoder):"]
    lines += [
        f"  {name:<{width}}  {seconds:7.2f} s  {100 * seconds / max(report.seconds, 1e-9):5.1f}%"
        for name, seconds in rows
    ]
    return "\n".join(lines)
