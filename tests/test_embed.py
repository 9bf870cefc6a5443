"""The int8 ONNX encoder agrees with the torch one; its cached export survives damage; an index
is queried with the variant it was built with, or refused; query vectors are cached."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.embed import onnx_cache
from rag.embed.encoder import Embedder, resolve_model_path
from rag.errors import IndexMismatchError
from rag.hashing import file_sha256
from rag.settings import DEFAULT_MODEL, Settings
from rag.store.index import FORMAT_VERSION, MANIFEST, Index

pytestmark = pytest.mark.model

TEXTS = [
    "Who founded the Mongol Empire?",
    "The cat sat on the mat.",
    "Chloroplasts " + "convert light into chemical energy. " * 60,  # past 256 word pieces
    "Ünïcödé, punctuation -- and numbers: 1,234.5!",
    "Super Bowl 50 was an American football game to determine the champion of the NFL for 2015.",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.",
    "Southern California is a megaregion, and Los Angeles is its largest city.",
    "Oxygen is a chemical element with symbol O and atomic number 8.",
    "Which outlet carried the story about Kyiv and the alliance making arms jointly?",
    "Tesla was born in Smiljan, in the Austrian Empire, in 1856.",
]


@pytest.fixture(scope="module")
def torch_vectors():
    return Embedder(Settings(encoder="torch")).encode(TEXTS)


def test_packaged_model_uses_the_int8_onnx_encoder(embedder):
    assert embedder.variant == "int8" and embedder.runtime == "onnxruntime"
    assert embedder.dimension == 384 and hasattr(embedder.model, "session")


def test_int8_encoder_agrees_with_torch(embedder, torch_vectors):
    fast = embedder.encode(TEXTS)
    assert fast.shape == torch_vectors.shape == (len(TEXTS), 384) and fast.dtype == np.float32
    cosines = np.sum(fast * torch_vectors, axis=1)
    assert float(cosines.mean()) >= 0.99 and float(cosines.min()) >= 0.97
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_fp32_onnx_encoder_gives_the_torch_vectors(torch_vectors):
    fp32 = Embedder(Settings(encoder="fp32"))
    assert fp32.runtime == "onnxruntime"
    assert float(np.min(np.sum(fp32.encode(TEXTS) * torch_vectors, axis=1))) > 0.9999


def test_other_models_fall_back_to_sentence_transformers(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    source = resolve_model_path(DEFAULT_MODEL)
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        (folder / name).symlink_to(source / name)
    (folder / "1_Pooling").mkdir()
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text())
    assert onnx_cache.supports(source)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_cls_token": True}))
    assert not onnx_cache.supports(folder)  # CLS pooling: not what the ONNX encoder computes
    other = Embedder(Settings(model=str(folder)))
    assert other.variant == "fp32" and other.runtime == "sentence-transformers"


# ---- the cache ---------------------------------------------------------------------------------
@pytest.fixture
def cache(tmp_path, embedder):
    """A cache holding a copy of the session's real int8 export."""
    model = resolve_model_path(DEFAULT_MODEL)
    real = onnx_cache.onnx_model(model, "int8", embedder.settings.encoder_cache).parent
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copytree(real, folder / real.name)
    return folder


def _count_exports(monkeypatch, fail: bool = False) -> list:
    """Replace the export (seconds of torch) by one that writes a valid small record, or that
    dies half-way like a killed process; the cache logic around it is the real one."""
    calls = []
    real_write = onnx_cache._write_atomic

    def export(folder, variant, out):
        calls.append(out)
        (out / "model.onnx").write_bytes(b"partial" if fail else b"exported again")
        if fail:
            raise KeyboardInterrupt
        path = out / "model.onnx"
        real_write(
            out / "export.json",
            json.dumps(
                {
                    "variant": variant,
                    "recipe": onnx_cache.RECIPE,
                    "size": path.stat().st_size,
                    "sha256": file_sha256(path),
                }
            ),
        )

    monkeypatch.setattr(onnx_cache, "_export", export)
    return calls


def test_a_complete_export_is_reused(cache, monkeypatch):
    calls = _count_exports(monkeypatch)
    path = onnx_cache.onnx_model(resolve_model_path(DEFAULT_MODEL), "int8", cache)
    assert calls == [] and path.stat().st_size > 10_000_000


@pytest.mark.parametrize("damage", ["truncated", "record missing", "record wrong"])
def test_a_damaged_export_is_exported_again(cache, monkeypatch, damage):
    (target,) = [p for p in cache.iterdir() if p.is_dir()]
    if damage == "truncated":
        with open(target / "model.onnx", "r+b") as handle:
            handle.truncate(1000)
    elif damage == "record missing":
        (target / "export.json").unlink()
    else:
        record = json.loads((target / "export.json").read_text())
        (target / "export.json").write_text(json.dumps({**record, "sha256": "0" * 64}))
    calls = _count_exports(monkeypatch)
    path = onnx_cache.onnx_model(resolve_model_path(DEFAULT_MODEL), "int8", cache)
    assert len(calls) == 1 and path == target / "model.onnx"
    assert path.read_bytes() == b"exported again"
    assert [p.name for p in cache.iterdir() if p.name.startswith(".tmp")] == []


def test_a_killed_export_leaves_nothing_that_is_used(cache, monkeypatch):
    shutil.rmtree(next(p for p in cache.iterdir() if p.is_dir()))
    calls = _count_exports(monkeypatch, fail=True)
    with pytest.raises(KeyboardInterrupt):
        onnx_cache.onnx_model(resolve_model_path(DEFAULT_MODEL), "int8", cache)
    assert len(calls) == 1 and [p for p in cache.iterdir() if p.is_dir()] == []
    calls = _count_exports(monkeypatch)
    path = onnx_cache.onnx_model(resolve_model_path(DEFAULT_MODEL), "int8", cache)
    assert len(calls) == 1 and path.read_bytes() == b"exported again"


# ---- variants and indexes ------------------------------------------------------------------------
def _manifest_only_index(folder, encoder: str | None):
    """An index folder whose manifest names ``encoder`` (None: written before variants existed)."""
    folder.mkdir()
    manifest = {
        "format": FORMAT_VERSION,
        "model": DEFAULT_MODEL,
        "data": "data-1",
        "dimension": 384,
        "checksums": {},
        "counts": {},
    }
    if encoder:
        manifest["encoder"] = encoder
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(
    ("built", "setting"), [("int8", "fp32"), ("int8", "torch"), ("fp32", "int8"), (None, "int8")]
)
def test_an_index_is_refused_by_another_explicit_encoder(tmp_path, built, setting):
    folder = _manifest_only_index(tmp_path / "index", built)
    with pytest.raises(IndexMismatchError) as caught:
        Index.load(folder, Settings(index_dir=folder, encoder=setting))
    message = str(caught.value)
    assert f"built with the {built or 'fp32'} encoder" in message and "--rebuild" in message


def test_auto_follows_the_index_and_an_explicit_encoder_does_not():
    auto = Embedder(Settings())
    assert auto.variant == "int8"
    auto.follow("fp32")  # an index built before int8 existed, or with RAG_ENCODER=fp32
    assert auto.variant == "fp32"
    auto.follow(None)
    assert auto.variant == "int8"
    explicit = Embedder(Settings(encoder="int8"))
    explicit.follow("fp32")
    assert explicit.variant == "int8"


def test_the_manifest_names_the_variant(sample_index):
    assert sample_index.encoder == "int8" and sample_index.manifest["encoder"] == "int8"


# ---- questions -----------------------------------------------------------------------------------
def test_query_vectors_are_cached_and_copied(embedder):
    first = embedder.encode_query("Where is Newcastle upon Tyne?")
    first[:] = 0  # a caller changing its copy must not change the cache
    again = embedder.encode_query("Where is Newcastle upon Tyne?")
    assert np.allclose(again, embedder.encode(["Where is Newcastle upon Tyne?"])[0], atol=1e-5)


def test_one_question_is_embedded_on_the_calling_thread(embedder, monkeypatch):
    import threading

    seen = []
    real_run = embedder.model.session().run
    session = embedder.model.session()
    monkeypatch.setattr(embedder.model, "session", lambda: _Spy(session, seen))
    embedder.encode_query("How many chloroplasts does a leaf cell hold?")
    assert seen == [threading.current_thread().name] and real_run is not None
    assert session.get_session_options().intra_op_num_threads == 1


def test_a_text_gets_the_same_vector_in_any_company(embedder):
    alone = embedder.encode(["word"])
    together = embedder.encode(["word", "word " * 150, "The cat sat on the mat."])
    assert np.allclose(alone[0], together[0], atol=1e-6)  # no shared padding or activation scale


class _Spy:
    def __init__(self, session, seen: list) -> None:
        self.session, self.seen = session, seen

    def run(self, *args):
        import threading

        self.seen.append(threading.current_thread().name)
        return self.session.run(*args)


@pytest.mark.parametrize("encoder", ["int8", "torch"])
def test_token_sums_give_the_vectors_and_pool_texts(embedder, encoder):
    """A text's token sum over its count is its vector; the sums of two texts pool them into one
    vector close to that of the two run as one text."""
    model = embedder if encoder == "int8" else Embedder(Settings(encoder="torch"))
    sums, counts = model.token_sums(TEXTS)
    means = sums / counts[:, None]
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    assert np.allclose(means, model.encode(TEXTS), atol=1e-5)
    assert list(counts[:2]) == [8.0, 9.0]  # word pieces with [CLS] and [SEP]
    a, b = TEXTS[7], TEXTS[9]
    pooled = (sums[7] + sums[9]) / (counts[7] + counts[9])
    together = model.encode([f"{a} {b}"])[0]
    assert float(pooled @ together / np.linalg.norm(pooled)) > 0.9
