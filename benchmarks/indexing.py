"""Indexing throughput: ours vs the LangChain FAISS recipe on the same SQuAD dev articles.

    .venv/bin/python benchmarks/indexing.py [--articles DIR] [--rounds 1]

Each system runs in a fresh process (so peak memory is its own), in alternating order when
--rounds > 1. Ours: ``rag index`` (paragraph chunks with their title; every sentence embedded once, for
the reader, and each chunk's vector pooled from its title's and sentences' token outputs; FAISS +
BM25 in SQLite, atomic save), with the
int8 ONNX encoder (the default) and with RAG_ENCODER=torch (sentence-transformers fp32).
LangChain: RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings (the same packaged
all-MiniLM-L6-v2) + FAISS.from_documents, in memory. The clock starts after the model is loaded
(ours: and exported to ONNX, a one-time step cached across runs) and stops when the index is built
(ours: saved). Ours also prints where its time went (``rag index --profile``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _common import (
    ARTICLES,
    LANGCHAIN_MISSING,
    have_langchain,
    langchain_documents,
    langchain_embeddings,
    median,
    peak_rss_mb,
    run_worker,
    table,
)


def ours(articles: Path, encoder: str = "auto") -> dict:
    from rag.embed.encoder import Embedder
    from rag.settings import Settings
    from rag.store.indexer import update_index

    folder = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        settings = Settings.from_env(index_dir=folder / "index", encoder=encoder)
        embedder = Embedder(settings)
        _ = embedder.model  # loaded before the clock starts, as for LangChain
        began = time.perf_counter()
        report = update_index(articles, settings, embedder=embedder, rebuild=True, progress=False)
        seconds = time.perf_counter() - began
        chars = sum(len(c.text) for c in _chunks(settings))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "chunks": report.chunks,
        "chars": chars,
        "seconds": seconds,
        "embed_seconds": report.embed_seconds,
        "peak_mb": peak_rss_mb(),
        "stages": dict(report.stages),
    }


def _chunks(settings):
    from rag.store.index import Index

    return Index.load(settings.index_dir, settings).chunks.values()


def langchain(articles: Path) -> dict:
    from langchain_community.vectorstores import FAISS

    embeddings = langchain_embeddings()
    embeddings.embed_query("warm up")  # model loaded before the clock starts
    began = time.perf_counter()
    docs = langchain_documents(articles)
    FAISS.from_documents(docs, embeddings)
    seconds = time.perf_counter() - began
    return {
        "chunks": len(docs),
        "chars": sum(len(d.page_content) for d in docs),
        "seconds": seconds,
        "embed_seconds": None,
        "peak_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=ARTICLES)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each system (medians shown)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work = {"ours": ours, "ours-torch": lambda a: ours(a, "torch"), "langchain": langchain}
        print(json.dumps(work[args.worker](args.articles)))
        return
    systems = ["ours", "ours-torch"] + (["langchain"] if have_langchain() else [])
    if "langchain" not in systems:
        print(LANGCHAIN_MISSING)
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for round_ in range(args.rounds):
        for system in systems if round_ % 2 == 0 else systems[::-1]:
            print(f"round {round_ + 1}: {system}...", flush=True)
            runs[system].append(run_worker(Path(__file__), system, "--articles", str(args.articles)))
    rows, rates = [], {}
    for system, results in runs.items():
        seconds = median([r["seconds"] for r in results])
        chunks, chars = results[0]["chunks"], results[0]["chars"]
        rates[system] = (chunks / seconds, chars / seconds, seconds)
        rows.append(
            [
                system,
                chunks,
                round(chars / chunks),
                seconds,
                chunks / seconds,
                chars / seconds / 1000,
                median([r["peak_mb"] for r in results]),
            ]
        )
    print(
        table(
            ["system", "chunks", "chars/chunk", "seconds", "chunks/s", "k chars/s", "peak RSS MB"],
            rows,
            f"Indexing {args.articles.name} ({args.rounds} round(s), medians)",
        )
    )
    first = runs["ours"][0]
    print(
        table(
            ["stage (ours, int8, round 1)", "seconds", "share"],
            [
                [k, v, f"{100 * v / first['seconds']:.1f}%"]
                for k, v in sorted(first["stages"].items(), key=lambda kv: -kv[1])
            ],
            "Where the time of ours went",
        )
    )
    s_torch = rates["ours-torch"][2]
    print(f"\nours int8 / ours torch fp32: {rates['ours'][2] / s_torch:.2f}x its time")
    if "langchain" in rates:
        (c0, k0, s0), (c1, k1, s1) = rates["ours"], rates["langchain"]
        print(
            f"ours (int8) / LangChain: {s0 / s1:.2f}x its time ({c0 / c1:.2f}x chunks/s, "
            f"{k0 / k1:.2f}x characters/s); ours with torch fp32: {s_torch / s1:.2f}x its time"
        )


if __name__ == "__main__":
    main()
