"""Sentence spans inside a paragraph, found with pysbd (rule-based, knows abbreviations)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentence_spans(text: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """Spans of the sentences of ``text[start:end]``, as offsets into ``text``, whitespace trimmed.

    Every returned span satisfies ``text[s:e].strip() == text[s:e]`` and the spans cover the
    paragraph's words in order; if the segmenter's offsets ever disagree with the text, the
    sentence is searched for instead, and the whole paragraph is the fallback.
    """
    body = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    try:
        pieces = [piece.sent for piece in _segmenter().segment(body)]
    except Exception:  # a segmenter bug must never stop indexing: fall back to one sentence
        pieces = [body]
    for piece in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        at = body.find(stripped, cursor)
        if at < 0:
            return ((start, end),)
        spans.append((start + at, start + at + len(stripped)))
        cursor = at + len(stripped)
    return tuple(spans) or ((start, end),)
