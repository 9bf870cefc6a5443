"""Regenerate the web app's screenshots in docs/screenshots/ (never edited by hand).

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Serves a copy of the bundled sample articles on a free loopback port and drives Debian's
Chromium (``/usr/bin/chromium``, through Playwright; no browser is downloaded) as a person
would: a laptop-sized window (1366x768) for the answer, a citation's preview, the article opened
at the cited paragraph, Find a source and the Articles tab; a phone-sized one (390x844) for the
chat and the articles table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTION = "What have Ukraine and NATO begun doing together?"
CLAIM = "Western partners see Ukrainian defense industry as globally competitive"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def serve(workdir: Path):
    from rag.settings import Settings
    from rag.web.app import WebApp

    shutil.copytree(ROOT / "articles", workdir / "articles")
    settings = Settings(index_dir=workdir / "index", articles_dir=workdir / "articles")
    app = WebApp(settings)
    app.is_sample_collection = lambda: True  # a copy of the samples: offer their example questions
    app.index()  # built from the copy before the page opens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = app.build()
    demo.launch(**{**app.launch_options(), "server_port": port, "quiet": True, "prevent_thread_lock": True})
    return demo, f"http://127.0.0.1:{port}/"


def ask(page, question: str, turn: int) -> None:
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-ask").click()
    page.locator(f"#rag-sources details#turn-{turn}").wait_for()
    page.locator("#rag-chat [data-testid=bot]").nth(turn - 1).locator("small").last.wait_for()


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots = []

    def save(page, name: str, **options) -> None:
        page.wait_for_timeout(400)  # let transitions settle
        path = out / f"{name}.png"
        page.screenshot(path=str(path), **options)
        shots.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator("#rag-counts").get_by_text("articles").wait_for()
        ask(page, QUESTION, 1)
        page.evaluate("window.scrollTo(0, 0)")
        save(page, "chat-desktop")
        page.locator("#rag-chat a.rag-cite").first.hover()
        save(page, "citation-preview")
        page.locator("#rag-chat a.rag-cite").first.click()
        page.locator("#rag-article .rag-art-hit").wait_for()
        save(page, "article-at-paragraph")
        page.locator("#rag-article button.rag-back").click()
        page.get_by_role("tab", name="Find a source").click()
        page.locator("#rag-claim textarea").fill(CLAIM)
        page.locator("#rag-find").click()
        page.locator("#rag-found .rag-card").first.wait_for()
        save(page, "find-a-source")
        page.get_by_role("tab", name="Articles").click()
        page.locator("#rag-collection table").wait_for()
        save(page, "articles", full_page=True)

        phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        phone.set_default_timeout(60_000)
        phone.goto(url)
        phone.locator("#rag-counts").get_by_text("articles").wait_for()
        ask(phone, QUESTION, 1)
        save(phone, "phone-answer", full_page=True)
        phone.get_by_role("tab", name="Articles").click()
        phone.locator("#rag-collection table").scroll_into_view_if_needed()
        save(phone, "phone-articles")
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rag-screenshots-") as workdir:
        demo, url = serve(Path(workdir))
        try:
            for path in shoot(url, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            demo.close()


if __name__ == "__main__":
    main()
