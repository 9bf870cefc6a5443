"""Sentence spans inside a paragraph, found with pysbd (rule-based, knows abbreviations)."""

from __future__ import annotations

import re
from functools import lru_cache

WINDOW = 2000  # pysbd's time grows faster than the text: longer paragraphs are segmented in windows
_SENTENCE_END = re.compile(r"[.!?\u3002][\"')\]\u201d]*\s+|\n")
# Markdown images ``![alt](url)`` and link targets ``](url)``: their "!" and the dots in their URLs
# are not sentence ends, so they are masked (same length, letters) before segmenting.
_MARKUP = re.compile(r"!\[[^\]\n]{0,300}\]\([^)\s]{0,2000}\)|(?<=\])\([^)\s]{0,2000}\)")


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
    body = _masked(text[start:end])
    whole = _trimmed(text, start, end)
    spans: list[tuple[int, int]] = []
    cursor = 0
    try:
        pieces = [piece.sent for window in _windows(body) for piece in _segmenter().segment(window)]
    except Exception:  # a segmenter bug must never stop indexing: fall back to one sentence
        pieces = [body]
    for piece in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        at = body.find(stripped, cursor)
        if at < 0:
            return (whole,)
        spans.append((start + at, start + at + len(stripped)))
        cursor = at + len(stripped)
    return tuple(spans) or (whole,)


def _masked(body: str) -> str:
    """``body`` with Markdown image and link-target syntax turned into letters; spaces, and so
    every offset, unchanged."""
    return _MARKUP.sub(lambda m: re.sub(r"\S", "x", m.group()), body)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without surrounding whitespace (an empty span for a blank one)."""
    body = text[start:end]
    lead = len(body) - len(body.lstrip())
    return (start + lead, start + lead + len(body.strip()))


def _windows(body: str) -> list[str]:
    """``body`` cut into consecutive pieces of at most about ``WINDOW`` characters, each cut made
    after the last likely sentence end (else the last space) in the window's second half."""
    pieces, at = [], 0
    while len(body) - at > WINDOW * 3 // 2:
        window = body[at : at + WINDOW]
        ends = [m.end() for m in _SENTENCE_END.finditer(window, WINDOW // 2)]
        cut = ends[-1] if ends else (window.rfind(" ", WINDOW // 2) + 1 or WINDOW)
        pieces.append(body[at : at + cut])
        at += cut
    pieces.append(body[at:])
    return pieces
