"""Train the reader's scorer: a logistic model over meaning and word signals, and its calibration.

    python training/train_reader.py all       # mine, then fit (about 10 minutes on 2 CPU cores)
    python training/train_reader.py mine|fit [--quick]

Data: ``../shared/eval/squad-train`` only (10 SQuAD 2.0 train articles with answer spans, 348
unanswerable questions). ``mine`` retrieves for every question with the runtime's own code and
writes each candidate sentence's signals (``rag.answer.reader.candidates``) with its label (does it
overlap the answer span?). Each answerable question is mined twice: as asked, and with about half
of the words it shares with its answer sentence removed, because readers do not copy the
article's words the way SQuAD's annotators did. ``fit`` fits the model, the calibration of the
best candidate's score to a probability, and the abstention threshold, and prints held-out
figures by article (each article scored by a model fitted without it). squad-dev and the
paraphrase and seed sets are validation only.

Output: ``rag/answer/models/reader_scorer.json``. ``--quick`` runs both steps on a few questions of two
articles, writing into ``--work`` (a temporary folder by default), never into the package: the
smoke test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "eval"
TRAIN = SHARED / "squad-train"
QUICK_ARTICLES = ("To_Kill_a_Mockingbird.txt", "Solar_energy.txt")
MAX_FALSE_ABSTENTION = 0.03  # on training questions as asked (the squad-dev target)
MAX_FALSE_ABSTENTION_TWINS = 0.10  # on their delexicalised twins (the paraphrase target)
SECOND_RATIO = 0.5  # a runner-up is quoted too at half the best confidence (squad-dev: containment 0.81)
SEED = 13


# ---- mining: the runtime's own candidates, labelled ----------------------------------------------
def mine(
    questions_path: Path,
    articles: Path,
    index_dir: Path,
    out: Path,
    limit: int = 0,
    delexicalised: bool = True,
) -> None:
    """Retrieve for every question (and its delexicalised twin) and write its candidates' signals
    and labels."""
    from tqdm import tqdm

    from rag.answer.assistant import Assistant
    from rag.answer.reader import candidates
    from rag.settings import Settings
    from rag.store.indexer import update_index

    settings = Settings.from_env({}, index_dir=index_dir)
    update_index(articles, settings, progress=False)
    assistant = Assistant(settings)
    index = assistant.index
    rows = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line]
    present = {p.name for p in articles.iterdir()}
    rows = [r for r in rows if doc_of(r) in present or (r.get("unanswerable") and not doc_of(r))]
    if limit:
        rows = random.Random(SEED).sample(rows, min(limit, len(rows)))
    rng = random.Random(SEED)
    with out.open("w", encoding="utf-8") as sink:
        for row in tqdm(rows, desc=f"Mining {questions_path.parent.name}", unit="q"):
            spans = gold_spans(row, index)
            asked = [(row["question"], False)]
            golden = gold_sentences(spans, index)
            if delexicalised and golden:
                twin = delexicalise(row["question"], golden[0], rng)
                if twin != row["question"]:
                    asked.append((twin, True))
            for question, twin in asked:
                found = assistant.search(question, k=5)
                cands = candidates(found.query, found.vector, found.hits, index, assistant.embedder)
                record = {
                    "id": row["id"],
                    "question": question,
                    "delexicalised": twin,
                    "doc": doc_of(row),
                    "unanswerable": bool(row.get("unanswerable")),
                    "cands": [
                        {
                            "text": c.text,
                            "features": c.features,
                            "label": int(
                                any(d == c.hit.doc and s < c.end and c.start < e for d, s, e in spans)
                            ),
                        }
                        for c in cands
                    ],
                }
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")


def quick_articles(work: Path) -> Path:
    """Two short training articles, for the smoke run."""
    import shutil

    folder = work / "articles"
    folder.mkdir(exist_ok=True)
    for name in QUICK_ARTICLES:
        shutil.copy(TRAIN / "articles" / name, folder / name)
    return folder


def doc_of(row: dict) -> str:
    spans = row.get("answer_spans") or row.get("gold") or [{}]
    return spans[0].get("doc", "")


def gold_spans(row: dict, index) -> list[tuple[str, int, int]]:
    """(doc, start, end) of the answer: squad-train's answer spans, else the gold quotes found."""
    if row.get("answer_spans"):
        return [(s["doc"], int(s["start"]), int(s["end"])) for s in row["answer_spans"]]
    out = []
    for gold in row.get("gold", []):
        article = index.article_by_doc(gold["doc"])
        at = article.text.find(gold["quote"]) if article else -1
        if at >= 0:
            out.append((gold["doc"], at, at + len(gold["quote"])))
    return out


def gold_sentences(spans, index) -> list[str]:
    out = []
    for doc, start, end in spans:
        article = index.article_by_doc(doc)
        for para in article.paragraphs if article else ():
            for s, e in para.sentences:
                if s < end and start < e and article.text[s:e] not in out:
                    out.append(article.text[s:e])
    return out[:2]


def load_mined(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# ---- delexicalised questions --------------------------------------------------------------------
def delexicalise(question: str, sentence: str, rng: random.Random) -> str:
    """The question with about half of the words it shares with the answer sentence removed."""
    from rag.answer.extractive import content_terms

    shared = set(content_terms(question)) & set(content_terms(sentence))
    kept = [w for w in question.split() if not (set(content_terms(w)) & shared and rng.random() < 0.5)]
    return " ".join(kept) or question


# ---- the scorer --------------------------------------------------------------------------------------
def xy(mined):
    import numpy as np

    from rag.answer.reader import FEATURES

    x = [c["features"] for row in mined for c in row["cands"]]
    y = [c["label"] for row in mined for c in row["cands"]]
    if any(len(f) != len(FEATURES) for f in x):
        raise SystemExit(
            f"the mined candidates carry another set of signals than the reader's "
            f"{len(FEATURES)}; mine again: python training/train_reader.py mine"
        )
    return np.array(x, dtype="float64"), np.array(y)


def fit_linear(x, y, c: float = 1.0):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from rag.answer.reader import FEATURES, Linear

    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit((x - mean) / scale, y)
    return Linear(
        FEATURES,
        tuple(float(w) for w in model.coef_[0]),
        float(model.intercept_[0]),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in np.asarray(scale)),
    )


def top_is_right(model, row) -> int:
    """1 when the best-scored candidate of ``row`` is an answer sentence."""
    if not row["cands"]:
        return 0
    return max(row["cands"], key=lambda c: model.logit(c["features"]))["label"]


def held_out_by_article(mined: list[dict]) -> str:
    """Each article's questions as asked, scored by a model fitted without that article; beside
    it, the cosine alone and word overlap alone, for comparison."""
    from rag.answer.reader import FEATURES, Linear

    def single(name):
        at = FEATURES.index(name)
        return Linear(
            FEATURES,
            tuple(float(i == at) for i in range(len(FEATURES))),
            0.0,
            (0.0,) * len(FEATURES),
            (1.0,) * len(FEATURES),
        )

    lines = [
        "held-out by article (best sentence is the answer; answerable questions as asked):",
        f"{'article':52}{'questions':>10}{'cosine':>8}{'words':>8}{'reader':>8}{'twins':>8}",
    ]
    for doc in sorted({r["doc"] for r in mined if r["doc"]}):
        model = fit_linear(*xy([r for r in mined if r["doc"] != doc]))
        test = [r for r in mined if r["doc"] == doc and not r["unanswerable"]]
        asked = [r for r in test if not r["delexicalised"]]
        twins = [r for r in test if r["delexicalised"]]

        def rate(m, rows):
            return sum(top_is_right(m, r) for r in rows) / max(len(rows), 1)

        lines.append(
            f"{doc:52}{len(asked):>10}{rate(single('cos'), asked):>8.3f}"
            f"{rate(single('cover'), asked):>8.3f}{rate(model, asked):>8.3f}{rate(model, twins):>8.3f}"
        )
    return "\n".join(lines)


def choose_threshold(asked: list[float], twins: list[float], unanswerable: list[float]) -> float:
    """The highest confidence threshold that abstains on at most MAX_FALSE_ABSTENTION of the
    answerable questions as asked and MAX_FALSE_ABSTENTION_TWINS of their delexicalised twins
    (questions in other words than the article's get lower confidence)."""

    def cut(values, share):
        ordered = sorted(values)
        return ordered[int(share * len(ordered))] - 0.0005 if ordered else 0.5

    threshold = round(min(cut(asked, MAX_FALSE_ABSTENTION), cut(twins, MAX_FALSE_ABSTENTION_TWINS)), 4)
    caught = sum(c < threshold for c in unanswerable) / max(len(unanswerable), 1)
    print(
        f"abstain below {threshold}: false abstention {sum(c < threshold for c in asked) / len(asked):.3f} "
        f"as asked, {sum(c < threshold for c in twins) / max(len(twins), 1):.3f} delexicalised; "
        f"abstention recall {caught:.3f} on SQuAD 2.0's unanswerable training questions"
    )
    return threshold


def fit(mined: list[dict], out: Path) -> dict:
    """Fit the model on every mined question, calibrate the best candidate's score on the
    questions as asked, and choose the abstention threshold."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from rag.answer.reader import SCORER_FORMAT, sigmoid

    print(held_out_by_article(mined))
    model = fit_linear(*xy(mined))
    asked = [r for r in mined if not r["delexicalised"]]

    def best(row) -> float:
        return max(model.logit(c["features"]) for c in row["cands"]) if row["cands"] else -20.0

    right = [top_is_right(model, r) for r in asked]
    platt = LogisticRegression(C=100.0).fit(np.array([[best(r)] for r in asked]), np.array(right))
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])

    def confidence(rows) -> list[float]:
        return [sigmoid(a * best(r) + b) for r in rows]

    threshold = choose_threshold(
        confidence([r for r in asked if not r["unanswerable"]]),
        confidence([r for r in mined if r["delexicalised"]]),
        confidence([r for r in asked if r["unanswerable"]]),
    )
    data = {
        "format": SCORER_FORMAT,
        "model": model.to_dict(),
        "calibration": [a, b],
        "abstain_below": threshold,
        "second_ratio": SECOND_RATIO,
        "trained_on": {
            "articles": sorted({r["doc"] for r in mined if r["doc"]}),
            "questions": len(asked),
            "delexicalised_twins": len(mined) - len(asked),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {out}")
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=("mine", "fit", "all"))
    parser.add_argument("--quick", action="store_true", help="a few questions, into a temporary folder")
    parser.add_argument("--work", type=Path, default=ROOT / "training" / ".work")
    parser.add_argument("--out", type=Path, default=ROOT / "rag" / "answer" / "models")
    args = parser.parse_args(argv)
    work, out = args.work, args.out
    if args.quick:  # the smoke run writes nothing into the package
        import tempfile

        if work == parser.get_default("work"):
            work = Path(tempfile.mkdtemp(prefix="reader-smoke-"))
        out = work
    work.mkdir(parents=True, exist_ok=True)
    mined = work / "squad-train.jsonl"
    if args.step in ("mine", "all"):
        articles = quick_articles(work) if args.quick else TRAIN / "articles"
        mine(TRAIN / "questions.jsonl", articles, work / "index-train", mined, limit=60 if args.quick else 0)
    if args.step in ("fit", "all"):
        fit(load_mined(mined), out / "reader_scorer.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
