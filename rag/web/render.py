"""HTML and Markdown for the web page: answers, sources, found sources and the collection.

Plain functions from records to strings, with no Gradio in them. Every piece of article text,
title, file name or question passes through ``esc`` (HTML) or ``md_text`` (chat Markdown), so an
article that contains ``<script>`` or Markdown tricks is shown as the text it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..cite import FORMAT_LABELS, Reference, Source, all_formats, safe_url
from ..types import Answer, Article, Citation, Hit

MARKER = re.compile(r"\[(\d+)\]")  # citation markers in answer text, numbered in order of first use
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")
SNIPPET_CHARS = 700  # related passages longer than this are cut in the sources panel


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


# ---- chat message ------------------------------------------------------------------------------
def answer_pieces(turn: Turn) -> Iterator[str]:
    """The chat reply in pieces (a few words, or one citation link, at a time) for streaming."""
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
            yield "\n\nThe closest passages are under *Sources* \u2192; they do not answer the question."
        return
    at = 0
    for found in MARKER.finditer(answer.text):
        yield from _words(answer.text[at : found.start()])
        yield _marker_link(turn, int(found.group(1)))
        at = found.end()
    yield from _words(answer.text[at:])
    yield (
        "\n\n<small>"
        + " \u00b7 ".join(
            f"{_marker_link(turn, c.n)} {md_text(c.title)}, para. {c.paragraph}" for c in answer.citations
        )
        + "</small>"
    )


def answer_markdown(turn: Turn) -> str:
    return "".join(answer_pieces(turn))


def _words(text: str, per_piece: int = 4) -> Iterator[str]:
    words = re.split(r"(\s+)", text)
    for begin in range(0, len(words), per_piece * 2):
        yield md_text("".join(words[begin : begin + per_piece * 2]))


def _marker_link(turn: Turn, n: int) -> str:
    cited = next((c for c in turn.answer.citations if c.n == n), None)
    if cited is None:  # a marker with no citation behind it is shown as plain text
        return f"\\[{n}\\]"
    title = esc(f"{cited.title}, para. {cited.paragraph}")
    return f'<a href="#{anchor(turn.number, n)}" class="rag-cite" title="{title}">[{n}]</a>'


# ---- sources panel -----------------------------------------------------------------------------
def sources_html(turns: Iterable[Turn], open_turn: int | None = None) -> str:
    """The sources of every answer, the latest first and open; earlier ones folded."""
    turns = sorted(turns, key=lambda t: -t.number)
    if not turns:
        return (
            '<div class="rag-empty">Sources appear here: each cited paragraph with the quoted '
            "sentence highlighted. Click a citation marker like [1] to jump to it.</div>"
        )
    open_turn = turns[0].number if open_turn is None else open_turn
    blocks = []
    for turn in turns:
        state = " open" if turn.number == open_turn else ""
        blocks.append(
            f'<details class="rag-turn" id="turn-{turn.number}"{state}><summary>'
            f"{esc(_summary(turn))}</summary>{_turn_body(turn)}</details>"
        )
    return '<div class="rag-sources">' + "".join(blocks) + "</div>"


def _summary(turn: Turn) -> str:
    question = turn.question if len(turn.question) <= 90 else turn.question[:87] + "..."
    count = len(turn.answer.citations)
    what = "no answer, related passages" if turn.answer.abstained else f"{count} source{'s' * (count != 1)}"
    return f"Q{turn.number}: {question} \u2014 {what}"


def _turn_body(turn: Turn) -> str:
    answer = turn.answer
    if answer.abstained:
        intro = (
            '<p class="rag-note">The articles don\'t say. These passages came closest; '
            "they do not answer the question.</p>"
        )
        return intro + "".join(related_card(hit) for hit in answer.passages)
    return "".join(
        citation_card(turn.number, c, ref, _paragraph_text(answer, c))
        for c, ref in zip(answer.citations, turn.references)
    )


def _paragraph_text(answer: Answer, citation: Citation) -> str | None:
    """The cited paragraph's text, from the retrieved passage it was quoted from."""
    return next(
        (h.text for h in answer.passages if h.doc == citation.doc and h.paragraph == citation.paragraph), None
    )


def citation_card(turn: int, citation: Citation, ref: Reference, paragraph_text: str | None) -> str:
    if paragraph_text is None:  # only the quote is known: show it alone, marked
        body = f"<mark>{esc(citation.quote)}</mark>"
    else:
        body = highlight(paragraph_text, citation.paragraph_start, citation.start, citation.end)
    return (
        f'<div class="rag-card" id="{anchor(turn, citation.n)}">'
        f'<div class="rag-card-head"><span class="rag-n">[{citation.n}]</span> '
        f"{_title_line(ref)}</div>"
        f'<p class="rag-para">{body}</p>'
        f'<div class="rag-meta">support {citation.support:.2f} \u00b7 {esc(ref.doc)}, characters '
        f"{citation.start}\u2013{citation.end}</div>{copy_buttons(ref)}</div>"
    )


def related_card(hit: Hit) -> str:
    text = hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[: SNIPPET_CHARS - 3] + "..."
    return (
        f'<div class="rag-card rag-related"><div class="rag-card-head">{esc(hit.title)} '
        f'\u00b7 para. {hit.paragraph}</div><p class="rag-para">{esc(text)}</p>'
        f'<div class="rag-meta">{esc(hit.doc)} \u00b7 retrieval score {hit.score:.2f}</div></div>'
    )


def _title_line(ref: Reference) -> str:
    title = esc(ref.title)
    url = safe_url(ref.url)
    if url:
        title = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    byline = " \u00b7 ".join(esc(x) for x in (ref.author, ref.date) if x)
    return f"<b>{title}</b> \u00b7 para. {ref.paragraph}" + (f" \u00b7 {byline}" if byline else "")


def highlight(paragraph: str, paragraph_start: int, start: int, end: int) -> str:
    """The paragraph with the span ``start:end`` (article offsets) marked, all of it escaped."""
    a, b = max(0, start - paragraph_start), max(0, end - paragraph_start)
    return f"{esc(paragraph[:a])}<mark>{esc(paragraph[a:b])}</mark>{esc(paragraph[b:])}"


def copy_buttons(ref: Reference) -> str:
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
        f'<div class="rag-copyrow"><span>Copy citation:</span>{buttons}</div>'
        f'<details class="rag-formats"><summary>Show citation formats</summary>{shown}</details>'
    )


# ---- find a source -----------------------------------------------------------------------------
def sources_found_html(
    claim: str, sources: list[Source], references: list[Reference], supported_below: float
) -> str:
    if not sources:
        return '<div class="rag-empty">No paragraph in the collection matches this claim.</div>'
    head = ""
    if sources[0].support < supported_below:
        head = (
            f'<p class="rag-note">No paragraph clearly supports \u201c{esc(claim)}\u201d; these '
            "come closest. Quote one sentence of the source for a sharper match.</p>"
        )
    cards = []
    for source, ref in zip(sources, references):
        hit = source.hit
        badge = "exact quote" if source.exact else f"support {source.support:.2f}"
        cards.append(
            f'<div class="rag-card rag-found" data-rank="{source.rank}">'
            f'<div class="rag-card-head"><span class="rag-n">#{source.rank}</span> {_title_line(ref)}'
            f' <span class="rag-badge">{badge}</span></div>'
            f'<p class="rag-para">{highlight(hit.text, hit.start, source.start, source.end)}</p>'
            f'<div class="rag-meta">{esc(hit.doc)}, characters {source.start}\u2013{source.end}</div>'
            f"{copy_buttons(ref)}</div>"
        )
    return head + "".join(cards)


# ---- collection --------------------------------------------------------------------------------
def counts_line(articles: int, paragraphs: int, chunks: int) -> str:
    return f"{articles:,} article{'s' * (articles != 1)} \u00b7 {paragraphs:,} paragraphs \u00b7 {chunks:,} chunks"


def collection_html(articles: Iterable[Article], chunk_counts: dict[str, int]) -> str:
    rows = []
    for article in sorted(articles, key=lambda a: a.doc.lower()):
        meta = " \u00b7 ".join(esc(article.meta[k]) for k in ("author", "date") if article.meta.get(k))
        rows.append(
            f"<tr><td>{esc(article.title)}</td><td><code>{esc(article.doc)}</code></td>"
            f"<td>{len(article.paragraphs)}</td><td>{chunk_counts.get(article.id, 0)}</td>"
            f"<td>{meta}</td></tr>"
        )
    return (
        '<table class="rag-collection"><thead><tr><th>Title</th><th>File</th><th>Paragraphs</th>'
        "<th>Chunks</th><th>Author, date</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def error_html(message: str) -> str:
    return f'<div class="rag-error">{esc(message)}</div>'
