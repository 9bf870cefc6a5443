"""Read-only mappings over an index's rows on disk: ``index.articles``, ``index.chunks``,
``index.sentences`` and the BM25 document frequencies. Each reads what is asked for, when asked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from ..types import Article, Chunk
    from .index import Index
    from .rows import RowStore

_T = TypeVar("_T")


class _View(Mapping[Any, Any]):
    def __init__(self, index: Index) -> None:
        self._index = index

    @property
    def _rows(self) -> RowStore | None:
        return self._index.rows


class ArticleView(_View):
    """article id -> Article."""

    def __getitem__(self, article_id: str) -> Article:
        found = self._rows.article(article_id) if self._rows and isinstance(article_id, str) else None
        if found is None:
            raise KeyError(article_id)
        return found

    def __contains__(self, article_id: object) -> bool:
        rows = self._rows
        return rows is not None and isinstance(article_id, str) and rows.has_article(article_id)

    def __iter__(self) -> Iterator[str]:
        return self._rows.article_ids() if self._rows else iter(())

    def __len__(self) -> int:
        return self._rows.count("articles") if self._rows else 0


class ChunkView(_View):
    """chunk id -> Chunk (its text cut from the article's)."""

    def __getitem__(self, chunk_id: int) -> Chunk:
        found = self._rows.chunk(chunk_id) if self._rows else None
        if found is None:
            raise KeyError(chunk_id)
        return found

    def __iter__(self) -> Iterator[int]:
        return self._rows.chunk_ids() if self._rows else iter(())

    def __len__(self) -> int:
        return self._rows.count("chunks") if self._rows else 0


class SentenceView(_View):
    """article id -> its float16 sentence vectors (one row per sentence, paragraph order)."""

    def __getitem__(self, article_id: str) -> Any:
        found = self._rows.sentences(article_id) if self._rows else None
        if found is None:
            raise KeyError(article_id)
        return found

    def __setitem__(self, article_id: str, vectors: Any) -> None:
        self._index.writable().set_sentences(article_id, vectors)

    def update(self, other: Mapping[str, Any]) -> None:
        for article_id, vectors in other.items():
            self[article_id] = vectors

    def __iter__(self) -> Iterator[str]:
        return self._rows.sentence_ids() if self._rows else iter(())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Frequencies(Mapping[str, int]):
    """BM25 term -> chunks holding it, looked up in the rows' FTS5 vocabulary on demand."""

    def __init__(self, rows: RowStore | None) -> None:
        self._rows = rows
        self._seen: dict[str, int] = {}

    def __getitem__(self, term: str) -> int:
        if term not in self._seen:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[term] = self._rows.document_frequency(term) if self._rows else 0
        return self._seen[term]

    @overload
    def get(self, term: str, default: int = 0) -> int: ...
    @overload
    def get(self, term: str, default: _T) -> int | _T: ...
    def get(self, term: str, default: object = 0) -> object:  # 0, not None, for an unknown term
        return self[term] or default

    def __iter__(self) -> Iterator[str]:
        raise TypeError("document frequencies are looked up one term at a time, not listed")

    def __len__(self) -> int:
        raise TypeError("document frequencies are looked up one term at a time, not counted")
