"""The index: chunks with their vectors, the articles they come from, BM25, and the settings used.

The folder on disk (manifest, generations, the atomic save) is in ``folder.py``, opening it in
``loading.py``, the vector store's factory in ``factory.py``.
"""

from __future__ import annotations

from pathlib import Path

from ..ingest.articles import embedding_text
from ..settings import Settings
from ..types import Article, Chunk
from . import lexical
from .factory import chunking_of, faiss_store, new_store, policy_of, store_spec
from .folder import MANIFEST, rebuild_hint, save_index
from .loading import load_index

__all__ = ["MANIFEST", "Index", "chunking_of", "new_store", "policy_of", "rebuild_hint", "store_spec"]


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
    ) -> None:
        self.model = model
        self.dimension = dimension
        self.chunking = chunking
        # The vector store (FaissVectors or MilvusVectors); FAISS in memory unless given one.
        self.vectors = vectors if vectors is not None else faiss_store(dimension, Settings.from_env())
        self.articles: dict[str, Article] = articles or {}
        self.chunks: dict[int, Chunk] = chunks or {}
        self.manifest: dict = manifest or {}
        self._bm25 = bm25  # BM25 document i is the i-th chunk of ``self.chunks``; None: stale
        self._order: list[int] | None = list(self.chunks) if bm25 is not None else None
        self._by_article: dict[str, list[int]] | None = None  # article id -> its chunk ids, on first use
        # article id -> float16 vectors of its sentences (see sentence_vectors.py)
        self.sentences: dict = sentences if sentences is not None else {}

    @classmethod
    def empty(cls, settings: Settings, dimension: int, index_dir: Path | None = None) -> Index:
        """No articles yet; the vectors go to the store ``settings.store`` names (a new
        collection for Milvus, so a rebuild leaves the committed one untouched until it is saved)."""
        return cls(
            settings.model,
            dimension,
            chunking_of(settings),
            new_store(settings, dimension, Path(index_dir or settings.index_dir)),
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
