"""Embedding throughput and agreement: torch fp32, ONNX fp32 and ONNX int8 on the same texts.

    .venv/bin/python benchmarks/encoders.py [--articles DIR] [--every 3] [--rounds 1]

The texts are what ``rag index`` embeds for the SQuAD dev articles: chunks (title + paragraph)
and sentences (every --every-th of each, in their sorted-by-length batches). Torch fp32 is
sentence-transformers (RAG_ENCODER=torch), the reference for the cosines; the ONNX variants are
the cached exports (made first if missing, outside the clock). Each encoder runs in turn, in
alternating order when --rounds > 1; wall-clock rates depend on the machine's load (quoted), the
ratios within one run less so; CPU seconds per text are quoted too.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import ARTICLES, median, table

ENCODERS = {"torch fp32": "torch", "ONNX fp32": "fp32", "ONNX int8": "int8"}


def texts(articles: Path, every: int) -> dict[str, list[str]]:
    from rag.ingest import chunk_article, doc_name, embedding_text, parse_article, read_file, scan_articles
    from rag.settings import Settings
    from rag.store.sentence_vectors import sentence_texts

    settings = Settings()
    chunks, sentences = [], []
    for path in scan_articles(articles).files:
        article, _ = parse_article(path, doc_name(path, articles), read_file(path, settings, articles))
        chunks += [embedding_text(article, c) for c in chunk_article(article, settings)]
        sentences += sentence_texts(article)
    return {"chunks": chunks[::every], "sentences": sentences[::every]}


def timed(embedder, items: list[str]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.encode(items)
    return time.perf_counter() - wall, time.process_time() - cpu, vectors


def main() -> None:
    import numpy as np

    from rag.embed.encoder import Embedder
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=ARTICLES)
    parser.add_argument("--every", type=int, default=3, help="embed every n-th chunk and sentence")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sets = texts(args.articles, args.every)
    embedders = {}
    for name, encoder in ENCODERS.items():
        embedders[name] = Embedder(Settings.from_env(encoder=encoder))
        embedders[name].encode(["warm up"])  # loaded (and exported, the first time) outside the clock
    runs = {(n, k): [] for n in ENCODERS for k in sets}
    vectors = {}
    names = list(ENCODERS)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            for kind, items in sets.items():
                wall, cpu, vectors[name, kind] = timed(embedders[name], items)
                runs[name, kind].append((wall, cpu))
    rows = []
    for name in ENCODERS:
        row = [name]
        for kind, items in sets.items():
            wall = median([w for w, _ in runs[name, kind]])
            cpu = median([c for _, c in runs[name, kind]])
            cosine = float(np.mean(np.sum(vectors[name, kind] * vectors["torch fp32", kind], axis=1)))
            row += [len(items) / wall, len(items) / cpu, cosine]
        row.append(
            median([w for w, _ in runs["torch fp32", "chunks"]])
            / median([w for w, _ in runs[name, "chunks"]])
        )
        rows.append(row)
    headers = [
        "encoder",
        "chunks/s",
        "chunks/CPU-s",
        "cosine (chunks)",
        "sentences/s",
        "sentences/CPU-s",
        "cosine (sentences)",
        "chunk rate vs torch",
    ]
    n_chunks, n_sentences = len(sets["chunks"]), len(sets["sentences"])
    print(
        table(
            headers,
            rows,
            f"Embedding {n_chunks} chunks and {n_sentences} sentences of "
            f"{args.articles.name} ({args.rounds} round(s), medians)",
        )
    )


if __name__ == "__main__":
    main()
