"""Calibrate the support threshold of answer verification on the SQuAD dev articles.

    .venv/bin/python benchmarks/calibrate_verification.py [-n 600]

Claims are made from dev questions: "<question without '?'> <answer>". A claim checked against
its gold paragraph should be supported (positive); the same claim against the best-ranked
paragraph that is not gold, and the question with another question's answer against the gold
paragraph, should not (negatives: an unsupported citation, an invented answer). Prints, per
threshold, how many supported claims are kept and how many unsupported ones slip through.

Then the obvious alternative, the reader's re-ranker (the cross-encoder that chooses extractive
answers) reading (claim, sentence) for each sentence of the cited paragraph, its best logit as the
support: at the thresholds that keep the same share of supported claims, which lets fewer
unsupported ones through?
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "benchmarks/.cache/squad-dev-index")
    parser.add_argument("--articles", type=Path, default=ROOT / "evalsets/squad-dev/articles")
    parser.add_argument("--questions", type=Path, default=ROOT / "evalsets/squad-dev/questions.jsonl")
    parser.add_argument("-n", type=int, default=600)
    args = parser.parse_args()

    from rag.answer.assistant import Assistant
    from rag.answer.verify import Claim, _sentences, check_claims
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = Settings.from_env(index_dir=args.index)
    update_index(args.articles, settings, progress=False)
    assistant = Assistant(settings, index=Index.load(args.index, settings))
    rows = [json.loads(line) for line in args.questions.read_text().splitlines()]
    rows = [r for r in rows if not r.get("unanswerable") and r["answer_any"]]
    rng = random.Random(0)
    rng.shuffle(rows)
    rows = rows[: args.n]
    reranker = assistant.reranker
    scored: dict[str, list[float]] = {"gold": [], "other paragraph": [], "wrong answer": []}
    crossed: dict[str, list[float]] = {name: [] for name in scored}
    for row in rows:
        hits = list(assistant.ask(row["question"], k=10).passages)
        gold = next((n for n, h in enumerate(hits, 1) if row["gold"][0]["quote"] in h.text), None)
        other = next((n for n, h in enumerate(hits, 1) if row["gold"][0]["quote"] not in h.text), None)
        if gold is None or other is None:
            continue
        stem = row["question"].rstrip("?")
        wrong = rng.choice(rows)["answer_any"][0]
        cases = {
            "gold": Claim(f"{stem} {row['answer_any'][0]}.", (gold,)),
            "other paragraph": Claim(f"{stem} {row['answer_any'][0]}.", (other,)),
            "wrong answer": Claim(f"{stem} {wrong}.", (gold,)),
        }
        for name, claim in cases.items():
            check = check_claims(
                [claim], hits, assistant.index, assistant.embedder, minimum=None, question=row["question"]
            )[0]
            scored[name].append(check.support)
            sentences = [text for _, _, text in _sentences(hits[claim.cited[0] - 1], assistant.index)]
            crossed[name].append(max(reranker.encoder.score(claim.text, sentences), default=-50.0))
    print(f"{len(scored['gold'])} questions; share of claims counted as supported, by threshold")
    print(f"{'threshold':>9} {'gold (keep)':>12} {'other paragraph':>16} {'wrong answer':>13}")
    for threshold in [x / 100 for x in range(30, 81, 5)]:
        shares = [sum(s >= threshold for s in v) / max(len(v), 1) for v in scored.values()]
        print(f"{threshold:9.2f} {shares[0]:12.3f} {shares[1]:16.3f} {shares[2]:13.3f}")
    print("\nunsupported claims let through at the threshold that keeps this share of supported ones")
    print(f"{'keep':>5} {'support: other':>15} {'wrong':>6} {'re-ranker: other':>17} {'wrong':>6}")
    for keep in (1.0, 0.98, 0.95, 0.90):
        cells = []
        for values in (scored, crossed):
            gold = sorted(values["gold"])
            cut = gold[min(int((1 - keep) * len(gold)), len(gold) - 1)] if gold else 0.0
            cells += [sum(v >= cut for v in values[n]) / max(len(values[n]), 1) for n in list(values)[1:]]
        print(f"{keep:5.2f} {cells[0]:15.3f} {cells[1]:6.3f} {cells[2]:17.3f} {cells[3]:6.3f}")


if __name__ == "__main__":
    main()
