"""The index on disk with the real model and real FAISS: build, update, search, atomic saves."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from rag.ingest.articles import chunk_article, parse_article
from rag.store import sentence_vectors
from rag.store.index import Index
from rag.store.indexer import update_index

pytestmark = pytest.mark.model


def build(folder, settings, embedder, **kw):
    return update_index(folder, settings, embedder=embedder, progress=False, **kw)


def test_embedder_gives_normalised_vectors_that_rank_by_meaning(embedder):
    vectors = embedder.encode(
        [
            "The cat sat on the mat.",
            "A kitten rested on a rug.",
            "Quarterly tax revenue rose by four percent.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_embedder_keeps_input_order_across_batches(embedder):
    texts = [("word " * n).strip() for n in range(1, 150, 7)]
    together = embedder.encode(texts)
    one_by_one = np.stack([embedder.encode([t])[0] for t in texts[:5]])
    assert np.allclose(together[:5], one_by_one, atol=1e-4)


def test_build_then_search_finds_the_paragraph(samples, any_settings, embedder):
    report = build(samples, any_settings, embedder)
    assert (report.articles, report.added, report.updated, report.removed) == (2, 2, 0, 0)
    assert report.embedded_chunks == report.chunks > report.paragraphs == 18
    index = Index.load(any_settings.index_dir, any_settings)
    manifest = json.loads((any_settings.index_dir / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["counts"] == {"articles": 2, "paragraphs": 18, "chunks": report.chunks}
    assert manifest["format"] == 2 and manifest["package_version"] and manifest["built_at"]
    hits = index.search(embedder.encode_query("joint arms production between Ukraine and NATO"), 3)
    top, score = hits[0]
    assert index.articles[top.article_id].doc == "000_b170d9b6d041f30c.txt" and top.paragraph == 1
    assert score > 0.5
    for chunk in index.chunks.values():
        assert index.articles[chunk.article_id].text[chunk.start : chunk.end] == chunk.text


def test_incremental_update_embeds_only_what_changed(samples, any_settings, embedder):
    first = build(samples, any_settings, embedder)
    again = build(samples, any_settings, embedder)
    assert (again.embedded_chunks, again.unchanged, again.added, again.updated) == (0, 2, 0, 0)

    changed = samples / "000_b170d9b6d041f30c.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nA new closing paragraph about drones.\n", encoding="utf-8"
    )
    article, _ = parse_article(changed, changed.name, changed.read_bytes())
    assert len(chunk_article(article, any_settings)) == 6
    update = build(samples, any_settings, embedder)
    assert (update.updated, update.unchanged, update.added, update.removed) == (1, 1, 0, 0)
    assert update.embedded_chunks == 1  # only the new paragraph; the other five reuse their vectors
    assert update.chunks == first.chunks + 1
    index = Index.load(any_settings.index_dir, any_settings)
    updated = index.articles[article.id]
    for chunk in index.chunks.values():  # reused vectors are the vectors of their own text
        if chunk.article_id == article.id:
            stored = index.vectors.get([chunk.id])[0]
            fresh = sentence_vectors.embed([(updated, [chunk])], embedder, wanted={chunk.id})[0][chunk.id]
            assert float(stored @ fresh) > 0.999
            # pooled from its sentences, close to the vector of its text run whole
            assert float(stored @ embedder.encode_query(index.embedding_text(chunk))) > 0.85

    (samples / "extra").mkdir()
    (samples / "extra" / "new.md").write_text("# Volcanoes\n\nBasalt flows cool into columns.\n")
    added = build(samples, any_settings, embedder)
    assert (added.added, added.embedded_chunks, added.unchanged) == (1, 2, 2)

    (samples / "004_4f21d8328f07c64f.txt").unlink()
    removed = build(samples, any_settings, embedder)
    assert (removed.removed, removed.embedded_chunks, removed.articles) == (1, 0, 2)
    index = Index.load(any_settings.index_dir, any_settings)
    assert sorted(a.doc for a in index.articles.values()) == ["000_b170d9b6d041f30c.txt", "extra/new.md"]
    assert index.vectors.count() == len(index.chunks) == removed.chunks
    top, _ = index.search(embedder.encode_query("basalt columns"), 1)[0]
    assert index.articles[top.article_id].doc == "extra/new.md"


def test_rebuild_starts_over(samples, any_settings, embedder):
    build(samples, any_settings, embedder)
    again = build(samples, any_settings, embedder, rebuild=True)
    assert (again.added, again.unchanged, again.embedded_chunks) == (2, 0, again.chunks)


@pytest.mark.parametrize("stage", ["vectors-written", "articles-written", "data-written", "data-renamed"])
def test_a_crash_mid_save_leaves_the_previous_index_usable(samples, any_settings, embedder, stage):
    build(samples, any_settings, embedder)
    before = Index.load(any_settings.index_dir, any_settings)
    index = Index.load(any_settings.index_dir, any_settings)
    index.remove(next(iter(index.articles)))

    def crash(at):
        if at == stage:
            raise RuntimeError(f"injected crash at {at}")

    with pytest.raises(RuntimeError, match="injected"):
        index.save(any_settings.index_dir, crash_hook=crash)
    after = Index.load(any_settings.index_dir, any_settings)
    assert sorted(after.articles) == sorted(before.articles)
    assert after.vectors.count() == before.vectors.count() == len(after.chunks)
    assert not [p for p in any_settings.index_dir.iterdir() if p.name.startswith(".tmp-")]
    index.save(any_settings.index_dir)  # the next save goes through and cleans up
    assert len(Index.load(any_settings.index_dir, any_settings).articles) == 1
    assert len([p for p in any_settings.index_dir.iterdir() if p.name.startswith("data-")]) <= 2


def test_missing_index_says_how_to_build(settings):
    with pytest.raises(IndexMissingError, match="rag index"):
        Index.load(settings.index_dir, settings)


def test_index_from_another_model_is_refused_with_the_fix(samples, any_settings, embedder):
    build(samples, any_settings, embedder)
    other = any_settings.with_(model="/models/some-other-model")
    with pytest.raises(IndexMismatchError, match="all-MiniLM-L6-v2.*--rebuild"):
        Index.load(any_settings.index_dir, other)
    with pytest.raises(IndexMismatchError, match="chunking.*--rebuild"):
        update_index(samples, any_settings.with_(chunk_chars=500), embedder=embedder, progress=False)


def test_an_index_with_chunks_embedded_whole_is_re_embedded_on_update_not_mixed(samples, settings, embedder):
    first = build(samples, settings, embedder)
    path = settings.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["chunk_vectors"] == "pooled"
    del manifest["chunk_vectors"]  # as made before chunk vectors were pooled from the sentences
    path.write_text(json.dumps(manifest))
    index = Index.load(settings.index_dir, settings)
    assert index.search(embedder.encode_query("joint arms production"), 1)  # questions still work
    report = build(samples, settings, embedder)  # nothing changed, but nothing is reused either
    assert report.embedded_chunks == report.chunks == first.chunks and report.unchanged == 0
    assert any("embedded each chunk whole" in w.message and not w.skipped for w in report.warnings)
    assert report.failed == 0 and json.loads(path.read_text())["chunk_vectors"] == "pooled"
    again = build(samples, settings, embedder)  # marked now: an update reuses everything
    assert again.embedded_chunks == 0 and json.loads(path.read_text())["chunk_vectors"] == "pooled"


def test_other_format_version_is_refused(samples, settings, embedder):
    build(samples, settings, embedder)
    path = settings.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(IndexMismatchError, match="format 99.*--rebuild"):
        Index.load(settings.index_dir, settings)


def test_corrupt_manifest_is_reported_and_rebuild_recovers(samples, any_settings, embedder):
    build(samples, any_settings, embedder)
    (any_settings.index_dir / "manifest.json").write_text("{ not json")
    with pytest.raises(IndexCorruptError, match="manifest.json is damaged.*--rebuild"):
        Index.load(any_settings.index_dir, any_settings)
    with pytest.raises(IndexCorruptError):
        build(samples, any_settings, embedder)  # an update never silently replaces a damaged index
    report = build(samples, any_settings, embedder, rebuild=True)
    assert report.articles == 2 and Index.load(any_settings.index_dir, any_settings).chunks


def test_damaged_faiss_file_is_detected(samples, settings, embedder):
    build(samples, settings, embedder)
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    vectors = settings.index_dir / manifest["data"] / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[100:140] = b"\xff" * 40
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="vectors.faiss does not match its checksum"):
        Index.load(settings.index_dir, settings)
    vectors.write_bytes(b"garbage")  # and when the checksum is made to agree, FAISS itself refuses
    manifest["checksums"]["vectors.faiss"] = __import__("hashlib").sha256(b"garbage").hexdigest()
    (settings.index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="not a readable FAISS index"):
        Index.load(settings.index_dir, settings)


def test_read_only_index_folder_gives_a_clear_error_and_keeps_the_old_index(
    samples, settings, embedder, monkeypatch
):
    build(samples, settings, embedder)
    index = Index.load(settings.index_dir, settings)
    import os

    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if ".tmp-data-" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only)  # root ignores chmod, so refuse the write here
    with pytest.raises(IndexWriteError, match="previous index is unchanged"):
        index.remove(next(iter(index.articles)))  # the first change copies the rows: refused
        index.save(settings.index_dir)
    monkeypatch.undo()
    assert len(Index.load(settings.index_dir, settings).articles) == 2


def test_copied_index_folder_still_loads(samples, settings, embedder, tmp_path):
    build(samples, settings, embedder)
    moved = tmp_path / "moved"
    shutil.copytree(settings.index_dir, moved)
    assert len(Index.load(moved, settings).chunks) == len(Index.load(settings.index_dir, settings).chunks)


def test_indexing_in_small_steps_bounds_each_batch_and_gives_the_same_index(
    samples, any_settings, embedder, monkeypatch
):
    for n in range(6):  # more articles than one step holds
        (samples / f"note{n}.md").write_text(
            f"# Note {n}\n\nThe number {n} is written here.\n\nA second paragraph of note {n}.\n"
        )
    whole = build(samples, any_settings, embedder)
    stepped_settings = any_settings.with_(
        index_dir=any_settings.index_dir.parent / "stepped", ingest_chunks=4
    )
    calls = []
    real_sums = type(embedder).token_sums
    monkeypatch.setattr(
        type(embedder),
        "token_sums",
        lambda self, texts, progress=None: calls.append(list(texts)) or real_sums(self, texts, progress),
    )
    stepped = build(samples, stepped_settings, embedder)
    one = Index.load(any_settings.index_dir, any_settings)
    many = Index.load(stepped_settings.index_dir, stepped_settings)
    # each step is one run of its texts (sentences and titles); its chunks' vectors are pooled
    batches = [
        sum(len(one.chunks_of(a.id)) for a in one.articles.values() if a.title in texts) for texts in calls
    ]
    largest_article = max(len(one.chunks_of(a)) for a in one.articles)
    assert len(batches) >= 4 and max(batches) <= 4 - 1 + largest_article and sum(batches) == stepped.chunks
    assert (stepped.articles, stepped.chunks, stepped.added) == (whole.articles, whole.chunks, whole.added)
    assert one.chunks == many.chunks
    ids = sorted(one.chunks)
    assert np.allclose(one.vectors.get(ids), many.vectors.get(ids), atol=1e-5)


def test_an_unchanged_file_is_known_by_its_size_and_time_before_it_is_read(samples, settings, embedder):
    article = samples / "000_b170d9b6d041f30c.txt"
    build(samples, settings, embedder)
    before = article.stat()
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("Ukraine", "UKRAINE", 1), encoding="utf-8")  # same size...
    os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns))  # ...and time: taken as unchanged
    assert (build(samples, settings, embedder).unchanged, article.stat().st_size) == (2, before.st_size)
    os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))  # the time moved: read it
    assert build(samples, settings, embedder).updated == 1
    os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns - 2 * 10**9))  # same bytes: hashed
    assert build(samples, settings, embedder).unchanged == 2
