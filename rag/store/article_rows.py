"""An article as a row of ``rows.sqlite``'s articles table, its hash, and back."""

from __future__ import annotations

import json
from typing import Any

from ..types import Article, Paragraph


def article_row(article: Article) -> tuple:
    """(id, doc, title, text, sha256, paragraphs, meta): the columns ``article_from_row`` reads back."""
    paragraphs = [[p.start, p.end, p.id, p.sentences] for p in article.paragraphs]
    return (
        article.id,
        article.doc,
        article.title,
        article.text,
        article.sha256,
        json.dumps(paragraphs),
        json.dumps(dict(article.meta), ensure_ascii=False),
    )


def row_checksum(row: tuple) -> str:
    """A hash of an article row, checked on every read (a damaged page is never answered from)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for value in row:
        digest.update(str(value).encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def article_from_row(row: tuple[Any, ...]) -> Article:
    article_id, doc, title, text, sha256, paragraphs, meta = row
    return Article(
        article_id,
        doc,
        title,
        text,
        sha256,
        tuple(
            Paragraph(article_id, n, s, e, pid, tuple(tuple(x) for x in sentences))
            for n, (s, e, pid, sentences) in enumerate(json.loads(paragraphs), start=1)
        ),
        json.loads(meta),
    )
