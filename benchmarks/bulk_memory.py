"""Peak memory of bulk indexing: streamed in steps (ours) vs the whole corpus read at once.

    .venv/bin/python benchmarks/bulk_memory.py [--articles 100000] [--store faiss|PATH.db]
        [--encoder hash|model]

Makes a synthetic corpus of ``--articles`` Markdown files (3 paragraphs, about 1.2 kB each, words
drawn from a fixed vocabulary), then runs ``update_index`` in a fresh process per configuration
and reports its peak resident memory:

* streamed: ``ingest_chunks=2048`` (the default): files are read, chunked and embedded 2,048
  chunks at a time, each step handed to the index before the next is read;
* all at once: ``ingest_chunks`` larger than the corpus, so every file is read and every chunk
  embedded before the first one reaches the index (how the indexer worked before).

``--encoder hash`` (the default) swaps the embedding model for a deterministic hash encoder of
the same interface and dimension, so 100k articles take minutes, not hours; the model itself adds
a constant ~250 MB, which ``--encoder model`` measures on a smaller corpus. What remains in the
streamed figure is the index's own state (article texts and chunk rows, which citations quote,
and the FAISS vectors unless the store is Milvus).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import zlib
from pathlib import Path

from _common import median, peak_rss_mb, run_worker, table

WORDS = [w for w in (Path(__file__).read_text().split()) if w.isalpha()] + [
    "river",
    "council",
    "bridge",
    "harbour",
    "election",
    "museum",
    "railway",
    "treaty",
    "orchestra",
    "glacier",
    "festival",
    "parliament",
    "engineer",
    "vaccine",
    "satellite",
    "harvest",
    "dynasty",
]


def make_corpus(folder: Path, count: int) -> None:
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        sub = folder / f"{n // 1000:03d}"
        sub.mkdir(exist_ok=True)
        paragraphs = [" ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + "." for _ in range(3)]
        (sub / f"a{n:06d}.md").write_text(f"# Article {n}\n\n" + "\n\n".join(paragraphs) + "\n")


class HashEncoder:
    """Deterministic unit vectors from a text's hash: the Embedder's interface, none of its cost."""

    dimension = 384
    model = None

    def encode(self, texts, progress=None):
        import numpy as np

        out = np.empty((len(texts), self.dimension), dtype="float32")
        for row, text in enumerate(texts):
            out[row] = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dimension)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if progress:
            progress(len(texts))
        return out


def worker(folder: Path, steps: int, store: str, encoder: str) -> dict:
    from rag.embed.encoder import Embedder
    from rag.settings import Settings
    from rag.store.indexer import update_index

    work = Path(tempfile.mkdtemp(prefix="rag-bulk-"))
    try:
        store_value = store if store == "faiss" or "://" in store else str(work / Path(store).name)
        settings = Settings(index_dir=work / "index", ingest_chunks=steps, store=store_value)
        embedder = HashEncoder() if encoder == "hash" else Embedder(settings)
        if encoder == "model":
            _ = embedder.model
        _import_what_indexing_uses(store)
        baseline = peak_rss_mb()  # libraries loaded: what follows is the indexing itself
        began = time.perf_counter()
        report = update_index(folder, settings, embedder=embedder, progress=False)
        seconds = time.perf_counter() - began
        return {
            "peak_mb": peak_rss_mb(),
            "baseline_mb": baseline,
            "seconds": seconds,
            "articles": report.articles,
            "chunks": report.chunks,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _import_what_indexing_uses(store: str) -> None:
    import bm25s  # noqa: F401
    import faiss  # noqa: F401
    import numpy  # noqa: F401
    import sentencex  # noqa: F401
    import Stemmer  # noqa: F401
    import tqdm  # noqa: F401
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401

    if store != "faiss":
        import pymilvus  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--store",
        default="faiss",
        help="faiss, a milvus-lite file name (vectors.db), or milvus://HOST:PORT/COLLECTION",
    )
    parser.add_argument("--encoder", choices=("hash", "model"), default="hash")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--only", choices=("", "streamed", "all"), default="", help="run one of the two configurations"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=2048, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.folder, args.steps, args.store, args.encoder)))
        return
    folder = Path(tempfile.mkdtemp(prefix="rag-corpus-"))
    try:
        began = time.perf_counter()
        make_corpus(folder, args.articles)
        size = sum(p.stat().st_size for p in folder.rglob("*.md")) / 1e6
        print(
            f"corpus: {args.articles:,} articles, {size:,.0f} MB, made in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
        configs = [("streamed (ingest_chunks=2048)", 2048), ("all at once", 10**9)]
        configs = [c for c in configs if args.only in ("", c[0].split()[0])]
        runs: dict[str, list[dict]] = {name: [] for name, _ in configs}
        for _ in range(args.rounds):
            for name, steps in configs:
                result = run_worker(
                    Path(__file__),
                    "--folder",
                    str(folder),
                    "--steps",
                    str(steps),
                    "--store",
                    args.store,
                    "--encoder",
                    args.encoder,
                )
                runs[name].append(result)
                print(name, result, flush=True)
        rows = []
        for name, results in runs.items():
            rows.append(
                [
                    name,
                    results[0]["articles"],
                    results[0]["chunks"],
                    median([r["baseline_mb"] for r in results]),
                    median([r["peak_mb"] for r in results]),
                    median([r["peak_mb"] - r["baseline_mb"] for r in results]),
                    median([r["seconds"] for r in results]),
                ]
            )
        print(
            table(
                [
                    "indexing",
                    "articles",
                    "chunks",
                    "RSS before (MB)",
                    "peak RSS (MB)",
                    "growth (MB)",
                    "seconds",
                ],
                rows,
                f"Bulk indexing, {args.articles:,} synthetic articles ({size:,.0f} MB), store "
                f"{args.store}, encoder {args.encoder}, median of {args.rounds}",
            )
        )
        if len(rows) < 2:
            return
        streamed, whole = rows[0][5], rows[1][5]
        print(
            f"memory growth: all at once / streamed = {whole / streamed:.2f}x; "
            f"streamed growth per MB of corpus = {streamed / size:.2f} MB"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
