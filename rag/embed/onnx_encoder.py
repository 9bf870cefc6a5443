"""A BERT mean-pooling sentence encoder on ONNX Runtime: tokenizers + onnxruntime + numpy, no torch.

It computes what sentence-transformers computes for such a model (word pieces cut at the model's
``max_seq_length``, the transformer, the mean over real tokens, L2 normalisation), from the ONNX
file made by ``onnx_cache``. Starting it takes a fraction of a second: torch is not imported.
"""

from __future__ import annotations

import json
from pathlib import Path


class OnnxEncoder:
    """``encode(texts, batch_size, normalize_embeddings=True)`` -> float32 numpy, as sentence-transformers."""

    def __init__(self, onnx_file: Path, folder: Path, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        config = _json(folder / "config.json")
        st_path = folder / "sentence_bert_config.json"
        st_config = _json(st_path) if st_path.exists() else {}
        self.max_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.dimension = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self.onnx_file = Path(onnx_file)
        self.threads = threads
        self._sessions: dict[int, object] = {}

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def session(self, threads: int = 0):
        """The ONNX Runtime session for ``threads`` intra-op threads (0: the encoder's default)."""
        threads = threads or self.threads
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads  # 0: one per core
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._sessions[threads] = ort.InferenceSession(
                str(self.onnx_file), options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def encode(self, texts, batch_size: int = 32, normalize_embeddings: bool = True, threads: int = 0,
               **_ignored):
        import numpy as np

        session = self.session(threads)
        out = np.empty((len(texts), self.dimension), dtype="float32")
        for begin in range(0, len(texts), batch_size):
            batch = self.tokenizer.encode_batch(list(texts[begin : begin + batch_size]))
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            types = np.array([e.type_ids for e in batch], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            if normalize_embeddings:
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out[begin : begin + len(batch)] = vectors
        return out


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
