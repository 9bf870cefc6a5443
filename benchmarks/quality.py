"""Retrieval quality: ours vs the LangChain FAISS recipe on the SQuAD dev set, paragraph recall@5.

    .venv/bin/python benchmarks/quality.py [--sample N]

A retrieved passage is correct when its span overlaps the gold paragraph (the definition of
``rag eval``, README "Evaluation"). Ours returns 5 paragraphs (hybrid, and dense alone);
LangChain returns 5 chunks of up to 1,000 characters (RecursiveCharacterTextSplitter 1000/200 +
HuggingFaceEmbeddings of the same model + FAISS.similarity_search), whose spans come from the
splitter's start_index. Its chunks are longer than a paragraph, which favours it on overlap; the
table shows the characters each returns per question.
"""

from __future__ import annotations

import argparse
import random

from _common import (
    ARTICLES,
    LANGCHAIN_MISSING,
    QUESTIONS,
    have_langchain,
    langchain_documents,
    langchain_embeddings,
    squad_index,
    table,
)

K = 5


def answerable(sample: int | None):
    from rag.evaluate.metrics import load_questions

    questions, _ = load_questions(QUESTIONS)
    questions = [q for q in questions if not q.unanswerable]
    if sample:
        questions = random.Random(0).sample(questions, min(sample, len(questions)))
    return questions


def ours(index, settings, questions, mode: str) -> tuple[float, float]:
    from rag.answer.retrieve import retrieve
    from rag.embed.encoder import Embedder
    from rag.evaluate.metrics import gold_spans, overlaps

    embedder = Embedder(settings)
    vectors = embedder.encode([q.question for q in questions]) if mode != "bm25" else [None] * len(questions)
    hits_found, chars = 0, 0
    for question, vector in zip(questions, vectors):
        spans = gold_spans(question, index)
        hits = retrieve(
            index,
            question.question,
            vector,
            k=K,
            mode=mode,
            fusion=settings.fusion,
            dense_weight=settings.dense_weight,
        )
        hits_found += any(overlaps(h.doc, h.start, h.end, spans) for h in hits)
        chars += sum(h.end - h.start for h in hits)
    return hits_found / len(questions), chars / len(questions)


def langchain(index, questions) -> tuple[float, float]:
    from langchain_community.vectorstores import FAISS

    from rag.evaluate.metrics import gold_spans, overlaps

    embeddings = langchain_embeddings()
    store = FAISS.from_documents(langchain_documents(ARTICLES), embeddings)
    vectors = embeddings.embed_documents([q.question for q in questions])  # = embed_query, batched
    hits_found, chars = 0, 0
    for question, vector in zip(questions, vectors):
        spans = gold_spans(question, index)
        docs = store.similarity_search_by_vector(vector, k=K)
        hits_found += any(
            overlaps(
                d.metadata["doc"],
                d.metadata["start_index"],
                d.metadata["start_index"] + len(d.page_content),
                spans,
            )
            for d in docs
        )
        chars += sum(len(d.page_content) for d in docs)
    return hits_found / len(questions), chars / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="questions (default: every answerable one)")
    args = parser.parse_args()
    index, settings = squad_index()
    questions = answerable(args.sample)
    rows = []
    for mode in ("hybrid", "dense"):
        recall, chars = ours(index, settings, questions, mode)
        rows.append([f"ours ({mode}), paragraphs", recall, round(chars)])
    if have_langchain():
        recall, chars = langchain(index, questions)
        rows.append(["LangChain recipe, 1000/200 chunks", recall, round(chars)])
    else:
        print(LANGCHAIN_MISSING)
    print(
        table(
            ["system", f"recall@{K}", f"chars returned (top {K})"],
            rows,
            f"Retrieval quality, {len(questions)} answerable SQuAD dev questions",
        )
    )
    if len(rows) == 3:
        print(
            f"\nrecall@{K}: ours (hybrid) - LangChain = {100 * (rows[0][1] - rows[2][1]):+.1f} points, "
            f"returning {rows[0][2] / rows[2][2]:.2f}x the text"
        )


if __name__ == "__main__":
    main()
