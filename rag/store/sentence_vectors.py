"""Sentence vectors for the reader, and chunk vectors pooled from the same runs.

The reader compares the question's vector (already computed for retrieval) with the vectors of
the candidate sentences, so reading costs no model call per question. Every sentence is run
through the model once, on its own; a chunk's vector is then the mean of the token outputs of
its article's title and of its sentences (their sums and token counts), normalised, instead of
a second run over the chunk's text. Indexing reads each text once. On SQuAD dev (5,757
questions) passage recall@5 is 0.956 with pooled chunk vectors against 0.957 with chunks run
whole (docs/indexing.md). A chunk that does not consist of whole sentences (a long sentence
split between chunks) is run whole, as its text.

Sentence vectors are kept per article (float16, one row per sentence in paragraph order) in the
article's row of ``rows.sqlite`` and read with it, so serving memory does not grow with them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..ingest.articles import embedding_text

# What an index's manifest says of its chunk vectors ("chunk_vectors"): pooled from the sentences'
# runs as here, or "whole" (each chunk run as one text: indexes made before pooling, which have no
# such entry). An update must not mix the two, so it embeds a "whole" index's articles again
# (indexer.py).
POOLED = "pooled"


def chunk_vectors_of(manifest: dict) -> str:
    """How an index's chunk vectors were made: "pooled" from its sentences, or "whole" (each chunk
    run as one text; indexes made before pooling have no entry)."""
    return str(manifest.get("chunk_vectors", "whole"))


if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..embed.encoder import Embedder
    from ..types import Article, Chunk


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
    """The vectors of the chunks whose ids are in ``wanted`` ({chunk id: vector}) and the sentence
    vectors of every article ({article id: float16 rows}), each text run once.

    ``known`` (article id -> (its previous version, that version's sentence vectors)): a sentence
    whose text the previous version had keeps its vector, unless a wanted chunk needs its run.
    ``progress(n)`` is told the number of wanted chunks embedded.
    """
    import numpy as np

    wanted = set(wanted)
    pool = hasattr(embedder, "token_sums")  # a stand-in encoder (tests, benchmarks) runs chunks whole
    runs: dict[str, int] = {}  # text -> its row in the run (a text is run once)

    def run(text: str) -> int:
        return runs.setdefault(text, len(runs))

    pooled: list[tuple[int, list[int]]] = []  # chunk id -> the runs whose tokens make its vector
    plans = []  # per article: each sentence's run, or its reused vector
    for article, chunks in pieces:
        old_article, old_vectors = (known or {}).get(article.id, (None, None))
        reuse = dict(zip(sentence_texts(old_article), old_vectors)) if old_article is not None else {}
        spans = sentence_spans(article)
        needed: set[int] = set()  # sentences a wanted chunk is pooled from
        for chunk in (c for c in chunks if c.id in wanted):
            inside = [
                k
                for k, (p, s, e) in enumerate(spans)
                if p == chunk.paragraph and s < chunk.end and chunk.start < e
            ]
            whole = all(chunk.start <= spans[k][1] and spans[k][2] <= chunk.end for k in inside)
            if pool and inside and whole:
                title = [run(article.title)] if article.title else []
                pooled.append(
                    (chunk.id, title + [run(article.text[spans[k][1] : spans[k][2]]) for k in inside])
                )
                needed.update(inside)
            else:  # not made of whole sentences: run as it is embedded
                pooled.append((chunk.id, [run(embedding_text(article, chunk))]))
        rows: list[int | Any] = []
        for k, (_, s, e) in enumerate(spans):
            text = article.text[s:e]
            rows.append(reuse[text] if text in reuse and k not in needed else run(text))
        plans.append((article.id, rows))
    sums, counts = _token_sums(embedder, list(runs))
    if progress and wanted:
        progress(len(wanted))
    chunk_vectors = {}
    for chunk_id, parts in pooled:
        vector = sums[parts].sum(axis=0) / counts[parts].sum()
        chunk_vectors[chunk_id] = vector / max(float(np.linalg.norm(vector)), 1e-12)
    sentences: dict[str, npt.NDArray[np.float16]] = {}
    for article_id, rows in plans:
        out = np.zeros((len(rows), embedder.dimension), dtype="float16")
        for r, row in enumerate(rows):
            if isinstance(row, int):
                vector = sums[row] / counts[row]
                out[r] = vector / max(float(np.linalg.norm(vector)), 1e-12)
            else:
                out[r] = row
        sentences[article_id] = out
    return chunk_vectors, sentences


def _token_sums(embedder: Any, texts: list[str]) -> tuple[Any, Any]:
    """``embedder.token_sums(texts)``; a stand-in encoder that only has ``encode`` gives each
    text's vector with a count of one."""
    import numpy as np

    if hasattr(embedder, "token_sums"):
        return embedder.token_sums(texts)
    vectors = np.asarray(embedder.encode(texts), dtype="float32").reshape(len(texts), -1)
    return vectors, np.ones(len(texts), dtype="float32")
