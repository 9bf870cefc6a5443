"""What the commands share: exit codes, settings from the environment and flags, messages."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_QUALITY = 0, 1, 2, 3
INDEX_HELP = "index folder (default: index/ or RAG_INDEX_DIR)"


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so --json output stays clean)."""
    print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    say(f"warning: {message}")


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """The ``RAG_*`` settings, checked, with the command's flags on top; unknown ``RAG_*``
    variables are warned about."""
    from ..settings import Settings

    flags: dict[str, Any] = {
        "index_dir": getattr(args, "index", None),
        "answer_mode": getattr(args, "answer_mode", None),
        "verify": False if getattr(args, "no_verify", False) else None,
        **overrides,
    }
    return Settings.from_env(warn=warn, **flags)


def add_answer_options(p: argparse.ArgumentParser) -> None:
    from ..settings import CHOICES

    p.add_argument(
        "--answer-mode",
        choices=CHOICES["answer_mode"],
        help="extractive quotes (default) or an LLM answer whose sentences are verified "
        "(needs RAG_LLM, see docs/answers.md)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="with --answer-mode llm: keep unverified sentences (to measure verification)",
    )
