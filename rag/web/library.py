"""The collection in the page: its counts and table, adding, deleting and reading articles.

Each function is a ``WebApp`` handler (``app`` is the WebApp); errors come back as messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from ..errors import RagError
from ..store.vectorstore import store_label
from .api import SORRY, App
from .panels import article_html
from .render import collection_html, counts_line, error_html, esc, md_text
from .uploads import KEEP_BOTH, add_articles, delete_article

log = logging.getLogger("rag.web.app")


def collection(app: App) -> tuple[str, str]:
    """(details line, table) of the index now in use: counts, chunks and where the vectors are,
    for the Articles tab."""
    try:
        index = app.index()
    except RagError as exc:
        return f"\u26a0\ufe0f {md_text(str(exc))}", error_html(str(exc))
    chunks: dict[str, int] = {}
    for chunk in index.chunks.values():
        chunks[chunk.article_id] = chunks.get(chunk.article_id, 0) + 1
    counts = counts_line(len(index.articles), index.paragraph_count, len(index.chunks))
    where = md_text(store_label(index.vectors.describe()))
    changed = f" \u00b7 updated {md_text(app.index_changed_at)}" if app.index_changed_at else ""
    return f"**Collection:** {counts} \u00b7 {where}{changed}", collection_html(
        index.articles.values(), chunks
    )


def header(app: App) -> str:
    """The page header's counts, said once: "2 articles · 18 paragraphs"."""
    try:
        index = app.index()
    except RagError as exc:
        return f"\u26a0\ufe0f {md_text(str(exc))}"
    articles = len(index.articles)
    return f"{articles:,} article{'s' * (articles != 1)} \u00b7 {index.paragraph_count:,} paragraphs"


def article_choices(app: App) -> list[tuple[str, str]]:
    """(label, doc) of every article, for the pickers: "Title (file)"."""
    try:
        index = app.index()
    except RagError:
        return []
    return sorted(
        ((f"{a.title} ({a.doc})" if a.title != a.doc else a.doc, a.doc) for a in index.articles.values()),
        key=lambda pair: pair[0].lower(),
    )


def upload(
    app: App,
    paths: list[str] | None,
    on_file: Callable[[Path], None] | None = None,
    same_name: str = KEEP_BOTH,
) -> str:
    """Add uploaded files to the collection; returns the status as HTML."""
    files = [(Path(p).name, Path(p)) for p in (paths or [])]
    if not files:
        return ""
    try:
        app.index()
        result = add_articles(app.assistant, files, on_file=on_file, progress=True, same_name=same_name)
    except RagError as exc:
        return error_html(str(exc))
    except Exception:
        log.exception("adding uploads failed")
        return error_html(SORRY)
    ok = result.report is not None and len(result.failed) < len(result.saved.paths)
    lines = "<br>".join(esc(line) for line in result.message().splitlines())
    return f'<div class="{"rag-ok" if ok else "rag-error"}">{lines}</div>'


def delete(app: App, doc: str | None) -> str:
    """Delete one article from the folder and the index; returns the status as HTML."""
    if not doc:
        return error_html("Choose the article to delete first.")
    try:
        app.index()
        report = delete_article(app.assistant, doc)
    except RagError as exc:
        return error_html(str(exc))
    except Exception:
        log.exception("deleting %r failed", doc)
        return error_html(SORRY)
    return (
        f'<div class="rag-ok">Deleted {esc(doc)}: the collection now holds {report.articles} '
        "article(s), and answers no longer cite it.</div>"
    )


def open_article(app: App, request: str) -> str:
    """The article a citation points to, opened at its paragraph. ``request`` is the JSON the page
    sends: {"doc", "paragraph", "start", "end"}."""
    try:
        wanted = json.loads(request or "{}")
        doc, paragraph = str(wanted["doc"]), int(wanted["paragraph"])
        start, end = int(wanted.get("start", 0)), int(wanted.get("end", 0))
    except (ValueError, KeyError, TypeError):
        return ""
    try:
        article = app.index().article_by_doc(doc)
    except RagError as exc:
        return error_html(str(exc))
    if article is None or not 1 <= paragraph <= len(article.paragraphs):
        return error_html(f"{doc} is no longer in the collection.")
    return article_html(article, paragraph, start, end)
