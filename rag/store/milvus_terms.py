"""The BM25 document frequencies of one generation held by a Milvus server (``C_terms_G``).

The reader weighs each word of a question by its rarity, so every question looks up the
frequencies of its words: one request by key here (about a millisecond), where a
``TEXT_MATCH`` count on the chunks took about 100 ms a word on milvus-lite. A writer collects the
changes in memory (+1 per chunk holding a term, -1 per removed one) and applies them before a
lookup, when they grow past ``PENDING_TERMS`` terms, and before the save.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import milvus_layout as layout

if TYPE_CHECKING:
    from pymilvus import MilvusClient

BATCH = 1000  # keys per read or write
PENDING_TERMS = 100_000  # changes kept in memory before they are applied


class TermCounts:
    """term -> chunks holding it, in the collection ``name``; ``call(what, method, ...)`` runs a
    request and tells a failure as a store error."""

    def __init__(self, client: MilvusClient, name: str, call: Callable[..., Any]) -> None:
        self.client = client
        self.name = name
        self._call = call
        self.pending: Counter[str] = Counter()

    def create(self) -> None:
        self._call("create", layout.create_terms, self.client, self.name)

    def get(self, terms: Iterable[str]) -> dict[str, int]:
        """The frequency of each of ``terms`` (0 for one no chunk holds)."""
        self.apply()
        wanted = list(dict.fromkeys(t for t in terms if 0 < len(t.encode()) <= layout.TERM_BYTES))
        found: dict[str, int] = {}
        for begin in range(0, len(wanted), BATCH):
            keys = wanted[begin : begin + BATCH]
            rows = self._call("read", self.client.get, self.name, ids=keys, output_fields=["df"])
            found.update((r["key"], int(r["df"])) for r in rows)
        return found

    def count(self, chunk_terms: Iterable[str], sign: int) -> None:
        """Count the terms of one chunk (its ``terms`` field) in (+1) or out (-1)."""
        for term in set(chunk_terms):
            self.pending[term] += sign
        if len(self.pending) > PENDING_TERMS:
            self.apply()

    def apply(self) -> None:
        """Write the pending changes: read each changed term's row, add, write back (or delete)."""
        changes = {t: n for t, n in self.pending.items() if n and 0 < len(t.encode()) <= layout.TERM_BYTES}
        self.pending.clear()
        keys = list(changes)
        for begin in range(0, len(keys), BATCH):
            batch = keys[begin : begin + BATCH]
            rows = self._call("read", self.client.get, self.name, ids=batch, output_fields=["df"])
            now = {r["key"]: int(r["df"]) + changes[r["key"]] for r in rows}
            now.update((t, changes[t]) for t in batch if t not in now)
            keep = [{"key": t, "df": n, "unused": [0.0, 0.0]} for t, n in now.items() if n > 0]
            gone = [t for t, n in now.items() if n <= 0]
            if keep:
                self._call("write to", self.client.upsert, self.name, keep)
            if gone:
                self._call("delete from", self.client.delete, self.name, ids=gone)

    def copy_from(self, rows: Iterable[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({"key": row["key"], "df": row["df"], "unused": [0.0, 0.0]})
            if len(batch) >= BATCH:
                self._call("write to", self.client.insert, self.name, batch)
                batch = []
        if batch:
            self._call("write to", self.client.insert, self.name, batch)
