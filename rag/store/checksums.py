"""Checksums of a generation's files: in full for small files, sampled blocks for large ones.

The manifest records, for each file, its SHA-256, its size and the SHA-256 of ``SAMPLES`` blocks
of ``BLOCK`` bytes spread over it (first and last included). Opening checks files up to
``Settings.verify_max_mb`` in full and larger ones by size and sampled blocks, so opening a large
index reads a bounded number of bytes; a damaged page elsewhere is reported by SQLite when read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError
from ..hashing import file_sha256

BLOCK = 4096
SAMPLES = 64


def sampled(path: Path) -> str:
    """SHA-256 of ``SAMPLES`` blocks at fixed fractions of the file, and of its size."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    last = max(0, size - BLOCK)
    with open(path, "rb") as handle:
        for n in range(SAMPLES):
            handle.seek(last * n // (SAMPLES - 1))
            digest.update(handle.read(BLOCK))
    return digest.hexdigest()


def record(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The manifest's ``checksums``, ``sizes`` and ``samples`` for ``names`` in ``folder``."""
    return {
        "checksums": {n: file_sha256(folder / n) for n in names},
        "sizes": {n: (folder / n).stat().st_size for n in names},
        "samples": {n: sampled(folder / n) for n in names},
    }


def verify(folder: Path, name: str, manifest: dict, full_limit: int, hint: str) -> None:
    """Raise IndexCorruptError if ``folder/name`` is missing or differs from the manifest."""
    path = folder / name
    if not path.exists():
        raise IndexCorruptError(f"{path} is missing. {hint}")
    size = path.stat().st_size
    expected = manifest.get("sizes", {}).get(name)
    if size > full_limit and expected is not None:
        same = size == expected and sampled(path) == manifest.get("samples", {}).get(name)
    else:
        same = file_sha256(path) == manifest["checksums"].get(name)
    if not same:
        raise IndexCorruptError(
            f"{path} does not match its checksum in the manifest (damaged or edited). {hint}"
        )
