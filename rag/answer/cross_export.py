"""The re-ranker's model: the packaged MiniLM with the shipped delta merged in, exported to ONNX.

Made once per (model content hash, delta hash) into the encoder cache, like the encoder's own
export (``rag.embed.onnx_cache``: built in a temporary folder, renamed into place, checked by
sha256). Merging needs torch, and only here: LoRA's ``W + (alpha / rank) * B @ A`` on each
target layer; the pooling of each side and the head are in the graph.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..embed.onnx_cache import cached_export, model_hash, write_onnx
from .cross_encoder import CrossConfig

RECIPE = 2  # bump when the merge or the graph changes: older cached exports are then not used
VARIANT = "int8"


def cross_onnx(
    folder: Path, config: CrossConfig, cache: Path, announce: Callable[[], None] | None = None
) -> Path:
    """The cached int8 ONNX file of the merged re-ranker, exported first if needed (``announce()``
    just before)."""
    name = f"{model_hash(folder, cache)[:32]}-cross-{config.delta_sha256[:16]}-{VARIANT}-r{RECIPE}"

    def build(out: Path) -> None:
        record = {"source": str(folder), "delta": str(config.delta), "delta_sha256": config.delta_sha256}
        write_onnx(build_module(folder, config), "logit", VARIANT, out, record)

    return cached_export(cache, name, build, announce)


def build_module(folder: Path, config: CrossConfig) -> Any:
    """A torch module: BERT with the delta merged, mean pooling and the head; three inputs, one logit."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    delta = {k: v.float() for k, v in load_file(str(config.delta)).items()}
    merge_lora(bert, delta, config.alpha / config.rank)
    head = torch.nn.Linear(bert.config.hidden_size, 1)
    head.load_state_dict({"weight": delta["head.weight"], "bias": delta["head.bias"]})
    return pooled(bert, head, torch.nn.Parameter(delta["head.scale"].reshape(())))


def merge_lora(bert: Any, delta: dict, scale: float) -> None:
    """Add ``scale * B @ A`` to each linear layer named in ``delta`` (``NAME.lora_A``/``NAME.lora_B``)."""
    import torch

    modules = dict(bert.named_modules())
    names = sorted({k.rsplit(".", 1)[0] for k in delta if k.endswith(".lora_A")})
    with torch.no_grad():
        for name in names:
            if name not in modules:
                raise ValueError(f"the delta names {name}, which the model does not have")
            modules[name].weight += scale * delta[f"{name}.lora_B"] @ delta[f"{name}.lora_A"]


@lru_cache(maxsize=1)
def _pooled_class() -> type:
    import torch

    class Pooled(torch.nn.Module):
        """The question's and the sentence's word pieces, each averaged (read together, so each
        side has seen the other), and scored as ``scale * cosine + head(product)``: untrained, it is
        close to the sentence model's own cosine, and training learns what to add to it."""

        def __init__(self, bert: Any, head: Any, scale: Any) -> None:
            super().__init__()
            self.bert, self.head, self.scale = bert, head, scale

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            second = token_type_ids.unsqueeze(-1).to(hidden.dtype) * mask
            first = mask - second
            a = torch.nn.functional.normalize((hidden * first).sum(1) / first.sum(1).clamp(min=1.0), dim=-1)
            b = torch.nn.functional.normalize((hidden * second).sum(1) / second.sum(1).clamp(min=1.0), dim=-1)
            return self.scale * (a * b).sum(-1) + self.head(a * b).squeeze(-1)

    return Pooled


def pooled(bert: Any, head: Any, scale: Any) -> Any:
    """The cross-encoder as one torch module: ``bert`` (plain or with LoRA adapters), ``head``
    (a linear layer over the product of the two sides) and ``scale`` (a one-number parameter)."""
    return _pooled_class()(bert, head, scale)
