"""Chunk vectors in a Milvus collection of milvus-lite in this process (``RAG_STORE=PATH.db``);
for a server, which holds the whole index, see ``milvus_index.py`` (it reuses the search here).

The index folder keeps what it always keeps (manifest, article and chunk rows, BM25); the vectors
go to the collection the manifest names. Each build gets a collection of its own,
``<COLLECTION>_<generation>``, so ``rag index --rebuild`` fills a new one while the committed one
keeps serving, and drops the old one only after the new manifest is in place. Updates change the
committed collection in two steps: new vectors are upserted before the manifest is written, the
vectors of removed chunks are deleted after it (searches skip them meanwhile), so a crash at any
point leaves every vector the committed manifest needs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError, IndexWriteError, StoreUnavailableError
from .milvus_calls import call_on, first_line
from .vectorstore import MILVUS, StoreSpec

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt
    from pymilvus import MilvusClient

ID, VECTOR = "id", "vector"
WRITE_ROWS = 2000  # rows per insert or delete call (a request stays well under gRPC's 64 MB)
_clients: dict[str, MilvusClient] = {}  # one client per address and process (milvus-lite allows one)
_lock = threading.Lock()


def client_for(spec: StoreSpec, token: str = "") -> MilvusClient:
    """The process's client for ``spec.uri``, opened on first use."""
    from pymilvus import MilvusClient

    with _lock:
        if spec.uri not in _clients:
            # pymilvus logs each failed call with tracebacks; our errors say what failed and what to do
            logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
            lite_log = logging.getLogger("milvus_lite")
            level = lite_log.level
            lite_log.setLevel(logging.CRITICAL)  # it logs a traceback for what our error says below
            try:
                _clients[spec.uri] = MilvusClient(uri=spec.uri, token=token, timeout=30)
            except Exception as exc:  # pymilvus raises MilvusException and plain gRPC errors
                check = (
                    "that no other program has this milvus-lite file open"
                    if spec.lite
                    else "that the Milvus server is running and reachable from here (and RAG_MILVUS_TOKEN "
                    "if it asks for one)"
                )
                raise StoreUnavailableError(
                    f"cannot open the Milvus store {spec} ({first_line(exc)}). Check {check}, then try again"
                ) from None
            finally:
                lite_log.setLevel(level)
        return _clients[spec.uri]


class MilvusVectors:
    kind = MILVUS
    layout = MILVUS
    files = ()  # nothing in the index's data folder: the collection holds the vectors
    search_margin = 10  # extra hits to ask for, in case vectors an interrupted update left come first

    def __init__(
        self, client: MilvusClient, spec: StoreSpec, collection: str, dimension: int, index_type: str
    ) -> None:
        self.client = client
        self.spec = spec
        self.collection = collection
        self.dimension = dimension
        self.index_type = index_type
        self.pending: set[int] = set()  # removed, deleted from the collection at the next commit

    # ---- opening --------------------------------------------------------------------------
    @classmethod
    def create(
        cls, spec: StoreSpec, dimension: int, owner: str, index_type: str = "FLAT", token: str = ""
    ) -> MilvusVectors:
        """A new, empty collection ``<spec.collection>_<generation>`` for the index at ``owner``."""
        from pymilvus import DataType

        client = client_for(spec, token)
        name = f"{_prefix(spec, owner)}{time.time_ns()}"
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dimension)
        params = client.prepare_index_params()
        params.add_index(field_name=VECTOR, index_type=index_type, metric_type="IP")
        try:
            client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        except Exception as exc:
            raise IndexWriteError(
                f"cannot create the Milvus collection {name} in {spec} "
                f"({first_line(exc)}); the previous index is unchanged"
            ) from None
        return cls(client, spec, name, dimension, index_type)

    @classmethod
    def open(
        cls, spec: StoreSpec, collection: str, dimension: int, hint: str, token: str = ""
    ) -> MilvusVectors:
        client = client_for(spec, token)
        if not call_on(spec, collection, "look for", client.has_collection, collection):
            raise IndexCorruptError(
                f"the Milvus collection {collection} that the index needs is not in {spec}. {hint}"
            )
        info = call_on(spec, collection, "describe", client.describe_collection, collection)
        field: dict[str, Any] = next((f for f in info.get("fields", []) if f.get("name") == VECTOR), {})
        found = int(field.get("params", {}).get("dim", 0))
        if found != dimension:
            raise IndexCorruptError(
                f"the Milvus collection {collection} in {spec} holds vectors of "
                f"dimension {found}, the index {dimension}. {hint}"
            )
        call_on(spec, collection, "load", client.load_collection, collection)
        return cls(client, spec, collection, dimension, _index_type(client, collection))

    # ---- VectorStore ----------------------------------------------------------------------
    def add(self, ids: Collection[int], vectors: npt.NDArray[np.float32]) -> None:
        rows = [{ID: int(i), VECTOR: v} for i, v in zip(ids, vectors.tolist())]
        for begin in range(0, len(rows), WRITE_ROWS):
            self._call(
                "store vectors in", self.client.upsert, self.collection, rows[begin : begin + WRITE_ROWS]
            )
        self.pending.difference_update(int(i) for i in ids)

    def remove(self, ids: Collection[int]) -> None:
        self.pending.update(int(i) for i in ids)

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        limit = min(k + len(self.pending), 16_384)  # Milvus caps limit at 16,384
        found = self._call(
            "search",
            self.client.search,
            self.collection,
            data=[list(map(float, vector))],
            limit=limit,
            anns_field=VECTOR,
            search_params={"metric_type": "IP"},
            output_fields=[ID],
        )  # not the vectors, which would come back by default
        hits = [(int(h["id"]), float(h["distance"])) for h in found[0]]
        return [(i, s) for i, s in hits if i not in self.pending][:k]

    def get(self, ids: Collection[int]) -> npt.NDArray[np.float32]:
        import numpy as np

        wanted = [int(i) for i in ids]
        found: dict[int, list[float]] = {}
        for begin in range(0, len(wanted), WRITE_ROWS):
            rows = self._call(
                "read vectors from",
                self.client.get,
                self.collection,
                ids=wanted[begin : begin + WRITE_ROWS],
                output_fields=[VECTOR],
            )
            found.update((int(r[ID]), r[VECTOR]) for r in rows)
        missing = next((i for i in wanted if i not in found), None)
        if missing is not None:
            raise KeyError(missing)
        return np.array([found[i] for i in wanted], dtype="float32").reshape(len(wanted), self.dimension)

    def count(self) -> int:
        rows = self._call(
            "count the vectors in", self.client.query, self.collection, filter="", output_fields=["count(*)"]
        )
        return int(rows[0]["count(*)"]) - len(self.pending)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": MILVUS,
            "uri": self.spec.uri,
            "base": self.spec.collection,
            "collection": self.collection,
            "index_type": self.index_type,
            "vectors": self.count(),
        }

    def check(self, chunks: int, sample: list[int], where: str, hint: str) -> None:
        """A vector for every chunk: at least as many vectors (an interrupted update may have left
        more), and those of a sample of chunks present."""
        count = self.count()
        if count < chunks:
            raise IndexCorruptError(
                f"the Milvus collection {self.collection} holds {count} vectors for {chunks} chunks. {hint}"
            )
        try:
            self.get(sample)
        except KeyError as exc:
            raise IndexCorruptError(
                f"the Milvus collection {self.collection} lacks the vector of chunk {exc.args[0]}. {hint}"
            ) from None

    # Milvus builds and maintains its own index structures: nothing to convert, nothing to write.
    def stale(self) -> bool:
        return False

    def fit(self, ids: Collection[int]) -> None:
        pass

    def write(self, folder: Path) -> None:
        pass

    def commit(self) -> None:
        """After the manifest is written: delete removed vectors, then drop the other collections
        of this index folder (their names share this one's prefix): the one a rebuild replaced
        and any left by builds that never committed. A copied folder's collection belongs to the
        original and is never dropped."""
        ids = sorted(self.pending)
        for begin in range(0, len(ids), WRITE_ROWS):
            self._call(
                "delete vectors from",
                self.client.delete,
                self.collection,
                ids=ids[begin : begin + WRITE_ROWS],
            )
        self.pending.clear()
        # Seal what this save wrote: Milvus searches sealed segments far faster than fresh rows.
        self._call("flush", self.client.flush, self.collection)
        prefix = self.collection[: self.collection.rindex("_") + 1]
        for name in self._call("list the collections of", self.client.list_collections):
            if name != self.collection and name.startswith(prefix):
                self._call("drop an old collection beside", self.client.drop_collection, name)

    def owned_by(self, owner: str) -> bool:
        """True if the index folder ``owner`` made this collection (not a copy of that folder)."""
        return self.collection.startswith(_prefix(self.spec, owner))

    # ---- helpers --------------------------------------------------------------------------
    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return call_on(self.spec, self.collection, what, method, *args, **kwargs)


def _index_type(client: MilvusClient, collection: str) -> str:
    try:
        names = client.list_indexes(collection)
        return client.describe_index(collection, names[0]).get("index_type", "") if names else ""
    except Exception:
        return ""


def _prefix(spec: StoreSpec, owner: str) -> str:
    """``<COLLECTION>_<hash of the index folder>_``: the builds of one index folder share it, so
    two index folders can use one collection name without dropping each other's vectors."""
    import hashlib

    return f"{spec.collection}_{hashlib.blake2b(owner.encode(), digest_size=4).hexdigest()}_"
