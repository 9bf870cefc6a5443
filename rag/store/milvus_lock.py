"""One writer at a time per index held by a Milvus server: an alias on ``C_state``, and a row.

The lock itself is an alias, ``C_writer_N`` on the collection ``C_state``: Milvus refuses to
create an alias that exists, so of two writers that try at once exactly one gets it (a real
compare-and-set; the row alone could only be written and read back). ``N`` counts takeovers:
a writer takes the lock of a run that is gone by creating ``C_writer_N+1``, so of two that take
over at once, again only one succeeds, and the older aliases are dropped.

The row ``lock`` in ``C_state`` says who holds it (owner, pid, host, since) and when it was last
renewed: the holder renews it every ``BEAT`` seconds. A writer first writes its row as an
intention, then creates the alias; one that loses takes its row back out. The lock of a holder
whose row was not renewed for ``STALE`` seconds, or that is a process of this machine that is
gone, is free to take over; while a live row names someone else, a writer is refused, naming it.
An alias with no row is a holder writing its row this moment: refused too (a row saying so is
written, so that a holder that died just then frees the lock after ``STALE`` seconds).
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
from .milvus_calls import call_on, collection_in, first_line, unavailable

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from .vectorstore import StoreSpec

KEY = "lock"
BEAT, STALE = 10.0, 60.0  # seconds
_HELD: dict[tuple[str, str], int] = {}  # (server, index) -> the epoch of the lock this process holds


@contextmanager
def state_lock(client: MilvusClient, spec: StoreSpec) -> Iterator[None]:
    """Hold the writer lock of ``spec``'s index, or raise IndexWriteError naming its holder."""
    name = layout.state_name(spec.collection)
    _ensure_state(client, spec, name)
    held = epochs(client, spec, name)
    if held:  # a live holder refuses us; a gone one is taken over with the next epoch
        lock = _read(client, spec, name)
        if lock is None:  # its holder is writing its row this moment (or died doing so)
            _write(client, spec, name, {"owner": "unknown", "host": "unknown", "pid": 0})
            raise IndexWriteError(
                f"another indexing run is taking the lock of the index {spec}; nothing was changed. "
                f"Run again once it has finished (the lock of a run that died doing so is free in "
                f"{int(STALE)} s)"
            )
        _refuse_if_held(spec, lock)
    epoch = (held[-1] if held else 0) + 1
    mine: dict[str, Any] = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
    mine["epoch"] = epoch
    _write(client, spec, name, mine)  # the intention, so that others wait while we try
    if not _take(client, spec, name, epoch):
        lock = _read(client, spec, name)
        if (lock or {}).get("owner") == mine["owner"]:
            call_on(spec, name, "unlock", client.delete, name, ids=[KEY])
        _refuse_if_held(spec, lock, mine["owner"])
        raise IndexWriteError(
            f"another indexing run took the lock of the index {spec} a moment ago; nothing was "
            "changed. Run again once it has finished"
        )
    for old in held:
        call_on(spec, name, "drop an old lock of", client.drop_alias, alias_name(name, old))
    _write(client, spec, name, mine)
    _HELD[(spec.uri, spec.collection)] = epoch
    stop = threading.Event()
    beat = threading.Thread(target=_renew, args=(client, spec, name, mine, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        _HELD.pop((spec.uri, spec.collection), None)
        stop.set()
        beat.join()
        call_on(spec, name, "unlock", client.drop_alias, alias_name(name, epoch))  # free from here on
        if (_read(client, spec, name) or {}).get("owner") == mine["owner"]:
            call_on(spec, name, "unlock", client.delete, name, ids=[KEY])


def _ensure_state(client: MilvusClient, spec: StoreSpec, name: str) -> None:
    """Create ``C_state`` unless it exists; of writers creating it at once, the losers use the
    winner's (the server refuses them, or fails on the folder the winner is making)."""
    if call_on(spec, name, "look for", client.has_collection, name):
        return
    try:
        layout.create_pieces(client, name)
    except Exception as exc:  # pymilvus raises MilvusException and plain gRPC errors
        for _ in range(50):
            if call_on(spec, name, "look for", client.has_collection, name):
                return
            time.sleep(0.1)
        raise unavailable(collection_in(spec, name), "create", exc) from None


def check_still_held(client: MilvusClient, spec: StoreSpec) -> None:
    """Before a commit: refuse if the lock this process holds on ``spec`` was taken over meanwhile
    (a run frozen past ``STALE`` seconds looks gone to others), so its late commit cannot undo
    theirs. Nothing to check where this process holds no lock on it."""
    epoch = _HELD.get((spec.uri, spec.collection))
    if epoch is not None and epochs(client, spec, layout.state_name(spec.collection))[-1:] != [epoch]:
        raise IndexWriteError(
            f"another indexing run took over the lock of the index {spec} while this one was "
            f"writing (it was not renewed for {int(STALE)} s); nothing was committed and the index "
            "serves as before. Run again once the other run has finished"
        )


def alias_name(state: str, epoch: int) -> str:
    """The alias that is the lock at ``epoch``: ``C_state`` becomes ``C_writer_N``."""
    return f"{state.removesuffix('_state')}_writer_{epoch}"


def epochs(client: MilvusClient, spec: StoreSpec, name: str) -> list[int]:
    """The epochs of the lock aliases on ``name`` (``C_state``), lowest first; none: the lock is free."""
    prefix = alias_name(name, 0)[:-1]
    found = call_on(spec, name, "look for the lock of", client.list_aliases, collection_name=name)
    return sorted(
        int(a.removeprefix(prefix))
        for a in found.get("aliases", [])
        if a.startswith(prefix) and a.removeprefix(prefix).isdigit()
    )


def _take(client: MilvusClient, spec: StoreSpec, name: str, epoch: int) -> bool:
    """Create the lock alias of ``epoch``: True if we did, False if another writer had just done so."""
    try:
        client.create_alias(name, alias_name(name, epoch))
    except Exception as exc:  # pymilvus raises MilvusException and plain gRPC errors
        if "exist" in first_line(exc).lower():
            return False
        raise unavailable(collection_in(spec, name), "lock", exc) from None
    return True


def holder(lock: dict[str, Any] | None, owner: str = "") -> dict[str, Any] | None:
    """The live writer ``lock`` names, if it is not ``owner``."""
    if not lock or lock.get("owner") == owner:
        return None
    if time.time() - float(lock.get("beat", 0)) > STALE:
        return None
    if lock.get("host") == socket.gethostname() and not _alive(int(lock.get("pid", 0))):
        return None
    return lock


def _refuse_if_held(spec: StoreSpec, lock: dict[str, Any] | None, owner: str = "") -> None:
    other = holder(lock, owner)
    if other is not None:
        since = time.strftime("%H:%M:%S", time.localtime(float(other.get("since", 0))))
        raise IndexWriteError(
            f"another indexing run (pid {other.get('pid')} on {other.get('host')}, since {since}) is "
            f"writing the index {spec}; nothing was changed. Run again once it has finished (a run "
            f"that was killed frees the lock within {int(STALE)} s)"
        )


def _read(client: MilvusClient, spec: StoreSpec, name: str) -> dict[str, Any] | None:
    rows = call_on(spec, name, "read the lock of", client.get, name, ids=[KEY], output_fields=["body"])
    return json.loads(rows[0]["body"]) if rows else None


def _write(client: MilvusClient, spec: StoreSpec, name: str, mine: dict[str, Any]) -> None:
    mine.setdefault("since", time.time())
    body = json.dumps({**mine, "beat": time.time()})
    call_on(spec, name, "lock", client.upsert, name, [layout.piece_row(KEY, KEY, 0, body) | {"key": KEY}])


def _renew(
    client: MilvusClient, spec: StoreSpec, name: str, mine: dict[str, Any], stop: threading.Event
) -> None:
    while not stop.wait(BEAT):
        try:
            _write(client, spec, name, mine)
        except Exception:  # a missed beat only shortens the time before others may take over
            continue
