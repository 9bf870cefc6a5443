"""Where the chunk vectors live: FAISS in this process (the default) or a Milvus collection.

Both implement ``VectorStore``, so the index, retrieval, answers, eval and the web chat do not
know which one holds the vectors.

``RAG_STORE`` picks one:

* ``faiss``: vectors in ``vectors.faiss`` inside the index folder (see ``ann.py``).
* ``milvus://HOST:PORT/COLLECTION``: a Milvus server or cluster (``milvus+https://`` for TLS),
  which then holds the whole index, rows and BM25 too (``milvus_index.py``): no index folder.
* ``PATH.db`` or ``PATH.db#COLLECTION``: milvus-lite, the Milvus engine embedded in this process;
  only the dense vectors go there, chunk rows, article texts and BM25 stay in the index folder.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import RagError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FAISS, MILVUS = "faiss", "milvus"
DEFAULT_COLLECTION = "rag_chunks"


class VectorStore(Protocol):
    """Chunk vectors under their 63-bit chunk ids; cosine similarity (vectors are normalised)."""

    kind: str  # FAISS or MILVUS
    layout: str  # "flat" or "ivf-fp16" (old: "ivf-sq8") for FAISS, "milvus" for Milvus
    dimension: int
    files: tuple[str, ...]  # what ``write`` puts into the index's data folder
    search_margin: int  # hits to ask for beyond k, as some may not be the index's chunks

    def add(self, ids: Collection[int], vectors: npt.NDArray[np.float32]) -> None:
        """Store ``vectors`` (float32, one row per id) under ``ids``, replacing any under the same id."""

    def remove(self, ids: Collection[int]) -> None:
        """Forget ``ids``. A store may defer this until ``commit`` (searches skip them meanwhile)."""

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (id, similarity) pairs nearest to ``vector``, best first."""

    def get(self, ids: Collection[int]) -> npt.NDArray[np.float32]:
        """The stored vectors of ``ids`` (all known), as a float32 array in the order given."""

    def count(self) -> int:
        """Vectors stored now."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records of the store, and what ``rag`` shows of it."""

    def check(self, chunks: int, sample: list[int], where: str, hint: str) -> None:
        """Raise IndexCorruptError unless there is a vector for each of ``chunks`` chunks (and for
        each chunk id of ``sample``, where the store can tell)."""

    def stale(self) -> bool:
        """Whether ``fit`` would change the structure (FAISS: exact vs approximate)."""

    def fit(self, ids: Collection[int]) -> None:
        """Bring the structure in line with the settings for these ``ids`` (all stored ones)."""

    def write(self, folder: Path) -> None:
        """Write ``files`` into a new data folder."""

    def commit(self) -> None:
        """Called once the manifest is written: apply what had to wait for it (deferred deletes)."""

    def owned_by(self, owner: str) -> bool:
        """Whether the index folder ``owner`` may change these vectors (not a copy's)."""


@dataclass(frozen=True)
class StoreSpec:
    """A parsed ``RAG_STORE``: the kind, and for Milvus the address and the collection name."""

    kind: str = FAISS
    uri: str = ""
    collection: str = ""

    @property
    def lite(self) -> bool:
        return self.kind == MILVUS and not self.uri.startswith(("http://", "https://"))

    def __str__(self) -> str:
        if self.kind == FAISS:
            return FAISS
        if self.lite:
            return f"{self.uri}#{self.collection}"
        scheme, rest = self.uri.split("://", 1)
        return f"{'milvus+https' if scheme == 'https' else 'milvus'}://{rest}/{self.collection}"


def parse_store(value: str, base: Path | None = None) -> StoreSpec:
    """``faiss``, ``milvus://HOST:PORT/COLLECTION`` or ``PATH.db[#COLLECTION]`` (relative paths
    are taken from ``base``, the current folder by default)."""
    text = (value or FAISS).strip()
    if text.lower() == FAISS:
        return StoreSpec()
    if text.startswith(("milvus://", "milvus+https://")):
        scheme, rest = text.split("://", 1)
        host, _, collection = rest.partition("/")
        if not host or not collection or "/" in collection:
            raise RagError(
                f"RAG_STORE={value!r} is not milvus://HOST:PORT/COLLECTION; "
                "give the server and a collection name, e.g. milvus://localhost:19530/articles"
            )
        if "@" in host:  # the address is shown in messages and kept in the manifest
            raise RagError(
                "RAG_STORE carries a user name or password (before '@'); the address is shown in "
                "messages, so keep credentials out of it: set RAG_MILVUS_TOKEN=user:password (or an "
                "API key) and RAG_STORE=milvus://HOST:PORT/COLLECTION"
            )
        http = "https" if scheme == "milvus+https" else "http"
        return StoreSpec(MILVUS, f"{http}://{host}", _collection_name(collection, value))
    path, _, collection = text.partition("#")
    if path.endswith(".db"):
        where = Path(path).expanduser()
        where = where if where.is_absolute() else (base or Path.cwd()) / where
        return StoreSpec(
            MILVUS, str(where.resolve()), _collection_name(collection or DEFAULT_COLLECTION, value)
        )
    raise RagError(
        f"RAG_STORE={value!r} is not a vector store this version knows; use faiss, "
        "milvus://HOST:PORT/COLLECTION, or a milvus-lite file such as index/vectors.db"
    )


def _collection_name(name: str, value: str) -> str:
    if not name or not (name[0].isalpha() or name[0] == "_") or not name.replace("_", "").isalnum():
        raise RagError(
            f"RAG_STORE={value!r}: Milvus collection names are letters, digits and "
            f"underscores, starting with a letter; {name!r} is not one"
        )
    return name


def store_label(info: dict) -> str:
    """Where the vectors are, in words, from a store's ``describe()``."""
    if info.get("kind") == MILVUS:
        return (
            f"vectors in Milvus collection {info.get('collection')} ({info.get('index_type') or 'index'}) "
            f"at {info.get('uri')}"
        )
    codec = {"ivf-fp16": "approximate, IVF-fp16", "ivf-sq8": "approximate, IVF-SQ8"}  # ann.IVF, ann.IVF_SQ8
    exact = codec.get(info.get("index_type") or "", "exact")
    return f"vectors in FAISS ({exact})"
