"""``rag`` on the command line; the only place that turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import RagError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Cited answers from a folder of articles: every claim points to "
                                "the paragraph and sentence it came from.")
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_index(commands)
    return parser


def _add_index(commands) -> None:
    p = commands.add_parser("index", help="build or update the index from a folder of articles",
                            description="Build the index, or update it: unchanged articles are "
                                        "not re-embedded, changed ones replaced, deleted ones removed.")
    p.add_argument("articles", nargs="?", type=Path,
                   help="folder of .txt/.md/.html/.pdf articles (default: the bundled samples)")
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="start over instead of updating")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_index)


def _settings(args):
    from .config import Settings

    return Settings.from_env(index_dir=getattr(args, "index", None))


def _run_index(args) -> int:
    from .indexer import update_index

    settings = _settings(args)
    articles = args.articles or settings.articles_dir
    report = update_index(articles, settings, rebuild=args.rebuild,
                          progress=False if args.quiet else None)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(format_report(report))
    return EXIT_OK


def format_report(report) -> str:
    rate = f" ({report.chunks_per_second:.1f} chunks/s)" if report.embedded_chunks else ""
    failed = f", {report.failed} skipped with errors" if report.failed else ""
    return (
        f"Index {report.index_dir}: {report.articles} articles, {report.paragraphs} paragraphs, "
        f"{report.chunks} chunks.\n"
        f"This run: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged{failed}; embedded {report.embedded_chunks} chunks in "
        f"{report.embed_seconds:.1f} s{rate}; {report.seconds:.1f} s in all."
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged unless a save had finished", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
