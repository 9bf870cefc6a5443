"""The web page as a person meets it: seconds from ``python app.py`` to the page, and to the first
answer clicked in the browser; then click-to-answer for further questions in the page, against
the same questions through the HTTP API (``/ask`` with gradio_client) in the same run.

    .venv/bin/python benchmarks/web_page.py [--rounds 3]

Drives Debian's Chromium (/usr/bin/chromium) through Playwright. The index is built once
beforehand (benchmarks/.cache/web-index, from the bundled sample articles).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from _common import CACHE, ROOT, load_note, median, table, web_server

QUESTIONS = (
    "What have Ukraine and NATO begun doing together?",
    "Why are joint exercises held with Ukrainian forces?",
    "What do Western partners think of Ukraine's defense industry?",
    "What is the core purpose of the coalition meetings?",
)


def ask_in_page(page, question: str, turn: int) -> float:
    """Seconds from the click on Ask to the answer's sources on the page."""
    page.locator("#rag-question textarea").fill(question)
    began = time.perf_counter()
    page.locator("#rag-ask").click()
    page.locator(f"#rag-sources details#turn-{turn}").wait_for()
    return time.perf_counter() - began


def one_round(browser, env: dict) -> dict[str, list[float]]:
    from gradio_client import Client

    began = time.perf_counter()
    with web_server(env, timeout=300) as url:
        up = time.perf_counter() - began
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(300_000)
        page.goto(url)
        ask_in_page(page, QUESTIONS[0], 1)
        first = time.perf_counter() - began
        clicks = [ask_in_page(page, q, n) for n, q in enumerate(QUESTIONS[1:], start=2)]
        page.close()
        client = Client(url, verbose=False)
        api = []
        for question in QUESTIONS[1:]:
            start = time.perf_counter()
            client.predict(question, "hybrid", 5, api_name="/ask")
            api.append(time.perf_counter() - start)
    return {"up": [up], "first": [first], "click": clicks, "api": api}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    index = CACHE / "web-index"
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", str(ROOT / "articles"), "--quiet"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    runs: dict[str, list[float]] = {"up": [], "first": [], "click": [], "api": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        for _ in range(args.rounds):
            for name, values in one_round(browser, env).items():
                runs[name] += values
        browser.close()
    rows = [
        ["python app.py to the page", median(runs["up"])],
        ["python app.py to the first answer, clicked in the page", median(runs["first"])],
        ["a further question: click to answer in the page", median(runs["click"])],
        ["the same questions through the HTTP API (/ask)", median(runs["api"])],
    ]
    print(table(["step", "seconds (median)"], rows, f"The web page, {args.rounds} rounds, fresh servers"))
    print(f"\npage click-to-answer / HTTP API = {median(runs['click']) / median(runs['api']):.2f}x")
    print(load_note())


if __name__ == "__main__":
    main()
