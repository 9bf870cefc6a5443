"""Exact vs approximate vector index: the automatic switch, the forced setting, search and
incremental updates on the approximate index (real FAISS)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.settings import Settings
from rag.store import ann
from rag.store.faiss_vectors import FaissVectors
from rag.store.index import Index
from rag.store.vectorstore import store_label
from rag.types import Article, Chunk, Paragraph

DIM = 32


def fake_article(number: int, chunks: int) -> Article:
    """An article of ``chunks`` one-word paragraphs, each chunked as itself."""
    words = [f"w{number}x{i}" for i in range(chunks)]
    text = "\n\n".join(words)
    paragraphs, at = [], 0
    for i, word in enumerate(words, start=1):
        paragraphs.append(Paragraph(f"a{number}", i, at, at + len(word), f"p{number}.{i}"))
        at += len(word) + 2
    return Article(
        f"a{number}", f"a{number}.txt", f"Article {number}", text, f"sha{number}", tuple(paragraphs)
    )


def chunks_of(article: Article) -> list[Chunk]:
    return [
        Chunk(
            hash((article.id, p.number)) & (2**62 - 1),
            article.id,
            p.number,
            p.start,
            p.end,
            article.text[p.start : p.end],
        )
        for p in article.paragraphs
    ]


def vectors_for(chunks: list[Chunk]) -> np.ndarray:
    """Deterministic unit vectors, clustered a little as real embeddings are."""
    out = []
    for chunk in chunks:
        rng = np.random.default_rng(chunk.id % (2**32))
        centre = np.random.default_rng(chunk.paragraph % 7).standard_normal(DIM)
        out.append(centre + rng.standard_normal(DIM))
    out = np.asarray(out, dtype="float32")
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def build(tmp_path, articles: int = 30, per_article: int = 100, **settings) -> tuple[Index, Settings, dict]:
    settings = Settings(index_dir=tmp_path / "index", model="fake", **settings)
    index = Index.empty(settings, DIM)
    stored = {}
    for n in range(articles):
        article = fake_article(n, per_article)
        chunks = chunks_of(article)
        vectors = vectors_for(chunks)
        index.add(article, chunks, vectors)
        stored.update(zip((c.id for c in chunks), vectors))
    index.save(settings.index_dir)
    return index, settings, stored


def manifest(settings: Settings) -> dict:
    return json.loads((settings.index_dir / "manifest.json").read_text())


def test_small_index_stays_exact(tmp_path):
    index, settings, _ = build(tmp_path, articles=5, ann_threshold=1000)
    assert index.index_type == ann.FLAT and manifest(settings)["index_type"] == "flat"
    assert Index.load(settings.index_dir, settings).index_type == ann.FLAT


def test_switches_to_approximate_past_the_threshold_and_records_it(tmp_path):
    index, settings, stored = build(tmp_path, ann_threshold=1000)
    recorded = manifest(settings)
    assert recorded["index_type"] == "ivf-fp16" and recorded["ann_threshold"] == 1000
    assert recorded["ann"]["nlist"] == ann.nlist_for(3000) and recorded["ann"]["trained_on"] == 3000
    loaded = Index.load(settings.index_dir, settings)
    assert loaded.index_type == ann.IVF and loaded.vectors.count() == 3000
    assert loaded.vectors.index.nprobe == recorded["ann"]["nprobe"]


def test_approximate_search_finds_the_right_chunks(tmp_path):
    _, settings, stored = build(tmp_path, ann_threshold=1000)
    index = Index.load(settings.index_dir, settings)
    exact = Index.load(settings.index_dir, settings)  # same rows, exact vectors for reference
    ids = np.fromiter(stored, dtype="int64")
    exact.vectors = FaissVectors(ann.new_flat(DIM), ann.Policy("flat"))
    exact.vectors.add(ids, np.stack([stored[i] for i in ids]))
    probes = ids[::60]
    assert all(index.search(stored[i], 1)[0][0].id == i for i in probes)
    overlap = [
        len(
            {c.id for c, _ in index.search(stored[i] + 0.3, 10)}
            & {c.id for c, _ in exact.search(stored[i] + 0.3, 10)}
        )
        / 10
        for i in probes
    ]
    assert np.mean(overlap) >= 0.9


def test_forced_settings_override_the_threshold(tmp_path):
    forced_ivf, settings, _ = build(tmp_path / "a", articles=3, index_type="ivf", ann_threshold=10**9)
    assert forced_ivf.index_type == ann.IVF and manifest(settings)["index_type"] == "ivf-fp16"
    forced_flat, settings, _ = build(tmp_path / "b", index_type="flat", ann_threshold=10)
    assert forced_flat.index_type == ann.FLAT and manifest(settings)["index_type"] == "flat"
    with pytest.raises(ValueError, match="unknown index type"):
        ann.Policy("hnsw")


def test_incremental_update_and_remove_work_on_the_approximate_index(tmp_path):
    _, settings, stored = build(tmp_path, ann_threshold=1000)
    index = Index.load(settings.index_dir, settings)
    gone = fake_article(3, 100)
    index.remove(gone.id)
    changed = fake_article(4, 120)  # 20 new paragraphs
    old_ids = {c.id for c in chunks_of(fake_article(4, 100))}
    reused = [index.vectors.get([c.id])[0] if c.id in old_ids else None for c in chunks_of(changed)]
    assert float(reused[0] @ stored[chunks_of(changed)[0].id]) > 0.999  # fp16 keeps vectors close
    index.add(changed, chunks_of(changed), vectors_for(chunks_of(changed)))
    index.save(settings.index_dir)

    again = Index.load(settings.index_dir, settings)
    assert again.index_type == ann.IVF and again.vectors.count() == len(again.chunks) == 3000 - 100 + 20
    assert not any(c.article_id == gone.id for c in again.chunks.values())
    hits = [again.search(stored[c.id], 3) for c in chunks_of(gone)[:10]]
    assert all(h.article_id != gone.id for found in hits for h, _ in found)
    newest = chunks_of(changed)[-1]
    assert again.search(vectors_for([newest])[0], 1)[0][0].id == newest.id
    assert manifest(settings)["counts"]["chunks"] == 2920


def test_shrinking_below_half_the_threshold_goes_back_to_exact(tmp_path):
    _, settings, _ = build(tmp_path, ann_threshold=1000)
    index = Index.load(settings.index_dir, settings)
    for n in range(4, 30):
        index.remove(f"a{n}")
    index.save(settings.index_dir)  # 400 chunks < 1000 / 2
    assert index.index_type == ann.FLAT and manifest(settings)["index_type"] == "flat"
    assert manifest(settings)["ann"] == {}


def test_fp16_codes_reproduce_the_stored_vectors(tmp_path):
    _, settings, stored = build(tmp_path, ann_threshold=1000)
    index = Index.load(settings.index_dir, settings)
    ids = np.fromiter(stored, dtype="int64")[::7]
    back = index.vectors.get(ids)
    cosines = np.sum(back * np.stack([stored[i] for i in ids]), axis=1) / np.linalg.norm(back, axis=1)
    assert index.index_type == ann.IVF and float(cosines.min()) > 0.999


def sq8_ivf(dimension: int, nlist: int):
    """The approximate structure earlier versions built: IVF with 8-bit scalar quantizer codes."""
    import faiss

    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dimension),
        dimension,
        nlist,
        faiss.ScalarQuantizer.QT_8bit,
        faiss.METRIC_INNER_PRODUCT,
    )
    index.cp.niter = 10
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    return index


def test_an_old_sq8_index_is_read_searched_and_converted_to_fp16_on_the_next_save(tmp_path, monkeypatch):
    with monkeypatch.context() as old_version:
        old_version.setattr(ann, "_new_ivf", sq8_ivf)
        _, settings, stored = build(tmp_path, ann_threshold=1000)
    assert manifest(settings)["index_type"] == "ivf-sq8"

    index = Index.load(settings.index_dir, settings)
    assert index.index_type == ann.IVF_SQ8 and index.vectors_stale()
    assert "approximate, IVF-SQ8" in store_label(index.vectors.describe())
    probes = list(stored)[::60]
    assert all(index.search(stored[i], 1)[0][0].id == i for i in probes)
    assert float(index.vectors.get([probes[0]])[0] @ stored[probes[0]]) > 0.99
    index.remove("a3")
    assert index.vectors.count() == 2900

    index.save(settings.index_dir)
    recorded = manifest(settings)
    assert recorded["index_type"] == "ivf-fp16" and recorded["ann"]["trained_on"] == 2900
    again = Index.load(settings.index_dir, settings)
    assert again.index_type == ann.IVF and not again.vectors_stale()
    assert "approximate, IVF-fp16" in store_label(again.vectors.describe())
    assert all(again.search(stored[i], 1)[0][0].id == i for i in probes if i in again.chunks)
    assert not any(c.article_id == "a3" for c in again.chunks.values())


@pytest.mark.model
def test_rag_index_switches_with_the_real_model(samples, settings, embedder):
    from rag.store.indexer import update_index

    small = settings.with_(ann_threshold=10)
    report = update_index(samples, small, embedder=embedder, progress=False)
    assert manifest(small)["index_type"] == "ivf-fp16" and report.chunks >= 10
    index = Index.load(small.index_dir, small)
    top, score = index.search(embedder.encode_query("joint arms production between Ukraine and NATO"), 3)[0]
    assert index.articles[top.article_id].doc == "000_b170d9b6d041f30c.txt" and top.paragraph == 1
    changed = samples / "000_b170d9b6d041f30c.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nA new closing paragraph about drones.\n", encoding="utf-8"
    )
    update = update_index(samples, small, embedder=embedder, progress=False)
    assert update.embedded_chunks == 1 and update.chunks == report.chunks + 1
    flat = small.with_(index_type="flat")
    assert update_index(samples, flat, embedder=embedder, progress=False).embedded_chunks == 0
    assert manifest(flat)["index_type"] == "flat"  # the forced setting converts on the next run


class HashEncoder:
    """Deterministic unit vectors from a text's checksum (the indexer's logic, not the model's)."""

    dimension = DIM
    model = None

    def encode(self, texts, progress=None):
        import zlib

        out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(DIM) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype("float32")


def test_bulk_indexing_switches_to_the_compact_index_as_soon_as_it_crosses_the_threshold(tmp_path):
    from rag.store.indexer import update_index

    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(60):
        (folder / f"a{n:02d}.md").write_text(f"# Article {n}\n\nFirst fact {n}.\n\nSecond fact {n}.\n")
    settings = Settings(index_dir=tmp_path / "index", model="fake", ann_threshold=100, ingest_chunks=50)
    report = update_index(folder, settings, embedder=HashEncoder(), progress=False)
    recorded = manifest(settings)
    assert report.chunks == 180 and recorded["index_type"] == "ivf-fp16"
    # converted during the run, when the first step past 100 chunks was added, not at the end
    assert 100 <= recorded["ann"]["trained_on"] < 180
    index = Index.load(settings.index_dir, settings)
    chunk = next(iter(index.chunks.values()))
    vector = HashEncoder().encode([index.embedding_text(chunk)])[0]
    assert index.search(vector, 1)[0][0].id == chunk.id


def test_rag_index_converts_an_old_sq8_index_with_no_article_changed(tmp_path, monkeypatch):
    from rag.store.indexer import update_index

    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(50):
        (folder / f"a{n:02d}.md").write_text(f"# Article {n}\n\nFirst fact {n}.\n\nSecond fact {n}.\n")
    settings = Settings(index_dir=tmp_path / "index", model="fake", ann_threshold=100)
    with monkeypatch.context() as old_version:
        old_version.setattr(ann, "_new_ivf", sq8_ivf)
        update_index(folder, settings, embedder=HashEncoder(), progress=False)
    assert manifest(settings)["index_type"] == "ivf-sq8"
    report = update_index(folder, settings, embedder=HashEncoder(), progress=False)
    assert report.added == report.updated == report.embedded_chunks == 0 and report.chunks == 150
    assert manifest(settings)["index_type"] == "ivf-fp16" and "IVF-fp16" in report.store
