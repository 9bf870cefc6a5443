"""The index folder on disk: the manifest (the commit point), data generations, and the atomic save.

Layout of an index folder::

    manifest.json          the commit point: format, model, store, counts, checksums, data folder
    data-<generation>/     articles.jsonl, chunks.jsonl, bm25/ (bm25s's own format), and with
                           the default store vectors.faiss

A save writes a new ``.tmp-*`` folder, renames it to ``data-<generation>``, then replaces
``manifest.json`` in one atomic rename. A crash at any point leaves the previous manifest
pointing at the previous, complete data folder. A Milvus store adds vectors before that rename
and deletes the ones no longer needed only after it, so the previous manifest's vectors are all
still there until the new one is committed. Nothing is pickled. Loading is in ``loading.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

from .. import __version__
from ..errors import IndexCorruptError, IndexMissingError, IndexWriteError, StoreUnavailableError
from ..types import Article, Chunk
from . import lexical, sentence_vectors

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROW_FILES = (
    "articles.jsonl",
    "chunks.jsonl",
    "bm25/data.csc.index.npy",
    "bm25/indices.csc.index.npy",
    "bm25/indptr.csc.index.npy",
    "bm25/params.index.json",
    "bm25/vocab.index.json",
)


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it: rag index ARTICLES_FOLDER --index {index_dir} --rebuild"


def save_index(index, index_dir: Path, crash_hook) -> None:
    generation = f"data-{time.time_ns()}"
    tmp = index_dir / f".tmp-{generation}"
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        index.fit_vectors()
        _write_data(index, tmp, crash_hook)
        checksums = {
            name: _sha256(tmp / name) for name in ROW_FILES + sentence_vectors.FILES + index.vectors.files
        }
        crash_hook("data-written")
        os.rename(tmp, index_dir / generation)
        _fsync_dir(index_dir)
        crash_hook("data-renamed")
        manifest = _manifest(index, generation, checksums)
        _write_atomic(index_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        index.manifest = manifest
    except OSError as exc:
        raise IndexWriteError(
            f"could not write the index in {index_dir} ({exc.strerror or exc}); the previous index "
            "is unchanged. Free disk space or check that the folder is writable, then index again"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        index.vectors.commit()  # only now may a store delete what the old manifest still used
    except StoreUnavailableError as exc:  # committed all the same: what is left is only unused
        logging.getLogger(__name__).warning("the index is saved, but %s", exc)
    _remove_old_generations(index_dir, keep={generation, index.manifest.get("previous", "")})


def _write_data(index, folder: Path, crash_hook) -> None:
    index.vectors.write(folder)
    crash_hook("vectors-written")
    model, order = index.bm25()
    lexical.save(model, folder / "bm25")
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as out:
        for article in sorted(index.articles.values(), key=lambda a: a.doc):
            out.write(json.dumps(_article_row(article), ensure_ascii=False) + "\n")
    crash_hook("articles-written")
    sentence_vectors.write(
        folder, index.sentences, sorted(index.articles, key=lambda a: index.articles[a].doc)
    )
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk_id in order:
            out.write(json.dumps(_chunk_row(index.chunks[chunk_id])) + "\n")
    for name in ROW_FILES + sentence_vectors.FILES + index.vectors.files:
        with open(folder / name, "rb") as handle:
            os.fsync(handle.fileno())


def _manifest(index, generation: str, checksums: dict) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store = index.vectors.describe()
    return {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "model": index.model,
        "dimension": index.dimension,
        "chunking": index.chunking,
        "store": {k: v for k, v in store.items() if k != "vectors"},
        "index_type": index.index_type,
        "ann": store.get("ann", {}),
        "ann_threshold": store.get("ann_threshold"),
        "counts": {
            "articles": len(index.articles),
            "paragraphs": index.paragraph_count,
            "chunks": len(index.chunks),
        },
        "built_at": index.manifest.get("built_at", now),
        "updated_at": now,
        "data": generation,
        "previous": index.manifest.get("data", ""),
        "checksums": checksums,
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_generations(index_dir: Path, keep: set[str]) -> None:
    """Drop data folders no manifest points to; the previous one stays for readers in flight."""
    for entry in index_dir.iterdir():
        stale_tmp = entry.name.startswith(".tmp-data-") and time.time() - entry.stat().st_mtime > 3600
        if (entry.name.startswith("data-") and entry.name not in keep) or stale_tmp:
            shutil.rmtree(entry, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _article_row(article: Article) -> dict:
    return {
        "id": article.id,
        "doc": article.doc,
        "title": article.title,
        "sha256": article.sha256,
        "meta": dict(article.meta),
        "text": article.text,
        "paragraphs": [[p.start, p.end, p.id, p.sentences] for p in article.paragraphs],
    }


def _chunk_row(chunk: Chunk) -> dict:
    return {
        "id": chunk.id,
        "article": chunk.article_id,
        "paragraph": chunk.paragraph,
        "start": chunk.start,
        "end": chunk.end,
    }


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexMissingError(
            f"no index in {index_dir} yet. Build it: rag index ARTICLES_FOLDER --index {index_dir}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}). {rebuild_hint(index_dir)}") from None
    return manifest
