"""Cold start: seconds from a fresh process to ``rag --help``, to a cold ``rag ask`` answer, and
from ``python app.py`` to its first answer (through the web API, with gradio_client).

    .venv/bin/python benchmarks/cold_start.py [--rounds 3]

The alternative in the same run: the same ``rag ask`` with RAG_ENCODER=torch (the model loaded
through sentence-transformers, on an fp32 index of the same articles). The indexes are built once
beforehand (benchmarks/.cache/cold-index and cold-index-fp32, from the bundled sample articles),
so the one-time ONNX export is not in the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import CACHE, ROOT, median, table, web_server

QUESTION = "What have Ukraine and NATO begun doing together?"
_SCRIPT = Path(sys.executable).with_name("rag")  # the console script users run
RAG = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "rag.cli"]


def seconds(command: list[str], env: dict) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - began


def app_seconds(env: dict, timeout: float = 120.0) -> float | None:
    """From starting ``python app.py`` to the first answer of its ``/ask`` API; None if it did not
    start or did not answer."""
    from gradio_client import Client

    began = time.perf_counter()
    try:
        with web_server(env, timeout) as url:
            Client(url, verbose=False).predict(QUESTION, api_name="/ask")
            return time.perf_counter() - began
    except Exception:  # reported by main() as not measured
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    index = CACHE / "cold-index"
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    slow_env = {**env, "RAG_INDEX_DIR": str(CACHE / "cold-index-fp32"), "RAG_ENCODER": "torch"}
    for e in (env, slow_env):
        subprocess.run(
            RAG + ["index", str(ROOT / "articles"), "--quiet"],
            env=e,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    runs: dict[str, list[float]] = {"help": [], "ask": [], "ask_st": [], "app": []}
    for round_ in range(args.rounds):
        runs["help"].append(seconds(RAG + ["--help"], env))
        pair = [("ask", env), ("ask_st", slow_env)]
        for name, e in pair if round_ % 2 == 0 else pair[::-1]:
            runs[name].append(seconds(RAG + ["ask", QUESTION], e))
        if (ROOT / "app.py").exists():
            took = app_seconds(env)
            if took is not None:
                runs["app"].append(took)
    rows = [
        ["rag --help", median(runs["help"]), "0.2"],
        ["rag ask (cold)", median(runs["ask"]), "1.5"],
        ["rag ask (cold), RAG_ENCODER=torch (sentence-transformers)", median(runs["ask_st"]), "-"],
    ]
    if runs["app"]:
        rows.append(["python app.py to first answer", median(runs["app"]), "-"])
    else:
        print("python app.py did not answer (missing, or failed to start): not measured")
    print(
        table(
            ["command", "seconds (median)", "target"],
            rows,
            f"Cold start, {args.rounds} rounds, fresh processes",
        )
    )
    print(
        f"\nrag ask: sentence-transformers / ONNX int8 = {median(runs['ask_st']) / median(runs['ask']):.2f}x"
    )


if __name__ == "__main__":
    main()
