"""The ONNX copy of the embedding model, made once from the local model folder and cached.

ONNX Runtime runs the model without torch; its dynamic int8 quantisation makes indexing faster.
The export is made here, from the packaged (or given) sentence-transformers folder, never
downloaded: ``torch.onnx.export`` of the transformer, then ``onnxruntime.quantization.quantize_dynamic``
(per-channel int8 weights) for the int8 variant. (sentence-transformers' own export helpers need
``optimum-onnx``, whose releases pin transformers < 4.58, while sentence-transformers 6 needs
transformers 5; the two cannot be installed together, so this calls the same two steps directly.)

The cache folder holds one folder per model content hash and variant, e.g.
``3f2a...-int8-r1/`` with ``model.onnx`` and ``export.json`` (the model's hash, the variant and
the ONNX file's size and sha256). A folder is built under a temporary name and renamed into
place when complete, so a killed export leaves no folder that looks finished; a folder whose
``export.json`` is missing or whose ``model.onnx`` does not match it is removed and exported again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import RagError
from ..hashing import file_sha256

RECIPE = 1  # bump when the export steps change: older cached exports are then not used
VARIANTS = ("int8", "fp32")
MODEL_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "model.safetensors",
    "1_Pooling/config.json",
)
HASHES = "model-hashes.json"  # (file sizes, mtimes) -> content hash, so a start hashes nothing
ST_PREFIX = "sentence_transformers.models."


def supports(folder: Path) -> bool:
    """True for a BERT + mean pooling (+ Normalize) sentence-transformers folder, which is what the
    export and the ONNX encoder compute; any other model runs on sentence-transformers."""
    try:
        modules = [m["type"].removeprefix(ST_PREFIX) for m in _json(folder / "modules.json")]
        pooling_dir = next(m["path"] for m in _json(folder / "modules.json") if m["type"].endswith("Pooling"))
        pooling = _json(folder / pooling_dir / "config.json")
        config = _json(folder / "config.json")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
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
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


def model_hash(folder: Path, cache: Path) -> str:
    """sha256 over the model folder's files; remembered by their sizes and mtimes."""
    files = [folder / name for name in MODEL_FILES if (folder / name).exists()]
    stamp = "|".join(f"{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    key = f"{folder.resolve()}|{stamp}"
    memo = _read_memo(cache / HASHES)
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    value = digest.hexdigest()
    memo[key] = value
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _write_atomic(cache / HASHES, json.dumps(memo, indent=1))
    except OSError:
        pass  # an unwritable cache only costs hashing again next time
    return value


def onnx_model(folder: Path, variant: str, cache: Path) -> Path:
    """The cached ONNX file of the model in ``folder`` for ``variant``, exported first if needed."""
    if variant not in VARIANTS:
        raise RagError(f"encoder variant {variant!r} is not known; use one of {', '.join(VARIANTS)}")
    name = f"{model_hash(folder, cache)[:32]}-{variant}-r{RECIPE}"
    return cached_export(cache, name, lambda out: _export(folder, variant, out))


def cached_export(
    cache: Path, name: str, build: Callable[[Path], None], announce: Callable[[], None] | None = None
) -> Path:
    """``cache/name/model.onnx``, made first by ``build(folder)`` (which writes ``model.onnx`` and,
    last, ``export.json``) into a temporary folder renamed into place; a damaged one is made again.
    ``announce()`` is called just before a build, so a caller can say that this will take a while."""
    target = cache / name
    if _complete(target):
        return target / "model.onnx"
    if announce:
        announce()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=cache))
    except OSError as exc:
        raise RagError(
            f"cannot write the encoder cache {cache} ({exc.strerror or exc}). Make it "
            "writable, or set RAG_ENCODER_CACHE to another folder"
        ) from None
    try:
        with _quiet_logging():
            build(building)
        if target.exists():  # damaged (checked above), or finished by another process meanwhile
            if _complete(target):
                return target / "model.onnx"
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(building, target)
        except OSError:
            if not _complete(target):  # another process renamed its copy first; use theirs
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target / "model.onnx"


def _export(folder: Path, variant: str, out: Path) -> None:
    """Write ``model.onnx`` (and ``export.json``, last) for ``variant`` into ``out``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(folder)).eval()

    class Hidden(torch.nn.Module):  # positional inputs, one output: the last hidden state
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    write_onnx(Hidden(bert), "last_hidden_state", variant, out, {"source": str(folder)})


def write_onnx(module: Any, output: str, variant: str, out: Path, record: dict) -> None:
    """Export ``module`` (BERT's three inputs in, ``output`` out, batch and tokens dynamic) to
    ``out/model.onnx``, quantised for "int8", then ``export.json`` with ``record`` added."""
    import warnings

    import torch

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones(2, 16, dtype=torch.long)
    fp32 = out / ("model.onnx" if variant == "fp32" else "fp32.onnx")
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes[output] = {0: "batch", 1: "tokens"} if output == "last_hidden_state" else {0: "batch"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(fp32),
            input_names=names,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    if variant == "int8":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            str(fp32),
            str(out / "model.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        fp32.unlink()
    path = out / "model.onnx"
    _write_atomic(
        out / "export.json",
        json.dumps(
            {
                "variant": variant,
                "recipe": RECIPE,
                **record,
                "size": path.stat().st_size,
                "sha256": file_sha256(path),
            },
            indent=1,
        ),
    )


@contextmanager
def _quiet_logging():
    """The exporters configure the root logger (onnxruntime.quantization calls basicConfig) and warn
    about what does not concern a user; keep their logging out of the user's."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        root.handlers[:] = handlers
        root.setLevel(level)


def _complete(target: Path) -> bool:
    """True if ``target`` holds a finished export whose ONNX file matches its record."""
    try:
        record = _json(target / "export.json")
        path = target / "model.onnx"
        return path.stat().st_size == record["size"] and file_sha256(path) == record["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _read_memo(path: Path) -> dict:
    try:
        memo = _json(path)
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        return {}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
