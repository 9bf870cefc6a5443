"""Query latency at 10k, 100k and 1M chunks: exact vs approximate index, and the LangChain recipe.

    .venv/bin/python benchmarks/query_scale.py [--sizes 10000,100000,1000000] [-n 200]

Large corpora are synthesised from the real chunk vectors of the SQuAD dev articles: each
synthetic vector mixes two real ones with a random weight, plus a little noise (so it sits
between real topics, as a bigger corpus would), normalised; the real vectors are included.
Queries are real SQuAD questions, embedded with the model loaded, each a different question
(the query cache is cleared), so every latency includes embedding the question.

Per size: p50/p95 of embed + search (50 candidates, as retrieval asks), the search alone,
recall@10 of the approximate index against exact search on the same queries, bytes per chunk
of the vector structure (its serialised size; vectors + ids + index), and build time. The
LangChain recipe (HuggingFaceEmbeddings + LangChain's FAISS, exact IndexFlatL2, in memory)
answers the same questions over the same vectors with similarity_search_with_score.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np
from _common import (
    LANGCHAIN_MISSING,
    QUESTIONS,
    have_langchain,
    langchain_embeddings,
    percentile,
    squad_index,
    table,
)

CANDIDATES = 50  # what retrieve() asks the vector index for


def synthesise(base: np.ndarray, n: int, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype="float32")
    out[: min(n, len(base))] = base[:n]
    for begin in range(len(base), n, 100_000):
        m = min(100_000, n - begin)
        i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        a = rng.random((m, 1), dtype="float32")
        v = a * base[i] + (1 - a) * base[j] + noise * rng.standard_normal((m, base.shape[1]), dtype="float32")
        out[begin : begin + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def timed_queries(index, embedder, questions: list[str]) -> tuple[list[float], list[float], list]:
    total, search, found = [], [], []
    embedder._queries.clear()
    for question in questions:
        began = time.perf_counter()
        vector = embedder.encode_query(question)
        embedded = time.perf_counter()
        hits = index.search(vector, CANDIDATES)
        done = time.perf_counter()
        total.append((done - began) * 1000)
        search.append((done - embedded) * 1000)
        found.append([chunk_id for chunk_id, _ in hits[:10]])
    return total, search, found


class IdIndex:
    """Our vector store's search over bare vectors, (chunk id, score) pairs: ``Index.search``
    less the chunk rows it then reads from disk (measured in rows_scale.py)."""

    def __init__(self, vectors, ids) -> None:
        from rag.store import ann
        from rag.store.faiss_vectors import FaissVectors

        self.store = FaissVectors(vectors, ann.Policy())

    def search(self, vector, k: int):
        return self.store.search(vector, k)


CODEC = {"ivf-fp16": "SQfp16", "ivf-sq8": "SQ8"}  # ann.IVF, ann.IVF_SQ8: FAISS's factory names


def bytes_per_chunk(vectors) -> float:
    import faiss

    return len(faiss.serialize_index(vectors)) / vectors.ntotal


def measure_size(n: int, base, embedder, questions, lc_embeddings) -> list[list]:
    from rag.store import ann

    data = synthesise(base, n)
    ids = np.random.default_rng(1).choice(2**62, n, replace=False).astype("int64")
    rows = []
    began = time.perf_counter()
    flat = ann.new_flat(data.shape[1])
    flat.add_with_ids(data, ids)
    flat_build = time.perf_counter() - began
    total, search, exact = timed_queries(IdIndex(flat, ids), embedder, questions)
    rows.append(
        [
            n,
            "ours, exact (flat)",
            percentile(total, 0.5),
            percentile(total, 0.95),
            percentile(search, 0.5),
            "1.000",
            bytes_per_chunk(flat),
            flat_build,
        ]
    )
    began = time.perf_counter()
    ivf, info = ann.rebuild(flat, ids, ann.Policy("ivf"))
    ivf_build = time.perf_counter() - began
    total, search, approx = timed_queries(IdIndex(ivf, ids), embedder, questions)
    recall = np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact)])
    rows.append(
        [
            n,
            f"ours, approximate (IVF{info['nlist']},{CODEC[ann.layout(ivf)]}, nprobe {info['nprobe']})",
            percentile(total, 0.5),
            percentile(total, 0.95),
            percentile(search, 0.5),
            f"{recall:.3f}",
            bytes_per_chunk(ivf),
            ivf_build,
        ]
    )
    del ivf, flat
    if lc_embeddings is not None:
        rows.append(langchain_row(n, data, lc_embeddings, questions))
    return rows


def langchain_row(n: int, data, embeddings, questions) -> list:
    import faiss
    from langchain_community.vectorstores import FAISS

    began = time.perf_counter()
    store = FAISS.from_embeddings(((f"chunk {i}", data[i]) for i in range(n)), embeddings)
    build = time.perf_counter() - began
    times, search = [], []
    for question in questions:
        began = time.perf_counter()
        vector = embeddings.embed_query(question)
        embedded = time.perf_counter()
        store.similarity_search_with_score_by_vector(vector, k=CANDIDATES)
        done = time.perf_counter()
        times.append((done - began) * 1000)
        search.append((done - embedded) * 1000)
    size = len(faiss.serialize_index(store.index)) / n
    return [
        n,
        "LangChain recipe (exact IndexFlatL2)",
        percentile(times, 0.5),
        percentile(times, 0.95),
        percentile(search, 0.5),
        "1.000",
        size,
        build,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("-n", type=int, default=200, help="questions per configuration")
    parser.add_argument("--no-langchain", action="store_true")
    args = parser.parse_args()
    from rag.embed.encoder import Embedder

    index, settings = squad_index()
    ids = np.fromiter(index.chunks, dtype="int64")
    base = index.vectors.get(ids)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    random.Random(0).shuffle(questions)
    questions = questions[: args.n]
    embedder = Embedder(settings)
    for q in questions[:5]:
        embedder.encode_query(q)  # warm-up
    lc = None
    if not args.no_langchain:
        if have_langchain():
            lc = langchain_embeddings()
            lc.embed_query("warm up")
        else:
            print(LANGCHAIN_MISSING)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows += measure_size(n, base, embedder, questions, lc)
        print(table(HEADERS, rows[-3:] if lc else rows[-2:]), flush=True)
    print(
        table(
            HEADERS,
            rows,
            f"Query latency, {len(questions)} questions per row, model loaded "
            "(ms; p50/p95 of embed + search)",
        )
    )
    for n in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == n]
        best = min(r[2] for r in mine[:2])
        if len(mine) == 3:
            print(
                f"{n:>9,} chunks: LangChain p50 / our best p50 = {mine[2][2] / best:.2f}x; "
                f"exact / approximate search alone = {mine[0][4] / mine[1][4]:.1f}x"
            )
        else:
            print(f"{n:>9,} chunks: exact / approximate search alone = {mine[0][4] / mine[1][4]:.1f}x")


HEADERS = ["chunks", "index", "p50 ms", "p95 ms", "search p50 ms", "recall@10", "bytes/chunk", "build s"]

if __name__ == "__main__":
    main()
