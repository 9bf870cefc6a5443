"""``rag ask``: one question, a batch of them, or a follow-up in a conversation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_USAGE, INDEX_HELP, add_answer_options, say, settings_from

if TYPE_CHECKING:
    from ..answer.conversation import Exchange
    from ..types import Answer


def add(commands: argparse._SubParsersAction) -> None:
    from ..settings import CHOICES

    p = commands.add_parser(
        "ask",
        help="answer a question with citations",
        description="Answer from the indexed articles, citing paragraph and "
        "sentence, or say that the articles do not say.",
    )
    p.add_argument("question", nargs="?", help="the question (omit with --batch)")
    p.add_argument("--index", type=Path, help=INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--mode", choices=CHOICES["mode"], help="retrieval mode (default hybrid)")
    p.add_argument(
        "--doc",
        action="append",
        metavar="NAME",
        help="answer from this article only (its file or title; repeat for several)",
    )
    p.add_argument(
        "--batch",
        type=Path,
        metavar="QUESTIONS.jsonl",
        help='answer every line\'s "question"; other fields (e.g. id) are passed through',
    )
    p.add_argument("--out", type=Path, help="with --batch: write results here instead of stdout")
    p.add_argument(
        "--history",
        type=Path,
        metavar="CONVERSATION.jsonl",
        help="the conversation so far (earlier --json answers, one a line); a follow-up "
        'such as "Why?" is read with it, and this answer is appended to it',
    )
    add_answer_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..answer.assistant import Assistant

    if (args.question is None) == (args.batch is None):
        say("error: give a question, or --batch QUESTIONS.jsonl (not both)")
        return EXIT_USAGE
    assistant = Assistant(settings_from(args), notify=say)
    if args.batch:
        from ..answer.batch import run_batch

        return run_batch(assistant, args.batch, args.out, k=args.k, mode=args.mode)
    import json

    from ..answer.assistant import answer_to_dict

    history = read_history(args.history) if args.history else []
    answer = assistant.ask(args.question, k=args.k, mode=args.mode, history=history, docs=args.doc or ())
    if args.history:
        with open(args.history, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(answer_to_dict(answer), ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(answer_to_dict(answer), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return EXIT_OK


def read_history(path: Path) -> list[Exchange]:
    """Earlier answers of a conversation (JSONL; a missing file is a new conversation)."""
    import json

    from ..answer.conversation import exchanges
    from ..errors import QuestionError

    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return exchanges(json.loads(line) for line in lines if line.strip())
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise QuestionError(
            f"cannot read the conversation in {path} ({exc}). It must hold one "
            "JSON answer a line, as rag ask --json --history writes; delete it to "
            "start a new conversation"
        ) from None


def format_answer(answer: Answer) -> str:
    lines = [answer.text, ""]
    if answer.query:
        lines.insert(0, f"(read with the conversation: {answer.query})")
    if not answer.abstained:
        lines.insert(-1, f"(confidence {answer.confidence:.2f})")
    if answer.notice:
        lines.insert(0, f"({answer.notice})")
    if answer.dropped:
        lines += ["Removed (no passage supports them):"] + [f"- {s}" for s in answer.dropped] + [""]
    if answer.abstained:
        lines.append("Related passages (they do not answer the question):")
        for hit in answer.passages:
            snippet = hit.text if len(hit.text) <= 200 else hit.text[:197] + "..."
            lines.append(f"- {hit.title}, para. {hit.paragraph} ({hit.doc}): {snippet}")
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"[{c.n}] {c.title}, para. {c.paragraph} ({c.doc}, characters {c.start}-{c.end})")
        lines.append(f'    "{c.quote}"')
    return "\n".join(lines)
