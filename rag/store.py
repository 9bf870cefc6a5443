"""The index on disk: manifest + FAISS vectors + article and chunk rows, written atomically.

Layout of an index folder::

    manifest.json          the commit point: format, model, counts, checksums, data folder name
    data-<generation>/     vectors.faiss, articles.jsonl, chunks.jsonl, bm25/ (bm25s's own format)

``vectors.faiss`` is exact (``IndexIDMap2(IndexFlatIP)``) below ``Settings.ann_threshold`` chunks
and approximate (IVF with 8-bit scalar quantization, see ``ann.py``) from there on; the save
converts it when the count crosses the threshold, and the manifest records which it is.

A save writes a new ``.tmp-*`` folder, renames it to ``data-<generation>``, then replaces
``manifest.json`` in one atomic rename. A crash at any point leaves the previous manifest
pointing at the previous, complete data folder. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

from . import __version__, ann, lexical
from .config import Settings
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from .ingest import embedding_text
from .types import Article, Chunk, Paragraph

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_FILES = ("vectors.faiss", "articles.jsonl", "chunks.jsonl", "bm25/data.csc.index.npy",
              "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy", "bm25/params.index.json",
              "bm25/vocab.index.json")


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it: rag index ARTICLES_FOLDER --index {index_dir} --rebuild"


class Index:
    """Chunks with their vectors, the articles they come from, and the settings they were built with."""

    def __init__(self, model: str, dimension: int, chunking: dict, faiss_index=None,
                 articles: dict[str, Article] | None = None, chunks: dict[int, Chunk] | None = None,
                 manifest: dict | None = None, bm25=None, policy: ann.Policy | None = None) -> None:
        self.model = model
        self.dimension = dimension
        self.chunking = chunking
        self.vectors = faiss_index if faiss_index is not None else ann.new_flat(dimension)
        self.policy = policy or policy_of(Settings.from_env())  # exact or approximate, and when
        self.articles: dict[str, Article] = articles or {}
        self.chunks: dict[int, Chunk] = chunks or {}
        self.manifest: dict = manifest or {}
        self._bm25 = bm25  # BM25 document i is the i-th chunk of ``self.chunks``; None: stale
        self._order: list[int] | None = list(self.chunks) if bm25 is not None else None

    @classmethod
    def empty(cls, settings: Settings, dimension: int) -> "Index":
        return cls(settings.model, dimension, chunking_of(settings), policy=policy_of(settings))

    # ---- reading ----------------------------------------------------------------------------
    def article_by_doc(self, doc: str) -> Article | None:
        return next((a for a in self.articles.values() if a.doc == doc), None)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [c for c in self.chunks.values() if c.article_id == article_id]

    @property
    def paragraph_count(self) -> int:
        return sum(len(a.paragraphs) for a in self.articles.values())

    @property
    def index_type(self) -> str:
        """``flat`` (exact) or ``ivf-sq8`` (approximate)."""
        return ann.layout(self.vectors)

    def search(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest to ``vector`` (cosine similarity), best first."""
        import faiss
        import numpy as np

        if not self.chunks:
            return []
        query = np.asarray(vector, dtype="float32").reshape(1, -1)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query: a second thread costs more to sync than it saves
        try:
            scores, ids = self.vectors.search(query, min(k, len(self.chunks)))
        finally:
            faiss.omp_set_num_threads(threads)
        return [(self.chunks[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def search_lexical(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks with the best BM25 score for ``query``, best first."""
        model, order = self.bm25()
        return [(self.chunks[order[doc]], score)
                for doc, score in lexical.search(model, query, k, len(order))]

    def bm25(self):
        """The BM25 model and its chunk order, rebuilt here if chunks changed since it was made."""
        if self._bm25 is None or self._order is None:
            self._order = list(self.chunks)
            self._bm25 = lexical.build([self.embedding_text(self.chunks[i]) for i in self._order])
        return self._bm25, self._order

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        """Chunks holding each BM25 term, and the number of chunks (cached with the BM25 model)."""
        model, _ = self.bm25()
        if getattr(model, "_rag_df", None) is None:
            model._rag_df = lexical.document_frequencies(model)
        return model._rag_df

    def embedding_text(self, chunk: Chunk) -> str:
        return embedding_text(self.articles[chunk.article_id], chunk)

    # ---- changing ---------------------------------------------------------------------------
    def add(self, article: Article, chunks: list[Chunk], vectors) -> None:
        import numpy as np

        self.remove(article.id)
        if chunks:
            ids = np.array([c.id for c in chunks], dtype="int64")
            self.vectors.add_with_ids(np.asarray(vectors, dtype="float32"), ids)
        self.articles[article.id] = article
        self.chunks.update((c.id, c) for c in chunks)
        self._bm25 = None

    def remove(self, article_id: str) -> None:
        import numpy as np

        old = [c.id for c in self.chunks.values() if c.article_id == article_id]
        if old:
            ann.remove_ids(self.vectors, np.array(old, dtype="int64"))
            for chunk_id in old:
                del self.chunks[chunk_id]
        self.articles.pop(article_id, None)
        self._bm25 = None

    def vectors_stale(self) -> bool:
        """True when the next save converts the vectors (the count crossed the threshold, the
        setting forces the other type, or the clusters were trained on far fewer vectors)."""
        return ann.needs_rebuild(self.vectors, self.policy, self.manifest.get("ann", {}).get("trained_on", 0))

    def fit_vectors(self) -> None:
        """Convert the vectors to the type the policy wants for their count, if they are not."""
        import numpy as np

        if self.vectors_stale():
            ids = np.fromiter(self.chunks, dtype="int64", count=len(self.chunks))
            self.vectors, info = ann.rebuild(self.vectors, ids, self.policy)
            self.manifest = {**self.manifest, "ann": info}
        elif self.index_type == ann.IVF and self.policy.nprobe:
            ann.set_nprobe(self.vectors, self.policy.nprobe)
            self.manifest = {**self.manifest, "ann": {**self.manifest.get("ann", {}),
                                                      "nprobe": self.vectors.nprobe}}

    # ---- disk -------------------------------------------------------------------------------
    def save(self, index_dir: Path, crash_hook=None) -> None:
        """Write atomically; ``crash_hook(stage)`` lets tests fail the write part-way."""
        save_index(self, Path(index_dir), crash_hook or (lambda stage: None))

    @classmethod
    def load(cls, index_dir: Path, settings: Settings | None = None) -> "Index":
        return load_index(Path(index_dir), settings or Settings.from_env())


def policy_of(settings: Settings) -> ann.Policy:
    return ann.Policy(settings.index_type, settings.ann_threshold, settings.ann_nprobe)


def chunking_of(settings: Settings) -> dict:
    return {"chunk_chars": settings.chunk_chars, "chunk_overlap": settings.chunk_overlap}


# ---- save -------------------------------------------------------------------------------------
def save_index(index: Index, index_dir: Path, crash_hook) -> None:
    generation = f"data-{time.time_ns()}"
    tmp = index_dir / f".tmp-{generation}"
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        index.fit_vectors()
        _write_data(index, tmp, crash_hook)
        checksums = {name: _sha256(tmp / name) for name in DATA_FILES}
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
    _remove_old_generations(index_dir, keep={generation, index.manifest.get("previous", "")})


def _write_data(index: Index, folder: Path, crash_hook) -> None:
    import faiss

    try:
        faiss.write_index(index.vectors, str(folder / "vectors.faiss"))
    except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
        raise OSError(f"FAISS could not write vectors.faiss: {str(exc).splitlines()[0]}") from exc
    crash_hook("vectors-written")
    model, order = index.bm25()
    lexical.save(model, folder / "bm25")
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as out:
        for article in sorted(index.articles.values(), key=lambda a: a.doc):
            out.write(json.dumps(_article_row(article), ensure_ascii=False) + "\n")
    crash_hook("articles-written")
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk_id in order:
            out.write(json.dumps(_chunk_row(index.chunks[chunk_id])) + "\n")
    for name in DATA_FILES:
        with open(folder / name, "rb") as handle:
            os.fsync(handle.fileno())


def _manifest(index: Index, generation: str, checksums: dict) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "model": index.model,
        "dimension": index.dimension,
        "chunking": index.chunking,
        "index_type": index.index_type,
        "ann": index.manifest.get("ann", {}) if index.index_type == ann.IVF else {},
        "ann_threshold": index.policy.threshold,
        "counts": {"articles": len(index.articles), "paragraphs": index.paragraph_count,
                   "chunks": len(index.chunks)},
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
    return {"id": article.id, "doc": article.doc, "title": article.title, "sha256": article.sha256,
            "meta": dict(article.meta), "text": article.text,
            "paragraphs": [[p.start, p.end, p.id, p.sentences] for p in article.paragraphs]}


def _chunk_row(chunk: Chunk) -> dict:
    return {"id": chunk.id, "article": chunk.article_id, "paragraph": chunk.paragraph,
            "start": chunk.start, "end": chunk.end}


# ---- load -------------------------------------------------------------------------------------
def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexMissingError(
            f"no index in {index_dir} yet. Build it: rag index ARTICLES_FOLDER --index {index_dir}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}). {rebuild_hint(index_dir)}") from None
    return manifest


def check_compatible(manifest: dict, index_dir: Path, settings: Settings) -> None:
    where = index_dir / MANIFEST
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{where} has index format {manifest.get('format')!r}; this version reads format "
            f"{FORMAT_VERSION}. {rebuild_hint(index_dir)}")
    if manifest.get("model") != settings.model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with embedding model {manifest.get('model')!r}, "
            f"but the model set now is {settings.model!r}. Set RAG_MODEL={manifest.get('model')} "
            f"to use that index, or build a new one. {rebuild_hint(index_dir)}")
    for key in ("data", "dimension", "checksums", "counts"):
        if key not in manifest:
            raise IndexCorruptError(f"{where} lacks {key!r}. {rebuild_hint(index_dir)}")


def load_index(index_dir: Path, settings: Settings) -> Index:
    manifest = read_manifest(index_dir)
    check_compatible(manifest, index_dir, settings)
    data = index_dir / str(manifest["data"])
    for name in DATA_FILES:
        path = data / name
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing. {rebuild_hint(index_dir)}")
        if _sha256(path) != manifest["checksums"].get(name):
            raise IndexCorruptError(f"{path} does not match its checksum in the manifest "
                                    f"(damaged or edited). {rebuild_hint(index_dir)}")
    try:
        articles = {a.id: a for a in _read_articles(data / "articles.jsonl", index_dir)}
        chunks = {c.id: c for c in _read_chunks(data / "chunks.jsonl", articles, index_dir)}
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(f"the rows in {data} are malformed ({exc!r}). "
                                f"{rebuild_hint(index_dir)}") from None
    vectors = _read_vectors(data / "vectors.faiss", index_dir)
    bm25 = lexical.load(data / "bm25")
    if vectors.ntotal != len(chunks) or vectors.d != manifest["dimension"]:
        raise IndexCorruptError(f"{data} holds {vectors.ntotal} vectors of dimension {vectors.d} for "
                                f"{len(chunks)} chunks. {rebuild_hint(index_dir)}")
    if ann.layout(vectors) == ann.IVF:
        ann.set_nprobe(vectors, settings.ann_nprobe or manifest.get("ann", {}).get("nprobe", 0)
                       or ann.default_nprobe(vectors.nlist))
    return Index(manifest["model"], manifest["dimension"], manifest.get("chunking", {}), vectors,
                 articles, chunks, manifest, bm25, policy_of(settings))


def _read_vectors(path: Path, index_dir: Path):
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"{path} is not a readable FAISS index ({str(exc).splitlines()[0]}). "
                                f"{rebuild_hint(index_dir)}") from None


def _rows(path: Path, index_dir: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as rows:
        for number, line in enumerate(rows, start=1):
            try:
                yield json.loads(line)
            except ValueError:
                raise IndexCorruptError(f"{path} line {number} is not valid JSON. "
                                        f"{rebuild_hint(index_dir)}") from None


def _read_articles(path: Path, index_dir: Path) -> Iterable[Article]:
    for row in _rows(path, index_dir):
        paragraphs = tuple(Paragraph(row["id"], n, s, e, pid, tuple(tuple(x) for x in sentences))
                           for n, (s, e, pid, sentences) in enumerate(row["paragraphs"], start=1))
        yield Article(row["id"], row["doc"], row["title"], row["text"], row["sha256"], paragraphs,
                      row.get("meta", {}))


def _read_chunks(path: Path, articles: dict[str, Article], index_dir: Path) -> Iterable[Chunk]:
    for row in _rows(path, index_dir):
        article = articles.get(row["article"])
        if article is None:
            raise IndexCorruptError(f"{path} names an unknown article {row['article']}. "
                                    f"{rebuild_hint(index_dir)}")
        yield Chunk(row["id"], row["article"], row["paragraph"], row["start"], row["end"],
                    article.text[row["start"] : row["end"]])
