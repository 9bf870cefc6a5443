"""Sentence vectors: every sentence of every article, embedded once at index time.

The reader compares the question's vector (already computed for retrieval) with the vectors of
the candidate sentences, so reading costs no model call per question. They are kept per article
(float16, one row per sentence in paragraph order) in the article's row of ``rows.sqlite`` and
read with it, so serving memory does not grow with them. An article stored without them has its
sentences embedded on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..embed.encoder import Embedder
    from ..types import Article


def sentence_texts(article: Article) -> list[str]:
    """The article's sentences in paragraph order (the rows of its sentence vectors)."""
    return [
        article.text[s:e]
        for para in article.paragraphs
        for s, e in (para.sentences or ((para.start, para.end),))
    ]


def row_of(article: Article, paragraph: int, sentence: int) -> int:
    """The row of sentence ``sentence`` (0-based) of paragraph ``paragraph`` (1-based)."""
    return sum(len(p.sentences) or 1 for p in article.paragraphs[: paragraph - 1]) + sentence


def embed(
    articles: Iterable[Article],
    embedder: Embedder,
    known: Mapping[str, tuple[Article | None, Any]] | None = None,
) -> dict[str, npt.NDArray[np.float16]]:
    """{article id: float16 vectors}; sentences whose text an earlier version of the same article
    had (``known``: id -> (old article, old vectors)) reuse their vector."""
    import numpy as np

    articles = list(articles)
    out: dict[str, npt.NDArray[np.float16]] = {}
    todo: list[tuple[str, int, str]] = []
    for article in articles:
        texts = sentence_texts(article)
        old_article, old_vectors = (known or {}).get(article.id, (None, None))
        reuse = dict(zip(sentence_texts(old_article), old_vectors)) if old_article is not None else {}
        rows = np.zeros((len(texts), embedder.dimension), dtype="float16")
        for i, text in enumerate(texts):
            if text in reuse:
                rows[i] = reuse[text]
            else:
                todo.append((article.id, i, text))
        out[article.id] = rows
    if todo:
        vectors = embedder.encode([t for _, _, t in todo])
        for (article_id, i, _), vector in zip(todo, vectors):
            out[article_id][i] = vector
    return out
