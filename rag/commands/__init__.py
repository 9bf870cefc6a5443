"""The ``rag`` commands, one module each: its options (``add``) and what it does (``run``).

``rag/cli.py`` builds the parser from them and turns errors into exit codes. Each module imports
only ``argparse`` at the top, so ``rag --help`` stays instant; the work is imported in ``run``.
"""

from . import ask, cite, evaluate, index, serve

COMMANDS = (index, ask, evaluate, cite, serve)  # in the order ``rag --help`` lists them

__all__ = ["COMMANDS"]
