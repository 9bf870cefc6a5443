"""The benchmark scripts' own logic, on tiny inputs (no model, no LangChain)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _common  # noqa: E402
import query_scale  # noqa: E402


class FakeEmbedder:
    def __init__(self, base: np.ndarray) -> None:
        self.base, self._queries = base, {}

    def encode_query(self, text: str) -> np.ndarray:
        return self.base[hash(text) % len(self.base)]


def test_synthetic_corpus_keeps_the_real_vectors_and_is_normalised():
    base = np.eye(8, 16, dtype="float32")
    data = query_scale.synthesise(base, 500)
    assert data.shape == (500, 16) and np.allclose(data[:8], base)
    assert np.allclose(np.linalg.norm(data, axis=1), 1.0, atol=1e-5)


def test_one_size_measures_exact_and_approximate_with_recall():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 32)).astype("float32")
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    rows = query_scale.measure_size(3000, base, FakeEmbedder(base), [f"q{i}" for i in range(20)], None)
    exact, approximate = rows
    assert exact[1].startswith("ours, exact") and approximate[1].startswith("ours, approximate")
    assert 0.5 <= float(approximate[5]) <= 1.0
    assert approximate[6] < exact[6]  # bytes per chunk: fp16 codes (2 bytes a dimension), not float32 (4)


def test_table_is_markdown_with_the_machine_load():
    text = _common.table(["a", "b"], [["x", 1.23456], ["y", 12345]], "Title")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Title; load average") and lines[2].startswith("| a")
    assert "1.235" in text and "12,345" in text
    assert _common.percentile([1, 2, 3, 4, 5], 0.5) == 3


def test_bulk_memory_worker_indexes_the_synthetic_corpus_in_steps(tmp_path):
    import bulk_memory

    bulk_memory.make_corpus(tmp_path / "corpus", 30)
    assert len(list((tmp_path / "corpus").rglob("*.md"))) == 30
    streamed = bulk_memory.worker(tmp_path / "corpus", 16, "faiss", "hash")
    whole = bulk_memory.worker(tmp_path / "corpus", 10**9, "faiss", "hash")
    assert streamed["articles"] == whole["articles"] == 30
    assert streamed["chunks"] == whole["chunks"] == 4 * 30  # a heading and three paragraphs each
    assert streamed["peak_mb"] >= streamed["baseline_mb"] > 0
