"""What the Milvus tests (test_milvus.py, test_milvus_state.py) share besides the server fixture of
conftest.py: the environment of the processes they start, ``rag`` run in one of them, an index
built in this process, and a rebuild whose save is made to fail part-way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SAMPLES

from rag.store.index import Index
from rag.store.indexer import update_index
from rag.types import IndexReport


def process_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the checkout importable, plus ``extra``."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def rag_cli(store: str, index_dir: Path, *args: str) -> str:
    """The output of ``rag ARGS`` in a process of its own, on RAG_STORE=``store`` and
    RAG_INDEX_DIR=``index_dir``; fails the test if the command fails."""
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=process_env(RAG_STORE=store, RAG_INDEX_DIR=str(index_dir)),
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def build(settings, embedder, folder: Path = SAMPLES, **kw) -> IndexReport:
    """Index ``folder`` in this process, with the session's model."""
    return update_index(folder, settings, embedder=embedder, progress=False, **kw)


def crash_at(stage: str):
    """A save's crash hook that fails at ``stage``, as a killed writer would."""

    def hook(at: str) -> None:
        if at == stage:
            raise RuntimeError(f"injected crash at {at}")

    return hook


def rebuild_of(held: Index, settings, dimension: int) -> Index:
    """A new, unsaved index (a rebuild) filled from ``held``: its articles, chunks, vectors and
    sentence vectors."""
    fresh = Index.empty(settings, dimension)
    for article in held.articles.values():
        chunks = held.chunks_of(article.id)
        fresh.add(article, chunks, held.vectors.get([c.id for c in chunks]), held.sentences[article.id])
    return fresh
