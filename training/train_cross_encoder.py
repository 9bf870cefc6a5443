"""Train the re-ranker: the packaged all-MiniLM-L6-v2 fine-tuned as a (question, sentence) classifier.

    python training/train_cross_encoder.py --device cuda  # the shipped recipe: about 2 minutes on one GPU
    python training/train_cross_encoder.py                # on CPU: stops after --minutes (25), a partial pass
    python training/train_cross_encoder.py --quick        # a few steps on a few questions: the smoke run
    python training/train_cross_encoder.py --calibrate D  # export and calibrate delta D trained elsewhere

Data: the candidates mined by ``training/train_reader.py mine`` from ``../shared/eval/squad-train``
only (``training/.work/squad-train.jsonl``: each question, as asked and delexicalised, with the
runtime's candidate sentences, their signals and labels). Each question's pairs are the
sentences the logistic scorer ranks best (``TRAIN_SHORTLIST``; the answer sentence is
added when it is not among them); positives overlap the answer span, negatives are the other
sentences of the same question, unanswerable questions give negatives only. The loss is a
softmax over each question's sentences (the answer against its neighbours) plus a per-pair
logistic loss (so that the score also says "no sentence answers").

Model: LoRA adapters (``peft``) on every linear layer of the ``LAYERS`` transformer layers;
the question's and the sentence's word pieces (read together) are averaged apart and scored as a
scaled cosine plus a linear head over their product, which starts at zero (so training starts
from the sentence model's own notion of similarity); layers without adapters are frozen.
Only the adapters and the head are saved (fp16 safetensors, 1.3 MB), merged into the packaged
model at run time (``rag/answer/cross_export.py``).

Split: two articles (``HELD_OUT``) and a fifth of the unanswerable questions are never trained
on. On them the exported int8 model is scored the way the run time scores it; the combination
with the logistic score, its calibration and the abstention threshold are fitted there (the
figures printed for each held-out article come from a fit on the other one).

Output: ``rag/answer/models/cross_encoder.safetensors`` and ``cross_encoder.json``; with
``--quick``, into ``--work`` (a temporary folder by default), never into the package.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import train_reader  # noqa: E402  (the mining step and the threshold rule are shared)

HELD_OUT = ("Solar_energy.txt", "Sino-Tibetan_relations_during_the_Ming_dynasty.txt")
RERANK = 4  # sentences re-read per question at run time (about 10 ms each on two cores)
TRAIN_SHORTLIST = 8  # the logistic scorer's best sentences a question trains on
LAYERS = (0, 1, 2, 3, 4, 5)  # transformer layers with adapters (all six)
TARGETS = ("query", "key", "value", "dense")  # every linear layer of those layers
RANK, ALPHA = 16, 32.0
MAX_LENGTH = 128  # word pieces of question + sentence; longer sentences are cut
QUESTIONS_PER_STEP = 16
NEGATIVES = 7  # other sentences of the same question per step (training cost is per pair)
EPOCHS = 3
LR = 3e-4
SECOND_RATIO = 0.5
COSINE_SCALE = 10.0  # the head starts as this times the cosine of the two sides, minus half of it
SEED = 13


# ---- data ---------------------------------------------------------------------------------------
def held_out(row: dict, articles: tuple[str, ...]) -> bool:
    if row["doc"]:
        return row["doc"] in articles
    return zlib.crc32(row["id"].encode()) % 5 == 0  # unanswerable questions name no article


def shortlist(row: dict, scorer, n: int = RERANK, with_answer: bool = False) -> list[dict]:
    """The ``n`` candidates the logistic scorer ranks best (``lin``: its logit); ``with_answer``
    puts the best answer sentence in last place when none is among them (for training)."""
    cands = [{**c, "lin": scorer.model.logit(c["features"])} for c in row["cands"]]
    cands.sort(key=lambda c: -c["lin"])
    top = cands[:n]
    if with_answer and top and not any(c["label"] for c in top):
        answers = [c for c in cands if c["label"]]
        if answers:
            top[-1] = answers[0]
    return top


def training_pairs(row: dict, scorer, negatives: int = NEGATIVES) -> list[dict]:
    """The shortlist's answer sentences and its ``negatives`` best-ranked other sentences."""
    top = shortlist(row, scorer, TRAIN_SHORTLIST, with_answer=True)
    return [c for c in top if c["label"]] + [c for c in top if not c["label"]][:negatives]


# ---- training -----------------------------------------------------------------------------------
def build_model(folder: Path, layers: tuple[int, ...] = LAYERS):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    from rag.answer.cross_export import pooled

    torch.manual_seed(SEED)
    bert = AutoModel.from_pretrained(str(folder), add_pooling_layer=False)
    config = LoraConfig(
        r=RANK,
        lora_alpha=ALPHA,
        lora_dropout=0.05,
        target_modules=list(TARGETS),
        layers_to_transform=list(layers),
        layers_pattern="layer",
    )
    lora = get_peft_model(bert, config)
    head = torch.nn.Linear(bert.config.hidden_size, 1)  # starts as the cosine alone
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.constant_(head.bias, -COSINE_SCALE / 2)
    return pooled(lora, head, torch.nn.Parameter(torch.tensor(COSINE_SCALE)))


def batch_of(tokenizer, groups: list[tuple[str, list[dict]]]):
    """The groups' pairs encoded, their labels and each group's size."""
    import torch

    encoded = [tokenizer.encode(q, c["text"]) for q, cands in groups for c in cands]
    labels = torch.tensor([float(c["label"]) for _, cands in groups for c in cands])
    return encoded, labels, [len(cands) for _, cands in groups]


def logits_of(model, encoded, per_run: int = 8, device: str = "cpu"):
    """The model's logits for the encoded pairs, run in slices of similar length (padding a
    slice to its longest pair costs far less than padding all to the longest of the step)."""
    import torch

    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
    out = [None] * len(encoded)
    for at in range(0, len(order), per_run):
        part = [encoded[i] for i in order[at : at + per_run]]
        width = max(len(e.ids) for e in part)

        def padded(rows, width=width):
            return torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long, device=device)

        logits = model(
            padded([e.ids for e in part]),
            padded([[1] * len(e.ids) for e in part]),
            padded([e.type_ids for e in part]),
        )
        for i, value in zip(order[at : at + per_run], logits):
            out[i] = value
    return torch.stack(out)


def loss_of(logits, labels, sizes):
    import torch

    labels = labels.to(logits.device)
    pointwise = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, labels, pos_weight=torch.tensor(3.0, device=logits.device)
    )
    listwise, at = [], 0
    for size in sizes:
        group, right = logits[at : at + size], labels[at : at + size] > 0
        if right.any():
            listwise.append(torch.logsumexp(group, 0) - torch.logsumexp(group[right], 0))
        at += size
    return pointwise + (torch.stack(listwise).mean() if listwise else 0.0)


def train(
    model,
    tokenizer,
    rows: list[dict],
    scorer,
    steps: int,
    minutes: float,
    threads: int,
    device: str = "cpu",
    epochs: int = 1,
    per_step: int = QUESTIONS_PER_STEP,
    lr: float = 5e-4,
    negatives: int = NEGATIVES,
) -> dict:
    """``epochs`` passes over ``rows`` (at most ``steps`` steps, at most ``minutes``): AdamW,
    linear decay; on ``device`` ("cpu", or "cuda" where one is present)."""
    import torch

    torch.set_num_threads(threads)
    model.to(device)
    groups = [(r["question"], training_pairs(r, scorer, negatives)) for r in rows]
    groups = [g for g in groups if g[1]]
    order = []
    for epoch in range(epochs):  # each pass in its own fixed order
        random.Random(SEED + epoch).shuffle(groups)
        order += groups
    groups = order
    total = min(steps or math.inf, math.ceil(len(groups) / per_step))
    per_run = 8 if device == "cpu" else 128
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / max(total, 1))
    )
    model.train()
    began, pairs, step, running = time.perf_counter(), 0, 0, 0.0
    while step < total and time.perf_counter() - began < minutes * 60:
        chunk = groups[step * per_step : (step + 1) * per_step]
        encoded, labels, sizes = batch_of(tokenizer, chunk)
        loss = loss_of(logits_of(model, encoded, per_run, device), labels, sizes)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step, pairs = step + 1, pairs + len(labels)
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 100 == 0:
            seconds = time.perf_counter() - began
            print(f"step {step}/{total}  loss {running:.3f}  {pairs / seconds:.1f} pairs/s", flush=True)
    seconds = time.perf_counter() - began
    print(f"trained {step} steps, {pairs} pairs in {seconds:.0f} s: {pairs / max(seconds, 1e-9):.1f} pairs/s")
    model.to("cpu")
    return {
        "steps": step,
        "questions": min(len(groups), step * per_step),
        "epochs": epochs,
        "questions_per_step": per_step,
        "lr": lr,
        "negatives": negatives,
        "device": "cpu" if device == "cpu" else "gpu",
        "pairs": pairs,
        "seconds": round(seconds, 1),
    }


def save_delta(model, path: Path) -> None:
    """The adapters and the head, fp16, under the plain model's layer names."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = get_peft_model_state_dict(model.bert)
    delta = {}
    for key, value in state.items():
        name = key.removeprefix("base_model.model.").removesuffix(".weight")
        delta[name] = value.detach().to("cpu").half().contiguous()
    for key, value in model.head.state_dict().items():
        delta[f"head.{key}"] = value.detach().half().contiguous()
    delta["head.scale"] = model.scale.detach().reshape(1).half().contiguous()
    save_file(delta, str(path))


def load_delta(model, path: Path) -> None:
    """Continue from a saved delta: its adapters, head and scale into ``model``."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    delta = {k: v.float() for k, v in load_file(str(path)).items()}
    adapters = {f"base_model.model.{k}.weight": v for k, v in delta.items() if not k.startswith("head.")}
    set_peft_model_state_dict(model.bert, adapters)
    model.head.load_state_dict({"weight": delta["head.weight"], "bias": delta["head.bias"]})
    with torch.no_grad():
        model.scale.copy_(delta["head.scale"].reshape(()))


# ---- held-out scoring, combination, calibration -------------------------------------------------
def write_config(
    out: Path, delta: Path, fitted: dict, trained: dict, layers: tuple[int, ...] = LAYERS
) -> Path:
    from rag.answer.cross_encoder import FORMAT
    from rag.hashing import file_sha256

    data = {
        "format": FORMAT,
        "delta": delta.name,
        "delta_sha256": file_sha256(delta),
        "lora": {"rank": RANK, "alpha": ALPHA, "layers": list(layers), "targets": list(TARGETS)},
        "max_length": MAX_LENGTH,
        "rerank": RERANK,
        "combine": fitted.get("combine", [1.0, 0.0, 0.0]),
        "calibration": fitted.get("calibration", [1.0, 0.0]),
        "abstain_below": fitted.get("abstain_below", 0.5),
        "second_ratio": SECOND_RATIO,
        "trained": trained,
        "held_out": fitted.get("figures", {}),
    }
    path = out / "cross_encoder.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def score_held_out(reranker, rows: list[dict], scorer) -> list[dict]:
    """Each held-out question's run-time shortlist with the exported model's score (``ce``)."""
    from tqdm import tqdm

    out = []
    for row in tqdm(rows, desc="Scoring held-out questions", unit="q"):
        top = shortlist(row, scorer)
        for c, ce in zip(top, reranker.encoder.score(row["question"], [c["text"] for c in top])):
            c["ce"] = ce
        out.append({**row, "top": top})
    return out


def fit_combination(rows: list[dict]) -> tuple[float, float, float]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[c["ce"], c["lin"]] for r in rows for c in r["top"]])
    y = np.array([c["label"] for r in rows for c in r["top"]])
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    return float(model.coef_[0][0]), float(model.coef_[0][1]), float(model.intercept_[0])


def top_right(rows: list[dict], score) -> float:
    rows = [r for r in rows if not r["unanswerable"]]
    hits = [max(r["top"], key=score)["label"] if r["top"] else 0 for r in rows]
    return sum(hits) / max(len(rows), 1)


def figures(rows: list[dict], combine) -> dict:
    a, b, c = combine

    def rate(twins: bool, score) -> float:
        return round(top_right([r for r in rows if r["delexicalised"] == twins], score), 3)

    out = {}
    for twins, name in ((False, "asked"), (True, "twins")):
        out[name] = {
            "questions": sum(1 for r in rows if r["delexicalised"] == twins and not r["unanswerable"]),
            "in_shortlist": rate(twins, lambda x: x["label"]),
            "logistic": rate(twins, lambda x: x["lin"]),
            "cross_encoder": rate(twins, lambda x: x["ce"]),
            "combined": rate(twins, lambda x: a * x["ce"] + b * x["lin"] + c),
        }
    return out


def calibrate(scored: list[dict], articles: tuple[str, ...]) -> dict:
    """Combination and Platt scaling fitted on the held-out questions, the abstention threshold
    by ``train_reader``'s rule; per-article figures from a fit on the other held-out article."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from rag.answer.reader import sigmoid

    report = {}
    for doc in articles:
        others = [r for r in scored if r["doc"] and r["doc"] != doc] or scored
        report[doc] = figures([r for r in scored if r["doc"] == doc], fit_combination(others))
    combine = fit_combination(scored)
    a, b, c = combine

    def best(row) -> float:
        return max((a * x["ce"] + b * x["lin"] + c for x in row["top"]), default=-20.0)

    asked = [r for r in scored if not r["delexicalised"]]
    right = [
        max(r["top"], key=lambda x: a * x["ce"] + b * x["lin"])["label"] if r["top"] else 0 for r in asked
    ]
    platt = LogisticRegression(C=100.0).fit(np.array([[best(r)] for r in asked]), np.array(right))
    pa, pb = float(platt.coef_[0][0]), float(platt.intercept_[0])

    def confidence(rows) -> list[float]:
        return [sigmoid(pa * best(r) + pb) for r in rows]

    threshold = train_reader.choose_threshold(
        confidence([r for r in asked if not r["unanswerable"]]),
        confidence([r for r in scored if r["delexicalised"]]),
        confidence([r for r in asked if r["unanswerable"]]),
    )
    return {"combine": list(combine), "calibration": [pa, pb], "abstain_below": threshold, "figures": report}


def print_figures(report: dict) -> None:
    print("held-out by article (best of the shortlist is an answer sentence; answerable questions):")
    print(f"{'article':52}{'kind':>7}{'q':>6}{'in top':>8}{'logistic':>10}{'cross':>8}{'combined':>10}")
    for doc, kinds in report.items():
        for kind, f in kinds.items():
            print(
                f"{doc:52}{kind:>7}{f['questions']:>6}{f['in_shortlist']:>8.3f}{f['logistic']:>10.3f}"
                f"{f['cross_encoder']:>8.3f}{f['combined']:>10.3f}"
            )


# ---- the whole run --------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few steps on a few questions, into a temp folder"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "training" / ".work")
    parser.add_argument("--out", type=Path, default=ROOT / "rag" / "answer" / "models")
    parser.add_argument("--questions", type=int, default=0, help="train on this many questions (0: all)")
    parser.add_argument(
        "--skip", type=int, default=0, help="leave out the first N questions (of a fixed shuffle)"
    )
    parser.add_argument("--resume", type=Path, help="start from this delta (a safetensors file made here)")
    parser.add_argument("--minutes", type=float, default=25.0, help="stop training after this long")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (1 is faster on a busy machine)"
    )
    parser.add_argument("--device", default="cpu", help='"cpu", or "cuda" to train on a GPU')
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training questions")
    parser.add_argument(
        "--layers", default=",".join(map(str, LAYERS)), help="transformer layers with adapters (0-5)"
    )
    parser.add_argument("--per-step", type=int, default=QUESTIONS_PER_STEP, help="questions a step")
    parser.add_argument("--lr", type=float, default=LR, help="AdamW's learning rate")
    parser.add_argument(
        "--negatives", type=int, default=NEGATIVES, help="other sentences per question and step"
    )
    parser.add_argument("--model", type=Path, help="the model folder (default: the packaged MiniLM)")
    parser.add_argument(
        "--no-calibrate", action="store_true", help="train and save the delta only (no ONNX export)"
    )
    parser.add_argument(
        "--calibrate", type=Path, help="no training: export and calibrate this delta (made here)"
    )
    args = parser.parse_args(argv)
    from rag.answer.cross_encoder import load_reranker, pair_tokenizer
    from rag.answer.reader import Scorer
    from rag.embed.encoder import resolve_model_path
    from rag.settings import DEFAULT_MODEL

    work, out, articles, steps = args.work, args.out, HELD_OUT, 0
    if args.quick:  # the smoke run writes nothing into the package
        import tempfile

        if work == parser.get_default("work"):
            work = Path(tempfile.mkdtemp(prefix="cross-smoke-"))
        out, articles, steps = work, ("Solar_energy.txt",), 3
        args.per_step, args.negatives = 4, 3  # a few pairs a step: seconds on a CPU
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    mined = work / "squad-train.jsonl"
    if not mined.exists():
        quick = train_reader.quick_articles(work) if args.quick else train_reader.TRAIN / "articles"
        questions = train_reader.TRAIN / "questions.jsonl"
        train_reader.mine(questions, quick, work / "index-train", mined, limit=24 if args.quick else 0)
    rows = train_reader.load_mined(mined)
    scorer = Scorer.load()
    fit_rows = [r for r in rows if not held_out(r, articles)]
    test_rows = [r for r in rows if held_out(r, articles)]
    fit_rows = random.Random(SEED).sample(fit_rows, len(fit_rows))  # a fixed order; --skip goes on in it
    fit_rows = fit_rows[args.skip : args.skip + args.questions] if args.questions else fit_rows[args.skip :]
    folder = args.model or resolve_model_path(DEFAULT_MODEL)
    layers = tuple(int(n) for n in args.layers.split(","))
    delta = out / "cross_encoder.safetensors"
    if args.calibrate:  # a delta trained elsewhere (e.g. on a GPU): its record is kept
        record = args.calibrate.with_suffix(".json")
        if not args.calibrate.is_file() or not record.is_file():
            raise SystemExit(
                f"--calibrate needs the delta and the {record.name} written beside it by the "
                f"training run (--no-calibrate); {args.calibrate} or {record} is missing"
            )
        previous = json.loads(record.read_text(encoding="utf-8"))
        trained, layers = previous["trained"], tuple(previous["lora"]["layers"])
        if args.calibrate.resolve() != delta.resolve():
            delta.write_bytes(args.calibrate.read_bytes())
    else:
        print(f"training on {len(fit_rows)} questions, holding out {len(test_rows)} ({', '.join(articles)})")
        model = build_model(folder, layers)
        if args.resume:
            load_delta(model, args.resume)
        tokenizer = pair_tokenizer(folder, MAX_LENGTH)
        trained = train(
            model,
            tokenizer,
            fit_rows,
            scorer,
            steps,
            args.minutes,
            args.threads,
            args.device,
            args.epochs,
            args.per_step,
            args.lr,
            args.negatives,
        )
        save_delta(model, delta)
    config = write_config(out, delta, {}, trained, layers)
    if args.no_calibrate:
        print(f"wrote {delta} ({delta.stat().st_size / 1e6:.2f} MB) and {config}, not calibrated")
        return 0
    reranker = load_reranker(folder, work / "onnx-cache", config)
    fitted = calibrate(score_held_out(reranker, test_rows, scorer), articles)
    print_figures(fitted["figures"])
    write_config(out, delta, fitted, trained, layers)
    print(f"wrote {delta} ({delta.stat().st_size / 1e6:.2f} MB) and {config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
