"""A shipped model's JSON file read once, the same way for every learned part: its ``format``
checked, and any failure (missing, unreadable, another format, bad contents) told as a
``RagError`` that names the file and how to get a good one back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import RagError

T = TypeVar("T")


def read_model_file(
    path: Path, expected: str, parse: Callable[[dict[str, Any]], T], what: str, fix: str
) -> T:
    """``parse`` of the JSON in ``path`` once its ``format`` field is ``expected``; ``parse`` raises
    ``ValueError``, ``KeyError`` or ``TypeError`` on contents it cannot use. A failure becomes
    "``what`` ``path`` cannot be used (why). ``fix``"."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
        if data.get("format") != expected:
            raise ValueError(f"format {data.get('format')!r}, expected {expected!r}")
        return parse(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"{what} {path} cannot be used ({exc}). {fix}") from None
