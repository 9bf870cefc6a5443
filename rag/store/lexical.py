"""BM25 over chunk texts with bm25s: English stopwords, Snowball stemming; saved without pickle."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def tokenize(texts: Sequence[str]):
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)


def build(texts: Sequence[str]):
    """A BM25 model whose document i is ``texts[i]``."""
    import bm25s

    model = bm25s.BM25()
    model.index(tokenize(texts), show_progress=False)
    return model


def search(model, query: str, k: int, n_docs: int) -> list[tuple[int, float]]:
    """(document number, score) of the best ``k`` documents with a positive score, best first."""
    import bm25s

    tokens = bm25s.tokenize(
        [query], stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
    )
    known = [t for t in tokens[0] if t in model.vocab_dict]
    if not known or n_docs == 0:
        return []
    docs, scores = model.retrieve([known], k=min(k, n_docs), show_progress=False, n_threads=1)
    return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def save(model, folder: Path) -> None:
    model.save(str(folder), allow_pickle=False)


def load(folder: Path):
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False)


def terms(text: str) -> list[str]:
    """The stemmed, lower-cased content words of ``text``, as BM25 sees them."""
    import bm25s

    return bm25s.tokenize([text], stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)[
        0
    ]


def document_frequencies(model) -> tuple[dict[str, int], int]:
    """How many documents hold each term, and the number of documents."""
    import numpy as np

    counts = np.diff(model.scores["indptr"])
    return (
        {term: int(counts[i]) for term, i in model.vocab_dict.items() if i < len(counts)},
        int(model.scores["num_docs"]),
    )
