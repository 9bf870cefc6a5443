"""The index a question is answered from: the one in ``settings.index_dir``, or, the first time, the
default one built from the bundled sample articles."""

from __future__ import annotations

from collections.abc import Callable

from ..embed.encoder import Embedder
from ..errors import IndexMissingError
from ..settings import Settings
from .index import Index
from .indexer import update_index


def load_or_build(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    progress: bool | None = None,
    notify: Callable[[str], None] | None = None,
) -> Index:
    """The index at ``settings.index_dir``; the default one is built from the samples if missing."""
    settings = settings or Settings()
    defaults = Settings()
    try:
        return Index.load(settings.index_dir, settings)
    except IndexMissingError:
        named_articles = settings.articles_dir.resolve() != defaults.articles_dir.resolve()
        if settings.index_dir.resolve() != defaults.index_dir.resolve() and not named_articles:
            raise
    if notify:
        notify(
            f"No index in {settings.index_dir} yet: building it from {settings.articles_dir} (first use)..."
        )
    report = update_index(
        settings.articles_dir, settings, embedder=embedder, progress=progress, notify=notify
    )
    return report.index
