"""Query latency with the model loaded, on the SQuAD dev articles (16 articles indexed together).

    .venv/bin/python benchmarks/query_latency.py [-n 300]

Prints p50/p95 per stage for hybrid, dense-only and BM25-only retrieval, and each mode's median
relative to dense-only (the plain vector-search alternative), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate.summary import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=ROOT / "evalsets/squad-dev/articles")
    parser.add_argument("--questions", type=Path, default=ROOT / "evalsets/squad-dev/questions.jsonl")
    parser.add_argument("--index", type=Path, default=ROOT / "benchmarks/.cache/squad-dev-index")
    parser.add_argument("-n", type=int, default=300, help="questions per mode")
    args = parser.parse_args()

    from rag.answer.assistant import Assistant
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = Settings.from_env(index_dir=args.index)
    report = update_index(args.articles, settings)
    print(f"index: {report.articles} articles, {report.chunks} chunks ({args.index})")
    assistant = Assistant(settings, index=Index.load(args.index, settings))
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines()]
    random.Random(0).shuffle(questions)
    questions = questions[: args.n]
    for question in questions[:10]:  # warm-up: model load, caches
        assistant.ask(question)

    rows = {}
    for mode in ("hybrid", "dense", "bm25"):
        answers = [assistant.ask(q, mode=mode) for q in questions]
        rows[mode] = {
            stage: [a.timings_ms[stage] for a in answers]
            for stage in ("embed", "retrieve", "answer", "total")
        }
    base = statistics.median(rows["dense"]["total"])
    print(f"\n{len(questions)} questions per mode, milliseconds (median of runs; p95)")
    print(
        f"{'mode':8} {'embed p50':>10} {'retrieve p50':>13} {'answer p50':>11} "
        f"{'total p50':>10} {'total p95':>10} {'p50 / dense':>12}"
    )
    for mode, stages in rows.items():
        p50 = {s: statistics.median(v) for s, v in stages.items()}
        print(
            f"{mode:8} {p50['embed']:10.1f} {p50['retrieve']:13.1f} {p50['answer']:11.1f} "
            f"{p50['total']:10.1f} {percentile(stages['total'], 0.95):10.1f} "
            f"{p50['total'] / base:12.2f}"
        )


if __name__ == "__main__":
    main()
