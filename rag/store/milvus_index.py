"""An index a Milvus server holds whole (``RAG_STORE=milvus://HOST:PORT/C``): a process with no
index folder answers, cites and opens articles from it as the indexing process does.

The layout is in ``milvus_layout.py``, the rows in ``milvus_rows.py``. Generations: the first
change after a load makes the collections of a new generation and copies the committed rows
into them (or starts empty, for a rebuild); a save writes the manifest row, then points the
alias ``C`` at the new generation in one ``alter_alias`` call: readers see the old generation or
the new, never a mix, and a writer killed before that leaves the old one serving. The generation
before stays for readers in flight; older ones, and those of writers that never committed, are
dropped after the switch. One writer at a time: ``milvus_lock.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError, IndexMissingError
from ..ingest.articles import embedding_text
from ..settings import Settings
from . import lexical
from . import milvus_layout as layout
from .factory import chunking_of, store_spec
from .folder import new_manifest
from .index import Index
from .loading import encoder_of
from .milvus_calls import call_on
from .milvus_draft import MilvusDraft
from .milvus_generations import StateVectors, check_compatible, committed_generation, drop_old, rebuild_hint
from .milvus_lock import check_still_held
from .milvus_rows import MilvusRows
from .milvus_vectors import client_for

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from pymilvus import MilvusClient

    from ..types import Article, Chunk

CHECK_EVERY = 2.0  # seconds between two looks at which generation the alias names


class MilvusIndex(Index):
    """An ``Index`` whose rows, BM25, vectors and manifest are all in a Milvus server."""

    rows: MilvusRows | None  # type: ignore[assignment]  # the generation read (or written)
    vectors: StateVectors

    def __init__(self, settings: Settings, client: MilvusClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.spec = store_spec(settings)
        self.client = client
        self.draft_rows: MilvusDraft | None = None  # the new generation's rows, until it is saved
        self._checked_at = 0.0  # when the alias was last read (time.monotonic())

    # ---- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings) -> MilvusIndex:
        """The generation the alias names (IndexMissingError if there is none yet)."""
        spec = store_spec(settings)
        client = client_for(spec, settings.milvus_token)
        generation = committed_generation(client, spec)
        if generation is None:
            raise IndexMissingError(
                f"no index in {spec} yet. Build it: RAG_STORE={spec} rag index ARTICLES_FOLDER"
            )
        articles = layout.articles_name(spec.collection, generation)
        found = call_on(
            spec, articles, "read", client.get, articles, ids=[layout.MANIFEST], output_fields=["body"]
        )
        if not found:
            raise IndexCorruptError(
                f"the Milvus collection {articles} in {spec} has no manifest. {rebuild_hint(spec)}"
            )
        manifest = json.loads(found[0]["body"])
        check_compatible(manifest, spec, settings)
        rows = MilvusRows(client, spec, generation, manifest["counts"], rebuild_hint(spec))
        for name in (rows.chunks_collection, rows.articles_collection, rows.terms_collection):
            call_on(spec, name, "load", client.load_collection, name)
        vectors = StateVectors(
            client, spec, rows.chunks_collection, manifest["dimension"], settings.milvus_index
        )
        return cls(
            settings,
            client,
            model=manifest["model"],
            dimension=manifest["dimension"],
            chunking=manifest.get("chunking", {}),
            vectors=vectors,
            rows=rows,
            manifest=manifest,
            workdir=Path(settings.index_dir),
            encoder=encoder_of(manifest),
        )

    @classmethod
    def create(cls, settings: Settings, dimension: int, encoder: str) -> MilvusIndex:
        """No articles yet, in a generation of its own: the committed one serves until a save."""
        spec = store_spec(settings)
        index = cls(
            settings,
            client_for(spec, settings.milvus_token),
            model=settings.model,
            dimension=dimension,
            chunking=chunking_of(settings),
            vectors=StateVectors(client_for(spec, settings.milvus_token), spec, "", dimension, ""),
            workdir=Path(settings.index_dir),
            encoder=encoder,
        )
        index.writable()
        return index

    def newer(self) -> MilvusIndex | None:
        """The generation that serves now, if it is not this one (the alias is read at most every
        ``CHECK_EVERY`` seconds)."""
        if time.monotonic() - self._checked_at < CHECK_EVERY:
            return None
        self._checked_at = time.monotonic()
        generation = committed_generation(self.client, self.spec)
        if generation is None or generation == self.manifest.get("data") or self.draft_rows is not None:
            return None
        return MilvusIndex.open(self.settings)

    # ---- reading ----------------------------------------------------------------------------
    def chunks_of(self, article_id: str) -> list[Chunk]:
        if self.rows is None:
            return []
        rows = self.rows.query(
            self.rows.chunks_collection, f"article == {layout.literal(article_id)}", layout.CHUNK_FIELDS
        )
        chunks = [self.rows.chunk_of(r) for r in rows]
        return sorted((c for c in chunks if c is not None), key=lambda c: (c.start, c.end, c.id))

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[Chunk, float]]:
        if self.rows is None or k <= 0:
            return []
        found = call_on(
            self.spec,
            self.rows.chunks_collection,
            "search",
            self.client.search,
            self.rows.chunks_collection,
            data=[list(map(float, vector))],
            limit=min(k, 16_384),
            anns_field="vector",
            search_params={"metric_type": "IP"},
            output_fields=layout.CHUNK_FIELDS,
        )
        hits = ((self.rows.chunk_of({**h["entity"], "id": h["id"]}), float(h["distance"])) for h in found[0])
        return [(c, s) for c, s in hits if c is not None]

    def search_lexical(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        if self.rows is None:
            return []
        hits = ((self.rows.chunk_of(r), s) for r, s in self.rows.search_lexical(lexical.terms(query), k))
        return [(c, s) for c, s in hits if c is not None]

    def prefetch(self, article_ids: Iterable[str]) -> None:
        if self.rows is not None:
            self.rows.prefetch(article_ids)

    # ---- changing ---------------------------------------------------------------------------
    def add(
        self,
        article: Article,
        chunks: list[Chunk],
        vectors: npt.ArrayLike,
        sentences: npt.ArrayLike | None = None,
    ) -> None:
        import numpy as np

        rows = self.writable()
        array = np.asarray(vectors, dtype="float32").reshape(len(chunks), self.dimension)
        tokens = lexical.terms_of([embedding_text(article, c) for c in chunks])
        rows.put(article, chunks, tokens, sentences, array)
        self._embedded_sentences.pop(article.id, None)

    def remove(self, article_id: str) -> None:
        if self.rows is None or article_id not in self.articles:
            return
        self.writable().delete(article_id)
        self._embedded_sentences.pop(article_id, None)

    def writable(self) -> MilvusDraft:  # type: ignore[override]
        """The rows of the next generation: new collections, filled with the committed rows."""
        if self.draft_rows is None:
            generation = str(time.time_ns())
            fresh = MilvusDraft(self.client, self.spec, generation, None, rebuild_hint(self.spec))
            fresh.create(self.dimension, self.settings.milvus_index)
            if self.rows is not None:
                fresh.copy_from(self.rows)
            self.rows = self.draft_rows = fresh
            self.vectors = StateVectors(
                self.client, self.spec, fresh.chunks_collection, self.dimension, self.settings.milvus_index
            )
        return self.draft_rows

    def vectors_stale(self) -> bool:
        return False

    def fit_vectors(self) -> None:
        pass  # Milvus keeps its own index structures

    # ---- committing -------------------------------------------------------------------------
    def save(self, index_dir: Path, crash_hook: Callable[[str], None] | None = None) -> None:
        """Commit the generation being written: manifest row, then the alias, then drop the old."""
        hook = crash_hook or (lambda stage: None)
        rows = self.writable()
        rows.flush()
        hook("vectors-written")
        counts = {
            "articles": rows.count("articles"),
            "paragraphs": rows.paragraph_count(),
            "chunks": rows.count("chunks"),
        }
        current = committed_generation(self.client, self.spec)  # kept for readers in flight
        manifest = new_manifest(self, rows.generation, counts, current or "")
        body = json.dumps(manifest, indent=2)
        row = layout.piece_row(layout.MANIFEST, layout.MANIFEST, 0, body) | {"key": layout.MANIFEST}
        call_on(
            self.spec,
            rows.articles_collection,
            "write to",
            self.client.upsert,
            rows.articles_collection,
            [row],
        )
        rows.flush()
        hook("data-written")
        hook("data-renamed")
        check_still_held(self.client, self.spec)  # a run taken over must not commit late
        alias = self.spec.collection
        switch = self.client.alter_alias if current else self.client.create_alias
        call_on(self.spec, alias, "point the alias at", switch, rows.chunks_collection, alias)
        self.manifest, rows.counts, rows.writable, self.draft_rows = manifest, counts, False, None
        self._checked_at = time.monotonic()
        drop_old(self.client, self.spec, keep={rows.generation, manifest["previous"]})
