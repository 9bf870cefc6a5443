"""BM25: tokens (English stop words dropped, Snowball stemming: bm25s's tokenizer) and the score.

The index keeps each chunk's tokens in an SQLite FTS5 table (``rows.py``), which gives each
term's postings; ``rank`` scores them as bm25s did (Lucene's BM25, k1 = 1.5, b = 0.75). FTS5's
own ``bm25()`` is not used: it clamps the IDF of a term in over half the chunks to zero, so a
small collection dominated by one article could not find that article by its own words.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

K1, B = 1.5, 0.75  # bm25s's defaults


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


def rank(query: list[str], postings: dict, n_docs: int, n_tokens: int, k: int) -> list[tuple[int, float]]:
    """The best ``k`` (document, score) pairs, best first, for the ``query`` tokens (a repeated
    token counts again, as in bm25s); ``postings``: token -> [(document, term count, length)]."""
    if not n_docs:
        return []
    average = max(n_tokens / n_docs, 1e-9)
    scores: Counter = Counter()
    for term, times in Counter(query).items():
        found = postings.get(term) or ()
        idf = math.log(1 + (n_docs - len(found) + 0.5) / (len(found) + 0.5))
        for doc, tf, length in found:
            scores[doc] += times * idf * tf / (tf + K1 * (1 - B + B * length / average))
    return [(int(d), float(s)) for d, s in scores.most_common(k) if s > 0]
