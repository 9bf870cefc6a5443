"""A Milvus server holding the whole index: what a stateless server costs, against the local index.

    .venv/bin/python benchmarks/milvus_state.py --milvus milvus://HOST:PORT/COLLECTION [-n 200]

On the SQuAD dev articles (built into COLLECTION if it holds no index yet, and into a local FAISS
index in benchmarks/.cache), each in a fresh process with no index folder for Milvus:

* open: seconds to ``Index.load`` (Milvus: read the alias and the manifest row; local: the
  manifest, the checks, the FAISS file);
* ``Assistant.ask`` p50 over ``-n`` questions (the model loaded beforehand), and the peak RSS
  of the process after them;
* an update that adds one short article: seconds for ``update_index`` (on Milvus this copies
  the committed generation into new collections, then switches the alias).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ARTICLES, CACHE, QUESTIONS, median, peak_rss_mb, run_worker, table

NEW_ARTICLE = "# Heron survey\n\nVolunteers counted 412 grey herons on Zanzibar in 2024.\n"


def settings_for(store: str, work: Path):
    from rag.settings import Settings

    if store == "faiss":
        return Settings(index_dir=CACHE / "squad-dev-state-faiss")
    return Settings(index_dir=work / "no-index-folder", store=store)


def worker(store: str, n: int) -> dict:
    """Open the index and answer ``n`` questions, in this (fresh) process."""
    from rag.answer.assistant import Assistant
    from rag.embed.encoder import Embedder
    from rag.evaluate.metrics import load_questions
    from rag.store.index import Index

    settings = settings_for(store, Path(tempfile.mkdtemp()))
    embedder = Embedder(settings)
    _ = embedder.model
    began = time.perf_counter()
    index = Index.load(settings.index_dir, settings)
    opened = time.perf_counter() - began
    assistant = Assistant(settings, index=index, embedder=embedder)
    questions = [q.question for q in load_questions(QUESTIONS)[0]][:n]
    times = []
    for question in questions:
        began = time.perf_counter()
        assistant.ask(question)
        times.append((time.perf_counter() - began) * 1000)
    return {
        "open_s": opened,
        "ask_p50_ms": median(times),
        "rss_mb": peak_rss_mb(),
        "chunks": len(index.chunks),
    }


def build_if_missing(store: str, embedder) -> None:
    from rag.errors import IndexMissingError
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = settings_for(store, Path(tempfile.mkdtemp()))
    try:
        Index.load(settings.index_dir, settings)
    except IndexMissingError:
        print(f"building the SQuAD dev index in {store}...", flush=True)
        update_index(ARTICLES, settings, embedder=embedder, progress=False)


def update_seconds(store: str, embedder) -> float:
    from rag.store.indexer import update_index

    work = Path(tempfile.mkdtemp(prefix="rag-state-"))
    try:
        shutil.copytree(ARTICLES, work / "articles")
        (work / "articles" / "zz-herons.txt").write_text(NEW_ARTICLE)
        settings = settings_for(store, work)
        began = time.perf_counter()
        report = update_index(work / "articles", settings, embedder=embedder, progress=False)
        seconds = time.perf_counter() - began
        assert report.added == 1, report
        (work / "articles" / "zz-herons.txt").unlink()
        update_index(work / "articles", settings, embedder=embedder, progress=False)  # back as it was
        return seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--milvus", help="a server: milvus://HOST:PORT/COLLECTION (required)")
    parser.add_argument("-n", type=int, default=200, help="questions answered in each process")
    parser.add_argument("--worker", nargs=2, metavar=("STORE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    if not args.milvus:
        parser.error("give the server: --milvus milvus://HOST:PORT/COLLECTION")
    from rag.embed.encoder import Embedder
    from rag.settings import Settings

    embedder = Embedder(Settings())
    _ = embedder.model  # loaded before any clock starts
    rows = []
    for store in ("faiss", args.milvus):
        build_if_missing(store, embedder)
        served = run_worker(Path(__file__), store, str(args.n))
        update = update_seconds(store, embedder)
        rows.append(
            [store, served["chunks"], served["open_s"], served["ask_p50_ms"], served["rss_mb"], update]
        )
        print(rows[-1], flush=True)
    print(
        table(
            ["index", "chunks", "open s", "ask p50 ms", "peak RSS MB", "update +1 article s"],
            rows,
            f"Local index vs a Milvus server holding everything, SQuAD dev, {args.n} questions",
        )
    )


if __name__ == "__main__":
    sys.exit(main())
