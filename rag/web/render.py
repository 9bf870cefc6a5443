"""HTML and Markdown for the chat: the reply with its citation chips, and the shared pieces
(escaping, titles, highlights, copy buttons) that the panels (``panels.py``) use.

Plain functions from records to strings, with no Gradio in them. Every piece of article text,
title, file name or question passes through ``esc`` (HTML) or ``md_text`` (chat Markdown), so an
article that contains ``<script>`` or Markdown tricks is shown as the text it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..cite import FORMAT_LABELS, Reference, all_formats, safe_url
from ..types import Answer, Article

MARKER = re.compile(r"\[(\d+)\]")  # citation markers in answer text, numbered in order of first use
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def md_text(text: str) -> str:
    """Text for the chat's Markdown that renders exactly as written: punctuation backslash-escaped,
    then HTML-escaped (so ``<script>`` is shown, ``*x*`` stays with its stars, no links form)."""
    return esc(_MD_SPECIAL.sub(r"\\\1", text))


@dataclass(frozen=True)
class Turn:
    """One answered question of a conversation, as the page shows it."""

    number: int  # 1-based; anchors of its sources are ``src-<number>-<n>``
    question: str  # as the user typed it
    query: str  # what was searched (the question read with the previous one, for follow-ups)
    answer: Answer
    references: tuple[Reference, ...]  # one per citation, in citation order


def anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def confidence_words(answer: Answer) -> str:
    """The reader's calibrated confidence, in words for the page ("confidence 82%")."""
    return f"confidence {round(100 * answer.confidence)}%"


# ---- chat message ------------------------------------------------------------------------------
def answer_pieces(turn: Turn) -> Iterator[str]:
    """The chat reply in pieces (a few words, or one citation chip, at a time) for streaming."""
    answer = turn.answer
    if turn.query != turn.question:
        yield f"<small>Read with the previous question: \u201c{md_text(turn.query)}\u201d</small>\n\n"
    if answer.notice:
        yield f"<small>\u26a0\ufe0f {md_text(answer.notice)}</small>\n\n"
    if answer.dropped:
        yield (
            "<small>Removed from the generated answer (no passage supports them): "
            + " \u00b7 ".join(f"<s>{md_text(s)}</s>" for s in answer.dropped)
            + "</small>\n\n"
        )
    if answer.abstained:
        yield f"**{md_text(answer.text)}**"
        if answer.passages:
            yield (
                "\n\n<small>The closest passages are listed under Sources as related reading; "
                "they do not answer the question.</small>"
            )
        return
    at = 0
    for found in MARKER.finditer(answer.text):
        yield from _words(answer.text[at : found.start()])
        yield _chip(turn, int(found.group(1)))
        at = found.end()
    yield from _words(answer.text[at:])
    yield (
        "\n\n<small>"
        + " \u00b7 ".join(
            f"{_chip(turn, c.n)} {md_text(c.title)}, para. {c.paragraph}" for c in answer.citations
        )
        + f" \u2014 {confidence_words(answer)}</small>"
    )


def answer_markdown(turn: Turn) -> str:
    return "".join(answer_pieces(turn))


def _words(text: str, per_piece: int = 4) -> Iterator[str]:
    words = re.split(r"(\s+)", text)
    for begin in range(0, len(words), per_piece * 2):
        yield md_text("".join(words[begin : begin + per_piece * 2]))


def _chip(turn: Turn, n: int) -> str:
    """A citation marker as a chip linking to its source card (the page previews it on hover)."""
    cited = next((c for c in turn.answer.citations if c.n == n), None)
    if cited is None:  # a marker with no citation behind it is shown as plain text
        return f"\\[{n}\\]"
    title = esc(f"{cited.title}, para. {cited.paragraph}")
    return f'<a href="#{anchor(turn.number, n)}" class="rag-cite" title="{title}">[{n}]</a>'


def plain_text(turn: Turn) -> str:
    """The answer as plain text with ``[n]`` markers and its sources: what the Copy button copies."""
    answer = turn.answer
    if answer.abstained:
        related = "".join(f"\n- {h.title}, para. {h.paragraph} ({h.doc})" for h in answer.passages)
        return answer.text + (
            f"\n\nRelated reading (does not answer the question):{related}" if related else ""
        )
    sources = "".join(
        f'\n[{c.n}] {c.title}, para. {c.paragraph} ({c.doc}, characters {c.start}-{c.end}): "{c.quote}"'
        for c in answer.citations
    )
    return f"{answer.text}\n\nSources:{sources}"


# ---- shared pieces -----------------------------------------------------------------------------
def title_line(ref: Reference) -> str:
    title = esc(ref.title)
    url = safe_url(ref.url)
    if url:
        title = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    byline = " \u00b7 ".join(esc(x) for x in (ref.author, ref.date) if x)
    return f"<b>{title}</b> \u00b7 para. {ref.paragraph}" + (f" \u00b7 {byline}" if byline else "")


def highlight(paragraph: str, paragraph_start: int, start: int, end: int) -> str:
    """The paragraph with the span ``start:end`` (article offsets) marked, all of it escaped."""
    return highlight_spans(paragraph, paragraph_start, [(start, end)])


def highlight_spans(paragraph: str, paragraph_start: int, spans: Iterable[tuple[int, int]]) -> str:
    """The paragraph with each span (article offsets; not overlapping) marked, all of it escaped."""
    out, at = [], 0
    for start, end in sorted(spans):
        a = min(len(paragraph), max(at, start - paragraph_start))
        b = min(len(paragraph), max(a, end - paragraph_start))
        out.append(f"{esc(paragraph[at:a])}<mark>{esc(paragraph[a:b])}</mark>")
        at = b
    return "".join(out) + esc(paragraph[at:])


def copy_buttons(ref: Reference, label: str = "Copy citation:") -> str:
    """A copy button per citation format, and the formats themselves to read or select."""
    formats = all_formats(ref)
    buttons = "".join(
        f'<button type="button" class="rag-copy" data-format="{fmt}" '
        f'data-copy="{esc(text)}">{FORMAT_LABELS[fmt]}</button>'
        for fmt, text in formats.items()
    )
    shown = "".join(
        f'<div class="rag-fmt"><b>{FORMAT_LABELS[fmt]}</b><pre>{esc(text)}</pre></div>'
        for fmt, text in formats.items()
    )
    return (
        f'<div class="rag-copyrow"><span>{esc(label)}</span>{buttons}</div>'
        f'<details class="rag-formats"><summary>Show citation formats</summary>{shown}</details>'
    )


# ---- collection --------------------------------------------------------------------------------
def counts_line(articles: int, paragraphs: int, chunks: int) -> str:
    return f"{articles:,} article{'s' * (articles != 1)} \u00b7 {paragraphs:,} paragraphs \u00b7 {chunks:,} chunks"


def collection_html(articles: Iterable[Article], chunk_counts: dict[str, int]) -> str:
    """The articles as a table that scrolls sideways on a narrow screen."""
    rows = []
    for article in sorted(articles, key=lambda a: a.doc.lower()):
        meta = " \u00b7 ".join(esc(article.meta[k]) for k in ("author", "date") if article.meta.get(k))
        rows.append(
            f"<tr><td>{esc(article.title)}</td><td><code>{esc(article.doc)}</code></td>"
            f"<td>{len(article.paragraphs)}</td><td>{chunk_counts.get(article.id, 0)}</td>"
            f"<td>{meta}</td></tr>"
        )
    return (
        '<div class="rag-table-wrap"><table class="rag-collection"><thead><tr><th>Title</th>'
        "<th>File</th><th>Paragraphs</th><th>Chunks</th><th>Author, date</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def error_html(message: str) -> str:
    return f'<div class="rag-error">{esc(message)}</div>'
