"""A generation being written to a Milvus server: its rows, changed article by article.

It starts empty (a rebuild) or as a copy of the committed generation (``copy_from``); its BM25
document frequencies follow each change (``milvus_terms.py``). ``milvus_index.py`` makes one on
the first change and commits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import milvus_layout as layout
from .milvus_rows import MilvusRows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..types import Article, Chunk


class MilvusDraft(MilvusRows):
    """The rows of a generation no reader sees yet."""

    added: set[str] | None = None  # articles put since it started empty; None: not known (a copy)

    def create(self, dimension: int, index_type: str) -> None:
        """Make the generation's collections (empty)."""
        self.added = set()
        self._call("create", layout.create_chunks, self.client, self.chunks_collection, dimension, index_type)
        self._call("create", layout.create_pieces, self.client, self.articles_collection)
        self.terms.create()

    def put(
        self,
        article: Article,
        chunks: list[Chunk],
        tokens: list[list[str]],
        sentences: npt.ArrayLike | None,
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Store ``article`` with its chunks (their BM25 tokens and vectors), replacing its old rows."""
        if self.added is None or article.id in self.added:  # a new generation has nothing to delete
            self.delete(article.id)
        rows = [
            {
                "id": int(c.id),
                "article": c.article_id,
                "paragraph": c.paragraph,
                "start": c.start,
                "end": c.end,
                "text": layout.chunk_text(c.text),
                "terms": layout.cut(" ".join(t), layout.TERMS_BYTES)[0],
                "vector": v,
            }
            for c, t, v in zip(chunks, tokens, vectors.tolist())
        ]
        self.insert(self.chunks_collection, rows)
        for row in rows:
            self.terms.count(row["terms"].split(), +1)
        pieces = layout.article_pieces(article)
        if sentences is not None:
            pieces += layout.sentence_pieces(article.id, sentences)
        self.insert(self.articles_collection, pieces)
        if self.added is not None:
            self.added.add(article.id)

    def set_sentences(self, article_id: str, sentences: npt.ArrayLike) -> None:
        where = f"article == {layout.literal(article_id)} and part == {layout.literal(layout.SENTENCES)}"
        self._call("delete from", self.client.delete, self.articles_collection, filter=where)
        self.insert(self.articles_collection, layout.sentence_pieces(article_id, sentences))

    def delete(self, article_id: str) -> list[int]:
        """Forget the article and its chunks; returns the chunk ids it had."""
        where = f"article == {layout.literal(article_id)}"
        chunks = self.query(self.chunks_collection, where, ["id", "terms"])
        for chunk in chunks:
            self.terms.count(chunk["terms"].split(), -1)
        old = [int(c["id"]) for c in chunks]
        self._articles.drop(article_id)
        self._sentences.drop(article_id)
        if old:
            self._call("delete from", self.client.delete, self.chunks_collection, filter=where)
        self._call("delete from", self.client.delete, self.articles_collection, filter=where)
        return old

    def copy_from(self, other: MilvusRows) -> None:
        """Every row of ``other`` (the committed generation) into this one, a page at a time."""
        self.added = None
        fields = [*layout.CHUNK_FIELDS, "terms", "vector"]
        self.insert(self.chunks_collection, other._pages(other.chunks_collection, "", fields))
        where = f"part != {layout.literal(layout.MANIFEST)}"
        self.insert(self.articles_collection, other._pages(other.articles_collection, where, ["*"]))
        self.terms.copy_from(other._pages(other.terms_collection, "", ["key", "df"]))

    def flush(self) -> None:
        self.terms.apply()
        for name in (self.chunks_collection, self.articles_collection, self.terms_collection):
            self._call("flush", self.client.flush, name)
