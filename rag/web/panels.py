"""HTML of the page's panels: the sources of each answer, found sources, and an article opened
at a cited paragraph. Every piece of article text is escaped (``esc``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..cite import Reference, Source
from ..types import Answer, Article, Citation, Hit
from .render import Turn, anchor, copy_buttons, esc, highlight, highlight_spans, plain_text, title_line

SNIPPET_CHARS = 700  # related passages longer than this are cut


# ---- sources panel -----------------------------------------------------------------------------
def sources_html(turns: Iterable[Turn], open_turn: int | None = None) -> str:
    """The sources of every answer, the latest first and open; earlier ones folded. Each turn
    carries its answer as plain text (``data-plain``), which the chat's Copy button copies."""
    turns = sorted(turns, key=lambda t: -t.number)
    if not turns:
        return (
            '<div class="rag-empty">Sources appear here: each cited paragraph with the quoted '
            "sentence highlighted. Point at a citation like [1] to preview it; click it to read "
            "the whole article there.</div>"
        )
    open_turn = turns[0].number if open_turn is None else open_turn
    blocks = []
    for turn in turns:
        state = " open" if turn.number == open_turn else ""
        blocks.append(
            f'<details class="rag-turn" id="turn-{turn.number}" data-plain="{esc(plain_text(turn))}"'
            f"{state}><summary>{esc(_summary(turn))}</summary>{_turn_body(turn)}</details>"
        )
    return '<div class="rag-sources">' + "".join(blocks) + "</div>"


def _summary(turn: Turn) -> str:
    question = turn.question if len(turn.question) <= 90 else turn.question[:87] + "..."
    count = len(turn.answer.citations)
    what = "no answer, related reading" if turn.answer.abstained else f"{count} source{'s' * (count != 1)}"
    return f"Q{turn.number}: {question} \u2014 {what}"


def _turn_body(turn: Turn) -> str:
    answer = turn.answer
    if answer.abstained:
        intro = (
            '<p class="rag-note">The articles don\'t say. Related reading: these passages came '
            "closest, but they do not answer the question.</p>"
        )
        return intro + "".join(related_card(hit) for hit in _distinct(answer.passages))
    groups: dict[tuple[str, int], list[tuple[Citation, Reference]]] = {}
    for citation, ref in zip(answer.citations, turn.references):
        groups.setdefault((citation.doc, citation.paragraph), []).append((citation, ref))
    return "".join(
        citation_card(turn.number, cited, _paragraph_text(answer, cited[0][0])) for cited in groups.values()
    )


def _distinct(hits: Iterable[Hit]) -> list[Hit]:
    seen, kept = set(), []
    for hit in hits:
        if (hit.doc, hit.paragraph) not in seen:
            seen.add((hit.doc, hit.paragraph))
            kept.append(hit)
    return kept


def _paragraph_text(answer: Answer, citation: Citation) -> str | None:
    """The cited paragraph's text, from the retrieved passage it was quoted from."""
    return next(
        (h.text for h in answer.passages if h.doc == citation.doc and h.paragraph == citation.paragraph), None
    )


def citation_card(turn: int, cited: list[tuple[Citation, Reference]], paragraph_text: str | None) -> str:
    """One card per cited paragraph: every sentence cited from it highlighted, its markers in the
    head, a copy row per citation. Anchors ``src-<turn>-<n>`` of all its citations lead to it."""
    first, ref = cited[0]
    if paragraph_text is None:  # only the quotes are known: show them alone, marked
        body = " \u2026 ".join(f"<mark>{esc(c.quote)}</mark>" for c, _ in cited)
    else:
        body = highlight_spans(paragraph_text, first.paragraph_start, [(c.start, c.end) for c, _ in cited])
    markers = " ".join(f'<span class="rag-n">[{c.n}]</span>' for c, _ in cited)
    extra = "".join(
        f'<span class="rag-anchor" id="{anchor(turn, c.n)}" data-start="{c.start}" data-end="{c.end}"></span>'
        for c, _ in cited[1:]
    )
    spans = ", ".join(f"{c.start}\u2013{c.end}" for c, _ in cited)
    support = ", ".join(f"{c.support:.2f}" for c, _ in cited)
    copies = "".join(
        copy_buttons(r, f"Copy citation [{c.n}]:" if len(cited) > 1 else "Copy citation:") for c, r in cited
    )
    return (
        f'<div class="rag-card" id="{anchor(turn, first.n)}" data-doc="{esc(first.doc)}" '
        f'data-paragraph="{first.paragraph}" data-start="{first.start}" data-end="{first.end}">{extra}'
        f'<div class="rag-card-head">{markers} {title_line(ref)}</div>'
        f'<p class="rag-para">{body}</p>'
        f'<div class="rag-meta">support {support} \u00b7 {esc(ref.doc)}, characters {spans} \u00b7 '
        f'<button type="button" class="rag-open">Read the whole article</button></div>{copies}</div>'
    )


def related_card(hit: Hit) -> str:
    """A passage that came close to a question the articles do not answer: no score, no citation."""
    text = hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[: SNIPPET_CHARS - 3] + "..."
    return (
        f'<div class="rag-card rag-related"><div class="rag-card-head">{esc(hit.title)} '
        f'\u00b7 para. {hit.paragraph}</div><p class="rag-para">{esc(text)}</p>'
        f'<div class="rag-meta">{esc(hit.doc)}</div></div>'
    )


# ---- find a source -----------------------------------------------------------------------------
def sources_found_html(
    claim: str, sources: list[Source], references: list[Reference], supported_below: float
) -> str:
    """Supporting paragraphs with copy buttons; when none clears ``supported_below``, says so
    first and lists the closest as related reading, without citation buttons."""
    if not sources:
        return '<div class="rag-empty">No paragraph supports this claim: nothing in the collection matches it.</div>'
    if sources[0].support < supported_below:
        head = (
            f'<div class="rag-error rag-unsupported">No paragraph supports this claim: \u201c{esc(claim)}\u201d. '
            "Related passages follow; they are not sources for it. Quote one sentence of the source "
            "for a sharper match, or add the article it comes from.</div>"
        )
        return head + "".join(related_card(s.hit) for s in sources)
    cards: list[str] = []
    for source, ref in zip(sources, references):
        if source.support < supported_below:
            if not any("rag-related" in card for card in cards):
                cards.append(
                    '<p class="rag-note">Related passages: they do not clearly support the claim.</p>'
                )
            cards.append(related_card(source.hit))
            continue
        hit = source.hit
        badge = "exact quote" if source.exact else f"support {source.support:.2f}"
        cards.append(
            f'<div class="rag-card rag-found" data-rank="{source.rank}">'
            f'<div class="rag-card-head"><span class="rag-n">#{source.rank}</span> {title_line(ref)}'
            f' <span class="rag-badge">{badge}</span></div>'
            f'<p class="rag-para">{highlight(hit.text, hit.start, source.start, source.end)}</p>'
            f'<div class="rag-meta">{esc(hit.doc)}, characters {source.start}\u2013{source.end}</div>'
            f"{copy_buttons(ref)}</div>"
        )
    return "".join(cards)


# ---- an article, opened at a paragraph ---------------------------------------------------------
def article_html(article: Article, paragraph: int, start: int, end: int) -> str:
    """The whole article, paragraph by paragraph, the cited one highlighted with its quote marked."""
    parts = []
    for para in article.paragraphs:
        text = article.text[para.start : para.end]
        hit = para.number == paragraph
        body = highlight(text, para.start, start, end) if hit else esc(text)
        parts.append(
            f'<p class="rag-art-p{" rag-art-hit" if hit else ""}" id="art-p-{para.number}">'
            f'<span class="rag-pn">{para.number}</span> {body}</p>'
        )
    return (
        f'<div class="rag-article" data-doc="{esc(article.doc)}" data-paragraph="{paragraph}">'
        '<div class="rag-article-head">'
        '<button type="button" class="rag-back">\u2190 Back to the answer</button> '
        f'<b>{esc(article.title)}</b> <span class="rag-meta">{esc(article.doc)} \u00b7 para. {paragraph} '
        f'of {len(article.paragraphs)}</span></div><div class="rag-article-body">{"".join(parts)}</div></div>'
    )
