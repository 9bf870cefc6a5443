"""The plain-torch BERT encoder gives sentence-transformers' vectors; query vectors are cached."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.embed import minibert
from rag.embed.encoder import Embedder, resolve_model_path
from rag.settings import Settings

pytestmark = pytest.mark.model

TEXTS = [
    "Who founded the Mongol Empire?",
    "The cat sat on the mat.",
    "Chloroplasts " + "convert light into chemical energy. " * 60,  # past 256 word pieces
    "Ünïcödé, punctuation -- and numbers: 1,234.5!",
]


def test_packaged_model_uses_the_fast_encoder(embedder):
    assert isinstance(embedder.model, minibert.MiniBert) and embedder.dimension == 384


def test_fast_encoder_matches_sentence_transformers(embedder):
    slow = Embedder(Settings(embed_backend="sentence-transformers"))
    assert not isinstance(slow.model, minibert.MiniBert)
    fast, reference = embedder.encode(TEXTS), slow.encode(TEXTS)
    assert fast.shape == reference.shape == (len(TEXTS), 384) and fast.dtype == np.float32
    assert float(np.min(np.sum(fast * reference, axis=1))) > 0.9999


def test_other_models_fall_back_to_sentence_transformers(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    source = resolve_model_path("all-MiniLM-L6-v2")
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        (folder / name).symlink_to(source / name)
    (folder / "1_Pooling").mkdir()
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text())
    assert minibert.supports(source)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_cls_token": True}))
    assert not minibert.supports(folder)  # CLS pooling: not what the fast encoder computes


def test_query_vectors_are_cached_and_copied(embedder):
    first = embedder.encode_query("Where is Newcastle upon Tyne?")
    first[:] = 0  # a caller changing its copy must not change the cache
    again = embedder.encode_query("Where is Newcastle upon Tyne?")
    assert np.allclose(again, embedder.encode(["Where is Newcastle upon Tyne?"])[0], atol=1e-6)


def test_one_question_is_embedded_on_one_thread_and_the_count_restored(embedder, monkeypatch):
    import torch

    seen = []
    real_encode = embedder.encode
    monkeypatch.setattr(
        embedder,
        "encode",
        lambda texts, **kw: seen.append(torch.get_num_threads()) or real_encode(texts, **kw),
    )
    before = torch.get_num_threads()
    embedder.encode_query("How many chloroplasts does a leaf cell hold?")
    assert seen == [1] and torch.get_num_threads() == before
