"""``rag`` on the command line; the only place that turns errors into messages and exit codes.

The commands themselves live in ``rag/commands/``, one module each.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .commands.common import EXIT_ERROR, EXIT_OK, EXIT_QUALITY, EXIT_USAGE
from .errors import RagError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_QUALITY", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from .commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="rag",
        description="Cited answers from a folder of articles: every claim points to "
        "the paragraph and sentence it came from.",
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except RagError as exc:  # a bad setting, article, index or question: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into something that stopped reading (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except OSError as exc:  # the computer said no (read-only folder, full disk...): say what and where
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: {exc.strerror or exc}{where}. Check that the folder is writable and has free "
            "space, then run the command again",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged unless a save had finished", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
