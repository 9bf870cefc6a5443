"""``rag cite``: find the paragraph that supports a claim and print a reference to it."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_OK, INDEX_HELP, say, settings_from


def add(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "cite",
        help="find the source of a claim and print its citation",
        description="Find the paragraph that best supports CLAIM and print a "
        "reference to it, with the quoted sentence and a paragraph "
        "locator (para. N).",
    )
    p.add_argument("claim", help="the claim or quote to find a source for")
    p.add_argument(
        "--format",
        choices=("markdown", "apa", "bibtex", "csl-json"),
        default="markdown",
        help="citation format (default markdown)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=1,
        metavar="N",
        help="print up to N supporting paragraphs, best first (default 1)",
    )
    p.add_argument("--index", type=Path, help=INDEX_HELP)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..answer.assistant import Assistant
    from ..cite import csl_item, format_reference, reference, supporting_sources

    assistant = Assistant(settings_from(args), notify=say)
    sources = supporting_sources(assistant, args.claim, top=args.top)
    refs = [reference(s, assistant.index.articles.get(s.hit.article_id)) for s in sources]
    if args.format == "csl-json":
        print(json.dumps([csl_item(r) for r in refs], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(format_reference(r, args.format) for r in refs))
    for s in sources:
        exact = ", exact quote" if s.exact else ""
        say(f"# {s.hit.title}, para. {s.hit.paragraph} ({s.hit.doc}): support {s.support:.2f}{exact}")
    return EXIT_OK
