"""Check each sentence of a generated answer against the passages it cites.

A sentence is kept only when a passage it cites supports it (a sentence that cites nothing is
given the one passage that supports it best, if any does: small models often forget markers). Support mixes what the embedding
model sees (cosine similarity of the sentence to the passage's best sentence) with what words
show (the share of the sentence's content words found in the passage), and every number in the
sentence must appear in the passage. Citations that support nothing are removed, sentences
with no supporting citation are dropped, and the kept citations are renumbered in order of use
and point at the passage sentence that supports the claim, with its exact span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..embed.encoder import Embedder
from ..ingest.sentences import sentence_spans
from ..store.index import Index
from ..types import Answer, Citation, Hit
from .extractive import NOT_IN_ARTICLES, content_terms

# Calibrated on the SQuAD dev articles (benchmarks/calibrate_verification.py).
SUPPORT_MIN = 0.50  # a citation supports a sentence when its support (see _best_support) >= this
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A sentence that talks to the model is an instruction, not evidence of a fact: it never supports.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,60}\b(instructions?|prompts?|rules|"
    r"passages?)\b|\bsystem prompt\b|\byou are now\b|\b(reply|respond|answer) only\b",
    re.I,
)


@dataclass(frozen=True)
class Claim:
    text: str  # without citation markers
    cited: tuple[int, ...]  # passage numbers (1-based) the sentence cites
    repaired: bool = False  # cited nothing: the best supporting passage is looked for instead


@dataclass(frozen=True)
class Check:
    claim: Claim
    support: float  # best support among the cited passages
    evidence: tuple[tuple[Hit, int, int, float], ...]  # (passage, sentence start, end, support) kept


def split_claims(text: str) -> list[Claim]:
    """Sentences of a generated answer with the passage numbers each cites.

    A marker that stands alone after a sentence's full stop ("... end. [2]") belongs to it."""
    claims: list[Claim] = []
    for start, end in sentence_spans(text, 0, len(text)):
        sentence = text[start:end]
        cited = tuple(int(n) for group in MARKER.findall(sentence) for n in re.split(r"\s*,\s*", group))
        bare = " ".join(MARKER.sub("", sentence).split())
        if not re.search(r"\w", bare) and claims:  # only markers: attach them to the previous one
            claims[-1] = Claim(claims[-1].text, claims[-1].cited + cited)
        elif bare:
            claims.append(Claim(bare, cited))
    return claims


def check_claims(
    claims: Sequence[Claim],
    hits: Sequence[Hit],
    index: Index,
    embedder: Embedder,
    minimum: float | None = SUPPORT_MIN,
    question: str = "",
) -> list[Check]:
    """Score every (claim, cited passage) pair; keep the passages that support their claim
    (``minimum=None`` keeps every cited passage, for measuring what verification adds)."""
    import numpy as np

    claims = [
        c if c.cited else Claim(c.text, tuple(range(1, len(hits) + 1)), repaired=True) for c in claims
    ]  # a sentence with no marker is checked against every passage
    cited = sorted({n for c in claims for n in c.cited if 1 <= n <= len(hits)})
    sentences = {n: _sentences(hits[n - 1], index) for n in cited}
    texts = [c.text for c in claims] + [index_text for n in cited for _, _, index_text in sentences[n]]
    vectors = embedder.encode(texts) if texts else np.zeros((0, 1))
    claim_vectors, rest = vectors[: len(claims)], vectors[len(claims) :]
    offsets, at = {}, 0
    for n in cited:
        offsets[n] = (at, at + len(sentences[n]))
        at += len(sentences[n])
    asked = set(content_terms(question))
    checks = []
    for claim, vector in zip(claims, claim_vectors):
        evidence = []
        for n in dict.fromkeys(claim.cited):
            if n not in offsets:
                continue  # cites a passage that does not exist
            lo, hi = offsets[n]
            found = _best_support(
                claim.text,
                vector,
                sentences[n],
                rest[lo:hi],
                hits[n - 1].text,
                asked,
                numbers_must_match=minimum is not None,
            )
            if found and (minimum is None or found[2] >= minimum):
                evidence.append((hits[n - 1], *found))
        if claim.repaired:  # keep only the passage that supports it best
            evidence = sorted(evidence, key=lambda e: -e[3])[:1]
        best = max((e[3] for e in evidence), default=0.0)
        checks.append(Check(claim, best, tuple(evidence)))
    return checks


def _sentences(hit: Hit, index: Index) -> list[tuple[int, int, str]]:
    article = index.articles[hit.article_id]
    spans = article.paragraphs[hit.paragraph - 1].sentences or ((hit.start, hit.end),)
    return [(s, e, article.text[s:e]) for s, e in spans]


def _best_support(
    claim: str,
    vector: Any,
    sentences: Sequence[tuple[int, int, str]],
    vectors: Any,
    passage: str,
    asked: set[str],
    numbers_must_match: bool = True,
) -> tuple[int, int, float] | None:
    """(start, end, support) of the passage sentence that best supports ``claim``, or None when
    the claim states a number the passage does not.

    Support = 0.4 * cosine similarity to the best passage sentence + 0.3 * share of the claim's
    content words in the passage + 0.3 * share of its new words (those not in the question) in
    the passage: the information an answer adds must come from its source."""
    if numbers_must_match and any(number not in passage for number in _NUMBER.findall(claim)):
        return None
    terms = content_terms(claim)
    passage_terms = set(content_terms(passage))
    share = sum(t in passage_terms for t in terms) / len(terms) if terms else 0.0
    new = [t for t in terms if t not in asked]
    new_share = sum(t in passage_terms for t in new) / len(new) if new else share
    best = None
    for (start, end, text), sentence_vector in zip(sentences, vectors):
        if _INSTRUCTION.search(text):
            continue
        cosine = float(vector @ sentence_vector)
        support = 0.4 * cosine + 0.3 * share + 0.3 * new_share
        if best is None or support > best[2]:
            best = (start, end, support)
    return best


def verified_answer(
    question: str, generated: str, hits: Sequence[Hit], index: Index, embedder: Embedder, verify: bool = True
) -> Answer:
    """An Answer made of the supported sentences of ``generated``, citations renumbered in order
    of use; abstains when the model refused or nothing it said is supported."""
    claims = split_claims(generated)
    if not claims or NOT_IN_ARTICLES.lower().rstrip(".") in generated.lower():
        return Answer(question, NOT_IN_ARTICLES, True, (), tuple(hits))
    checks = check_claims(claims, hits, index, embedder, SUPPORT_MIN if verify else None, question)
    kept = [c for c in checks if c.evidence]
    dropped = tuple(c.claim.text for c in checks if not c.evidence)
    if not kept:
        return Answer(
            question,
            NOT_IN_ARTICLES,
            True,
            (),
            tuple(hits),
            dropped=dropped,
            notice="The generated answer was not supported by the passages.",
        )
    citations: list[Citation] = []
    numbers: dict[tuple[str, int], int] = {}
    parts = []
    for check in kept:
        markers = []
        for hit, start, end, support in check.evidence:
            key = (hit.doc, start)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                article = index.articles[hit.article_id]
                citations.append(
                    Citation(
                        numbers[key],
                        hit.doc,
                        hit.title,
                        hit.paragraph,
                        start,
                        end,
                        article.text[start:end],
                        hit.start,
                        hit.end,
                        round(support, 4),
                    )
                )
            markers.append(f"[{numbers[key]}]")
        parts.append(f"{check.claim.text} {''.join(markers)}")
    confidence = sum(c.support for c in kept) / len(kept)
    return Answer(
        question,
        " ".join(parts),
        False,
        tuple(citations),
        tuple(hits),
        confidence=confidence,
        dropped=dropped,
    )
