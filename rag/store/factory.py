"""One factory for the vector store an index uses: FAISS in this process or a Milvus collection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from . import ann, vectorstore
from .lock import writer_lock

if TYPE_CHECKING:
    from .faiss_vectors import FaissVectors
    from .milvus_vectors import MilvusVectors


def new_store(settings: Settings, dimension: int, index_dir: Path) -> FaissVectors | MilvusVectors:
    """An empty vector store of the kind ``settings.store`` names."""
    spec = store_spec(settings)
    if spec.kind == vectorstore.FAISS:
        return faiss_store(dimension, settings)
    from .milvus_vectors import MilvusVectors

    return MilvusVectors.create(
        spec,
        dimension,
        owner=str(index_dir.resolve()),
        index_type=settings.milvus_index,
        token=settings.milvus_token,
    )


def store_spec(settings: Settings) -> vectorstore.StoreSpec:
    return vectorstore.parse_store(settings.store)


def holds_everything(settings: Settings) -> bool:
    """Whether the store holds the whole index (a Milvus server), not only its vectors."""
    spec = store_spec(settings)
    return spec.kind == vectorstore.MILVUS and not spec.lite


@contextmanager
def scratch_index(settings: Settings, folder: Path) -> Iterator[Settings]:
    """Settings for a throw-away index (``rag eval --articles``): in ``folder``, or, when a Milvus
    server holds the index, under a collection name of its own that is dropped afterwards (the
    index that serves is never touched)."""
    import os
    from dataclasses import replace

    if not holds_everything(settings):
        yield settings.with_(index_dir=folder)
        return
    from .milvus_generations import drop_index
    from .milvus_vectors import client_for

    spec = store_spec(settings)
    spec = replace(spec, collection=f"{spec.collection}_scratch{os.getpid()}")
    try:
        yield settings.with_(index_dir=folder, store=str(spec))
    finally:
        drop_index(client_for(spec, settings.milvus_token), spec)


@contextmanager
def writer_lock_for(settings: Settings, notify: Callable[[str], None]) -> Iterator[None]:
    """One writer at a time: the index folder's lock file, or a Milvus server's lock row."""
    if not holds_everything(settings):
        with writer_lock(settings.index_dir, notify):
            yield
        return
    from .milvus_lock import state_lock
    from .milvus_vectors import client_for

    spec = store_spec(settings)
    with state_lock(client_for(spec, settings.milvus_token), spec):
        yield


def faiss_store(dimension: int, settings: Settings) -> FaissVectors:
    from .faiss_vectors import FaissVectors

    return FaissVectors.empty(dimension, policy_of(settings))


def policy_of(settings: Settings) -> ann.Policy:
    return ann.Policy(settings.index_type, settings.ann_threshold, settings.ann_nprobe)


def chunking_of(settings: Settings) -> dict[str, Any]:
    return {"chunk_chars": settings.chunk_chars, "chunk_overlap": settings.chunk_overlap}
