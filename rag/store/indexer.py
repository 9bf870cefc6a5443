"""Build or update an index from a folder of articles, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..embed.encoder import Embedder, follow
from ..errors import ArticleError, ArticlesFolderError, IndexMismatchError, IndexMissingError
from ..ingest import chunk_article, doc_name, embedding_text, parse_article, read_file, scan_articles
from ..ingest.folder import file_stamp
from ..settings import ARTICLE_SUFFIXES, Settings
from ..types import Article, Chunk, FileWarning, IndexReport
from .factory import holds_everything, store_spec, writer_lock_for
from .index import Index, chunking_of, rebuild_hint
from .lock import remove_unfinished_saves
from .sentence_vectors import POOLED, chunk_vectors_of
from .tally import Tally
from .vectorstore import store_label

_log = logging.getLogger(__name__)
# Kept in each article's metadata (saved with its row): the file's size and modification time
# when it was indexed, so that re-indexing skips unchanged files without reading them.
STAMP = "file_stat"


def update_index(
    articles_dir: Path,
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool | None = None,
    on_file: Callable[[Path], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> IndexReport:
    """Bring the index at ``settings.index_dir`` in line with ``articles_dir``; the report
    carries the updated index (``report.index``), ready to serve.

    Unchanged files (same bytes) are not re-embedded, changed ones replace their old chunks,
    deleted ones are removed. A file that fails to read is reported and, if it was indexed
    before, its indexed version is kept. ``on_file`` is called before each file is read.

    Files are read, chunked and embedded in steps of about ``settings.ingest_chunks`` chunks,
    each step handed to the index before the next is read, so the reading and embedding never
    hold more than one step of the corpus. ``notify`` hears at once when another run holds the
    index (default: a warning in the log).
    """
    from tqdm import tqdm

    settings = settings or Settings()
    began = time.perf_counter()
    articles_dir = Path(articles_dir)
    scan = scan_articles(articles_dir)
    files = list(scan.files)
    if not files:
        raise ArticlesFolderError(
            f"no articles in {articles_dir} (looked for {', '.join(ARTICLE_SUFFIXES)}); "
            "the index was left unchanged. Add articles or give another folder"
        )
    embedder = embedder or Embedder(settings)
    tally = Tally(warnings=list(scan.skipped))  # never opened: pipes, devices, links out of the folder
    with writer_lock_for(settings, notify or _log.warning):
        remove_unfinished_saves(settings.index_dir)
        index = _starting_index(settings, embedder, rebuild, tally)
        known = index.docs()  # doc -> (article id, file sha256, file stamp): no texts in memory
        with tqdm(total=len(files), desc="Indexing", unit="file", disable=_quiet(progress)) as bar:
            for step in _steps(files, articles_dir, known, settings, tally, on_file, bar):
                _embed_and_add(step, index, embedder, tally, bar)
                if index.vectors_stale():  # past the threshold: go on in the compact index
                    index.fit_vectors()
        removed = [article_id for doc, (article_id, *_) in known.items() if doc not in tally.seen]
        for article_id in removed:
            index.remove(article_id)
        with tally.timed("embedding sentences"):
            missing = _add_missing_sentence_vectors(index, embedder)  # an index saved before they existed
        if tally.added or tally.updated or removed or missing or not index.manifest or index.vectors_stale():
            with tally.timed("writing"):
                index.save(settings.index_dir)
    return IndexReport(
        index_dir=str(store_spec(settings)) if holds_everything(settings) else str(settings.index_dir),
        articles=len(index.articles),
        paragraphs=index.paragraph_count,
        chunks=len(index.chunks),
        added=tally.added,
        updated=tally.updated,
        removed=len(removed),
        unchanged=tally.unchanged,
        failed=sum(w.skipped for w in tally.warnings),
        embedded_chunks=tally.embedded,
        embed_seconds=tally.embed_seconds,
        seconds=time.perf_counter() - began,
        warnings=tuple(tally.warnings),
        store=store_label(index.vectors.describe()),
        encoder=index.encoder,
        stages=tuple(tally.stages.items()),
        index=index,
    )


def _starting_index(settings: Settings, embedder: Embedder, rebuild: bool, tally: Tally) -> Index:
    if not rebuild:
        try:
            with tally.timed("opening the index"):
                index = Index.load(settings.index_dir, settings)
        except IndexMissingError:
            return _new_index(settings, embedder, tally)
        if index.chunking != chunking_of(settings):
            raise IndexMismatchError(
                f"the index in {settings.index_dir} was built with chunking {index.chunking}, the "
                f"settings now say {chunking_of(settings)}. {rebuild_hint(settings.index_dir)}"
            )
        if not index.vectors.owned_by(str(settings.index_dir.resolve())):
            raise IndexMismatchError(
                f"the index in {settings.index_dir} is a copy of another index folder and shares its "
                f"vectors ({store_label(index.vectors.describe())}); updating it would change that "
                f"index too. Give it vectors of its own: rag index ARTICLES_FOLDER --index "
                f"{settings.index_dir} --rebuild"
            )
        if chunk_vectors_of(index.manifest) != POOLED:  # made before pooling, or before it was said
            tally.warnings.append(
                FileWarning(
                    str(settings.index_dir),
                    "the index does not say its chunk vectors were pooled from its sentences (an "
                    "earlier version embedded each chunk whole), so every article was embedded "
                    "again, once, rather than mixing the two",
                    skipped=False,
                )
            )
            return _new_index(settings, embedder, tally)
        follow(embedder, index.encoder)  # an update embeds as the index was built (RAG_ENCODER=auto)
        return index
    return _new_index(settings, embedder, tally)


def _new_index(settings: Settings, embedder: Embedder, tally: Tally) -> Index:
    follow(embedder, None)  # a new index gets the settings' encoder
    with tally.timed("loading the encoder"):  # the first time also exports it to ONNX (cached)
        dimension = embedder.dimension
    return Index.empty(settings, dimension, encoder=getattr(embedder, "variant", "fp32"))


_Fresh = tuple[Article, list[Chunk], bool]  # an article to (re-)embed, its chunks, whether it was indexed


def _steps(
    files: list[Path],
    root: Path,
    known: dict[str, tuple[str, str, str]],
    settings: Settings,
    tally: Tally,
    on_file: Callable[[Path], None] | None,
    bar: Any,  # a tqdm progress bar (tqdm has no type hints)
) -> Iterator[list[_Fresh]]:
    """Changed and new articles, in lists of about ``settings.ingest_chunks`` chunks."""
    step: list[_Fresh] = []
    size = 0
    for path in files:
        fresh = _read_one(path, root, known, settings, tally, on_file)
        bar.update(1)
        if fresh is None:
            continue
        step.append(fresh)
        size += len(fresh[1])
        if size >= settings.ingest_chunks:
            yield step
            step, size = [], 0
    if step:
        yield step


def _read_one(
    path: Path,
    root: Path,
    known: dict[str, tuple[str, str, str]],
    settings: Settings,
    tally: Tally,
    on_file: Callable[[Path], None] | None,
) -> _Fresh | None:
    """The article at ``path`` if it is new or changed; None if unchanged or unreadable."""
    if on_file:
        on_file(path)
    doc = doc_name(path, root)
    tally.seen.add(doc)
    old = known.get(doc)
    stamp = file_stamp(path)
    if old is not None and stamp and old[2] == stamp:  # same size and time: not even read
        tally.unchanged += 1
        return None
    try:
        with tally.timed("reading files"):
            data = read_file(path, settings, root)
        if old is not None and old[1] == hashlib.sha256(data).hexdigest():
            tally.unchanged += 1
            return None
        with tally.timed("parsing and sentence segmentation"):
            article, notes = parse_article(path, doc, data)
        article = replace(article, meta={**article.meta, STAMP: stamp})
    except ArticleError as exc:
        kept = " (kept its previously indexed version)" if doc in known else ""
        tally.warnings.append(FileWarning(str(path), f"{exc}{kept}".removeprefix(f"{path}: ")))
        return None
    tally.warnings.extend(FileWarning(str(path), f"indexed, but {n}", skipped=False) for n in notes)
    with tally.timed("splitting into chunks"):
        chunks = chunk_article(article, settings)
    return article, chunks, doc in known


def _embed_and_add(step: list[_Fresh], index: Index, embedder: Embedder, tally: Tally, bar: Any) -> None:
    """Embed one step's sentences, pool its chunks' vectors from them (``sentence_vectors``), and
    hand them to the index, article by article.

    Chunks whose text is already in the index under the same article reuse their stored vector,
    and sentences theirs, so fixing a typo in a long article re-embeds one paragraph.
    """
    import numpy as np

    from . import sentence_vectors

    known = _known_vectors(index, [a.id for a, _, is_update in step if is_update])
    reuse: dict[int, int] = {}  # row -> chunk id of the stored vector it reuses
    todo: dict[int, int] = {}  # row -> chunk id to embed
    row = 0
    for article, article_chunks, _ in step:
        for chunk in article_chunks:
            stored = known.get((chunk.article_id, embedding_text(article, chunk)))
            if stored is None:
                todo[row] = chunk.id
            else:
                reuse[row] = stored
            row += 1
    vectors = np.zeros((row, index.dimension), dtype="float32")
    if reuse:
        vectors[list(reuse)] = index.vectors.get(list(reuse.values()))
    old = {
        a.id: (index.articles[a.id], index.sentences[a.id])
        for a, _, is_update in step
        if is_update and a.id in index.articles and a.id in index.sentences
    }
    with tally.timed("loading the encoder"):
        _ = embedder.model  # loaded before the clock starts: the rate is of embedding, not of loading
    began = time.perf_counter()
    done = [tally.embedded]
    with tally.timed("embedding sentences, chunks pooled from them"):
        new, sentences = sentence_vectors.embed(
            [(a, c) for a, c, _ in step],
            embedder,
            wanted=set(todo.values()),
            known=old,
            progress=lambda n: _show_embedded(bar, done, n),
        )
    if todo:
        tally.embed_seconds += time.perf_counter() - began
        tally.embedded += len(todo)
        vectors[list(todo)] = np.stack([new[i] for i in todo.values()])
    at = 0
    for article, article_chunks, is_update in step:
        with tally.timed("adding to the vector store"):
            index.add(article, article_chunks, vectors[at : at + len(article_chunks)], sentences[article.id])
        at += len(article_chunks)
        tally.updated += is_update
        tally.added += not is_update


def _add_missing_sentence_vectors(index: Index, embedder: Embedder) -> int:
    from . import sentence_vectors

    have = set(index.sentences)
    missing = [index.articles[i] for i in index.articles if i not in have]
    if missing:
        pieces = [(a, index.chunks_of(a.id)) for a in missing]
        index.sentences.update(sentence_vectors.embed(pieces, embedder)[1])
    return len(missing)


def _show_embedded(bar: Any, done: list[int], n: int) -> None:
    done[0] += n
    bar.set_postfix(chunks_embedded=done[0], refresh=False)


def _known_vectors(index: Index, article_ids: list[str]) -> dict[tuple[str, str], int]:
    """(article id, embedded text) -> chunk id of the stored vector, for articles being updated."""
    return {
        (c.article_id, index.embedding_text(c)): c.id
        for article_id in article_ids
        for c in index.chunks_of(article_id)
    }


def _quiet(progress: bool | None) -> bool | None:
    return None if progress is None else not progress  # None: show only on a terminal
