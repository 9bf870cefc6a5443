"""The HTTP API (``/gradio_api/call/<name>``, or gradio_client): JSON in and out, every input
checked and refused in the API's own words.
"""

from __future__ import annotations

import logging
from typing import Protocol

import gradio as gr

from ..answer.assistant import Assistant, answer_to_dict
from ..cite import find_sources as find
from ..cite import reference
from ..errors import RagError
from ..store.index import Index
from .guard import ApiInputError, passages_input, retrieval_input, text_input

log = logging.getLogger("rag.web.app")
SORRY = "Something went wrong on the server (details are in its log). Try again, or rephrase."


class App(Protocol):
    """What the handlers here and in ``library.py`` use of the ``WebApp`` (``app.py``). Named here
    because Gradio reads the handlers' annotations at run time, and ``app.py`` imports this module."""

    assistant: Assistant
    index_changed_at: str

    def index(self) -> Index: ...


def refused(endpoint: str, exc: RagError) -> gr.Error:
    """The caller's mistake, answered in words and logged as one line (no traceback)."""
    log.info("refused a call to %s: %s", endpoint, exc)
    return gr.Error(str(exc), print_exception=False)


def ask(
    app: App,
    question: str,
    retrieval: str = "hybrid",
    passages: int = 5,
    articles: list[str] | None = None,
) -> dict:
    """Answer one question, from the ``articles`` named (files or titles; all when empty); the
    JSON of `rag ask --json`."""
    try:
        question = text_input("question", question)
        k, mode = passages_input(passages), retrieval_input(retrieval)
        docs = articles_input(articles)
        app.index()
        return answer_to_dict(app.assistant.ask(question, k=k, mode=mode, docs=docs))
    except RagError as exc:
        raise refused("/ask", exc) from None
    except Exception:
        log.exception("answering %r through the API failed", question)
        raise gr.Error(SORRY, print_exception=False) from None


def articles_input(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ApiInputError('articles must be a list of article files or titles, e.g. ["notes.md"]')
    return tuple(value)


def find_sources(app: App, claim: str, passages: int = 5) -> list[dict]:
    """The paragraphs that support a claim, best first, with every citation format."""
    from ..cite import all_formats

    try:
        claim, k = text_input("claim", claim), passages_input(passages)
        app.index()
        sources = find(app.assistant, claim, k=k)
    except RagError as exc:
        raise refused("/find_sources", exc) from None
    index = app.assistant.index
    return [
        {
            "rank": s.rank,
            "doc": s.hit.doc,
            "title": s.hit.title,
            "paragraph": s.hit.paragraph,
            "start": s.start,
            "end": s.end,
            "quote": s.quote,
            "support": s.support,
            "exact": s.exact,
            "formats": all_formats(reference(s, index.articles.get(s.hit.article_id))),
        }
        for s in sources
    ]


def delete_article(app: App, doc: str) -> dict:
    """Delete one article (its file, as the collection lists it) from the folder and the index."""
    from .uploads import delete_article as delete

    try:
        doc = text_input("doc", doc)
        app.index()
        report = delete(app.assistant, doc)
    except RagError as exc:
        raise refused("/delete_article", exc) from None
    return {"deleted": doc, "articles": report.articles, "paragraphs": report.paragraphs}
