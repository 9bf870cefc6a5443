"""The reader: which sentence of the retrieved passages answers the question, and how sure it is.

Candidates are the sentences of the best passages; a heading stands for the paragraph under it
(it names the section, it does not answer), bylines and sentences that are questions themselves
are left out. Each candidate is scored by a
logistic model trained by ``training/train_reader.py`` and shipped as JSON
(``rag/answer/models/reader_scorer.json``) over signals of meaning and of words:

* the cosine between the question's vector (the one retrieval computed) and the sentence's
  vector (embedded at index time, ``sentence_vectors.py``), relative to the best candidate's,
  the neighbouring sentences' cosines, and those of the sentence joined with each neighbour
  (the sum of the two vectors: "it", "this" refer back, and a sentence that restates the
  question is often followed by the one that answers it);
* the rarity-weighted share of the question's words in the sentence and its neighbours, whether
  it holds the kind of thing asked for, how much it adds beyond restating the question;
* the passage's retrieval score and rank, position and length.

The best candidate's score, mapped to a probability by a calibration fitted on the training
questions (unanswerable ones included), is the answer's ``confidence``; under the calibrated
threshold the assistant abstains. Reading costs no model call: a few dot products.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..types import Hit
from .model_file import read_model_file

SCORER = Path(__file__).resolve().parent / "models" / "reader_scorer.json"
SCORER_FORMAT = "rag-reader-scorer/2"
PASSAGES = 3  # passages whose sentences are candidates
FEATURES = (
    "cos",
    "cos_rel",
    "cos_prev",
    "cos_next",
    "cos_with_prev",
    "cos_with_next",
    "cover",
    "prev_cover",
    "next_cover",
    "passage",
    "rank1",
    "inv_rank",
    "typed",
    "novelty",
    "first",
    "length",
)

_BYLINE = re.compile(r"^\s*(by|written by|posted by|words by|reporting by|published|updated|posted)\b", re.I)
_TERMINAL = re.compile(r"[.!?:;\"'\u201d\u2019)]\s*$")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved paragraph, with its signals (``FEATURES`` order)."""

    hit: Hit
    start: int
    end: int
    text: str
    features: tuple[float, ...]


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    logit: float
    probability: float  # calibrated: how likely this sentence answers the question


def paragraph_kind(text: str, sentences: int) -> str:
    """ "byline", "heading" or "body": a short line without a sentence's end is a heading."""
    words = len(text.split())
    if words <= 16 and _BYLINE.match(text):
        return "byline"
    if sentences <= 1 and words <= 16 and not _TERMINAL.search(text):
        return "heading"
    return "body"


def candidates(
    question: str,
    vector: Any,
    hits: Sequence[Hit],
    index: Any,
    embedder: Any,
    passages: int = PASSAGES,
    exclude: Sequence[tuple[str, int, int]] = (),
) -> list[Candidate]:
    """Body sentences of the best ``passages`` hits with their signals; ``exclude`` holds (doc,
    start, end) spans not to offer again (a follow-up must not repeat the last answer)."""
    import numpy as np

    from ..store.sentence_vectors import row_of
    from .extractive import _has_type, _idf_weights, _wanted_type, content_terms

    weights = _idf_weights(index, question)
    total = sum(weights.values()) or 1.0
    asked = set(weights)
    wants = _wanted_type(question)
    top = max((h.score for h in hits), default=0.0) or 1.0
    query = np.asarray(vector, dtype="float32")
    rows = []
    for hit in _body_passages(hits[:passages], index):
        article = index.articles[hit.article_id]
        spans = article.paragraphs[hit.paragraph - 1].sentences or ((hit.start, hit.end),)
        first = row_of(article, hit.paragraph, 0)
        vectors = index.sentence_vectors(hit.article_id, embedder)[first : first + len(spans)].astype(
            "float32"
        )
        cos = vectors @ query
        pairs = vectors[:-1] + vectors[1:]  # a sentence joined with the next, as one meaning
        joined = (pairs @ query) / np.maximum(np.linalg.norm(pairs, axis=1), 1e-6)
        terms = [set(content_terms(article.text[s:e])) for s, e in spans]
        for i, (start, end) in enumerate(spans):
            text = article.text[start:end]
            if text.endswith("?") or any(d == hit.doc and s < end and start < e for d, s, e in exclude):
                continue  # a question in the text asks, it does not answer
            mine = terms[i]
            prev = terms[i - 1] if i else set()
            after = terms[i + 1] if i + 1 < len(terms) else set()

            def share(found: set[str]) -> float:
                return sum(w for t, w in weights.items() if t in found) / total

            rows.append(
                (
                    hit,
                    start,
                    end,
                    text,
                    [
                        float(cos[i]),
                        0.0,
                        float(cos[i - 1]) if i else 0.0,
                        float(cos[i + 1]) if i + 1 < len(spans) else 0.0,
                        float(joined[i - 1]) if i else float(cos[i]),
                        float(joined[i]) if i + 1 < len(spans) else float(cos[i]),
                        share(mine),
                        share(prev - mine),
                        share(after - mine),
                        hit.score / top,
                        float(hit.rank == 1),
                        1.0 / hit.rank,
                        (_has_type(text, wants, question) if wants else 0.0),
                        len(mine - asked) / len(mine) if mine else 0.0,
                        float(i == 0),
                        math.log1p(len(text) / 100),
                    ],
                )
            )
    best = max((r[4][0] for r in rows), default=0.0)
    for row in rows:
        row[4][1] = row[4][0] - best
    return [Candidate(hit, start, end, text, tuple(f)) for hit, start, end, text, f in rows]


def _body_passages(hits: Sequence[Hit], index: Any) -> list[Hit]:
    """The hits that are body text; a heading stands for the paragraph under it (the section it
    names answers, the heading only restates the question), a byline for nothing."""
    from dataclasses import replace

    out, seen = [], set()
    for hit in hits:
        article = index.articles[hit.article_id]
        para = article.paragraphs[hit.paragraph - 1]
        kind = paragraph_kind(hit.text, len(para.sentences))
        if kind == "heading" and hit.paragraph < len(article.paragraphs):
            para = article.paragraphs[hit.paragraph]
            text = article.text[para.start : para.end]
            if paragraph_kind(text, len(para.sentences)) != "body":
                continue
            hit = replace(hit, paragraph=para.number, start=para.start, end=para.end, text=text)
        elif kind != "body":
            continue
        if (hit.article_id, hit.paragraph) not in seen:
            seen.add((hit.article_id, hit.paragraph))
            out.append(hit)
    return out


@dataclass(frozen=True)
class Linear:
    """A logistic model stored as JSON: standardised features, weights, bias."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def from_dict(cls, data: dict) -> Linear:
        return cls(
            tuple(data["features"]),
            tuple(map(float, data["weights"])),
            float(data["bias"]),
            tuple(map(float, data["mean"])),
            tuple(map(float, data["scale"])),
        )

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    def logit(self, values: Sequence[float]) -> float:
        return self.bias + sum(
            w * (v - m) / s for w, v, m, s in zip(self.weights, values, self.mean, self.scale)
        )


@dataclass(frozen=True)
class Scorer:
    """The reader's model, its calibration and its decision thresholds (see ``training/``)."""

    model: Linear
    calibration: tuple[float, float]  # confidence = sigmoid(a * logit + b)
    abstain_below: float  # confidence under which the assistant says the articles don't say
    second_ratio: float  # a runner-up is also quoted when its confidence is this close to the best

    @classmethod
    def load(cls, path: Path = SCORER) -> Scorer:
        return read_model_file(
            path,
            SCORER_FORMAT,
            cls.from_dict,
            "the reader's scorer",
            "Reinstall the package, or retrain it with: python training/train_reader.py",
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorer:
        """The scorer a ``reader_scorer.json`` holds; ValueError if this version cannot read it."""
        model = Linear.from_dict(data["model"])
        if model.features != FEATURES:
            raise ValueError(
                f"it scores {', '.join(model.features)}, this version reads {', '.join(FEATURES)}"
            )
        if not len(model.weights) == len(model.mean) == len(model.scale) == len(FEATURES):
            raise ValueError(f"it holds {len(model.weights)} weights for {len(FEATURES)} signals")
        return cls(
            model,
            (float(data["calibration"][0]), float(data["calibration"][1])),
            float(data["abstain_below"]),
            float(data["second_ratio"]),
        )

    def confidence(self, logit: float) -> float:
        a, b = self.calibration
        return sigmoid(a * logit + b)

    def rank(self, found: Sequence[Candidate]) -> list[Scored]:
        """The candidates scored, best first."""
        scored = [
            Scored(c, logit, self.confidence(logit))
            for c in found
            for logit in (self.model.logit(c.features),)
        ]
        return sorted(scored, key=lambda s: (-s.logit, s.candidate.hit.rank, s.candidate.start))


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), clamped so that no score overflows: a log-odds to a probability."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def logit(p: float) -> float:
    """log(p / (1 - p)), ``p`` kept inside (0, 1): a probability to its log-odds."""
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


@lru_cache(maxsize=1)
def shared_scorer() -> Scorer:
    """The shipped scorer, read once per process (it never changes)."""
    return Scorer.load()
