"""Open an index folder: check the manifest and every file against its checksum, then read the rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import IndexCorruptError, IndexMismatchError
from ..settings import Settings
from ..types import Article, Chunk, Paragraph
from . import lexical, sentence_vectors, vectorstore
from .factory import policy_of, store_spec
from .folder import FORMAT_VERSION, MANIFEST, ROW_FILES, _sha256, read_manifest, rebuild_hint


def check_compatible(manifest: dict, index_dir: Path, settings: Settings) -> None:
    where = index_dir / MANIFEST
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{where} has index format {manifest.get('format')!r}; this version reads format "
            f"{FORMAT_VERSION}. {rebuild_hint(index_dir)}"
        )
    if manifest.get("model") != settings.model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with embedding model {manifest.get('model')!r}, "
            f"but the model set now is {settings.model!r}. Set RAG_MODEL={manifest.get('model')} "
            f"to use that index, or build a new one. {rebuild_hint(index_dir)}"
        )
    for key in ("data", "dimension", "checksums", "counts"):
        if key not in manifest:
            raise IndexCorruptError(f"{where} lacks {key!r}. {rebuild_hint(index_dir)}")


def load_index(index_dir: Path, settings: Settings):
    manifest = read_manifest(index_dir)
    check_compatible(manifest, index_dir, settings)
    store = manifest.get("store", {"kind": vectorstore.FAISS})
    spec = _check_store(store, index_dir, settings)
    data = index_dir / str(manifest["data"])
    optional = tuple(
        n for n in sentence_vectors.FILES if n in manifest["checksums"]
    )  # older indexes lack them
    for name in ROW_FILES + optional + _store_class(store.get("kind")).files:
        path = data / name
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing. {rebuild_hint(index_dir)}")
        if _sha256(path) != manifest["checksums"].get(name):
            raise IndexCorruptError(
                f"{path} does not match its checksum in the manifest "
                f"(damaged or edited). {rebuild_hint(index_dir)}"
            )
    try:
        articles = {a.id: a for a in _read_articles(data / "articles.jsonl", index_dir)}
        chunks = {c.id: c for c in _read_chunks(data / "chunks.jsonl", articles, index_dir)}
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(
            f"the rows in {data} are malformed ({exc!r}). {rebuild_hint(index_dir)}"
        ) from None
    vectors = _open_vectors(store, spec, data, manifest, settings, index_dir)
    _check_vectors(vectors, chunks, manifest, index_dir, data)
    bm25 = lexical.load(data / "bm25")
    try:
        sentences = sentence_vectors.read(data) if optional else {}
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"the sentence vectors in {data} cannot be read ({exc}). {rebuild_hint(index_dir)}"
        ) from None
    from .index import Index

    return Index(
        manifest["model"],
        manifest["dimension"],
        manifest.get("chunking", {}),
        vectors,
        articles,
        chunks,
        manifest,
        bm25,
        sentences,
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


def _store_class(kind: str):
    if kind == vectorstore.FAISS:
        from .faiss_vectors import FaissVectors

        return FaissVectors
    from .milvus_vectors import MilvusVectors

    return MilvusVectors


def _open_vectors(store: dict, spec, data: Path, manifest: dict, settings: Settings, index_dir: Path):
    if store.get("kind") == vectorstore.FAISS:
        from .faiss_vectors import FaissVectors

        return FaissVectors.read(
            data, policy_of(settings), manifest.get("ann", {}), settings.ann_nprobe, rebuild_hint(index_dir)
        )
    from .milvus_vectors import MilvusVectors

    return MilvusVectors.open(
        spec, store["collection"], manifest["dimension"], rebuild_hint(index_dir), token=settings.milvus_token
    )


def _check_vectors(vectors, chunks: dict, manifest: dict, index_dir: Path, data: Path) -> None:
    if vectors.dimension != manifest["dimension"]:
        raise IndexCorruptError(
            f"{data} holds vectors of dimension {vectors.dimension}, the manifest says "
            f"{manifest['dimension']}. {rebuild_hint(index_dir)}"
        )
    vectors.check(list(chunks), str(data), rebuild_hint(index_dir))


def _rows(path: Path, index_dir: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as rows:
        for number, line in enumerate(rows, start=1):
            try:
                yield json.loads(line)
            except ValueError:
                raise IndexCorruptError(
                    f"{path} line {number} is not valid JSON. {rebuild_hint(index_dir)}"
                ) from None


def _read_articles(path: Path, index_dir: Path) -> Iterable[Article]:
    for row in _rows(path, index_dir):
        paragraphs = tuple(
            Paragraph(row["id"], n, s, e, pid, tuple(tuple(x) for x in sentences))
            for n, (s, e, pid, sentences) in enumerate(row["paragraphs"], start=1)
        )
        yield Article(
            row["id"], row["doc"], row["title"], row["text"], row["sha256"], paragraphs, row.get("meta", {})
        )


def _read_chunks(path: Path, articles: dict[str, Article], index_dir: Path) -> Iterable[Chunk]:
    for row in _rows(path, index_dir):
        article = articles.get(row["article"])
        if article is None:
            raise IndexCorruptError(
                f"{path} names an unknown article {row['article']}. {rebuild_hint(index_dir)}"
            )
        yield Chunk(
            row["id"],
            row["article"],
            row["paragraph"],
            row["start"],
            row["end"],
            article.text[row["start"] : row["end"]],
        )
