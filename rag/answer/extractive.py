"""Extractive answers: pick the sentences that answer the question, cite them, or abstain.

No model is needed at this step and the answer is faithful by construction: every sentence of
the answer is a verbatim quote of its source, cited with its paragraph and character span.

Each candidate sentence from the best passages gets a support score from:
  * how many of the question's content words (weighted by rarity) the sentence holds,
    and the sentence before it (for "he", "it", "this" that refer back);
  * the retrieval score of its paragraph;
  * whether it holds the kind of thing asked for (a number for "how many"/"when",
    a name for "who"/"where") that the question itself does not already hold.
That word-overlap reader is kept as ``RAG_READER=lexical`` (it abstains when even the best
evidence leaves rare question words unexplained or scores low); the default is the learned
reader (``reader.py``), which chooses by meaning and abstains by a calibrated confidence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store.index import Index
from ..types import Answer, Article, Citation, Hit
from .reader import logit, sigmoid

if TYPE_CHECKING:
    from .conversation import Resolved
    from .cross_encoder import Reranker
    from .reader import Scored, Scorer

# Weights of the support score and of the answer shape (calibrated on ../shared/eval dev sets).
W_COVER, W_PREV, W_PASSAGE, W_TYPE = 1.0, 0.25, 0.45, 0.2
SECOND_SENTENCE_RATIO = 0.92  # add the runner-up sentence when it is nearly as good as the best
MAX_SENTENCES = 2
PASSAGES_FOR_EVIDENCE = 3
ABSTAIN_BELOW = 0.40  # support under which the assistant says the articles do not say
ABSTAIN_UNKNOWN_SHARE = 0.5  # abstain when this share of the question's weight is in no article
ABOUT_CONFIDENCE = 0.9  # an answer read from the article's own byline or source line

NOT_IN_ARTICLES = "The articles don't say."
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how whi wh did does do doe is are was were be been "
    "name named call called kind type mani much one ones use used s t".split()
)
_NUMBER_Q = re.compile(
    r"\b(how (many|much|long|old|far|often|large|big|tall|high)|when|what (year|"
    r"date|time|percentage|percent|decade|century|day|month|age)|which (year|"
    r"century|decade))\b",
    re.I,
)
# A sentence that opens with one of these carries the previous one on ("This includes ...").
_REFERS_BACK = re.compile(r"(This|These|That|Those|It|They|Such)\b")
_NAME_Q = re.compile(r"\b(who|whom|whose|where)\b", re.I)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|hundred|"
    r"thousand|million|billion|dozen|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|century|decade)\b",
    re.I,
)
_NEGATION = re.compile(r"\b(not|never|no|cannot|unable|neither|nor|none)\b|n't", re.I)
_CAPITAL = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z\-]+")


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int
    end: int
    text: str
    support: float
    cover: float


@dataclass(frozen=True)
class Reading:
    """What the learned reader needs besides the hits: its scorer, the question's vector (the one
    retrieval used), and the embedder (for an index saved without sentence vectors)."""

    scorer: Scorer
    vector: Any  # the question's vector (numpy)
    embedder: Any  # rag.embed.encoder.Embedder
    reranker: Reranker | None = None  # the cross-encoder re-reading the best sentences (RAG_RERANK)

    def rank(self, question: str, found: list) -> tuple[list[Scored], float]:
        """The candidates ``found`` best first, with calibrated probabilities (re-read by the
        re-ranker when there is one), and the confidence that they answer the question at all.

        The re-ranker chooses the sentence. The confidence is the logistic scorer's (its best
        candidate's calibrated probability) or, when higher, the re-ranker's put on the scorer's
        scale (``either_confident``): the assistant refuses only when neither model, each by its
        own calibrated threshold, finds an answer (model card)."""
        ranked = self.scorer.rank(found)
        confidence = ranked[0].probability if ranked else 0.0
        if self.reranker and ranked:
            ranked = self.reranker.rerank(question, ranked)
            confidence = either_confident(
                confidence, self.scorer.abstain_below, ranked[0].probability, self.reranker.abstain_below
            )
        return ranked, confidence

    @property
    def abstain_below(self) -> float:
        """The calibrated threshold of the confidence (the logistic scorer's)."""
        return self.scorer.abstain_below

    @property
    def second_ratio(self) -> float:
        return (self.reranker or self.scorer).second_ratio


def either_confident(first: float, first_at: float, second: float, second_at: float) -> float:
    """The larger of two calibrated probabilities, ``second`` first moved onto ``first``'s scale:
    its log-odds shifted by the difference of the two thresholds, so that it reaches ``first_at``
    exactly when it reaches its own ``second_at``. Under ``first_at`` means both are under theirs."""
    return max(first, sigmoid(logit(second) - logit(second_at) + logit(first_at)))


def answer_question(
    question: str,
    hits: list[Hit],
    index: Index,
    reading: Reading | None = None,
    context: Resolved | None = None,
    abstain_below: float | None = None,
) -> Answer:
    """Compose a cited answer from ``hits`` (best first), or abstain with them as related passages.

    With ``reading`` (the learned reader) sentences are chosen by meaning and the answer abstains
    by calibrated confidence (under ``abstain_below``, default the scorer's own); without it, by
    the word-overlap score below. ``context`` (``conversation.Resolved``) carries a follow-up's
    spans not to quote again and the articles it refers back to."""
    if reading is None:
        return _lexical_answer(question, hits, index)
    from . import about
    from .reader import candidates

    asked = context.question if context else question
    kind = about.asks_about_article(asked, follow_up=bool(context and context.follow_up))
    if kind:
        docs = [index.article_by_doc(d) for d in (context.cited_docs if context else ())]
        ids = [a.id for a in docs if a] or [h.article_id for h in hits[:PASSAGES_FOR_EVIDENCE]]
        line = about.find_line(kind, ids, index)
        if line:
            return _compose(
                question,
                [(line.hit, line.start, line.end, line.text, ABOUT_CONFIDENCE)],
                hits,
                ABOUT_CONFIDENCE,
            )
    exclude = context.exclude if context else ()
    found = candidates(question, reading.vector, hits, index, reading.embedder, exclude=exclude)
    ranked, confidence = reading.rank(question, found)
    threshold = reading.abstain_below if abstain_below is None or abstain_below < 0 else abstain_below
    if not ranked or confidence < threshold:
        return Answer(question, NOT_IN_ARTICLES, True, (), tuple(hits), confidence=confidence)
    best = ranked[0].candidate.hit.article_id  # a runner-up adds to the answer from the same article
    floor = threshold if reading.reranker is None else 0.0  # the re-ranker's scale is its own
    chosen = [ranked[0]] + [
        r
        for r in ranked[1:MAX_SENTENCES]
        if r.probability >= max(floor, reading.second_ratio * ranked[0].probability)
        and r.candidate.hit.article_id == best
    ]
    top = chosen[0].candidate
    article = index.articles[top.hit.article_id]
    end = continued_to(article, top.hit.paragraph, top.end)
    quotes = [(top.hit, top.start, end, article.text[top.start : end], chosen[0].probability)]
    quotes += [
        (r.candidate.hit, r.candidate.start, r.candidate.end, r.candidate.text, r.probability)
        for r in chosen[1:]
        if not (
            r.candidate.hit.doc == top.hit.doc and r.candidate.start < end and top.start < r.candidate.end
        )
    ]
    return _compose(question, quotes, hits, confidence)


def continued_to(article: Article, paragraph: int, end: int) -> int:
    """Where the quote of the sentence ending at ``end`` should end: with the next sentence of its
    paragraph when that one carries it on (the sentence ends with a colon, or the next one opens
    with a word that refers back: "... a focus on what happens after the crisis. This includes
    reforms ..."); a sentence that only introduces its subject is not the answer, the one after is."""
    following = [s for s in article.paragraphs[paragraph - 1].sentences if s[0] >= end]
    if not following:
        return end
    from .about import is_about_article

    start, after = following[0]
    carries_on = article.text[end - 1 : end] == ":" or _REFERS_BACK.match(article.text, start)
    if carries_on and not is_about_article(article.text[start:after]):  # not "This update comes from"
        return after
    return end


def _lexical_answer(question: str, hits: list[Hit], index: Index) -> Answer:
    """The word-overlap reader (``RAG_READER=lexical``): no model, abstains by word rules."""
    weights = _idf_weights(index, question)
    ranked = rank_sentences(question, hits, index, weights)
    confidence = ranked[0].support if ranked else 0.0
    if not ranked or should_abstain(question, ranked[0], index, weights):
        return Answer(question, NOT_IN_ARTICLES, True, (), tuple(hits), confidence=confidence)
    chosen = [ranked[0]] + [
        c for c in ranked[1:MAX_SENTENCES] if c.support >= SECOND_SENTENCE_RATIO * confidence
    ]
    return _compose(question, [(c.hit, c.start, c.end, c.text, c.support) for c in chosen], hits, confidence)


def _compose(
    question: str, chosen: list[tuple[Hit, int, int, str, float]], hits: list[Hit], confidence: float
) -> Answer:
    """The answer text: each chosen sentence quoted verbatim with its marker, in order of use."""
    citations = tuple(
        Citation(
            n=n,
            doc=hit.doc,
            title=hit.title,
            paragraph=hit.paragraph,
            start=start,
            end=end,
            quote=text,
            paragraph_start=hit.start,
            paragraph_end=hit.end,
            support=round(support, 4),
        )
        for n, (hit, start, end, text, support) in enumerate(chosen, start=1)
    )
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question, text, False, citations, tuple(hits), confidence=confidence)


def should_abstain(
    question: str, best: Candidate, index: Index, weights: dict[str, float] | None = None
) -> bool:
    """True when the best evidence does not answer the question.

    Three signs, each calibrated to keep false abstentions rare on the dev sets: weak support;
    a question that asks about something the collection never mentions (rare words found in
    no article); a negated question ("what can NOT...") whose evidence states no negation.
    """
    if best.support < ABSTAIN_BELOW:
        return True
    weights = _idf_weights(index, question) if weights is None else weights
    counts, _ = index.document_frequencies()
    unknown = sum(w for t, w in weights.items() if counts.get(t, 0) == 0) / (sum(weights.values()) or 1)
    if unknown >= ABSTAIN_UNKNOWN_SHARE:
        return True
    return bool(_NEGATION.search(question)) and not _NEGATION.search(best.text)


def rank_sentences(
    question: str, hits: list[Hit], index: Index, weights: dict[str, float] | None = None
) -> list[Candidate]:
    """Candidate sentences of the best passages with their support score, best first."""
    weights = _idf_weights(index, question) if weights is None else weights
    total = sum(weights.values())
    if not hits or total == 0:
        return []
    top = max(h.score for h in hits) or 1.0
    wants = _wanted_type(question)
    candidates = []
    for hit in hits[:PASSAGES_FOR_EVIDENCE]:
        article = index.articles[hit.article_id]
        spans = article.paragraphs[hit.paragraph - 1].sentences or ((hit.start, hit.end),)
        previous: set[str] = set()
        for start, end in spans:
            text = article.text[start:end]
            terms = set(content_terms(text))
            cover = sum(w for t, w in weights.items() if t in terms) / total
            prev = sum(w for t, w in weights.items() if t in previous and t not in terms) / total
            typed = _has_type(text, wants, question) if wants else 0.0
            support = (W_COVER * cover + W_PREV * prev + W_PASSAGE * hit.score / top + W_TYPE * typed) / (
                W_COVER + W_PASSAGE + W_TYPE
            )
            candidates.append(Candidate(hit, start, end, text, support, cover))
            previous = terms
    return sorted(candidates, key=lambda c: (-c.support, c.hit.rank, c.start))


def content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` (BM25's tokens less question words)."""
    from ..store import lexical

    return [t for t in lexical.terms(text) if t not in _QUESTION_WORDS]


def _idf_weights(index: Index, question: str) -> dict[str, float]:
    """Rarity weight of each content word of the question (unknown words count as rare)."""
    counts, n_docs = index.document_frequencies()
    out = {}
    for term in content_terms(question):
        df = counts.get(term, 0)
        out[term] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    return out


def _wanted_type(question: str) -> str:
    if _NUMBER_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    return ""


def _has_type(sentence: str, wanted: str, question: str) -> float:
    if wanted == "number":
        found = {m.group().lower() for m in _NUMBER.finditer(sentence)}
        return 1.0 if found - {m.group().lower() for m in _NUMBER.finditer(question)} else 0.0
    names = {m.group().lower() for m in _CAPITAL.finditer(sentence)}
    asked = {w.lower() for w in re.findall(r"[A-Za-z\-]+", question)}
    return 1.0 if names - asked else 0.0
