"""Ingest: files -> ``Article`` -> paragraph spans -> sentences and chunks.

``folder`` finds the article files and reads them safely; ``readers`` turns txt and md bytes into
text (``html`` and ``pdf`` the other formats); ``articles`` parses an article, splits its
paragraphs (``split_paragraphs``) and chunks them; ``sentences`` splits text into sentence spans.
"""

from .articles import article_text, chunk_article, embedding_text, parse_article, split_paragraphs
from .folder import doc_name, find_articles, read_file, scan_articles
from .sentences import sentence_spans

__all__ = [
    "article_text",
    "chunk_article",
    "doc_name",
    "embedding_text",
    "find_articles",
    "parse_article",
    "read_file",
    "scan_articles",
    "sentence_spans",
    "split_paragraphs",
]
