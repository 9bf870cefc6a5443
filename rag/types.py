"""Frozen records that flow through the pipeline: articles in, cited answers out.

Every span is a pair of character offsets into the article's text, so that
``article.text[start:end]`` is exactly the paragraph, chunk or quoted sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Paragraph:
    """One paragraph (or heading, or byline) of an article, numbered from 1."""

    article_id: str
    number: int
    start: int
    end: int
    id: str  # hash of the paragraph text: unchanged text keeps its id
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans, offsets into the article text


@dataclass(frozen=True)
class Article:
    """An article's extracted text with its paragraphs and metadata."""

    id: str  # stable id derived from ``doc``
    doc: str  # path relative to the indexed folder, with forward slashes
    title: str
    text: str  # for .txt/.md the decoded file text, exactly
    sha256: str  # hash of the file's bytes: unchanged files are not re-read
    paragraphs: tuple[Paragraph, ...]
    meta: Mapping[str, str] = field(default_factory=dict)  # author, date, url...

    def paragraph_text(self, number: int) -> str:
        para = self.paragraphs[number - 1]
        return self.text[para.start : para.end]


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded: a whole paragraph, or a sentence-aligned piece of a long one."""

    id: int  # 63-bit id derived from content, also the FAISS id
    article_id: str
    paragraph: int  # 1-based paragraph number
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class FileWarning:
    """Something that went wrong with one file but did not stop the run."""

    path: str
    message: str
    skipped: bool = True  # False: the file was indexed all the same (e.g. read in a fallback encoding)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class IndexReport:
    """What one run of ``rag index`` did."""

    index_dir: str
    articles: int
    paragraphs: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    failed: int
    embedded_chunks: int
    embed_seconds: float
    seconds: float
    warnings: tuple[FileWarning, ...] = ()
    store: str = ""  # where the vectors are, in words
    encoder: str = ""  # the embedding variant of the index: "int8" or "fp32"
    stages: tuple[tuple[str, float], ...] = ()  # (stage, seconds) in the order first met
    # The index as it now is, in memory (a ``rag.store.index.Index``), so that a caller serves it
    # without reading back from disk what was just written.
    index: Any = field(default=None, repr=False, compare=False)

    @property
    def chunks_per_second(self) -> float:
        return self.embedded_chunks / self.embed_seconds if self.embed_seconds else 0.0


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A retrieved paragraph (chunks of one paragraph are merged into one hit)."""

    rank: int
    doc: str
    title: str
    article_id: str
    paragraph: int
    start: int  # the paragraph's span in the article text
    end: int
    text: str
    score: float  # fused score: higher is better
    dense: float = 0.0  # best cosine similarity of the paragraph's chunks to the question
    lexical: float = 0.0  # best BM25 score of the paragraph's chunks


@dataclass(frozen=True)
class Citation:
    """A quoted sentence and where it is: ``article.text[start:end] == quote``."""

    n: int
    doc: str
    title: str
    paragraph: int
    start: int
    end: int
    quote: str
    paragraph_start: int
    paragraph_end: int
    support: float  # how strongly the sentence answers the question, 0..1


@dataclass(frozen=True)
class Answer:
    """A short answer whose sentences each carry a citation, or an abstention with related passages."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 0.0
    dropped: tuple[str, ...] = ()  # generated sentences removed because no passage supported them
    notice: str = ""  # e.g. why the LLM answer fell back to the extractive one
    query: str = ""  # a follow-up read with the conversation ("" when the question stood alone)
