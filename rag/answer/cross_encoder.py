"""The re-ranker: a cross-encoder reads the question and each of the reader's best sentences together.

The logistic scorer (``reader.py``) ranks every candidate sentence from vectors made apart; the
``rerank`` best of them are then read again, each joined with the question in one pass of the
packaged all-MiniLM-L6-v2 fine-tuned as a (question, sentence) relevance classifier
(``training/train_cross_encoder.py``). Only the fine-tuning's delta is shipped
(``models/cross_encoder.safetensors``: LoRA weights of the top layers and the head); it is merged
into the packaged model once and exported to int8 ONNX, cached by the model's and the delta's
hashes like the encoder (``cross_export.py``), so a question costs a few ONNX Runtime runs and
no torch. The final score combines the cross-encoder's with the logistic one; its calibration
(Platt scaling) gives the answer's ``confidence``, and the abstention threshold comes with it
(``models/cross_encoder.json``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..hashing import file_sha256
from .model_file import read_model_file
from .reader import Scored, sigmoid

MODELS = Path(__file__).resolve().parent / "models"
CONFIG = MODELS / "cross_encoder.json"
FORMAT = "rag-cross-encoder/2"  # 2: cosine of the two sides plus a head over their product
RETRAIN = "python training/train_cross_encoder.py"


@dataclass(frozen=True)
class CrossConfig:
    """What ``cross_encoder.json`` says: the delta's shape, how many sentences are re-read, and how
    the score becomes a confidence and a decision."""

    delta: Path  # the safetensors file beside the config
    delta_sha256: str
    rank: int  # LoRA rank and scale: W + (alpha / rank) * B @ A
    alpha: float
    layers: tuple[int, ...]
    targets: tuple[str, ...]  # the linear layers of each transformer layer that carry a delta
    max_length: int  # word pieces of question + sentence
    rerank: int  # the logistic scorer's best this many sentences are read again
    combine: tuple[float, float, float]  # final logit = a * cross-encoder + b * logistic + c
    calibration: tuple[float, float]  # confidence = sigmoid(a * final logit + b)
    abstain_below: float
    second_ratio: float

    @classmethod
    def load(cls, path: Path = CONFIG) -> CrossConfig:
        return read_model_file(
            path,
            FORMAT,
            lambda data: cls.from_dict(data, Path(path).parent),
            "the re-ranker",
            f"Reinstall the package, retrain it with: {RETRAIN}, or turn it off with RAG_RERANK=false",
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> CrossConfig:
        """The config a ``cross_encoder.json`` in ``folder`` holds; ValueError if its delta file
        there is not the one it was written for."""
        delta = folder / data["delta"]
        lora = data["lora"]
        config = cls(
            delta,
            str(data["delta_sha256"]),
            int(lora["rank"]),
            float(lora["alpha"]),
            tuple(int(n) for n in lora["layers"]),
            tuple(str(t) for t in lora["targets"]),
            int(data["max_length"]),
            int(data["rerank"]),
            _three(data["combine"]),
            _two(data["calibration"]),
            float(data["abstain_below"]),
            float(data["second_ratio"]),
        )
        if file_sha256(delta) != config.delta_sha256:
            raise ValueError(f"{delta.name} does not match the sha256 recorded for it")
        return config


def _three(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def _two(values: Any) -> tuple[float, float]:
    a, b = (float(v) for v in values)
    return a, b


def pair_tokenizer(folder: Path, max_length: int) -> Any:
    """The model's tokenizer for (question, sentence) pairs, cutting the sentence when too long;
    training and run time both encode with this."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer


@dataclass
class CrossEncoder:
    """Scores (question, sentence) pairs with the exported ONNX model: one run per pair, so a
    pair's score does not depend on the others (int8 activations are scaled per run). The runs
    of a question go side by side, one per core (a one-thread session runs on its caller's
    thread, and ONNX Runtime releases the GIL)."""

    onnx_file: Path
    tokenizer: Any
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    _session: Any = field(default=None, repr=False)
    _pool: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                from ..embed.onnx_encoder import one_thread_session

                self._session = one_thread_session(self.onnx_file)
            return self._session

    def score(self, question: str, sentences: Sequence[str]) -> list[float]:
        """The relevance logit of each sentence for the question."""
        import numpy as np

        session = self.session()

        def one(sentence: str) -> float:
            e = self.tokenizer.encode(question, sentence)
            ids = np.array([e.ids], dtype=np.int64)
            feed = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            return float(session.run(None, feed)[0][0])

        if self.threads <= 1 or len(sentences) <= 1:
            return [one(sentence) for sentence in sentences]
        return list(self._workers().map(one, sentences))

    def _workers(self) -> Any:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="rag-rerank")
            return self._pool


@dataclass(frozen=True)
class Reranker:
    config: CrossConfig
    encoder: CrossEncoder

    @property
    def abstain_below(self) -> float:
        return self.config.abstain_below

    @property
    def second_ratio(self) -> float:
        return self.config.second_ratio

    def confidence(self, logit: float) -> float:
        a, b = self.config.calibration
        return sigmoid(a * logit + b)

    def final_logits(self, cross: Sequence[float], logistic: Sequence[float]) -> list[float]:
        a, b, c = self.config.combine
        return [a * x + b * y + c for x, y in zip(cross, logistic)]

    def rerank(self, question: str, ranked: Sequence[Scored]) -> list[Scored]:
        """The logistic scorer's best ``rerank`` sentences, scored again and calibrated, best first;
        the others are dropped (an answer quotes at most two sentences)."""
        top = list(ranked[: self.config.rerank])
        cross = self.encoder.score(question, [s.candidate.text for s in top])
        logits = self.final_logits(cross, [s.logit for s in top])
        scored = [
            replace(s, logit=logit, probability=self.confidence(logit)) for s, logit in zip(top, logits)
        ]
        return sorted(scored, key=lambda s: (-s.logit, s.candidate.hit.rank, s.candidate.start))


def load_reranker(
    folder: Path, cache: Path, config_path: Path = CONFIG, announce: Callable[[], None] | None = None
) -> Reranker:
    """The re-ranker for the packaged model in ``folder``, exported into ``cache`` on first use
    (``announce()`` just before that export)."""
    from .cross_export import cross_onnx

    config = CrossConfig.load(config_path)
    onnx_file = cross_onnx(folder, config, cache, announce)
    return Reranker(config, CrossEncoder(onnx_file, pair_tokenizer(folder, config.max_length)))


def shared_reranker(cache: Path, announce: Callable[[], None] | None = None) -> Reranker:
    """The shipped re-ranker on the packaged model, loaded once per process (``announce()`` just
    before a first-use export): a question asked while the web app's warm-up exports it waits for
    that export instead of making a second."""
    from ..embed.encoder import resolve_model_path
    from ..settings import DEFAULT_MODEL

    with _LOADING:
        if cache not in _LOADED:
            _LOADED[cache] = load_reranker(resolve_model_path(DEFAULT_MODEL), cache, announce=announce)
        return _LOADED[cache]


_LOADING = threading.Lock()
_LOADED: dict[Path, Reranker] = {}  # encoder cache -> the re-ranker loaded from it
