"""What only the Milvus store has to get right, on a real Milvus engine (milvus-lite, in-process,
and its gRPC server in a process of its own): the RAG_STORE setting, builds that leave the
committed collection serving until they commit, interrupted updates, a store that is missing or
unreachable, copied index folders, the web chat, and processes sharing one server.

The backend-agnostic suite (build, update, delete, ask, eval) runs on both stores through the
``any_settings`` and ``store_index`` fixtures of conftest.py."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES, milvus_server_at
from milvus_setup import build, crash_at, rag_cli, rebuild_of

from rag.errors import IndexCorruptError, IndexMismatchError, RagError, StoreUnavailableError
from rag.ingest.articles import chunk_article, embedding_text, parse_article
from rag.store.index import Index, store_spec
from rag.store.milvus_vectors import client_for
from rag.store.vectorstore import MILVUS, StoreSpec, parse_store


def test_store_setting_is_parsed_and_bad_values_say_what_to_write(tmp_path):
    assert parse_store("faiss") == parse_store("") == StoreSpec()
    server = parse_store("milvus://db.example.org:19530/articles")
    assert (server.kind, server.uri, server.collection, server.lite) == (
        MILVUS,
        "http://db.example.org:19530",
        "articles",
        False,
    )
    assert parse_store("milvus+https://db.example.org:443/articles").uri == "https://db.example.org:443"
    lite = parse_store("vectors.db", base=tmp_path)
    assert (lite.uri, lite.collection, lite.lite) == (str(tmp_path / "vectors.db"), "rag_chunks", True)
    assert parse_store(f"{tmp_path}/v.db#news").collection == "news"
    for bad, says in [
        ("milvus://host:19530", "milvus://HOST:PORT/COLLECTION"),
        ("milvus://host:1/my-articles", "letters, digits and underscores"),
        ("elastic://x", "faiss, milvus://HOST:PORT/COLLECTION"),
    ]:
        with pytest.raises(RagError, match=says.replace("(", r"\(")):
            parse_store(bad)
    with pytest.raises(RagError, match="RAG_MILVUS_TOKEN") as refused:
        parse_store("milvus://reader:s3cret@db.example.org:19530/articles")
    assert "s3cret" not in str(refused.value)  # a password is never echoed back


def milvus_settings(settings, milvus_file):
    return settings.with_(store=str(milvus_file))


def collections(settings) -> list[str]:
    return sorted(client_for(store_spec(settings)).list_collections())


@pytest.mark.model
def test_rebuild_fills_a_new_collection_and_drops_the_old_one_only_after_commit(
    settings, milvus_file, embedder
):
    settings = milvus_settings(settings, milvus_file)
    build(settings, embedder)
    first = Index.load(settings.index_dir, settings)
    committed = first.vectors.collection
    fresh = rebuild_of(first, settings, embedder.dimension)

    with pytest.raises(RuntimeError, match="injected"):
        fresh.save(settings.index_dir, crash_hook=crash_at("data-renamed"))
    assert {committed, fresh.vectors.collection} <= set(collections(settings))
    served = Index.load(settings.index_dir, settings)  # the committed build still answers
    assert served.vectors.collection == committed and served.search(embedder.encode_query("NATO"), 3)

    build(settings, embedder, rebuild=True)
    rebuilt = Index.load(settings.index_dir, settings)
    mine = [c for c in collections(settings) if c.startswith(committed.rsplit("_", 1)[0])]
    assert mine == [rebuilt.vectors.collection] and rebuilt.vectors.collection != committed


@pytest.mark.model
def test_an_interrupted_update_leaves_the_previous_index_whole_and_its_searches_clean(
    settings, samples, milvus_file, embedder
):
    settings = milvus_settings(settings, milvus_file)
    build(settings, embedder, samples)
    index = Index.load(settings.index_dir, settings)
    gone = next(iter(index.articles))
    index.remove(gone)  # deferred: the committed manifest still needs these vectors
    path = samples / "volcano.md"
    path.write_text("# Volcanoes\n\nBasalt lava cools into hexagonal columns.\n")
    volcano, _ = parse_article(path, path.name, path.read_bytes())
    chunks = chunk_article(volcano, settings)
    index.add(volcano, chunks, embedder.encode([embedding_text(volcano, c) for c in chunks]))  # upserted now

    with pytest.raises(RuntimeError, match="injected"):
        index.save(settings.index_dir, crash_hook=crash_at("data-written"))
    previous = Index.load(settings.index_dir, settings)
    assert gone in previous.articles and volcano.id not in previous.articles
    assert previous.vectors.count() == len(previous.chunks) + len(chunks)  # the orphans are there...
    hits = previous.search(embedder.encode_query("basalt lava hexagonal columns"), 5)
    assert len(hits) == 5 and all(c.id in previous.chunks for c, _ in hits)  # ...and never returned

    index.save(settings.index_dir)  # the retried save commits, then deletes what it removed
    after = Index.load(settings.index_dir, settings)
    assert gone not in after.articles and volcano.id in after.articles
    top, _ = after.search(embedder.encode_query("basalt lava hexagonal columns"), 1)[0]
    assert top.article_id == volcano.id


@pytest.mark.model
def test_an_index_is_refused_on_a_store_other_than_its_own(settings, milvus_file, embedder):
    build(settings, embedder)  # FAISS
    with pytest.raises(IndexMismatchError, match=r"keeps its vectors in faiss.*RAG_STORE.*--rebuild"):
        Index.load(settings.index_dir, milvus_settings(settings, milvus_file))
    on_milvus = milvus_settings(settings.with_(index_dir=settings.index_dir.parent / "m"), milvus_file)
    build(on_milvus, embedder)
    with pytest.raises(IndexMismatchError, match="Milvus collection 'rag_chunks'.*RAG_STORE is 'faiss'"):
        Index.load(on_milvus.index_dir, on_milvus.with_(store="faiss"))
    with pytest.raises(IndexMismatchError, match="Milvus collection 'rag_chunks'"):
        Index.load(on_milvus.index_dir, on_milvus.with_(store=f"{milvus_file}#other"))


@pytest.mark.model
def test_a_missing_collection_is_reported_with_the_fix(settings, milvus_file, embedder):
    settings = milvus_settings(settings, milvus_file)
    build(settings, embedder)
    name = Index.load(settings.index_dir, settings).vectors.collection
    client_for(store_spec(settings)).drop_collection(name)
    with pytest.raises(IndexCorruptError, match=f"collection {name} .*not in .*--rebuild"):
        Index.load(settings.index_dir, settings)
    assert build(settings, embedder, rebuild=True).chunks > 0
    assert Index.load(settings.index_dir, settings).search(embedder.encode_query("NATO"), 1)


@pytest.mark.model
def test_vectors_deleted_behind_the_index_are_detected_on_load(settings, milvus_file, embedder):
    settings = milvus_settings(settings, milvus_file)
    build(settings, embedder)
    index = Index.load(settings.index_dir, settings)
    chunk_id = next(iter(index.chunks))
    client_for(store_spec(settings)).delete(index.vectors.collection, ids=[chunk_id])
    with pytest.raises(
        IndexCorruptError,
        match=rf"holds {len(index.chunks) - 1} vectors for "
        rf"{len(index.chunks)} chunks.*--rebuild",
    ):
        Index.load(settings.index_dir, settings)


@pytest.mark.model
def test_a_copied_index_folder_reads_but_will_not_update_the_shared_collection(
    settings, milvus_file, embedder, tmp_path
):
    settings = milvus_settings(settings, milvus_file)
    build(settings, embedder)
    copy = settings.with_(index_dir=tmp_path / "copy")
    shutil.copytree(settings.index_dir, copy.index_dir)
    assert Index.load(copy.index_dir, copy).search(embedder.encode_query("NATO"), 1)
    with pytest.raises(IndexMismatchError, match="copy of another index folder.*--rebuild"):
        build(copy, embedder)
    build(copy, embedder, rebuild=True)
    mine, theirs = Index.load(copy.index_dir, copy), Index.load(settings.index_dir, settings)
    assert mine.vectors.collection != theirs.vectors.collection and len(theirs.chunks) == len(mine.chunks)


def test_an_unreachable_server_is_named_with_what_to_check(tmp_path):
    env = {
        "RAG_STORE": "milvus://127.0.0.1:9/articles",
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
    }
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", str(SAMPLES), "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=env,
    )
    assert run.returncode != 0
    assert "milvus://127.0.0.1:9/articles" in run.stderr and "server is running and reachable" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "index" / "manifest.json").exists()


@pytest.mark.model
def test_web_chat_on_milvus_answers_with_citations_and_indexes_an_upload(tmp_path, milvus_file, embedder):
    """The web app, served by Gradio and called through its API, with the vectors in Milvus."""
    from gradio_client import Client, handle_file

    from rag.answer.assistant import Assistant
    from rag.net import free_port
    from rag.settings import Settings
    from rag.web.app import WebApp

    shutil.copytree(SAMPLES, tmp_path / "articles")
    settings = Settings(
        index_dir=tmp_path / "index", articles_dir=tmp_path / "articles", store=str(milvus_file)
    )
    build(settings, embedder, settings.articles_dir)
    app = WebApp(settings, Assistant(settings, embedder=embedder))
    demo = app.build()
    port = free_port()
    demo.launch(**{**app.launch_options(), "server_port": port, "quiet": True, "prevent_thread_lock": True})
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        answer = client.predict(
            "What have Ukraine and NATO begun doing together?", "hybrid", 5, api_name="/ask"
        )
        first = answer["citations"][0]
        article = app.index().article_by_doc(first["doc"])
        assert (
            article.text[first["start"] : first["end"]] == first["quote"]
            and "joint arms production" in first["quote"]
        )
        upload = tmp_path / "herons.md"
        upload.write_text("# Heron survey\n\nVolunteers counted 412 grey herons on Zanzibar in 2024.\n")
        status, counts, *_ = client.predict([handle_file(str(upload))], api_name="/upload_articles")
        assert "1 added" in status and "3 articles" in counts and "Milvus collection" in counts
        answer = client.predict(
            "How many grey herons were counted on Zanzibar?", "hybrid", 5, api_name="/ask"
        )
        assert "412 grey herons" in answer["answer"] and answer["citations"][0]["doc"] == "uploads/herons.md"
    finally:
        demo.close()


@pytest.mark.model
def test_a_milvus_server_is_shared_by_processes_indexing_and_answering_at_once(
    milvus_server, samples, tmp_path, embedder
):
    from rag.answer.assistant import Assistant
    from rag.settings import Settings

    def rag(*args):
        return rag_cli(milvus_server, tmp_path / "index", *args)

    assert "vectors in Milvus collection articles_" in rag("index", str(samples), "--quiet")
    settings = Settings(index_dir=tmp_path / "index", store=milvus_server)
    held = Index.load(settings.index_dir, settings)  # this process keeps its connection open...
    answer = Assistant(settings, index=held, embedder=embedder).ask(
        "What have Ukraine and NATO begun doing together?"
    )
    assert "joint arms production" in answer.citations[0].quote

    (samples / "herons.md").write_text("# Heron survey\n\nVolunteers counted 412 grey herons on Zanzibar.\n")
    assert "1 added" in rag("index", str(samples), "--quiet")  # ...while another one updates the index
    assert "412 grey herons" in rag("ask", "How many grey herons were counted on Zanzibar?")
    fresh = Index.load(settings.index_dir, settings)
    top, _ = fresh.search(embedder.encode_query("grey herons counted on Zanzibar"), 1)[0]
    assert fresh.articles[top.article_id].doc == "herons.md" and len(fresh.articles) == len(held.articles) + 1


@pytest.mark.model
def test_a_server_that_goes_away_mid_session_gives_an_error_saying_so(settings, tmp_path, embedder, capfd):
    from rag.answer.assistant import Assistant

    with milvus_server_at(tmp_path / "data") as store:
        settings = settings.with_(store=store)
        build(settings, embedder)
        assistant = Assistant(settings, index=Index.load(settings.index_dir, settings), embedder=embedder)
        assert assistant.ask("What have Ukraine and NATO begun doing together?").citations
    capfd.readouterr()
    with pytest.raises(
        StoreUnavailableError,
        match=r"could not search the Milvus collection articles_\w+ in "
        r"milvus://127\.0\.0\.1:\d+/articles .*server is up",
    ):
        assistant.ask("What have Ukraine and NATO begun doing together?")
    assert "Traceback" not in capfd.readouterr().err  # the client library's own logging stays quiet
