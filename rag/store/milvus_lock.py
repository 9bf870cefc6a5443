"""One writer at a time per index held by a Milvus server: a lock row in ``C_state``.

Milvus has no conditional write, so taking the lock is: read the row; if another live writer
holds it, refuse (naming it); else write ours, wait ``SETTLE`` seconds and read it back: of two
writers that raced, the one whose row was written last finds its own and goes on, the other
refuses. While it writes, the holder renews the row every ``BEAT`` seconds; a row not renewed
for ``STALE`` seconds, or held by a process of this machine that is gone, is free to take.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import IndexWriteError
from . import milvus_layout as layout
from .lock import _alive
from .milvus_vectors import _call

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from .vectorstore import StoreSpec

KEY = "lock"
BEAT, STALE, SETTLE = 10.0, 60.0, 0.5  # seconds


@contextmanager
def state_lock(client: MilvusClient, spec: StoreSpec) -> Iterator[None]:
    """Hold the writer lock of ``spec``'s index, or raise IndexWriteError naming its holder."""
    name = layout.state_name(spec.collection)
    if not _call(spec, name, "look for", client.has_collection, name):
        _call(spec, name, "create", layout.create_pieces, client, name)
    mine: dict[str, Any] = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
    _refuse_if_held(client, spec, name, _read(client, spec, name))
    _write(client, spec, name, mine)
    time.sleep(SETTLE)
    _refuse_if_held(client, spec, name, _read(client, spec, name), mine["owner"])
    stop = threading.Event()
    beat = threading.Thread(target=_renew, args=(client, spec, name, mine, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        if (_read(client, spec, name) or {}).get("owner") == mine["owner"]:
            _call(spec, name, "unlock", client.delete, name, ids=[KEY])


def holder(lock: dict[str, Any] | None, owner: str = "") -> dict[str, Any] | None:
    """The live writer ``lock`` names, if it is not ``owner``."""
    if not lock or lock.get("owner") == owner:
        return None
    if time.time() - float(lock.get("beat", 0)) > STALE:
        return None
    if lock.get("host") == socket.gethostname() and not _alive(int(lock.get("pid", 0))):
        return None
    return lock


def _refuse_if_held(
    client: MilvusClient, spec: StoreSpec, name: str, lock: dict[str, Any] | None, owner: str = ""
) -> None:
    other = holder(lock, owner)
    if other is not None:
        since = time.strftime("%H:%M:%S", time.localtime(float(other.get("since", 0))))
        raise IndexWriteError(
            f"another indexing run (pid {other.get('pid')} on {other.get('host')}, since {since}) is "
            f"writing the index {spec}; nothing was changed. Run again once it has finished (a run "
            f"that was killed frees the lock within {int(STALE)} s)"
        )


def _read(client: MilvusClient, spec: StoreSpec, name: str) -> dict[str, Any] | None:
    rows = _call(spec, name, "read the lock of", client.get, name, ids=[KEY], output_fields=["body"])
    return json.loads(rows[0]["body"]) if rows else None


def _write(client: MilvusClient, spec: StoreSpec, name: str, mine: dict[str, Any]) -> None:
    mine.setdefault("since", time.time())
    body = json.dumps({**mine, "beat": time.time()})
    _call(spec, name, "lock", client.upsert, name, [layout.piece_row(KEY, KEY, 0, body) | {"key": KEY}])


def _renew(
    client: MilvusClient, spec: StoreSpec, name: str, mine: dict[str, Any], stop: threading.Event
) -> None:
    while not stop.wait(BEAT):
        try:
            _write(client, spec, name, mine)
        except Exception:  # a missed beat only shortens the time before others may take over
            continue
