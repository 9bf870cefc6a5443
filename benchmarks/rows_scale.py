"""A local index at scale: serving memory, cold `rag ask` and ANN recall, rows on disk vs in memory.

    .venv/bin/python benchmarks/rows_scale.py [--chunks 1000000] [--folder /tmp/rows-scale]
                                              [--store milvus://HOST:PORT/COLLECTION]

The synthetic corpus: articles of ten one-chunk paragraphs of 40-80 words drawn from a 50,000-word
vocabulary, and for each chunk a vector made from the real vectors of the SQuAD dev index (a
random mix of two of them plus noise, normalised: ``query_scale.synthesise``), so the vectors
cluster like real ones without running the model over a million texts. The index is built
through ``Index.add`` (the indexer's path less reading files and embedding) and saved, FAISS
switching to IVF with fp16 codes (``ivf-fp16``) past ``ann_threshold`` as it does in ``rag index``
(runs before that change built IVF-SQ8, 8-bit codes).

Then, each in a fresh process:

* serving: ``Index.load`` and 20 questions through the ``Assistant`` (model loaded): seconds to
  open, peak RSS; and the alternative, the same after reading every row into memory (what the
  index did before rows moved to SQLite);
* cold ``rag ask``: the CLI's wall time for one question, model load included;
* recall@10 of the approximate index against exact search over the same vectors, in the build
  process: for 200 queries made like the corpus vectors (mixtures of real ones: near-ties, the hard
  case) and for 200 real SQuAD dev questions.

With ``--store milvus://...`` the same index is built into a Milvus server, which then holds all
of it, and served by processes with no index folder (the in-memory alternative does not apply);
its collections are dropped at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import load_note, peak_rss_mb, run_worker, squad_index, table

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What have Ukraine and NATO begun doing together?",
    "Who attended the coalition meeting?",
    "w00012 w00450 w01234",
    "Which standards must Ukrainian weapons meet?",
]


def _article(n: int, rng, words):
    from rag.ingest.articles import short_hash
    from rag.types import Article, Paragraph

    doc = f"synthetic/{n:07d}.txt"
    paras = [f"Article {n}"] + [
        " ".join(words[rng.integers(0, len(words), rng.integers(40, 80))]) + "." for _ in range(9)
    ]
    text, spans = "", []
    for para in paras:
        spans.append((len(text), len(text) + len(para)))
        text += para + "\n\n"
    article_id = short_hash(doc)
    paragraphs = tuple(
        Paragraph(article_id, i, s, e, short_hash(text[s:e]), ((s, e),)) for i, (s, e) in enumerate(spans, 1)
    )
    return Article(article_id, doc, paras[0], text, short_hash(text), paragraphs)


def build(folder: Path, chunks: int, store: str) -> dict:
    """Build and save the synthetic index in ``folder``; recall@10 of its ANN against exact search."""
    from query_scale import synthesise

    from rag.ingest import chunk_article
    from rag.settings import Settings
    from rag.store.index import Index

    squad, _ = squad_index()
    base = squad.vectors.get(np.fromiter(squad.chunks, dtype="int64"))
    vectors = synthesise(base, chunks)
    settings = Settings(index_dir=folder, store=store)
    index = Index.empty(settings, base.shape[1], folder)
    rng = np.random.default_rng(0)
    words = np.array([f"w{n:05d}" for n in range(50_000)])
    began, at, ids = time.perf_counter(), 0, np.zeros(chunks, dtype="int64")
    for n in range(chunks // 10):
        article = _article(n, rng, words)
        pieces = chunk_article(article, settings)
        ids[at : at + len(pieces)] = [c.id for c in pieces]
        index.add(article, pieces, vectors[at : at + len(pieces)], np.zeros((10, base.shape[1]), "float16"))
        at += len(pieces)
        if n % 10_000 == 0 and index.vectors_stale():
            index.fit_vectors()
    index.save(folder)
    built = time.perf_counter() - began

    def recall(queries: np.ndarray) -> float:
        exact = np.argsort(-(vectors[:at] @ queries.T), axis=0)[:10].T
        found = [{i for i, _ in index.vectors.search(q, 10)} for q in queries]
        return float(np.mean([len(f & set(ids[e])) / 10 for f, e in zip(found, exact)]))

    return {
        "seconds": built,
        "chunks": at,
        "recall": recall(synthesise(base, 200, seed=1, noise=0.05)),
        "recall_questions": recall(_question_vectors(200)),
        "layout": index.index_type,
    }


def _question_vectors(n: int) -> np.ndarray:
    """The vectors of ``n`` SQuAD dev questions, evenly spaced, as the model embeds them."""
    from _common import QUESTIONS as SQUAD_QUESTIONS

    from rag.embed.encoder import Embedder
    from rag.evaluate.metrics import load_questions
    from rag.settings import Settings

    asked = [q.question for q in load_questions(SQUAD_QUESTIONS)[0]]
    picked = asked[:: max(1, len(asked) // n)][:n]
    return np.asarray(Embedder(Settings()).encode(picked), dtype="float32")


def serve(folder: Path, all_rows: bool, store: str) -> dict:
    """Open the index and answer questions; with ``all_rows``, read every row into memory first."""
    from rag.answer.assistant import Assistant
    from rag.settings import Settings
    from rag.store.index import Index

    settings = Settings(index_dir=folder, store=store)
    began = time.perf_counter()
    index = Index.load(folder, settings)
    opened = time.perf_counter() - began
    held = ({i: index.articles[i] for i in index.articles}, dict(index.chunks.items())) if all_rows else None
    assistant = Assistant(settings, index=index)
    times = []
    for question in QUESTIONS * 5:
        began = time.perf_counter()
        assistant.ask(question)
        times.append(time.perf_counter() - began)
    return {
        "open_s": opened,
        "rss_mb": peak_rss_mb(),
        "ask_p50_ms": sorted(times)[len(times) // 2] * 1000,
        "held": bool(held),
    }


def cold_ask(folder: Path, store: str) -> float:
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", QUESTIONS[0], "--index", str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RAG_STORE": store},
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/rows-scale"))
    parser.add_argument("--store", default="faiss", help="faiss, or a server: milvus://HOST:PORT/COLLECTION")
    parser.add_argument("--keep", action="store_true", help="leave the collections built on a Milvus server")
    parser.add_argument("--worker", choices=["build", "serve", "serve-all"])
    args = parser.parse_args()
    if args.worker == "build":
        print(json.dumps(build(args.folder, args.chunks, args.store)))
        return
    if args.worker:
        print(json.dumps(serve(args.folder, args.worker == "serve-all", args.store)))
        return
    shutil.rmtree(args.folder, ignore_errors=True)
    try:
        report(args)
    finally:
        if args.store != "faiss" and not args.keep:
            drop_built(args.store)


def drop_built(store: str) -> None:
    """Drop the index this run built on the Milvus server (alias, generations, lock)."""
    from rag.settings import Settings
    from rag.store.index import store_spec
    from rag.store.milvus_generations import drop_index
    from rag.store.milvus_vectors import client_for

    settings = Settings.from_env(store=store)
    spec = store_spec(settings)
    drop_index(client_for(spec, settings.milvus_token), spec)
    print(f"dropped the collections of {spec} (--keep leaves them)")


def report(args: argparse.Namespace) -> None:
    script = Path(__file__)
    where = ["--folder", str(args.folder), "--store", args.store]
    built = run_worker(script, "build", "--chunks", str(args.chunks), *where)
    print(
        f"built {built['chunks']:,} chunks in {built['seconds']:.0f} s ({built['layout']}); "
        f"recall@10 of the ANN against exact search: {built['recall']:.3f} (queries made like the "
        f"corpus), {built['recall_questions']:.3f} (200 SQuAD dev questions)",
        flush=True,
    )
    data = next(args.folder.glob("data-*"), None)
    sizes = {p.name: p.stat().st_size / 1e6 for p in data.iterdir()} if data else {"Milvus": args.store}
    colds = [cold_ask(args.folder, args.store) for _ in range(3)]
    ours = run_worker(script, "serve", *where)
    rows = [
        [
            "rows on disk (SQLite)" if data else "all in Milvus",
            ours["open_s"],
            ours["rss_mb"],
            ours["ask_p50_ms"],
        ]
    ]
    if data:
        alt = run_worker(script, "serve-all", *where)
        rows.append(["every row read into memory", alt["open_s"], alt["rss_mb"], alt["ask_p50_ms"]])
    print(
        table(
            ["serving", "open (s)", "peak RSS (MB)", "ask p50 (ms)"],
            rows,
            f"{built['chunks']:,} synthetic chunks; files (MB): {sizes}",
        )
    )
    print(f"cold rag ask (s): {', '.join(f'{c:.2f}' for c in colds)}; median {sorted(colds)[1]:.2f}")
    if data:
        print(f"RSS ratio, in memory / on disk: {alt['rss_mb'] / ours['rss_mb']:.2f}")
    print(load_note())


if __name__ == "__main__":
    main()
