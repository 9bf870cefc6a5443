"""What one indexing pass has done so far: counts, warnings, and seconds per stage (``--profile``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..types import FileWarning


@dataclass
class Tally:
    """What the pass over the folder has done so far."""

    seen: set[str] = field(default_factory=set)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    embedded: int = 0
    embed_seconds: float = 0.0
    warnings: list[FileWarning] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage (rag index --profile)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - began
