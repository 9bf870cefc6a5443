"""Cited answers from a folder of articles: every claim points to its paragraph and sentence.

Imports are lazy so that ``rag --help`` and ``import rag`` stay instant.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "Settings": "rag.settings",
    "Embedder": "rag.embed.encoder",
    "Index": "rag.store.index",
    "update_index": "rag.store.indexer",
    "load_or_build": "rag.store.first_use",
    "Article": "rag.types",
    "Paragraph": "rag.types",
    "Chunk": "rag.types",
    "IndexReport": "rag.types",
    "RagError": "rag.errors",
    "Assistant": "rag.answer.assistant",
    "answer_to_dict": "rag.answer.assistant",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Hit": "rag.types",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
