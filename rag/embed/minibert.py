"""A small BERT sentence encoder in plain torch, for fast starts.

Importing sentence-transformers pulls in transformers and scikit-learn, which takes several
seconds before the first question can be embedded. For the common case -- a BERT model with
mean pooling (and normalisation), such as the packaged all-MiniLM-L6-v2 -- this module computes
the same vectors (cosine > 0.9999 with sentence-transformers; a test checks it) from the model
folder's ``model.safetensors`` and ``tokenizer.json`` with torch, safetensors and tokenizers alone.
Any other model is loaded with sentence-transformers (see ``embed.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

ST_PREFIX = "sentence_transformers.models."


def supports(folder: Path) -> bool:
    """True for a plain BERT + mean pooling (+ Normalize) sentence-transformers folder."""
    try:
        modules = [m["type"].removeprefix(ST_PREFIX) for m in _json(folder / "modules.json")]
        pooling = _json(folder / modules_path(folder, "Pooling") / "config.json")
        config = _json(folder / "config.json")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    other_pooling = [
        k
        for k, v in pooling.items()
        if k.startswith("pooling_mode") and v and k != "pooling_mode_mean_tokens"
    ]
    return (
        modules in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
        and pooling.get("pooling_mode_mean_tokens") is True
        and not other_pooling
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


def modules_path(folder: Path, kind: str) -> str:
    return next(m["path"] for m in _json(folder / "modules.json") if m["type"].endswith(kind))


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


class MiniBert:
    """``encode(texts, batch_size, normalize_embeddings=True)`` -> float32 numpy, as sentence-transformers."""

    def __init__(self, folder: Path) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = _json(folder / "config.json")
        st_config = (
            _json(folder / "sentence_bert_config.json")
            if (folder / "sentence_bert_config.json").exists()
            else {}
        )
        self.max_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.normalize = "Normalize" in json.dumps(_json(folder / "modules.json"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.w = {k[len(prefix) :]: v.float() for k, v in weights.items() if k.startswith(prefix)}
        self.dimension = int(self.w["embeddings.word_embeddings.weight"].shape[1])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self.torch = torch

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts, batch_size: int = 32, normalize_embeddings: bool = True, **_ignored):
        import numpy as np

        torch = self.torch
        out = np.empty((len(texts), self.dimension), dtype="float32")
        with torch.inference_mode():
            for begin in range(0, len(texts), batch_size):
                batch = self.tokenizer.encode_batch(list(texts[begin : begin + batch_size]))
                ids = torch.tensor([e.ids for e in batch])
                types = torch.tensor([e.type_ids for e in batch])
                mask = torch.tensor([e.attention_mask for e in batch])
                vectors = self._pool(self._forward(ids, types, mask), mask)
                if normalize_embeddings or self.normalize:
                    vectors = torch.nn.functional.normalize(vectors, dim=1)
                out[begin : begin + len(batch)] = vectors.numpy()
        return out

    def _forward(self, ids, types, mask):
        F, w = self.torch.nn.functional, self.w
        positions = self.torch.arange(ids.shape[1]).unsqueeze(0)
        x = (
            F.embedding(ids, w["embeddings.word_embeddings.weight"])
            + F.embedding(positions, w["embeddings.position_embeddings.weight"])
            + F.embedding(types, w["embeddings.token_type_embeddings.weight"])
        )
        x = self._norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9  # padded keys get no attention
        for n in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{n}.")
        return x

    def _layer(self, x, bias, p: str):
        F, w = self.torch.nn.functional, self.w
        batch, length, width = x.shape

        def heads(name: str):
            y = F.linear(x, w[f"{p}attention.self.{name}.weight"], w[f"{p}attention.self.{name}.bias"])
            return y.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            heads("query"), heads("key"), heads("value"), attn_mask=bias
        )
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = self._norm(
            x + self._dense(attended, f"{p}attention.output.dense"), f"{p}attention.output.LayerNorm"
        )
        hidden = F.gelu(self._dense(x, f"{p}intermediate.dense"))
        return self._norm(x + self._dense(hidden, f"{p}output.dense"), f"{p}output.LayerNorm")

    def _dense(self, x, name: str):
        return self.torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def _norm(self, x, name: str):
        return self.torch.nn.functional.layer_norm(
            x, (x.shape[-1],), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps
        )

    def _pool(self, x, mask):
        weights = mask.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
