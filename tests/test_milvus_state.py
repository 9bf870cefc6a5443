"""A Milvus server holding the whole index (``RAG_STORE=milvus://...``): processes with no index
folder answer as the indexing one does, see each other's changes, and never see half an update.
Each test runs against a real milvus-lite gRPC server in a process of its own (conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import EVALSETS, ROOT, SAMPLES
from milvus_setup import build, crash_at, process_env, rag_cli, rebuild_of

from rag.errors import IndexMissingError, IndexWriteError
from rag.settings import Settings
from rag.store import lexical
from rag.store import milvus_layout as layout
from rag.store.index import Index, store_spec
from rag.store.milvus_index import MilvusIndex
from rag.store.milvus_lock import state_lock
from rag.store.milvus_vectors import client_for
from rag.types import Article, Chunk, Paragraph

HERONS = "# Heron survey\n\nVolunteers counted 412 grey herons on Zanzibar in 2024.\n"
HERON_QUESTION = "How many grey herons were counted on Zanzibar?"


def on(server: str, collection: str) -> str:
    """The RAG_STORE of ``collection`` on the test's server."""
    return f"{server.rsplit('/', 1)[0]}/{collection}"


def citations(answer: dict) -> list[tuple]:
    return [(c["doc"], c["paragraph"], c["start"], c["end"], c["quote"]) for c in answer["citations"]]


def generations(store: str) -> list[str]:
    spec = store_spec(Settings(store=store))
    prefix = layout.chunks_name(spec.collection, "")
    return sorted(n.removeprefix(prefix) for n in client_for(spec).list_collections() if n.startswith(prefix))


def test_articles_of_any_size_and_script_round_trip_through_pieces_of_at_most_60000_bytes(
    milvus_server, tmp_path
):
    import numpy as np

    settings = Settings(index_dir=tmp_path / "none", store=on(milvus_server, "pieces"))
    text = ("Über 東京 — naïve façade. " * 9000).strip()  # about 270,000 bytes of UTF-8
    assert (
        all(len(p.encode()) <= layout.PIECE_BYTES for p in layout.cut(text))
        and "".join(layout.cut(text)) == text
    )
    paragraphs = (Paragraph("a1", 1, 0, len(text), "p1", ((0, 26), (26, 53))),)
    article = Article("a1", "big/ü.txt", "Big", text, "0" * 64, paragraphs, {"file_stat": "1:2"})
    index = MilvusIndex.create(settings, 4, "fp32")
    chunks = [Chunk(7, "a1", 1, 0, 26, text[:26]), Chunk(8, "a1", 1, 26, 53, text[26:53])]
    sentences = np.arange(8, dtype="float16").reshape(2, 4)
    index.add(article, chunks, np.eye(4, dtype="float32")[:2], sentences)
    index.save(tmp_path / "none")

    served = Index.load(tmp_path / "none", settings)
    assert isinstance(served, MilvusIndex) and not (tmp_path / "none").exists()
    assert served.articles["a1"] == article and served.article_by_doc("big/ü.txt") == article
    assert np.array_equal(served.sentences["a1"], sentences)
    assert (
        served.chunks_of("a1") == chunks
        and served.search(np.eye(4, dtype="float32")[1], 1)[0][0] == chunks[1]
    )
    assert served.docs() == {"big/ü.txt": ("a1", "0" * 64, "1:2")}


@pytest.mark.model
def test_a_process_with_no_index_folder_answers_the_seed_questions_as_the_indexing_process_does(
    milvus_server, tmp_path, embedder, sample_index
):
    from rag.answer.assistant import Assistant, answer_to_dict

    store = on(milvus_server, "seeds")
    assert "2 added" in rag_cli(store, tmp_path / "indexer", "index", str(SAMPLES), "--quiet")
    assert not (tmp_path / "indexer" / "manifest.json").exists()  # nothing of the index is local

    out = rag_cli(store, tmp_path / "nothing", "ask", "--batch", str(EVALSETS / "seed_dev.jsonl"))
    remote = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert not (tmp_path / "nothing").exists()
    settings = Settings(index_dir=tmp_path / "indexer", store=store)
    on_milvus = Assistant(settings, index=Index.load(settings.index_dir, settings), embedder=embedder)
    local = Assistant(Settings(), index=sample_index, embedder=embedder)  # FAISS + BM25 in SQLite
    questions = [
        json.loads(line)["question"] for line in (EVALSETS / "seed_dev.jsonl").read_text().splitlines()
    ]
    assert len(remote) == len(questions) == 12
    for question, answered in zip(questions, remote):
        mine = answer_to_dict(on_milvus.ask(question))
        assert citations(answered) == citations(mine) == citations(answer_to_dict(local.ask(question)))
        assert answered["answer"] == mine["answer"] and answered["abstained"] == mine["abstained"]
    assert sum(bool(a["citations"]) for a in remote) == 11  # one seed question is unanswerable
    words = {t for q in questions for t in lexical.terms(q)} | {"nato", "zanzibar"}
    theirs, n_milvus = on_milvus.index.document_frequencies()
    ours, n_local = sample_index.document_frequencies()
    assert n_milvus == n_local and {t: theirs[t] for t in words} == {t: ours[t] for t in words}


@pytest.mark.model
def test_an_article_added_or_deleted_through_one_process_is_seen_by_another_without_restart(
    milvus_server, samples, tmp_path, embedder, monkeypatch
):
    from rag.answer.assistant import Assistant
    from rag.store import milvus_index
    from rag.web.app import WebApp

    monkeypatch.setattr(milvus_index, "CHECK_EVERY", 0.0)
    store = on(milvus_server, "shared")
    writer = Settings(index_dir=tmp_path / "a", articles_dir=samples, store=store)
    build(writer, embedder, samples)
    reader = Settings(index_dir=tmp_path / "b", store=store)  # a web server with no index folder
    app = WebApp(reader, Assistant(reader, embedder=embedder))
    before = app.index()
    assert len(before.articles) == 2 and not app.assistant.ask(HERON_QUESTION).citations

    (samples / "herons.md").write_text(HERONS)
    assert "1 added" in rag_cli(store, tmp_path / "c", "index", str(samples), "--quiet")  # another process
    served = app.index()
    assert served is not before and len(served.articles) == 3
    herons = served.chunks_of(served.article_by_doc("herons.md").id)  # each with the title "Heron survey"
    assert before.document_frequencies()[0]["heron"] == 0
    assert served.document_frequencies()[0]["heron"] == len(herons) > 0
    answer = app.assistant.ask(HERON_QUESTION)
    assert "412 grey herons" in answer.text and answer.citations[0].doc == "herons.md"
    assert served.article_by_doc("herons.md").text.startswith("# Heron survey")
    assert before.search_lexical("NATO", 1)  # the previous generation still answers in-flight readers

    (samples / "herons.md").unlink()
    assert build(writer, embedder, samples).removed == 1  # this process
    out = json.loads(rag_cli(store, tmp_path / "d", "ask", HERON_QUESTION, "--json"))
    assert all(c["doc"] != "herons.md" for c in out["citations"])
    assert len(app.index().articles) == 2 and app.index().article_by_doc("herons.md") is None
    assert app.index().document_frequencies()[0]["heron"] == 0


KILLABLE = """
import sys, time
from pathlib import Path
from rag.settings import Settings
from rag.store.indexer import update_index

def pause(path):
    if path.name == "zz2.md":
        Path(sys.argv[2]).touch()
        time.sleep(600)

settings = Settings(index_dir=Path(sys.argv[3]), store=sys.argv[4], ingest_chunks=1)
update_index(Path(sys.argv[1]), settings, progress=False, on_file=pause)
"""


@pytest.mark.model
def test_a_killed_indexer_leaves_the_previous_generation_serving_and_the_next_run_cleans_up(
    milvus_server, samples, tmp_path, embedder
):
    from rag.answer.assistant import Assistant

    store = on(milvus_server, "killed")
    settings = Settings(index_dir=tmp_path / "index", store=store)
    build(settings, embedder, samples)
    committed = Index.load(settings.index_dir, settings)
    question = "What have Ukraine and NATO begun doing together?"
    expected = Assistant(settings, index=committed, embedder=embedder).ask(question)

    (samples / "zz1.md").write_text(HERONS)
    (samples / "zz2.md").write_text("# Owls\n\nBarn owls nest in church towers.\n")
    marker = tmp_path / "paused"
    args = [str(samples), str(marker), str(settings.index_dir), store]
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, *args], env=process_env(), cwd=ROOT, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert writer.poll() is None, writer.stderr.read().decode() if writer.stderr else ""
        assert time.monotonic() < deadline, "the indexer never reached its second new file"
        time.sleep(0.2)
    assert len(generations(store)) == 2  # the committed one and the one being written (with zz1)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)

    served = Index.load(settings.index_dir, settings)
    assert served.manifest["data"] == committed.manifest["data"] and len(served.articles) == 2
    again = Assistant(settings, index=served, embedder=embedder).ask(question)
    assert again.citations == expected.citations and served.article_by_doc("zz1.md") is None

    report = build(settings, embedder, samples)  # the dead run's lock is free
    assert report.added == 2
    fresh = Index.load(settings.index_dir, settings)
    assert generations(store) == sorted([committed.manifest["data"], fresh.manifest["data"]])


@pytest.mark.model
def test_a_second_indexer_is_refused_while_one_writes(milvus_server, tmp_path, embedder):
    store = on(milvus_server, "locked")
    settings = Settings(index_dir=tmp_path / "index", store=store)
    spec = store_spec(settings)
    with pytest.raises(IndexMissingError, match=r"no index in milvus://.*/locked yet.*rag index"):
        Index.load(settings.index_dir, settings)
    with state_lock(client_for(spec), spec):
        with pytest.raises(
            IndexWriteError, match=rf"another indexing run \(pid {os.getpid()} .*nothing was changed"
        ):
            build(settings, embedder)
    assert generations(store) == []  # the refused run wrote nothing
    build(settings, embedder)  # the lock was released
    assert len(Index.load(settings.index_dir, settings).articles) == 2


def test_of_writers_that_race_for_the_lock_one_holds_it_at_a_time(milvus_server):
    import threading

    from rag.store.milvus_lock import epochs

    spec = store_spec(Settings(store=on(milvus_server, "raced")))
    client, state = client_for(spec), layout.state_name(spec.collection)
    start, held, refused, failed = threading.Barrier(6), [], [], []

    def writer() -> None:
        start.wait()  # all six at once, on an index that has no lock collection yet
        try:
            with state_lock(client, spec):
                began = time.monotonic()
                time.sleep(1.0)
                held.append((began, time.monotonic()))
        except IndexWriteError as exc:
            refused.append(str(exc))
        except Exception as exc:  # e.g. the lock collection made by two of them at once
            failed.append(repr(exc))

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == [] and len(held) + len(refused) == 6 and held and refused
    spans = sorted(held)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans  # never two at a time
    assert all("nothing was changed" in r for r in refused)
    assert epochs(client, spec, state) == []  # released: no lock alias left
    with state_lock(client, spec):  # and free to take again
        assert epochs(client, spec, state) == [1]


def test_the_lock_of_a_run_that_is_gone_is_taken_over_with_the_next_epoch(milvus_server):
    from rag.store.milvus_generations import drop_index
    from rag.store.milvus_lock import alias_name, epochs

    spec = store_spec(Settings(store=on(milvus_server, "orphan")))
    client, state = client_for(spec), layout.state_name(spec.collection)
    layout.create_pieces(client, state)
    client.create_alias(state, alias_name(state, 1))  # a run took the lock, then died
    dead = {"owner": "gone", "host": "elsewhere", "pid": 1, "epoch": 1, "since": 0, "beat": time.time()}
    row = layout.piece_row("lock", "lock", 0, json.dumps(dead)) | {"key": "lock"}
    client.upsert(state, [row])
    with pytest.raises(IndexWriteError, match="another indexing run .pid 1 on elsewhere"):
        with state_lock(client, spec):  # its row is still fresh: it may be alive elsewhere
            pass
    client.upsert(state, [row | {"body": json.dumps({**dead, "beat": time.time() - 600})}])
    with state_lock(client, spec):  # not renewed for ten minutes: taken over
        assert epochs(client, spec, state) == [2]
    assert epochs(client, spec, state) == []
    client.create_alias(state, alias_name(state, 7))  # another dies holding it
    drop_index(client, spec)  # forgetting the index drops its lock aliases too
    assert not client.has_collection(state)


@pytest.mark.model
def test_a_scratch_index_for_rag_eval_leaves_the_served_index_alone_and_is_dropped(
    milvus_server, tmp_path, embedder
):
    from rag.store.factory import scratch_index

    store = on(milvus_server, "served")
    settings = Settings(index_dir=tmp_path / "index", store=store)
    build(settings, embedder)
    served = generations(store)
    with scratch_index(settings, tmp_path / "scratch") as scratch:
        assert scratch.store != store
        build(scratch, embedder)
        assert len(Index.load(scratch.index_dir, scratch).articles) == 2
    assert generations(store) == served
    names = client_for(store_spec(settings)).list_collections()
    assert not [n for n in names if "scratch" in n]


@pytest.mark.model
def test_a_run_whose_lock_was_taken_over_does_not_commit(milvus_server, tmp_path, embedder):
    from rag.store.milvus_lock import alias_name, epochs

    store = on(milvus_server, "overtaken")
    settings = Settings(index_dir=tmp_path / "index", store=store)
    build(settings, embedder)
    held = Index.load(settings.index_dir, settings)
    spec = store_spec(settings)
    client, state = client_for(spec), layout.state_name(spec.collection)
    fresh = rebuild_of(held, settings, embedder.dimension)

    def taken_over(at: str) -> None:  # another run takes the lock just before the switch
        if at == "data-renamed":
            client.create_alias(state, alias_name(state, epochs(client, spec, state)[-1] + 1))

    with state_lock(client, spec):
        with pytest.raises(IndexWriteError, match="took over the lock .*nothing was committed"):
            fresh.save(settings.index_dir, crash_hook=taken_over)
    assert Index.load(settings.index_dir, settings).manifest["data"] == held.manifest["data"]
    client.drop_alias(alias_name(state, epochs(client, spec, state)[-1]))


@pytest.mark.model
def test_a_save_that_fails_before_the_switch_leaves_the_old_generation_and_a_retry_commits(
    milvus_server, tmp_path, embedder
):
    store = on(milvus_server, "retried")
    settings = Settings(index_dir=tmp_path / "index", store=store)
    build(settings, embedder)
    held = Index.load(settings.index_dir, settings)
    fresh = rebuild_of(held, settings, embedder.dimension)
    with pytest.raises(RuntimeError, match="injected"):
        fresh.save(settings.index_dir, crash_hook=crash_at("data-written"))
    assert Index.load(settings.index_dir, settings).manifest["data"] == held.manifest["data"]
    fresh.save(settings.index_dir)  # the retry commits; the rebuilt one keeps the old for readers
    served = Index.load(settings.index_dir, settings)
    assert served.manifest["data"] == fresh.manifest["data"] != held.manifest["data"]
    assert served.manifest["previous"] == held.manifest["data"]
    assert generations(store) == sorted([held.manifest["data"], fresh.manifest["data"]])
    assert (
        held.search_lexical("NATO", 1)
        and served.search_lexical("NATO", 1)[0][0] == held.search_lexical("NATO", 1)[0][0]
    )
