"""The index folder on disk: the manifest (the commit point), data generations, and the atomic save.

Layout of an index folder::

    manifest.json          the commit point: format, model, store, counts, checksums, data folder
    data-<generation>/     rows.sqlite (articles, chunks, BM25 terms in FTS5, sentence vectors:
                           see rows.py), and with the default store vectors.faiss

The first change after a load copies the rows into a new ``.tmp-data-*`` folder (the draft) and
changes that copy; a save writes the vectors beside it, renames it to ``data-<generation>``, then replaces
``manifest.json`` in one atomic rename. A crash at any point leaves the previous manifest
pointing at the previous, complete data folder. A Milvus store adds vectors before that rename
and deletes the ones no longer needed only after it, so the previous manifest's vectors are all
still there until the new one is committed. Nothing is pickled. Loading is in ``loading.py``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import IndexCorruptError, IndexMissingError, IndexWriteError, StoreUnavailableError
from . import checksums
from .rows import FILE as ROWS
from .rows import RowStore
from .sentence_vectors import POOLED, chunk_vectors_of

if TYPE_CHECKING:
    from .index import Index

FORMAT_VERSION = 2  # 2: rows in SQLite (rows.sqlite) instead of JSONL, bm25s and .npy files
MANIFEST = "manifest.json"
ROW_FILES = (ROWS,)


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it: rag index ARTICLES_FOLDER --index {index_dir} --rebuild"


def save_index(index: Index, index_dir: Path, crash_hook: Callable[[str], None]) -> None:
    generation = f"data-{time.time_ns()}"
    draft, committed = None, False
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        draft = _draft_in(index, index_dir)
        index.fit_vectors()
        index.vectors.write(draft)
        crash_hook("vectors-written")
        counts = _counts(index)
        assert index.rows is not None  # the draft's, made by _draft_in
        index.rows.finish()
        crash_hook("articles-written")
        names = ROW_FILES + index.vectors.files
        for name in names:
            with open(draft / name, "rb") as handle:
                os.fsync(handle.fileno())
        sums = checksums.record(draft, names)
        crash_hook("data-written")
        os.rename(draft, index_dir / generation)
        draft = index.draft = index_dir / generation  # not committed until the manifest says so
        _fsync_dir(index_dir)
        crash_hook("data-renamed")
        manifest = _manifest(index, generation, sums, counts)
        _write_atomic(index_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        committed = True
    except OSError as exc:
        raise IndexWriteError(
            f"could not write the index in {index_dir} ({exc.strerror or exc}); the previous index "
            "is unchanged. Free disk space or check that the folder is writable, then index again"
        ) from exc
    finally:
        if not committed and draft is not None and draft.exists():  # keep the changes, elsewhere
            _set_aside(index, index_dir)
    index.manifest = manifest
    index.rows, index.draft = RowStore.open(index_dir / generation / ROWS, rebuild_hint(index_dir)), None
    try:
        index.vectors.commit()  # only now may a store delete what the old manifest still used
    except StoreUnavailableError as exc:  # committed all the same: what is left is only unused
        logging.getLogger(__name__).warning("the index is saved, but %s", exc)
    _remove_old_generations(index_dir, keep={generation, index.manifest.get("previous", "")})


def _draft_in(index: Index, index_dir: Path) -> Path:
    """The index's draft folder, made inside ``index_dir`` (moved there if it was elsewhere)."""
    index.workdir = index_dir
    if index.draft is not None and index.draft.parent.resolve() != index_dir.resolve():
        elsewhere, rows = index.draft, index.rows
        index.draft = None
        index.writable()  # a copy in index_dir
        if rows is not None:  # a draft always has its rows
            rows.close()
        shutil.rmtree(elsewhere, ignore_errors=True)
    index.writable()
    assert index.draft is not None  # writable() made it
    return index.draft


def _set_aside(index: Index, index_dir: Path) -> None:
    """After a failed save: move the draft to a temporary folder outside the index folder, so
    the index in memory keeps its changes and the next save can commit them; if even that
    fails, fall back to the committed rows."""
    import tempfile

    draft = index.draft
    assert draft is not None and index.rows is not None  # only called with a draft
    try:
        index.rows.close(commit=True)
        aside = Path(tempfile.mkdtemp(prefix="rag-draft-")) / draft.name
        shutil.move(draft, aside)
        index.rows, index.draft = RowStore.reopen(aside / ROWS, rebuild_hint(index_dir)), aside
    except (OSError, sqlite3.Error):
        shutil.rmtree(draft, ignore_errors=True)
        _back_to_committed(index, index_dir)


def _back_to_committed(index: Index, index_dir: Path) -> None:
    committed = index.manifest.get("data")
    index.rows = RowStore.open(index_dir / committed / ROWS, rebuild_hint(index_dir)) if committed else None
    index.draft = None


def _counts(index: Index) -> dict[str, int]:
    return {"articles": len(index.articles), "paragraphs": index.paragraph_count, "chunks": len(index.chunks)}


def new_manifest(index: Index, generation: str, counts: dict[str, int], previous: str) -> dict[str, Any]:
    """The manifest of ``generation`` of ``index`` (a folder's or a Milvus server's): format, model,
    encoder, chunking, store, counts, dates and the generation it follows."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store = index.vectors.describe()
    return {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "model": index.model,
        "encoder": index.encoder,
        # a new index pools its chunk vectors; a loaded one keeps saying how its were made
        "chunk_vectors": chunk_vectors_of(index.manifest) if index.manifest else POOLED,
        "dimension": index.dimension,
        "chunking": index.chunking,
        "store": {k: v for k, v in store.items() if k != "vectors"},
        "index_type": index.index_type,
        "counts": counts,
        "built_at": index.manifest.get("built_at", now),
        "updated_at": now,
        "data": generation,
        "previous": previous,
    }


def _manifest(index: Index, generation: str, sums: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    store = index.vectors.describe()
    return {
        **new_manifest(index, generation, counts, index.manifest.get("data", "")),
        "ann": store.get("ann", {}),
        "ann_threshold": store.get("ann_threshold"),
        **sums,
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
