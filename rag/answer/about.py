"""Questions about an article itself: who wrote it, where it came from, when, how often it was read.

Bylines and source lines are metadata, not content: the reader never quotes them as the answer
to a question about the topic, and a question about the article is answered from them here,
cited to the paragraph (and sentence) that says it. Only the first paragraphs of an article are
looked at, where bylines and source lines stand; when none says it, the question goes to the
reader like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..types import Hit
from .retrieve import paragraph_hit

if TYPE_CHECKING:
    from ..store.index import Index

LEAD_PARAGRAPHS = 4  # bylines and source lines stand at the top of an article

_ARTICLE = r"\b(article|piece|story|post|blog|report|write-?up|item|news)\b"
_KINDS = (  # (kind, what the question asks, what the article's line says)
    (
        "views",
        re.compile(r"\b(views|viewed|how many (people|readers|times))\b", re.I),
        re.compile(r"\b\d[\d,.]*\s*(k\s*)?(views|reads|readers)\b", re.I),
    ),
    (
        "author",
        re.compile(r"\b(author|authored|wrote|written|writer|byline|penned)\b", re.I),
        re.compile(r"^\s*(by|written by|posted by|words by)\s+\S", re.I),
    ),
    (
        "source",
        re.compile(
            r"\b(outlet|source|sources|reported|reporting|carried|published|publisher|"
            r"agency|come from|came from|comes from|where .* from|said|says)\b",
            re.I,
        ),
        re.compile(
            r"\b(reported (through|by|in|on)|according to|(comes|came) from|via|source[sd]?:?)\b", re.I
        ),
    ),
    (
        "date",
        re.compile(r"\bwhen (was|were|did) .{0,40}\b(published|written|posted|come out|appear)", re.I),
        re.compile(
            r"\b(published|posted|updated|\d{4}-\d{2}-\d{2}|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|"
            r"nov|dec)[a-z]*\.? \d{1,2},? \d{4})\b",
            re.I,
        ),
    ),
)
_ABOUT_THAT = re.compile(
    r"\bwho (said|says|stated|reported|claims|claimed|wrote|writes)\b|"
    r"\bwhere (does|did|is) (that|this|it) (come )?from\b",
    re.I,
)


@dataclass(frozen=True)
class Found:
    """The line that answers a question about the article: its hit (paragraph) and sentence span."""

    hit: Hit
    start: int
    end: int
    text: str


def asks_about_article(question: str, follow_up: bool = False) -> str:
    """The kind of thing asked about the article ("author", "source", "views", "date"), or ""."""
    mentions_article = re.search(_ARTICLE, question, re.I) or (follow_up and _ABOUT_THAT.search(question))
    if not mentions_article:
        return ""
    for kind, asked, _ in _KINDS:
        if asked.search(question):
            return kind
    return ""


def is_about_article(sentence: str) -> bool:
    """Whether ``sentence`` reads like a byline, source, date or views line (metadata, not content)."""
    return any(says.search(sentence) for _, _, says in _KINDS)


def find_line(kind: str, article_ids: Sequence[str], index: Index) -> Found | None:
    """The first sentence among the lead paragraphs of these articles that says ``kind`` (for a
    source, the byline when no line names one)."""
    says = {k: pattern for k, _, pattern in _KINDS}
    for pattern in [says[kind]] + ([says["author"]] if kind == "source" else []):
        for article_id in dict.fromkeys(article_ids):
            article = index.articles.get(article_id)
            if article is None:
                continue
            for para in article.paragraphs[:LEAD_PARAGRAPHS]:
                for start, end in para.sentences or ((para.start, para.end),):
                    text = article.text[start:end]
                    if pattern.search(text):
                        return Found(paragraph_hit(article, para, rank=1, score=1.0), start, end, text)
    return None
