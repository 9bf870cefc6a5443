"""The learned reader, with and without the re-ranker, against the word-overlap reader it replaced.

    .venv/bin/python benchmarks/reader.py [-n 400]

For each question set (the paraphrase and seed sets over the bundled samples, and ``-n`` SQuAD
dev questions, evenly spaced) the three readers answer the same questions with the same index and
retrieval, in one run; the script prints top citation, containment, false abstention, abstention
precision/recall, and per-question p50/p95 (model loaded, embedding + retrieval + reading), with
each reader's p50 as a ratio of the lexical one's.
"""

from __future__ import annotations

import argparse
import time

from _common import ARTICLES, QUESTIONS, ROOT, median, percentile, squad_index, table

SHARED = ROOT.parent / "shared" / "eval"
READERS = (("lexical", False), ("learned", False), ("learned", True))  # (reader, RAG_RERANK)
SETS = (
    ("paraphrase", ROOT / "evalsets/seed_paraphrase_dev.jsonl", ROOT / "articles"),
    ("seed_dev", ROOT / "evalsets/seed_dev.jsonl", ROOT / "articles"),
    ("squad-dev", QUESTIONS, ARTICLES),
)


def run_set(path, articles, sample_size: int) -> list[list]:
    from rag.answer.assistant import Assistant
    from rag.evaluate.metrics import load_questions, run_eval, sample
    from rag.evaluate.summary import aggregate
    from rag.settings import Settings

    questions, _ = load_questions(path)
    questions = sample(questions, sample_size)
    if articles == ARTICLES:
        index, settings = squad_index()
    else:
        from rag.store.first_use import load_or_build

        settings = Settings.from_env()
        index = load_or_build(settings)
    rows = []
    results = {}
    for reader, rerank in READERS:
        assistant = Assistant(settings.with_(reader=reader, rerank=rerank), index=index)
        for q in questions[:5]:  # warm-up: model, scorer, caches
            assistant.ask(q.question, k=10)
        assistant.embedder._queries.clear()  # both readers embed every question themselves
        began = time.perf_counter()
        run, _ = run_eval(lambda q, a=assistant: a.ask(q, k=10), questions, index, reader, progress=False)
        results[reader + (" + re-ranker" if rerank else "")] = (run, time.perf_counter() - began)
    base = median([r.latency_ms for r in results["lexical"][0].results])
    for reader, (run, _) in results.items():
        m = aggregate(run.results)
        lat = [r.latency_ms for r in run.results]
        rows.append(
            [
                reader,
                m["answerable"],
                m["top_citation_correct"],
                m["answer_containment"],
                m["false_abstention_rate"],
                m.get("abstention_precision", "-"),
                m.get("abstention_recall", "-"),
                median(lat),
                percentile(lat, 0.95),
                f"{median(lat) / base:.2f}x",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=400, help="SQuAD dev questions (evenly spaced)")
    args = parser.parse_args()
    headers = [
        "reader",
        "answerable",
        "top citation",
        "containment",
        "false abst.",
        "abst. P",
        "abst. R",
        "p50 ms",
        "p95 ms",
        "p50 / lexical",
    ]
    for name, path, articles in SETS:
        rows = run_set(path, articles, args.n if name == "squad-dev" else 0)
        print(table(headers, rows, title=f"{name} ({path.name})"))


if __name__ == "__main__":
    main()
