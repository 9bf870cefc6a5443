"""A BERT mean-pooling sentence encoder on ONNX Runtime: tokenizers + onnxruntime + numpy, no torch.

It computes what sentence-transformers computes for such a model (word pieces cut at the model's
``max_seq_length``, the transformer, the mean over real tokens, L2 normalisation), from the ONNX
file made by ``onnx_cache``. Starting it takes a fraction of a second: torch is not imported.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from numpy.typing import NDArray


class OnnxEncoder:
    """``encode(texts, batch_size, normalize_embeddings=True)`` -> float32 numpy, as sentence-transformers.

    Each text is run on its own (no padding) on a one-thread session, ``threads`` texts at a time
    from a pool of Python threads (ONNX Runtime releases the GIL). Measured on the SQuAD dev
    texts with the int8 model, one text at a time took about half the CPU time of batches of 64
    sorted by length (benchmarks/encoders.py), and it makes a text's vector independent of the
    texts embedded with it: int8 activations are quantised with one scale per run.
    """

    def __init__(self, onnx_file: Path, folder: Path, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        config = _json(folder / "config.json")
        st_path = folder / "sentence_bert_config.json"
        st_config = _json(st_path) if st_path.exists() else {}
        self.max_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.dimension = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.no_padding()
        self.onnx_file = Path(onnx_file)
        self.threads = threads or os.cpu_count() or 1
        self._session: Any = None  # an onnxruntime.InferenceSession, made on first use
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def session(self) -> Any:
        """The ONNX Runtime session: one intra-op thread (texts run side by side instead)."""
        with self._lock:
            if self._session is None:
                self._session = one_thread_session(self.onnx_file)
            return self._session

    def encode(
        self,
        texts: Iterable[str],
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        threads: int = 0,
        **_ignored: object,
    ) -> NDArray[np.float32]:
        """Vectors of ``texts``; ``threads`` texts at a time (0: the encoder's default)."""
        import numpy as np

        sums, counts = self.token_sums(list(texts), threads)
        vectors = sums / counts[:, None]
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def token_sums(
        self, texts: Sequence[str], threads: int = 0
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Per text, the sum of the transformer's token outputs and the number of tokens: the mean
        is the text's vector, and sums of several texts pool them into one (``sentence_vectors``)."""
        import numpy as np

        session = self.session()
        sums = np.empty((len(texts), self.dimension), dtype="float32")
        counts = np.empty(len(texts), dtype="float32")

        def one(i: int) -> None:
            e = self.tokenizer.encode(texts[i])
            ids = np.array([e.ids], dtype=np.int64)
            feed = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            tokens = session.run(None, feed)[0][0]
            sums[i], counts[i] = tokens.sum(axis=0), len(tokens)

        workers = min(threads or self.threads, len(texts))
        if workers <= 1:
            for i in range(len(texts)):
                one(i)
        else:
            list(self._workers().map(one, range(len(texts))))
        return sums, counts

    def _workers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="rag-embed")
            return self._pool


def one_thread_session(onnx_file: Path) -> Any:
    """An ONNX Runtime CPU session with one intra-op thread (callers run texts side by side)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
