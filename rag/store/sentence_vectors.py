"""Sentence vectors: every sentence of every article, for the reader, from the chunk pass.

The reader compares the question's vector (already computed for retrieval) with the vectors of
the candidate sentences, so reading costs no model call per question. A sentence's vector is
the mean of its tokens' outputs in the run that embeds its chunk (``embed.spans``): indexing
reads each text once, and the sentence is read with the words around it ("it", "this" resolved
by the paragraph). A sentence that no chunk holds whole (longer than a chunk, or cut by the
model's token limit) is embedded on its own. They are kept per article (float16, one row per
sentence in paragraph order) in the article's row of ``rows.sqlite`` and read with it, so
serving memory does not grow with them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..ingest.articles import embedding_text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..embed.encoder import Embedder
    from ..types import Article, Chunk

KIND = "in-context/1"  # how the vectors are made; the manifest records it, the reader was fitted on it


def sentence_spans(article: Article) -> list[tuple[int, int, int]]:
    """(paragraph, start, end) of the article's sentences in paragraph order (the vectors' rows)."""
    return [
        (para.number, s, e)
        for para in article.paragraphs
        for s, e in (para.sentences or ((para.start, para.end),))
    ]


def sentence_texts(article: Article) -> list[str]:
    """The article's sentences in paragraph order (the rows of its sentence vectors)."""
    return [article.text[s:e] for _, s, e in sentence_spans(article)]


def row_of(article: Article, paragraph: int, sentence: int) -> int:
    """The row of sentence ``sentence`` (0-based) of paragraph ``paragraph`` (1-based)."""
    return sum(len(p.sentences) or 1 for p in article.paragraphs[: paragraph - 1]) + sentence


def embed(
    pieces: Sequence[tuple[Article, Sequence[Chunk]]],
    embedder: Embedder,
    wanted: Collection[int] = (),
    known: Mapping[str, tuple[Article | None, Any]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[int, npt.NDArray[np.float32]], dict[str, npt.NDArray[np.float16]]]:
    """Vectors of the chunks whose ids are in ``wanted`` ({chunk id: vector}) and the sentence
    vectors of every article ({article id: float16 rows}), from one run over the chunks.

    ``known`` (article id -> (its previous version, that version's sentence vectors)): a sentence
    whose text the previous version had keeps its vector unless its chunk is run anyway.
    ``progress(n)`` is called as chunks are run.
    """
    import numpy as np

    wanted = set(wanted)
    plans = []  # per article: its rows, each (chunk or None, span in the chunk's text, sentence text)
    run: dict[int, tuple[Article, Chunk]] = {}
    for article, chunks in pieces:
        old_article, old_vectors = (known or {}).get(article.id, (None, None))
        reuse = dict(zip(sentence_texts(old_article), old_vectors)) if old_article is not None else {}
        rows = []
        for paragraph, s, e in sentence_spans(article):
            home = next((c for c in chunks if c.paragraph == paragraph and c.start <= s and e <= c.end), None)
            text = article.text[s:e]
            if home is not None and text not in reuse:
                run[home.id] = (article, home)
            shift = len(embedding_text(article, home)) - len(home.text) - home.start if home else 0
            rows.append((home, (s + shift, e + shift), text))
        for chunk in chunks:
            if chunk.id in wanted:
                run[chunk.id] = (article, chunk)
        plans.append((article, rows, reuse))
    ids = list(run)
    spans: dict[int, list[tuple[int, int]]] = {i: [] for i in ids}
    for _, rows, _ in plans:
        for home, span, _ in rows:
            if home is not None and home.id in run:
                spans[home.id].append(span)
    texts = [embedding_text(*run[i]) for i in ids]
    chunk_vectors, pooled = (
        embedder.encode_in_context(texts, [spans[i] for i in ids], progress=progress)
        if ids
        else (np.zeros((0, embedder.dimension), dtype="float32"), [])
    )
    found = {i: {span: vector for span, vector in zip(spans[i], rows)} for i, rows in zip(ids, pooled)}
    sentences: dict[str, npt.NDArray[np.float16]] = {}
    alone: list[tuple[str, int, str]] = []
    for article, rows, reuse in plans:
        out = np.zeros((len(rows), embedder.dimension), dtype="float16")
        for r, (home, span, text) in enumerate(rows):
            vector = found.get(home.id, {}).get(span) if home is not None else None
            if vector is not None and not np.isnan(vector).any():
                out[r] = vector
            elif text in reuse and (home is None or home.id not in run):
                out[r] = reuse[text]
            else:
                alone.append((article.id, r, text))
        sentences[article.id] = out
    if alone:  # held by no chunk whole: embedded on their own
        for (article_id, r, _), vector in zip(alone, embedder.encode([t for _, _, t in alone])):
            sentences[article_id][r] = vector
    return {i: chunk_vectors[n] for n, i in enumerate(ids) if i in wanted}, sentences
