"""The index: chunks with their vectors, the articles they come from, BM25, and the settings used.

Rows (articles, chunks, BM25 terms, sentence vectors) stay on disk in the generation's
``rows.sqlite`` (``rows.py``) and are read as a question touches them; ``articles``, ``chunks``
and ``sentences`` are read-only mappings over them (``views.py``). The first change copies the
rows into the next generation's temporary folder; ``save`` commits it. The folder on disk
(manifest, generations, the atomic save) is in ``folder.py``, opening it in ``loading.py``, the
vector store's factory in ``factory.py``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import IndexWriteError
from ..ingest.articles import embedding_text
from ..settings import Settings
from ..types import Article, Chunk
from . import lexical
from .factory import chunking_of, faiss_store, holds_everything, new_store, policy_of, store_spec
from .folder import FORMAT_VERSION, MANIFEST, rebuild_hint, save_index
from .loading import load_index
from .rows import FILE as ROWS
from .rows import RowStore
from .views import ArticleView, ChunkView, Frequencies, SentenceView

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..embed.encoder import Embedder
    from .faiss_vectors import FaissVectors
    from .milvus_vectors import MilvusVectors

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Index",
    "chunking_of",
    "new_store",
    "policy_of",
    "rebuild_hint",
    "store_spec",
]
DRAFT_PREFIX = ".tmp-data-"  # the next generation's folder, until a save renames it


class Index:
    """Chunks with their vectors, the articles they come from, and the settings they were built with."""

    def __init__(
        self,
        model: str,
        dimension: int,
        chunking: dict,
        vectors: FaissVectors | MilvusVectors | None = None,
        rows: RowStore | None = None,
        manifest: dict | None = None,
        workdir: Path | None = None,
        encoder: str = "fp32",
    ) -> None:
        self.model = model
        self.encoder = encoder  # the embedding variant of its vectors: "int8" or "fp32"
        self.dimension = dimension
        self.chunking = chunking
        # The vector store (FaissVectors or MilvusVectors); FAISS in memory unless given one.
        self.vectors = vectors if vectors is not None else faiss_store(dimension, Settings())
        self.rows = rows  # None until the first article is added to a new index
        self.manifest: dict = manifest or {}
        self.workdir = workdir  # the index folder drafts go to (a temporary folder if None)
        self.draft: Path | None = None  # the next generation's folder while changes are unsaved
        self.articles = ArticleView(self)
        self.chunks = ChunkView(self)
        self.sentences = SentenceView(self)
        # sentence vectors embedded on first use (see below)
        self._embedded_sentences: dict[str, npt.NDArray[np.float16]] = {}

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
        if holds_everything(settings):  # a Milvus server: no index folder at all
            from .milvus_index import MilvusIndex

            return MilvusIndex.create(settings, dimension, encoder)
        where = Path(index_dir or settings.index_dir)
        store = new_store(settings, dimension, where)
        return cls(settings.model, dimension, chunking_of(settings), store, workdir=where, encoder=encoder)

    # ---- reading ----------------------------------------------------------------------------
    def article_by_doc(self, doc: str) -> Article | None:
        article_id = self.rows.article_id_of(doc) if self.rows else None
        return self.articles.get(article_id) if article_id else None

    def docs(self) -> dict[str, tuple[str, str, str]]:
        """{doc: (article id, file sha256, file stamp)} of every article, without their texts."""
        return self.rows.docs() if self.rows else {}

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[i] for i in (self.rows.chunk_ids_of(article_id) if self.rows else ())]

    @property
    def paragraph_count(self) -> int:
        return self.rows.paragraph_count() if self.rows else 0

    @property
    def index_type(self) -> str:
        """``flat`` (exact) or ``ivf-fp16`` (approximate; ``ivf-sq8`` for an old index until its next
        save) for FAISS; ``milvus`` for Milvus."""
        return self.vectors.layout

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest to ``vector`` (cosine similarity), best first."""
        total = len(self.chunks)
        if not total or self.rows is None:  # no rows, no chunks
            return []
        k = min(k, total)
        # A Milvus collection may also hold vectors that an interrupted update added but never
        # committed: ask for a few more and keep those of this index's chunks.
        found = self.vectors.search(vector, k + self.vectors.search_margin)
        hits = ((self.rows.chunk(i), s) for i, s in found)
        return [(c, s) for c, s in hits if c is not None][:k]

    def search_lexical(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks with the best BM25 score for ``query``, best first."""
        if not self.rows:
            return []
        found = self.rows.search_terms(lexical.terms(query), k)
        hits = ((self.rows.chunk(i), s) for i, s in found)
        return [(c, s) for c, s in hits if c is not None]  # each found id is a chunk row

    def document_frequencies(self) -> tuple[Frequencies, int]:
        """Chunks holding each BM25 term (a mapping read on demand), and the number of chunks."""
        return Frequencies(self.rows), len(self.chunks)

    def sentence_vectors(self, article_id: str, embedder: Embedder) -> npt.NDArray[np.float16]:
        """The article's sentence vectors; embedded now (and kept) if the index has none yet."""
        found = self.sentences.get(article_id)
        if found is None:
            from . import sentence_vectors

            found = self._embedded_sentences.get(article_id)
            if found is None:
                pieces = [(self.articles[article_id], self.chunks_of(article_id))]
                found = sentence_vectors.embed(pieces, embedder)[1][article_id]
                self._embedded_sentences[article_id] = found
        return found

    def prefetch(self, article_ids: Iterable[str]) -> None:
        """Read these articles now, in one request where the rows are on a server; here they are
        read from disk as they are needed."""

    def embedding_text(self, chunk: Chunk) -> str:
        return embedding_text(self.articles[chunk.article_id], chunk)

    # ---- changing ---------------------------------------------------------------------------
    def add(
        self,
        article: Article,
        chunks: list[Chunk],
        vectors: npt.ArrayLike,
        sentences: npt.ArrayLike | None = None,
    ) -> None:
        import numpy as np

        self.remove(article.id)
        rows = self.writable()
        if chunks:
            self.vectors.add(
                np.array([c.id for c in chunks], dtype="int64"), np.asarray(vectors, dtype="float32")
            )
        tokens = lexical.terms_of([embedding_text(article, c) for c in chunks])
        rows.put(article, chunks, tokens, sentences)

    def remove(self, article_id: str) -> None:
        import numpy as np

        if not self.rows or article_id not in self.articles:
            return
        old = self.writable().delete(article_id)
        if old:
            self.vectors.remove(np.array(old, dtype="int64"))
        self._embedded_sentences.pop(article_id, None)

    def writable(self) -> RowStore:
        """The rows of the next generation: a copy of the committed ones made on first change."""
        if self.draft is None:
            parent = self.workdir or Path(tempfile.mkdtemp(prefix="rag-index-"))
            draft = parent / f"{DRAFT_PREFIX}{time.time_ns()}"
            try:
                parent.mkdir(parents=True, exist_ok=True)
                draft.mkdir()
                self.rows = self.rows.copy_to(draft / ROWS) if self.rows else RowStore.create(draft / ROWS)
            except OSError as exc:
                shutil.rmtree(draft, ignore_errors=True)
                raise IndexWriteError(
                    f"could not write the index in {parent} ({exc.strerror or exc}); the previous index "
                    "is unchanged. Free disk space or check that the folder is writable, then index again"
                ) from exc
            self.draft = draft
        assert self.rows is not None  # a draft has its rows
        return self.rows

    def vectors_stale(self) -> bool:
        """True when the next save converts the FAISS vectors (the count crossed the threshold,
        the setting forces the other type, or the clusters were trained on far fewer vectors)."""
        return self.vectors.stale()

    def fit_vectors(self) -> None:
        """Convert FAISS vectors to the structure the policy wants for their count, if needed."""
        import numpy as np

        self.vectors.fit(np.fromiter(self.chunks, dtype="int64", count=len(self.chunks)))

    # ---- disk -------------------------------------------------------------------------------
    def save(self, index_dir: Path, crash_hook: Callable[[str], None] | None = None) -> None:
        """Write atomically; ``crash_hook(stage)`` lets tests fail the write part-way."""
        save_index(self, Path(index_dir), crash_hook or (lambda stage: None))

    @classmethod
    def load(cls, index_dir: Path, settings: Settings | None = None) -> Index:
        """The committed index: in ``index_dir``, or in the Milvus server ``RAG_STORE`` names."""
        settings = settings or Settings()
        if holds_everything(settings):
            from .milvus_index import MilvusIndex

            return MilvusIndex.open(settings)
        return load_index(Path(index_dir), settings)
