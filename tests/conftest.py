"""Shared fixtures: the real embedding model is loaded once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "articles"
EVALSETS = ROOT / "evalsets"


@pytest.fixture(scope="session")
def embedder():
    from rag.config import Settings
    from rag.embed import Embedder

    model = Embedder(Settings())
    model.model  # load now, once
    return model


@pytest.fixture
def settings(tmp_path):
    from rag.config import Settings

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
    from rag.config import Settings
    from rag.indexer import update_index
    from rag.store import Index

    settings = Settings(index_dir=tmp_path_factory.mktemp("sample") / "index")
    update_index(SAMPLES, settings, embedder=embedder, progress=False)
    return Index.load(settings.index_dir, settings)
