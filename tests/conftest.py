"""Shared fixtures: the real embedding model is loaded once per test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "articles"
EVALSETS = ROOT / "evalsets"


@pytest.fixture(scope="session")
def embedder():
    from rag.embed.encoder import Embedder
    from rag.settings import Settings

    model = Embedder(Settings())
    _ = model.model  # load now, once
    return model


STORES = ["faiss", "milvus-lite"]  # every vector store the backend-agnostic tests run on


@pytest.fixture(scope="session")
def milvus_file(tmp_path_factory) -> Path:
    """One milvus-lite database for the session; each index folder gets collections of its own."""
    return tmp_path_factory.mktemp("milvus") / "vectors.db"


def store_setting(store: str, milvus_file: Path) -> str:
    return "faiss" if store == "faiss" else str(milvus_file)


@pytest.fixture(params=STORES)
def any_settings(request, tmp_path, milvus_file):
    """Settings for a fresh index on each vector store in turn (FAISS, then a real Milvus engine)."""
    from rag.settings import Settings

    return Settings(
        index_dir=tmp_path / "index", articles_dir=SAMPLES, store=store_setting(request.param, milvus_file)
    )


@pytest.fixture(scope="session", params=STORES)
def store_index(request, tmp_path_factory, embedder, milvus_file):
    """An index of the bundled samples on each vector store in turn, built once and shared read-only."""
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = Settings(
        index_dir=tmp_path_factory.mktemp(request.param) / "index",
        store=store_setting(request.param, milvus_file),
    )
    update_index(SAMPLES, settings, embedder=embedder, progress=False)
    return Index.load(settings.index_dir, settings)


@pytest.fixture
def settings(tmp_path):
    from rag.settings import Settings

    return Settings(index_dir=tmp_path / "index", articles_dir=SAMPLES)


@pytest.fixture
def samples(tmp_path) -> Path:
    """A writable copy of the bundled sample articles."""
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLES, folder)
    return folder


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """An index of the bundled samples, built once and shared read-only."""
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = Settings(index_dir=tmp_path_factory.mktemp("sample") / "index")
    update_index(SAMPLES, settings, embedder=embedder, progress=False)
    return Index.load(settings.index_dir, settings)


@contextmanager
def milvus_server_at(data: Path) -> Iterator[str]:
    """A Milvus server in a process of its own (milvus-lite's gRPC server) on a free local port:
    yields its RAG_STORE (``milvus://127.0.0.1:PORT/articles``) and stops the server on exit."""
    from rag.net import free_port

    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}-server.log"  # a file, not a pipe nobody reads while it runs
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        _wait_for_port(server, port, log)
        yield f"milvus://127.0.0.1:{port}/articles"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_port(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert server.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(
        f"the Milvus server did not open port {port} in 60 s: {log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    with milvus_server_at(tmp_path_factory.mktemp("milvus-server") / "data") as store:
        yield store
