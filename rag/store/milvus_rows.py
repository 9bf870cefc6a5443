"""The rows of one generation held by a Milvus server: what ``rows.RowStore`` offers the index
(articles, chunks, sentence vectors, BM25 search and document frequencies), read on demand.

The layout is in ``milvus_layout.py``. BM25 is Milvus's own full-text search over each chunk's
tokens (``lexical.terms``, the same tokens the local index keeps), with the same k1 and b, so it
ranks as the local index does; the document frequencies are in ``milvus_terms.py``. Writing a
new generation is in ``milvus_draft.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError
from ..types import Article, Chunk
from . import milvus_layout as layout
from .milvus_calls import call_milvus
from .milvus_terms import TermCounts
from .milvus_vectors import WRITE_ROWS
from .recent import Recent
from .rows import CACHED_ARTICLES

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from pymilvus import MilvusClient

    from .vectorstore import StoreSpec

PAGE = 1000  # rows per page when reading a whole collection
CACHED_TERMS = 100_000  # document frequencies kept (a committed generation's never change)
SEARCH_LIMIT = 16_384  # Milvus caps a search's limit here


class MilvusRows:
    """The rows of generation ``generation`` of the index ``spec.collection``; ``counts`` are its
    manifest's (None while it is being written: then they are counted)."""

    def __init__(
        self,
        client: MilvusClient,
        spec: StoreSpec,
        generation: str,
        counts: dict[str, int] | None = None,
        hint: str = "",
    ) -> None:
        self.client = client
        self.spec = spec
        self.generation = generation
        self.chunks_collection = layout.chunks_name(spec.collection, generation)
        self.articles_collection = layout.articles_name(spec.collection, generation)
        self.terms_collection = layout.terms_name(spec.collection, generation)
        self.terms = TermCounts(client, self.terms_collection, self._call)
        self.counts = counts
        self.writable = counts is None
        self.hint = hint
        self._articles: Recent[str, Article] = Recent(CACHED_ARTICLES)
        self._sentences: Recent[str, npt.NDArray[np.float16]] = Recent(CACHED_ARTICLES)
        self._frequencies: Recent[str, int] = Recent(CACHED_TERMS)

    # ---- reading --------------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        found = self._articles.get(article_id)
        if found is not None:
            return found
        self.prefetch([article_id])
        return self._articles.get(article_id)

    def prefetch(self, article_ids: Iterable[str]) -> None:
        """Read the articles not read yet in one request (those of a question's passages)."""
        wanted = [a for a in dict.fromkeys(article_ids) if self._articles.get(a) is None]
        if not wanted:
            return
        where = (
            f"article in [{', '.join(map(layout.literal, wanted))}] and part == {layout.literal(layout.ROW)}"
        )
        pieces: dict[str, list[dict[str, Any]]] = {}
        for row in self.query(self.articles_collection, where, ["article", "piece", "body", "checksum"]):
            pieces.setdefault(row["article"], []).append(row)
        for rows in pieces.values():
            article, intact = layout.article_from_pieces(rows)
            if not intact:
                raise IndexCorruptError(
                    f"the row of article {article.doc!r} in the Milvus collection "
                    f"{self.articles_collection} in {self.spec} is damaged. {self.hint}".strip()
                )
            self._articles.put(article.id, article)

    def article_id_of(self, doc: str) -> str | None:
        rows = self.query(
            self.articles_collection, f"doc == {layout.literal(doc)} and piece == 0", ["article"]
        )
        return rows[0]["article"] if rows else None

    def has_article(self, article_id: str) -> bool:
        key = f"{article_id}/{layout.ROW}/0"
        return bool(
            self._call("read", self.client.get, self.articles_collection, ids=[key], output_fields=["key"])
        )

    def _firsts(self, part: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        where = f"part == {layout.literal(part)} and piece == 0"
        return self._pages(self.articles_collection, where, fields)

    def article_ids(self) -> Iterator[str]:
        rows = sorted(self._firsts(layout.ROW, ["article", "doc"]), key=lambda r: r["doc"])
        return (r["article"] for r in rows)

    def sentence_ids(self) -> Iterator[str]:
        return (r["article"] for r in self._firsts(layout.SENTENCES, ["article"]))

    def docs(self) -> dict[str, tuple[str, str, str]]:
        """{doc: (article id, file sha256, file stamp)}: what an update compares files with."""
        rows = self._firsts(layout.ROW, ["article", "doc", "sha256", "stamp"])
        return {r["doc"]: (r["article"], r["sha256"], r["stamp"]) for r in rows}

    def count(self, table: str) -> int:
        """Rows in ``articles`` or ``chunks`` (from the manifest once the generation is saved)."""
        if self.counts is not None:
            return int(self.counts.get(table, 0))
        if table == "chunks":
            where, collection = "", self.chunks_collection
        else:
            where, collection = (
                f"part == {layout.literal(layout.ROW)} and piece == 0",
                self.articles_collection,
            )
        rows = self.query(collection, where, ["count(*)"])
        return int(rows[0]["count(*)"])

    def paragraph_count(self) -> int:
        if self.counts is not None:
            return int(self.counts.get("paragraphs", 0))
        return sum(int(r["paragraphs"]) for r in self._firsts(layout.ROW, ["paragraphs"]))

    def chunk(self, chunk_id: int) -> Chunk | None:
        rows = self._call(
            "read",
            self.client.get,
            self.chunks_collection,
            ids=[int(chunk_id)],
            output_fields=layout.CHUNK_FIELDS,
        )
        return self.chunk_of(rows[0]) if rows else None

    def chunk_of(self, row: dict[str, Any]) -> Chunk | None:
        """The chunk of a chunk row (``layout.CHUNK_FIELDS``); its text cut from its article's
        only where the row could not hold it."""
        start, end, text = int(row["start"]), int(row["end"]), row["text"]
        if not text and end > start:
            article = self.article(row["article"])
            if article is None:
                return None
            text = article.text[start:end]
        return Chunk(int(row["id"]), row["article"], int(row["paragraph"]), start, end, text)

    def chunk_ids(self) -> Iterator[int]:
        return iter(sorted(int(r["id"]) for r in self._pages(self.chunks_collection, "", ["id"])))

    def sentences(self, article_id: str) -> npt.NDArray[np.float16] | None:
        found = self._sentences.get(article_id)
        if found is None:
            where = f"article == {layout.literal(article_id)} and part == {layout.literal(layout.SENTENCES)}"
            rows = self.query(self.articles_collection, where, ["piece", "body", "paragraphs"])
            found = layout.sentences_from_pieces(rows) if rows else None
            if found is not None and not self.writable:
                self._sentences.put(article_id, found)
        return found

    def search_lexical(self, tokens: list[str], k: int) -> list[tuple[dict[str, Any], float]]:
        """Chunk rows (``layout.CHUNK_FIELDS``) and BM25 scores of Milvus's full-text search.
        Milvus multiplies Lucene's BM25 by k1 + 1 (and milvus-lite gives it as a negative
        distance): divided back, the scores are ``lexical.rank``'s."""
        if not tokens or k <= 0:
            return []
        found = self._call(
            "search",
            self.client.search,
            self.chunks_collection,
            data=[" ".join(tokens)],
            anns_field="sparse",
            limit=min(k, SEARCH_LIMIT),
            search_params={"metric_type": "BM25"},
            output_fields=layout.CHUNK_FIELDS,
        )
        return [
            ({**h["entity"], "id": h["id"]}, abs(float(h["distance"])) / (layout.BM25_K1 + 1))
            for h in found[0]
        ]

    def document_frequency(self, term: str) -> int:
        found = self._frequencies.get(term)
        if found is None:
            found = self.terms.get([term]).get(term, 0)
            if not self.writable:  # a committed generation never changes
                self._frequencies.put(term, found)
        return found

    # ---- helpers --------------------------------------------------------------------------
    def insert(self, collection: str, rows: Iterable[dict[str, Any]]) -> None:
        """Write ``rows`` (a list, or rows read a page at a time) in batches of ``WRITE_ROWS``."""
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({k: v for k, v in row.items() if k != "sparse"})  # Milvus makes that one
            if len(batch) >= WRITE_ROWS:
                self._call("write to", self.client.insert, collection, batch)
                batch = []
        if batch:
            self._call("write to", self.client.insert, collection, batch)

    def query(self, collection: str, where: str, fields: list[str]) -> list[dict[str, Any]]:
        return list(self._call("read", self.client.query, collection, filter=where, output_fields=fields))

    def _pages(self, collection: str, where: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        pages = self._call(
            "read",
            self.client.query_iterator,
            collection,
            batch_size=PAGE,
            filter=where,
            output_fields=fields,
        )
        try:
            while True:
                page = self._call("read", pages.next)
                if not page:
                    return
                yield from page
        finally:
            pages.close()

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        where = (
            f"the Milvus collections of generation {self.generation} of {self.spec.collection} in {self.spec}"
        )
        return call_milvus(where, what, method, *args, **kwargs)
