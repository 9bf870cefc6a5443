"""Find the paragraphs that support a claim ("where does it say X?"), best supported first.

Each paragraph's sentences are scored by the claim's rare words they hold and by their meaning
similarity to the claim; a claim quoted word for word scores 1.0. ``formats.py`` turns what is
found into references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import RagError
from ..types import Article, Hit

if TYPE_CHECKING:
    from ..answer.assistant import Assistant

W_MEANING = 0.5  # share of meaning similarity in a sentence's support for a claim
SUPPORTED_BELOW = 0.45  # a best support under this means no paragraph really supports the claim


class NoSourceError(RagError):
    """No indexed paragraph supports the claim well enough to cite."""


@dataclass(frozen=True)
class Source:
    """A paragraph that supports a claim: its best sentence and how strongly it supports it."""

    rank: int
    hit: Hit
    start: int  # the supporting sentence's span in the article text
    end: int
    quote: str
    support: float  # 0..1; 1.0 when the claim is quoted verbatim
    exact: bool = False  # the claim appears word for word in the paragraph


def find_sources(assistant: Assistant, claim: str, k: int = 5, mode: str | None = None) -> list[Source]:
    """The ``k`` paragraphs most likely to support ``claim``, best supported first.

    Each paragraph's sentences are scored by ``rank_sentences`` (the claim's rare words they hold,
    and the paragraph's retrieval score) blended with their meaning similarity to the claim, so a
    paraphrase finds its source too; a claim quoted word for word scores 1.0.
    """
    from ..answer.extractive import rank_sentences

    check_claim(claim, assistant.settings.max_question_chars)
    found_passages = assistant.search(claim, k=k, mode=mode)
    claim, hits, index = found_passages.query, found_passages.hits, assistant.index
    vector = assistant.embedder.encode_query(claim)  # for the meaning blend, in every mode (cached)
    found = []
    for hit in hits:
        exact = _verbatim_span(claim, index.articles[hit.article_id], hit)
        if exact:
            found.append(Source(0, hit, exact[0], exact[1], exact[2], 1.0, exact=True))
            continue
        # Ranking against the best hit too keeps each paragraph's retrieval score relative to it.
        pool = [hits[0], hit] if hit is not hits[0] else [hit]
        found.extend(
            Source(0, hit, c.start, c.end, c.text, c.support)
            for c in rank_sentences(claim, pool, index)
            if c.hit is hit
        )
    found = _blend_meaning(found, vector, assistant.embedder)
    best: dict[tuple[str, int], Source] = {}
    for source in found:
        key = (source.hit.article_id, source.hit.paragraph)
        if key not in best or source.support > best[key].support:
            best[key] = source
    ranked = sorted(best.values(), key=lambda s: (-s.support, s.hit.rank))
    return [
        Source(n, s.hit, s.start, s.end, s.quote, s.support, s.exact) for n, s in enumerate(ranked, start=1)
    ]


def check_claim(claim: object, limit: int) -> None:
    """Refuse, in a claim's words, what the search would refuse as a question."""
    from ..errors import QuestionError

    if not isinstance(claim, str):
        raise QuestionError(f"the claim must be text, not {type(claim).__name__}")
    if len(claim) > limit:
        raise QuestionError(
            f"the claim is {len(claim):,} characters long; the limit is {limit:,}. Paste the one "
            "sentence or short passage whose source you want"
        )
    if not claim.strip():
        raise QuestionError("the claim is empty. Paste a claim or a quote to find its source")


def _blend_meaning(sources: list[Source], claim_vector: Any, embedder: Any) -> list[Source]:
    """Support = mean of the lexical support and the sentence's cosine similarity to the claim."""
    todo = [s for s in sources if not s.exact]
    if not todo:
        return sources
    similarity = embedder.encode([s.quote for s in todo]) @ claim_vector
    blended = {
        id(s): round(max(0.0, min(1.0, W_MEANING * float(sim) + (1 - W_MEANING) * s.support)), 4)
        for s, sim in zip(todo, similarity)
    }
    return [s if s.exact else Source(0, s.hit, s.start, s.end, s.quote, blended[id(s)]) for s in sources]


def _verbatim_span(claim: str, article: Article, hit: Hit) -> tuple[int, int, str] | None:
    """Where ``claim`` appears word for word (any spacing or case) in the hit's paragraph."""
    words = claim.strip(" \"'\u201c\u201d").split()
    if len(words) < 4:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.I)
    found = pattern.search(article.text, hit.start, hit.end)
    return (found.start(), found.end(), found.group()) if found else None


def supporting_sources(
    assistant: Assistant, claim: str, top: int = 1, k: int = 5, mode: str | None = None
) -> list[Source]:
    """The ``top`` best sources whose support clears SUPPORTED_BELOW; NoSourceError names the
    closest paragraph when none does."""
    sources = find_sources(assistant, claim, k=max(k, top), mode=mode)
    if not sources or sources[0].support < SUPPORTED_BELOW:
        closest = (
            (
                f" (closest: {sources[0].hit.title}, para. {sources[0].hit.paragraph}, support "
                f"{sources[0].support:.2f})"
            )
            if sources
            else ""
        )
        raise NoSourceError(
            f"no indexed paragraph supports {claim!r}{closest}. Quote one sentence "
            "of the source, or add the article it comes from"
        )
    return [s for s in sources[: max(1, top)] if s.support >= SUPPORTED_BELOW]
