"""BM25 tokens: English stop words dropped, Snowball stemming (bm25s's tokenizer). The index keeps
each chunk's tokens in an SQLite FTS5 table, whose ``bm25()`` ranks them (see ``rows.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def terms_of(texts: Sequence[str]) -> list[list[str]]:
    """The stemmed, lower-cased content words of each text, as BM25 sees them."""
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
    )


def terms(text: str) -> list[str]:
    """The stemmed, lower-cased content words of ``text``, as BM25 sees them."""
    return terms_of([text])[0]
