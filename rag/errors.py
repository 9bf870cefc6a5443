"""Exceptions that name the object at fault and say how to fix it.

Only the CLI and the web app turn them into messages and exit codes.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: the message is meant for a person and ends with what to do."""


class ArticleError(RagError):
    """One article could not be read; the others go on."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        super().__init__(f"{path}: {problem}. {fix}")


class ArticlesFolderError(RagError):
    """The folder of articles is missing, not a folder, or holds no articles."""


class IndexMissingError(RagError):
    """No index has been built at the given folder yet."""


class IndexCorruptError(RagError):
    """An index file is damaged or incomplete."""


class IndexMismatchError(RagError):
    """The index was built with another model, format or chunking."""


class IndexWriteError(RagError):
    """The index could not be written (read-only folder, full disk...); the old one is intact."""


class QuestionError(RagError):
    """The question is empty, too long, or asks for impossible settings."""


class StoreUnavailableError(RagError):
    """The vector store (a Milvus server, or a milvus-lite file) cannot be reached or opened."""
