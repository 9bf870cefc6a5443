"""FAISS vs Milvus (milvus-lite, in-process) as the vector store, on the SQuAD dev articles.

    .venv/bin/python benchmarks/stores.py [-n 1000] [--rounds 3] [--milvus milvus://HOST:PORT/COLLECTION]

For each store, in alternating order, ``--rounds`` times:

* index time: ``update_index`` of the 16 articles from scratch (reading, chunking, BM25, the
  store's writes, the atomic save). The chunks are embedded once beforehand and served from
  memory to both, so the figure is what the store costs, not the model (the embedding time,
  the same for both, is printed separately);
* query latency: the dense search alone (``Index.search``, 20 chunks) and the whole hybrid
  retrieval (``Assistant.search``: dense + BM25 + fusion, 5 paragraphs), with the question
  vectors computed beforehand, p50 and p95 over ``-n`` questions;
* paragraph recall@5 of dense and hybrid retrieval on the answerable questions.

Both stores search exactly (FAISS ``IndexFlatIP``, Milvus ``FLAT``/IP), so recall should agree;
the latency is what a Milvus client-server round trip adds. With ``--milvus milvus://...`` the
server holds the whole index, so the hybrid figures are Milvus's own BM25 full-text search
against ours (SQLite FTS5) too; with milvus-lite in-process only the vectors move.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from _common import ARTICLES, QUESTIONS, median, percentile, table


class CachedEncoder:
    """The real model's vectors, computed once and served from memory to every build."""

    def __init__(self, embedder, vectors: dict[str, object]) -> None:
        self.embedder, self.vectors = embedder, vectors
        self.dimension = embedder.dimension
        self.model = None

    def encode(self, texts, progress=None):
        import numpy as np

        if progress:
            progress(len(texts))
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:  # the reader's sentences: embedded on the first build, then served from here too
            self.vectors.update(zip(missing, self.embedder.encode(missing)))
        return np.stack([self.vectors[t] for t in texts])

    def encode_query(self, text: str):
        if text not in self.vectors:  # a question the cleaning changed (spaces trimmed)
            self.vectors[text] = self.embedder.encode_query(text)
        return self.vectors[text]


def embed_corpus(embedder, settings) -> tuple[dict, float]:
    from rag.ingest import chunk_article, embedding_text, find_articles, parse_article

    texts = []
    for path in find_articles(ARTICLES):
        article, _ = parse_article(path, path.relative_to(ARTICLES).as_posix(), path.read_bytes())
        texts += [embedding_text(article, c) for c in chunk_article(article, settings)]
    began = time.perf_counter()
    vectors = embedder.encode(texts)
    return dict(zip(texts, vectors)), time.perf_counter() - began


def store_value(store: str, work: Path) -> str:
    """``faiss``, a milvus-lite file in ``work``, or a server's ``milvus://`` address as given."""
    if store == "faiss" or "://" in store:
        return store
    return str(work / "vectors.db")


def build(store: str, work: Path, encoder, round_: int):
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    name = "faiss" if store == "faiss" else "milvus"
    settings = Settings(index_dir=work / f"{name}-{round_}", store=store_value(store, work))
    began = time.perf_counter()
    update_index(ARTICLES, settings, embedder=encoder, rebuild=True, progress=False)
    seconds = time.perf_counter() - began
    return Index.load(settings.index_dir, settings), settings, seconds


def query_times(index, settings, encoder, questions) -> dict[str, list[float]]:
    from rag.answer.assistant import Assistant

    assistant = Assistant(settings, index=index, embedder=encoder)
    dense, hybrid = [], []
    for q in questions:
        vector = encoder.encode_query(q.question)
        began = time.perf_counter()
        index.search(vector, 20)
        dense.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        assistant.search(q.question, k=5, mode="hybrid")
        hybrid.append((time.perf_counter() - began) * 1000)
    return {"dense": dense, "hybrid": hybrid}


def recall_at_5(index, settings, encoder, questions, mode: str) -> float:
    from rag.answer.assistant import Assistant
    from rag.evaluate.metrics import gold_spans, overlaps

    assistant = Assistant(settings, index=index, embedder=encoder)
    found = []
    for q in questions:
        spans = gold_spans(q, index)
        hits = assistant.search(q.question, k=5, mode=mode).hits
        found.append(any(overlaps(h.doc, h.start, h.end, spans) for h in hits))
    return sum(found) / len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="questions timed and scored")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--milvus",
        default="milvus-lite",
        help="milvus-lite (in this process), or a server: milvus://HOST:PORT/COLLECTION",
    )
    args = parser.parse_args()
    stores = ("faiss", args.milvus)
    from rag.embed.encoder import Embedder
    from rag.evaluate.metrics import load_questions
    from rag.settings import Settings

    settings = Settings()
    embedder = Embedder(settings)
    _ = embedder.model
    vectors, embed_seconds = embed_corpus(embedder, settings)
    questions = [q for q in load_questions(QUESTIONS)[0] if not q.unanswerable]
    random.Random(0).shuffle(questions)
    questions = questions[: args.n]
    vectors.update(zip([q.question for q in questions], embedder.encode([q.question for q in questions])))
    encoder = CachedEncoder(embedder, vectors)
    print(
        f"{len(vectors) - len(questions)} chunks embedded once in {embed_seconds:.1f} s "
        f"(shared by both stores); {len(questions)} questions",
        flush=True,
    )

    work = Path(tempfile.mkdtemp(prefix="rag-stores-"))
    runs = {s: {"index": [], "dense": [], "hybrid": []} for s in stores}
    recall = {}
    try:
        for round_ in range(args.rounds):
            for store in stores if round_ % 2 == 0 else reversed(stores):
                index, store_settings, seconds = build(store, work, encoder, round_)
                times = query_times(index, store_settings, encoder, questions)
                runs[store]["index"].append(seconds)
                runs[store]["dense"] += times["dense"]
                runs[store]["hybrid"] += times["hybrid"]
                if round_ == 0:
                    recall[store] = {
                        m: recall_at_5(index, store_settings, encoder, questions, m)
                        for m in ("dense", "hybrid")
                    }
                print(
                    f"round {round_ + 1} {store}: index {seconds:.2f} s, dense p50 "
                    f"{median(times['dense']):.2f} ms, hybrid p50 {median(times['hybrid']):.2f} ms",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        [
            s,
            median(r["index"]),
            median(r["dense"]),
            percentile(r["dense"], 0.95),
            median(r["hybrid"]),
            percentile(r["hybrid"], 0.95),
            f"{recall[s]['dense']:.3f}",
            f"{recall[s]['hybrid']:.3f}",
        ]
        for s, r in runs.items()
    ]
    print(
        table(
            [
                "store",
                "index s (median)",
                "dense p50 ms",
                "dense p95 ms",
                "hybrid p50 ms",
                "hybrid p95 ms",
                "recall@5 dense",
                "recall@5 hybrid",
            ],
            rows,
            f"FAISS vs {args.milvus} on the SQuAD dev articles ({len(questions)} questions, "
            f"{args.rounds} rounds; embedding excluded)",
        )
    )
    faiss, milvus = rows
    print(
        f"{args.milvus} / FAISS: index time {milvus[1] / faiss[1]:.2f}x, dense search p50 "
        f"{milvus[2] / faiss[2]:.1f}x, hybrid retrieval p50 {milvus[4] / faiss[4]:.2f}x"
    )


if __name__ == "__main__":
    main()
