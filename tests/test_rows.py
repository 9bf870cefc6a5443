"""The index keeps its rows on disk: opening a large index reads little, and a query reads little more.

A synthetic corpus (random words, random unit vectors of a small dimension) stands in for real
articles: the test is about what is read from disk, not about meaning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.ingest import chunk_article
from rag.settings import Settings
from rag.store.index import Index
from rag.types import Article, Paragraph

DIM = 8
ARTICLES = 2500
WORDS = np.array([f"w{n:05d}" for n in range(20_000)])


def _read_bytes() -> int:
    return int(
        next(
            line for line in Path("/proc/self/io").read_text().splitlines() if line.startswith("rchar")
        ).split()[1]
    )


def _article(n: int, rng) -> Article:
    """An article of ten one-sentence paragraphs of random words (built directly: sentence
    splitting is not what is tested, and would take most of the time)."""
    from rag.ingest.articles import short_hash

    doc = f"a{n}.txt"
    paragraphs = [f"Article {n} zebra{n}"] + [
        " ".join(WORDS[rng.integers(0, len(WORDS), 80)]) + "." for _ in range(9)
    ]
    text, spans = "", []
    for para in paragraphs:
        spans.append((len(text), len(text) + len(para)))
        text += para + "\n\n"
    article_id = short_hash(doc)
    return Article(
        article_id,
        doc,
        paragraphs[0],
        text,
        short_hash(text),
        tuple(
            Paragraph(article_id, i, s, e, short_hash(text[s:e]), ((s, e),))
            for i, (s, e) in enumerate(spans, 1)
        ),
    )


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    settings = Settings(index_dir=tmp_path_factory.mktemp("rows") / "index", verify_max_mb=0.5)
    index = Index.empty(settings, DIM)
    rng = np.random.default_rng(0)
    for n in range(ARTICLES):
        article = _article(n, rng)
        chunks = chunk_article(article, settings)
        vectors = rng.normal(size=(len(chunks), DIM)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index.add(article, chunks, vectors, np.ones((len(article.paragraphs), DIM), dtype="float16"))
    index.save(settings.index_dir)
    return settings, index


def test_opening_a_large_index_reads_a_bounded_number_of_bytes(large):
    import faiss  # noqa: F401  (imported before the count: the libraries are not the index)

    settings, built = large
    data = settings.index_dir / built.manifest["data"]
    rows, vectors = (data / "rows.sqlite").stat().st_size, (data / "vectors.faiss").stat().st_size
    assert rows > 20 * 1024 * 1024

    before = _read_bytes()
    index = Index.load(settings.index_dir, settings)
    opened = _read_bytes() - before
    assert opened < vectors + 1024 * 1024, f"opening read {opened} bytes of a {rows}-byte rows file"
    assert len(index.chunks) == len(built.chunks) and len(index.articles) == ARTICLES

    before = _read_bytes()
    (chunk, score), *_ = index.search_lexical("zebra1234", 5)
    article = index.articles[chunk.article_id]
    asked = _read_bytes() - before
    assert article.doc == "a1234.txt" and score > 0 and chunk.text == article.text[chunk.start : chunk.end]
    assert asked < 1024 * 1024, f"one lexical query read {asked} bytes"
    counts, n_docs = index.document_frequencies()
    assert counts.get("zebra1234") == len(index.chunks_of(article.id)) and n_docs == len(built.chunks)
    assert index.sentences[chunk.article_id].shape[1] == DIM


def test_a_damaged_row_past_the_sampled_blocks_is_reported_when_read(large, tmp_path):
    """Above verify_max_mb a file is checked by size and sampled blocks; an article row damaged
    elsewhere is caught by its own checksum when read, and reported with the fix."""
    import shutil

    from rag.errors import IndexCorruptError
    from rag.store import checksums

    settings, built = large
    copy = tmp_path / "index"
    shutil.copytree(settings.index_dir, copy)
    rows = copy / built.manifest["data"] / "rows.sqlite"
    data = bytearray(rows.read_bytes())
    last = len(data) - checksums.BLOCK
    sampled = [
        (last * n // (checksums.SAMPLES - 1), last * n // (checksums.SAMPLES - 1) + checksums.BLOCK)
        for n in range(checksums.SAMPLES)
    ]
    for n in range(ARTICLES // 2, ARTICLES):
        at = data.find(f"Article {n} zebra{n}\n".encode())
        if not any(begin - 64 <= at < end for begin, end in sampled):
            break
    data[at + len("Article ") : at + len("Article ") + 1] = b"X"  # one letter of its text
    rows.write_bytes(bytes(data))
    index = Index.load(copy, settings.with_(index_dir=copy))  # size and sampled blocks agree
    assert index.articles[index.article_by_doc("a1.txt").id].doc == "a1.txt"  # the others still read
    with pytest.raises(IndexCorruptError, match=f"a{n}.txt.*is damaged.*--rebuild"):
        index.search_lexical(f"zebra{n}", 1)
