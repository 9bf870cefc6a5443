"""Open an index folder: check the manifest and each file against it; open the rows and the vectors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError, IndexMismatchError
from ..settings import Settings
from . import checksums, vectorstore
from .factory import policy_of, store_spec
from .folder import FORMAT_VERSION, MANIFEST, ROW_FILES, read_manifest, rebuild_hint
from .rows import FILE as ROWS
from .rows import RowStore

if TYPE_CHECKING:
    from .faiss_vectors import FaissVectors
    from .index import Index
    from .milvus_vectors import MilvusVectors


def check_compatible(manifest: dict, index_dir: Path, settings: Settings) -> None:
    check_manifest(
        manifest,
        settings,
        place=str(index_dir),
        manifest_file=str(index_dir / MANIFEST),
        hint=rebuild_hint(index_dir),
        required=("data", "dimension", "checksums", "counts"),
    )


def check_manifest(
    manifest: dict, settings: Settings, place: str, manifest_file: str, hint: str, required: tuple[str, ...]
) -> None:
    """Refuse an index this version cannot read, or one built with another model or encoder than
    ``settings`` name, wherever its manifest is kept (an index folder, a Milvus server)."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{manifest_file} has index format {manifest.get('format')!r}; this version reads format "
            f"{FORMAT_VERSION}. {hint}"
        )
    if manifest.get("model") != settings.model:
        raise IndexMismatchError(
            f"the index in {place} was built with embedding model {manifest.get('model')!r}, "
            f"but the model set now is {settings.model!r}. Set RAG_MODEL={manifest.get('model')} "
            f"to use that index, or build a new one. {hint}"
        )
    built = encoder_of(manifest)
    if settings.encoder not in ("auto", built) and not (settings.encoder == "torch" and built == "fp32"):
        raise IndexMismatchError(
            f"the index in {place} was built with the {built} encoder, but RAG_ENCODER is "
            f"{settings.encoder!r}; questions must be embedded like the articles were. Unset "
            f"RAG_ENCODER (or set it to {built}) to use that index, or rebuild it with this "
            f"encoder. {hint}"
        )
    for key in required:
        if key not in manifest:
            raise IndexCorruptError(f"{manifest_file} lacks {key!r}. {hint}")


def encoder_of(manifest: dict) -> str:
    """The embedding variant an index was built with; indexes made before int8 existed are fp32."""
    return str(manifest.get("encoder", "fp32"))


def load_index(index_dir: Path, settings: Settings) -> Index:
    """Open the committed generation: the manifest, a check of each file, the vectors; the rows
    stay on disk (``rows.py``), so this reads a bounded number of bytes besides the vectors."""
    manifest = read_manifest(index_dir)
    check_compatible(manifest, index_dir, settings)
    store = manifest.get("store", {"kind": vectorstore.FAISS})
    spec = _check_store(store, index_dir, settings)
    data = index_dir / str(manifest["data"])
    hint = rebuild_hint(index_dir)
    for name in ROW_FILES + _store_class(store.get("kind")).files:
        checksums.verify(data, name, manifest, int(settings.verify_max_mb * 1024 * 1024), hint)
    try:
        rows = RowStore.open(data / ROWS, hint)
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(f"{data / ROWS} cannot be read ({exc}). {hint}") from None
    vectors = _open_vectors(store, spec, data, manifest, settings, index_dir)
    _check_vectors(vectors, rows, manifest, index_dir, data)
    from .index import Index

    return Index(
        manifest["model"],
        manifest["dimension"],
        manifest.get("chunking", {}),
        vectors,
        rows,
        manifest,
        workdir=index_dir,
        encoder=encoder_of(manifest),
    )


def _check_store(store: dict, index_dir: Path, settings: Settings) -> vectorstore.StoreSpec:
    """The store the settings name, refused if the index keeps its vectors elsewhere."""
    spec = store_spec(settings)
    kind = store.get("kind")
    kept = vectorstore.FAISS if kind == vectorstore.FAISS else f"Milvus collection {store.get('base')!r}"
    if kind != spec.kind or (kind == vectorstore.MILVUS and store.get("base") != spec.collection):
        raise IndexMismatchError(
            f"the index in {index_dir} keeps its vectors in {kept}, but RAG_STORE is {settings.store!r}. "
            f"Set RAG_STORE to the store it was built with, or build it again for this one. "
            f"{rebuild_hint(index_dir)}"
        )
    return spec


def _store_class(kind: str) -> type[FaissVectors] | type[MilvusVectors]:
    if kind == vectorstore.FAISS:
        from .faiss_vectors import FaissVectors

        return FaissVectors
    from .milvus_vectors import MilvusVectors

    return MilvusVectors


def _open_vectors(
    store: dict[str, Any],
    spec: vectorstore.StoreSpec,
    data: Path,
    manifest: dict[str, Any],
    settings: Settings,
    index_dir: Path,
) -> FaissVectors | MilvusVectors:
    if store.get("kind") == vectorstore.FAISS:
        from .faiss_vectors import FaissVectors

        return FaissVectors.read(
            data, policy_of(settings), manifest.get("ann", {}), settings.ann_nprobe, rebuild_hint(index_dir)
        )
    from .milvus_vectors import MilvusVectors

    return MilvusVectors.open(
        spec, store["collection"], manifest["dimension"], rebuild_hint(index_dir), token=settings.milvus_token
    )


def _check_vectors(
    vectors: FaissVectors | MilvusVectors, rows: RowStore, manifest: dict, index_dir: Path, data: Path
) -> None:
    if vectors.dimension != manifest["dimension"]:
        raise IndexCorruptError(
            f"{data} holds vectors of dimension {vectors.dimension}, the manifest says "
            f"{manifest['dimension']}. {rebuild_hint(index_dir)}"
        )
    count = rows.count("chunks")
    if count != manifest["counts"].get("chunks"):
        raise IndexCorruptError(
            f"{data / ROWS} holds {count} chunks, the manifest says {manifest['counts'].get('chunks')}. "
            f"{rebuild_hint(index_dir)}"
        )
    vectors.check(count, rows.sample_chunk_ids(64), str(data), rebuild_hint(index_dir))
