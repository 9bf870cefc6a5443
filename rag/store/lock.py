"""One writer at a time per index folder, and the cleanup of what a killed writer left."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import IndexWriteError

LOCK_FILE = ".lock"  # held by the one writer; holds its pid


@contextmanager
def writer_lock(index_dir: Path, notify: Callable[[str], None]) -> Iterator[None]:
    """One writer at a time per index folder; readers never wait. A writer that must wait says so
    at once, naming the process it waits for (its pid is kept in the lock file)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = open(index_dir / LOCK_FILE, "a+")
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write to the index folder {index_dir} ({exc.strerror or exc}). "
            "Check that it is writable, or give another one with --index"
        ) from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify(f"waiting for another indexing run ({_holder(lock)}) to finish with {index_dir}...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lock.truncate(0)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _holder(lock: IO[str]) -> str:
    lock.seek(0)
    pid = lock.read().strip()
    return f"pid {pid}" if pid.isdigit() else "another process"


def remove_unfinished_saves(index_dir: Path) -> None:
    """Delete what a killed writer left half-written: temporary data folders, and temporary files
    (``.manifest.json.<pid>.tmp``) of writers that are gone. Only call it holding the writer
    lock: then no other save is in progress, so every temporary folder is a leftover."""
    import shutil

    for leftover in index_dir.glob(".tmp-data-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in index_dir.glob(".*.tmp"):
        pid = leftover.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
