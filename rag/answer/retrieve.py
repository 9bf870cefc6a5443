"""Find the paragraphs that answer a question: dense (FAISS) and lexical (BM25) search, fused.

Both searches run over chunks; a paragraph's score in each is its best chunk's, so two chunks
of one paragraph are one source. Fusion is score-normalised by default (measured better than
reciprocal-rank fusion on the dev sets; see docs/answers.md), and each search stays selectable alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import QuestionError
from ..store.index import Index
from ..types import Article, Chunk, Hit, Paragraph

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("score", "rrf")
RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion


def retrieve(
    index: Index,
    question: str,
    query_vector: Any,
    k: int = 5,
    mode: str = "hybrid",
    fusion: str = "score",
    dense_weight: float = 0.4,
    candidates: int = 50,
    only: frozenset[str] | None = None,
) -> list[Hit]:
    """The best ``k`` paragraphs for ``question``, best first. ``query_vector`` may be None in bm25
    mode. ``only``: article ids to search in (every chunk of theirs is scored); None: all."""
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}")
    if only is not None:
        dense = by_paragraph(_dense_within(index, query_vector, only)) if mode != "bm25" else {}
        everything = index.search_lexical(question, len(index.chunks)) if mode != "dense" else []
        lexical = by_paragraph((c, s) for c, s in everything if c.article_id in only)
    else:
        dense = by_paragraph(index.search(query_vector, candidates)) if mode != "bm25" else {}
        lexical = by_paragraph(index.search_lexical(question, candidates)) if mode != "dense" else {}
    if mode == "dense":
        fused = dense
    elif mode == "bm25":
        fused = lexical
    elif fusion == "rrf":
        fused = rrf(dense, lexical)
    else:
        fused = score_fusion(dense, lexical, dense_weight)
    best = sorted(fused, key=lambda key: (-fused[key], key))[:k]
    index.prefetch(article_id for article_id, _ in best)
    return [
        _hit(index, key, rank, fused[key], dense.get(key, 0.0), lexical.get(key, 0.0))
        for rank, key in enumerate(best, start=1)
    ]


Key = tuple[str, int]  # (article id, paragraph number)


def by_paragraph(scored: Iterable[tuple[Chunk, float]]) -> dict[Key, float]:
    """Best score per paragraph."""
    best: dict[Key, float] = {}
    for chunk, score in scored:
        key = (chunk.article_id, chunk.paragraph)
        if score > best.get(key, float("-inf")):
            best[key] = score
    return best


def _dense_within(index: Index, query_vector: Any, only: frozenset[str]) -> list[tuple[Chunk, float]]:
    """Cosine similarity of every chunk of the articles ``only`` to the question."""
    import numpy as np

    chunks = [c for article_id in sorted(only) for c in index.chunks_of(article_id)]
    if not chunks:
        return []
    try:
        vectors = np.asarray(index.vectors.get([c.id for c in chunks]), dtype="float32")
    except Exception:  # a store that cannot hand vectors back: search all of it instead
        return [(c, s) for c, s in index.search(query_vector, len(index.chunks)) if c.article_id in only]
    scores = vectors @ np.asarray(query_vector, dtype="float32").reshape(-1)
    return list(zip(chunks, scores.tolist()))


def rrf(*rankings: dict[Key, float]) -> dict[Key, float]:
    fused: dict[Key, float] = {}
    for scores in rankings:
        for rank, key in enumerate(sorted(scores, key=lambda k: -scores[k]), start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return fused


def score_fusion(dense: dict[Key, float], lexical: dict[Key, float], dense_weight: float) -> dict[Key, float]:
    """Weighted sum of each list's scores scaled to [0, 1] (min-max over its candidates), so a
    strong lexical match and a strong semantic match weigh alike; a list that missed a paragraph
    adds 0 for it."""
    fused: dict[Key, float] = {}
    for scores, weight in ((dense, dense_weight), (lexical, 1.0 - dense_weight)):
        if not scores:
            continue
        top, low = max(scores.values()), min(scores.values())
        span = (top - low) or 1.0
        for key, value in scores.items():
            fused[key] = fused.get(key, 0.0) + weight * (value - low) / span
    return fused


def _hit(index: Index, key: Key, rank: int, score: float, dense: float, lexical: float) -> Hit:
    article = index.articles[key[0]]
    return paragraph_hit(
        article, article.paragraphs[key[1] - 1], rank=rank, score=score, dense=dense, lexical=lexical
    )


def paragraph_hit(
    article: Article, para: Paragraph, *, rank: int, score: float, dense: float = 0.0, lexical: float = 0.0
) -> Hit:
    """A whole paragraph as a passage, with its text and span in the article."""
    return Hit(
        rank=rank,
        doc=article.doc,
        title=article.title,
        article_id=article.id,
        paragraph=para.number,
        start=para.start,
        end=para.end,
        text=article.text[para.start : para.end],
        score=score,
        dense=dense,
        lexical=lexical,
    )


def article_ids(index: Index, names: Iterable[str]) -> list[str]:
    """The ids of the articles ``names`` (each a file as listed, e.g. ``uploads/notes.md``, a file
    name, or a title; any case); refuses a name that matches none."""
    ids = []
    for name in names:
        wanted = " ".join(str(name).split()).casefold()
        found = [
            a.id
            for a in index.articles.values()
            if wanted in (a.doc.casefold(), a.doc.rsplit("/", 1)[-1].casefold(), a.title.casefold())
        ]
        if not found:
            raise QuestionError(
                f"no article is named {name!r}; name one as the article list shows it "
                "(its file, e.g. uploads/notes.md, or its title)"
            )
        ids += found
    return ids
