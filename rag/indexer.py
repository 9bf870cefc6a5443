"""Build or update an index from a folder of articles, re-embedding only what changed."""

from __future__ import annotations

import fcntl
import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import ARTICLE_SUFFIXES, Settings
from .embed import Embedder
from .errors import (ArticleError, ArticlesFolderError, IndexMismatchError, IndexMissingError,
                     IndexWriteError)
from .ingest import chunk_article, doc_name, embedding_text, find_articles, parse_article, read_file
from .store import Index, chunking_of, rebuild_hint
from .types import Article, Chunk, FileWarning, IndexReport


@dataclass
class _Plan:
    """What one pass over the folder found: articles to (re-)embed, docs seen, problems."""

    fresh: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)  # (.., .., is_update)
    seen: set[str] = field(default_factory=set)
    unchanged: int = 0
    warnings: list[FileWarning] = field(default_factory=list)


def update_index(articles_dir: Path, settings: Settings | None = None, *, rebuild: bool = False,
                 embedder: Embedder | None = None, progress: bool | None = None,
                 on_file: Callable[[Path], None] | None = None) -> IndexReport:
    """Bring the index at ``settings.index_dir`` in line with ``articles_dir``.

    Unchanged files (same bytes) are not re-embedded, changed ones replace their old chunks,
    deleted ones are removed. A file that fails to read is reported and, if it was indexed
    before, its indexed version is kept. ``on_file`` is called before each file is read.
    """
    settings = settings or Settings.from_env()
    began = time.perf_counter()
    articles_dir = Path(articles_dir)
    files = find_articles(articles_dir)
    if not files:
        raise ArticlesFolderError(
            f"no articles in {articles_dir} (looked for {', '.join(ARTICLE_SUFFIXES)}); "
            "the index was left unchanged. Add articles or give another folder")
    embedder = embedder or Embedder(settings)
    with _writer_lock(settings.index_dir):
        remove_unfinished_saves(settings.index_dir)
        index = _starting_index(settings, embedder, rebuild)
        plan = _scan(files, articles_dir, index, settings, progress, on_file)
        removed = [a.id for a in index.articles.values() if a.doc not in plan.seen]
        vectors, embedded, embed_seconds = _embed_all(plan.fresh, index, embedder, progress)
        for (article, chunks, _), block in zip(plan.fresh, vectors):
            index.add(article, chunks, block)
        for article_id in removed:
            index.remove(article_id)
        if plan.fresh or removed or not index.manifest or index.vectors_stale():
            index.save(settings.index_dir)
    updated = sum(1 for *_, is_update in plan.fresh if is_update)
    return IndexReport(
        index_dir=str(settings.index_dir), articles=len(index.articles),
        paragraphs=index.paragraph_count, chunks=len(index.chunks),
        added=len(plan.fresh) - updated, updated=updated, removed=len(removed),
        unchanged=plan.unchanged, failed=sum(w.skipped for w in plan.warnings),
        embedded_chunks=embedded, embed_seconds=embed_seconds,
        seconds=time.perf_counter() - began, warnings=tuple(plan.warnings),
    )


def _starting_index(settings: Settings, embedder: Embedder, rebuild: bool) -> Index:
    if not rebuild:
        try:
            index = Index.load(settings.index_dir, settings)
        except IndexMissingError:
            return Index.empty(settings, embedder.dimension)
        if index.chunking != chunking_of(settings):
            raise IndexMismatchError(
                f"the index in {settings.index_dir} was built with chunking {index.chunking}, the "
                f"settings now say {chunking_of(settings)}. {rebuild_hint(settings.index_dir)}")
        return index
    return Index.empty(settings, embedder.dimension)


def _scan(files: list[Path], root: Path, index: Index, settings: Settings,
          progress: bool | None, on_file: Callable[[Path], None] | None) -> _Plan:
    from tqdm import tqdm

    plan = _Plan()
    known = {a.doc: a for a in index.articles.values()}
    for path in tqdm(files, desc="Reading", unit="file", disable=_quiet(progress), leave=False):
        if on_file:
            on_file(path)
        doc = doc_name(path, root)
        plan.seen.add(doc)
        try:
            data = read_file(path, settings)
            old = known.get(doc)
            if old is not None and old.sha256 == hashlib.sha256(data).hexdigest():
                plan.unchanged += 1
                continue
            article, notes = parse_article(path, doc, data)
        except ArticleError as exc:
            kept = " (kept its previously indexed version)" if doc in known else ""
            plan.warnings.append(FileWarning(str(path), f"{exc}{kept}".removeprefix(f"{path}: ")))
            continue
        plan.warnings.extend(FileWarning(str(path), f"indexed, but {n}", skipped=False) for n in notes)
        plan.fresh.append((article, chunk_article(article, settings), doc in known))
    return plan


def _embed_all(fresh: list[tuple[Article, list[Chunk], bool]], index: Index, embedder: Embedder,
               progress: bool | None) -> tuple[list, int, float]:
    """One vector block per fresh article, the number of chunks embedded, and the seconds taken.

    Chunks whose text is already in the index under the same article reuse their stored vector,
    so fixing a typo in a long article re-embeds one paragraph, not the article.
    """
    import numpy as np
    from tqdm import tqdm

    known = _known_vectors(index, {a.id for a, _, is_update in fresh if is_update})
    chunks = [(c, embedding_text(a, c)) for a, article_chunks, _ in fresh for c in article_chunks]
    todo = [text for c, text in chunks if (c.article_id, text) not in known]
    vectors = np.zeros((len(chunks), index.dimension), dtype="float32")
    began, seconds = time.perf_counter(), 0.0
    if todo:
        embedder.model  # load before the clock starts: the rate is of embedding, not of loading
        began = time.perf_counter()
        with tqdm(total=len(todo), desc="Embedding", unit="chunk", disable=_quiet(progress)) as bar:
            new = iter(embedder.encode(todo, progress=bar.update))
        seconds = time.perf_counter() - began
    for row, (chunk, text) in enumerate(chunks):
        old = known.get((chunk.article_id, text))
        vectors[row] = index.vectors.reconstruct(old) if old is not None else next(new)
    blocks, at = [], 0
    for _, article_chunks, _ in fresh:
        blocks.append(vectors[at : at + len(article_chunks)])
        at += len(article_chunks)
    return blocks, len(todo), seconds


def _known_vectors(index: Index, article_ids: set[str]) -> dict[tuple[str, str], int]:
    """(article id, embedded text) -> FAISS id of the stored vector, for articles being updated."""
    return {(c.article_id, index.embedding_text(c)): c.id
            for c in index.chunks.values() if c.article_id in article_ids}


def _quiet(progress: bool | None) -> bool | None:
    return None if progress is None else not progress  # None: show only on a terminal


@contextmanager
def _writer_lock(index_dir: Path):
    """One writer at a time per index folder; readers never wait."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = open(index_dir / ".lock", "w")
    except OSError as exc:
        raise IndexWriteError(f"cannot write to the index folder {index_dir} ({exc.strerror or exc}). "
                              "Check that it is writable, or give another one with --index") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def remove_unfinished_saves(index_dir: Path) -> None:
    """Delete what a killed writer left half-written. Only call it holding the writer lock: then
    no other save is in progress, so every temporary folder is a leftover."""
    import shutil

    for leftover in index_dir.glob(".tmp-data-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def load_or_build(settings: Settings | None = None, embedder: Embedder | None = None,
                  progress: bool | None = None, notify: Callable[[str], None] | None = None) -> Index:
    """The index at ``settings.index_dir``; the default one is built from the samples if missing."""
    settings = settings or Settings.from_env()
    defaults = Settings()
    try:
        return Index.load(settings.index_dir, settings)
    except IndexMissingError:
        named_articles = settings.articles_dir.resolve() != defaults.articles_dir.resolve()
        if settings.index_dir.resolve() != defaults.index_dir.resolve() and not named_articles:
            raise
    if notify:
        notify(f"No index in {settings.index_dir} yet: building it from {settings.articles_dir} "
               "(first use)...")
    update_index(settings.articles_dir, settings, embedder=embedder, progress=progress)
    return Index.load(settings.index_dir, settings)
