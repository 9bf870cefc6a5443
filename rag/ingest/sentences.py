"""Sentence spans inside a paragraph, found with sentencex (rule-based, knows abbreviations).

sentencex (Wikimedia's segmenter, compiled) replaced pysbd: on the 1,008 SQuAD dev paragraphs it
segments in 0.02 s instead of 6.2 s and agrees on 96% of the paragraphs; where they differ it
mostly keeps "Warner Bros. Presents." or "Samantha Who?, did not..." whole where pysbd cut them.
Its time grows linearly, so long paragraphs need no windows.
"""

from __future__ import annotations

import re

# Markdown images ``![alt](url)`` and link targets ``](url)``: their "!" and the dots in their URLs
# are not sentence ends, so they are masked (same length, letters) before segmenting.
_MARKUP = re.compile(r"!\[[^\]\n]{0,300}\]\([^)\s]{0,2000}\)|(?<=\])\([^)\s]{0,2000}\)")
# Dots inside names: sentencex ends a sentence at "window.__pwned" and at ".NET" (a dot before an
# underscore, or a dot that starts a word); they are masked the same way.
_NAME_DOT = re.compile(r"\.(?=_)|(?<=\s)\.(?=\w)")


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
        from sentencex import segment

        pieces = list(segment("en", body))
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
    body = _MARKUP.sub(lambda m: re.sub(r"\S", "x", m.group()), body)
    return _NAME_DOT.sub("x", body)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without surrounding whitespace (an empty span for a blank one)."""
    body = text[start:end]
    lead = len(body) - len(body.lstrip())
    return (start + lead, start + lead + len(body.strip()))
