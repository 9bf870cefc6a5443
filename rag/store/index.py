"""The index on disk: manifest + article and chunk rows + BM25, and the vectors, written atomically.

Layout of an index folder::

    manifest.json          the commit point: format, model, store, counts, checksums, data folder
    data-<generation>/     articles.jsonl, chunks.jsonl, bm25/ (bm25s's own format), and with
                           the default store vectors.faiss

The vectors live in a ``VectorStore`` (``vectorstore.py``): FAISS in this folder (exact below
``Settings.ann_threshold`` chunks, approximate above, see ``ann.py``) or a Milvus collection the
manifest names.

A save writes a new ``.tmp-*`` folder, renames it to ``data-<generation>``, then replaces
``manifest.json`` in one atomic rename. A crash at any point leaves the previous manifest
pointing at the previous, complete data folder. A Milvus store adds vectors before that rename
and deletes the ones no longer needed only after it, so the previous manifest's vectors are all
still there until the new one is committed. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from .. import __version__
from ..errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
    StoreUnavailableError,
)
from ..ingest.articles import embedding_text
from ..settings import Settings
from ..types import Article, Chunk, Paragraph
from . import ann, lexical, sentence_vectors, vectorstore

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


class Index:
    """Chunks with their vectors, the articles they come from, and the settings they were built with."""

    def __init__(
        self,
        model: str,
        dimension: int,
        chunking: dict,
        vectors=None,
        articles: dict[str, Article] | None = None,
        chunks: dict[int, Chunk] | None = None,
        manifest: dict | None = None,
        bm25=None,
        sentences: dict | None = None,
        encoder: str = "fp32",
    ) -> None:
        self.model = model
        self.encoder = encoder  # the embedding variant of its vectors: "int8" or "fp32"
        self.dimension = dimension
        self.chunking = chunking
        # The vector store (FaissVectors or MilvusVectors); FAISS in memory unless given one.
        self.vectors = vectors if vectors is not None else _faiss_store(dimension, Settings.from_env())
        self.articles: dict[str, Article] = articles or {}
        self.chunks: dict[int, Chunk] = chunks or {}
        self.manifest: dict = manifest or {}
        self._bm25 = bm25  # BM25 document i is the i-th chunk of ``self.chunks``; None: stale
        self._order: list[int] | None = list(self.chunks) if bm25 is not None else None
        self._by_article: dict[str, list[int]] | None = None  # article id -> its chunk ids, on first use
        # article id -> float16 vectors of its sentences (see sentence_vectors.py)
        self.sentences: dict = sentences if sentences is not None else {}

    @classmethod
    def empty(
        cls, settings: Settings, dimension: int, index_dir: Path | None = None, encoder: str | None = None
    ) -> Index:
        """No articles yet; the vectors go to the store ``settings.store`` names (a new
        collection for Milvus, so a rebuild leaves the committed one untouched until it is saved).
        ``encoder``: the embedding variant the vectors will come from (default: the settings')."""
        if encoder is None:
            from ..embed.encoder import default_variant

            encoder = default_variant(settings)
        return cls(
            settings.model,
            dimension,
            chunking_of(settings),
            new_store(settings, dimension, Path(index_dir or settings.index_dir)),
            encoder=encoder,
        )

    # ---- reading ----------------------------------------------------------------------------
    def article_by_doc(self, doc: str) -> Article | None:
        return next((a for a in self.articles.values() if a.doc == doc), None)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[i] for i in self._chunk_ids().get(article_id, ())]

    def _chunk_ids(self) -> dict[str, list[int]]:
        if self._by_article is None:
            self._by_article = {}
            for chunk in self.chunks.values():
                self._by_article.setdefault(chunk.article_id, []).append(chunk.id)
        return self._by_article

    @property
    def paragraph_count(self) -> int:
        return sum(len(a.paragraphs) for a in self.articles.values())

    @property
    def index_type(self) -> str:
        """``flat`` (exact) or ``ivf-sq8`` (approximate) for FAISS; ``milvus`` for Milvus."""
        return self.vectors.layout

    def search(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest to ``vector`` (cosine similarity), best first."""
        if not self.chunks:
            return []
        k = min(k, len(self.chunks))
        # A Milvus collection may also hold vectors that an interrupted update added but never
        # committed: ask for a few more and keep those of this index's chunks.
        found = self.vectors.search(vector, k + self.vectors.search_margin)
        return [(self.chunks[i], s) for i, s in found if i in self.chunks][:k]

    def search_lexical(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks with the best BM25 score for ``query``, best first."""
        model, order = self.bm25()
        return [
            (self.chunks[order[doc]], score) for doc, score in lexical.search(model, query, k, len(order))
        ]

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

    def sentence_vectors(self, article_id: str, embedder):
        """The article's sentence vectors; embedded now (and kept) if the index has none yet."""
        found = self.sentences.get(article_id)
        if found is None:
            from . import sentence_vectors

            found = sentence_vectors.embed([self.articles[article_id]], embedder)[article_id]
            self.sentences[article_id] = found
        return found

    def embedding_text(self, chunk: Chunk) -> str:
        return embedding_text(self.articles[chunk.article_id], chunk)

    # ---- changing ---------------------------------------------------------------------------
    def add(self, article: Article, chunks: list[Chunk], vectors, sentences=None) -> None:
        import numpy as np

        self.remove(article.id)
        if sentences is not None:
            self.sentences[article.id] = sentences
        if chunks:
            self.vectors.add(
                np.array([c.id for c in chunks], dtype="int64"), np.asarray(vectors, dtype="float32")
            )
        self.articles[article.id] = article
        self.chunks.update((c.id, c) for c in chunks)
        self._chunk_ids()[article.id] = [c.id for c in chunks]
        self._bm25 = None

    def remove(self, article_id: str) -> None:
        import numpy as np

        old = self._chunk_ids().pop(article_id, [])
        if old:
            self.vectors.remove(np.array(old, dtype="int64"))
            for chunk_id in old:
                del self.chunks[chunk_id]
        self.articles.pop(article_id, None)
        self.sentences.pop(article_id, None)
        self._bm25 = None

    def vectors_stale(self) -> bool:
        """True when the next save converts the FAISS vectors (the count crossed the threshold,
        the setting forces the other type, or the clusters were trained on far fewer vectors)."""
        return self.vectors.stale()

    def fit_vectors(self) -> None:
        """Convert FAISS vectors to the structure the policy wants for their count, if needed."""
        import numpy as np

        self.vectors.fit(np.fromiter(self.chunks, dtype="int64", count=len(self.chunks)))

    # ---- disk -------------------------------------------------------------------------------
    def save(self, index_dir: Path, crash_hook=None) -> None:
        """Write atomically; ``crash_hook(stage)`` lets tests fail the write part-way."""
        save_index(self, Path(index_dir), crash_hook or (lambda stage: None))

    @classmethod
    def load(cls, index_dir: Path, settings: Settings | None = None) -> Index:
        return load_index(Path(index_dir), settings or Settings.from_env())


def new_store(settings: Settings, dimension: int, index_dir: Path):
    """An empty vector store of the kind ``settings.store`` names."""
    spec = store_spec(settings)
    if spec.kind == vectorstore.FAISS:
        return _faiss_store(dimension, settings)
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


def _faiss_store(dimension: int, settings: Settings):
    from .faiss_vectors import FaissVectors

    return FaissVectors.empty(dimension, policy_of(settings))


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


def _write_data(index: Index, folder: Path, crash_hook) -> None:
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


def _manifest(index: Index, generation: str, checksums: dict) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store = index.vectors.describe()
    return {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "model": index.model,
        "encoder": index.encoder,
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


# ---- load -------------------------------------------------------------------------------------
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
    built = encoder_of(manifest)
    if settings.encoder not in ("auto", built) and not (settings.encoder == "torch" and built == "fp32"):
        raise IndexMismatchError(
            f"the index in {index_dir} was built with the {built} encoder, but RAG_ENCODER is "
            f"{settings.encoder!r}; questions must be embedded like the articles were. Unset "
            f"RAG_ENCODER (or set it to {built}) to use that index, or rebuild it with this "
            f"encoder: rag index ARTICLES_FOLDER --index {index_dir} --rebuild"
        )
    for key in ("data", "dimension", "checksums", "counts"):
        if key not in manifest:
            raise IndexCorruptError(f"{where} lacks {key!r}. {rebuild_hint(index_dir)}")


def encoder_of(manifest: dict) -> str:
    """The embedding variant an index was built with; indexes made before int8 existed are fp32."""
    return str(manifest.get("encoder", "fp32"))


def load_index(index_dir: Path, settings: Settings) -> Index:
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
