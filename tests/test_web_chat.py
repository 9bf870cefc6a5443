"""Issue 17: the web chat as a person meets it, in Debian's Chromium at a laptop (1366x768) and a
phone (390x844) size, on a real Gradio server with the real model and index. One server and one
browser serve the whole module; the tests run in file order (later ones add and delete articles).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES
from test_app import CHROMIUM, CHROMIUM_ARGS, FIRST_QUOTE, HERON, QUESTION, ask, free_port

pytestmark = pytest.mark.model
UNTITLED = "Ukraine and the North Atlantic Alliance have begun joint arms production"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def web(tmp_path_factory, embedder):
    from rag.answer.assistant import Assistant
    from rag.settings import Settings
    from rag.store.indexer import update_index
    from rag.web.app import WebApp

    root = tmp_path_factory.mktemp("web17")
    shutil.copytree(SAMPLES, root / "articles")
    settings = Settings(index_dir=root / "index", articles_dir=root / "articles")
    update_index(settings.articles_dir, settings, embedder=embedder, progress=False)
    app = WebApp(settings, Assistant(settings, embedder=embedder))
    demo = app.build()
    port = free_port()
    demo.launch(**{**app.launch_options(), "server_port": port, "quiet": True, "prevent_thread_lock": True})
    app.url = f"http://127.0.0.1:{port}/"
    yield app
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install -y chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, web, viewport=LAPTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(web.url)
    page.locator("#rag-counts").get_by_text("articles").wait_for()
    return page


@pytest.fixture
def page(browser, web):
    page = open_page(browser, web)
    yield page
    page.context.close()


def test_a_taken_port_is_one_clear_line_and_exit_1(tmp_path):
    """Defect 1: ``python app.py`` and ``rag serve`` on a port another program holds."""
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index"), "GRADIO_ANALYTICS_ENABLED": "False"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in (["app.py"], ["-m", "rag.cli", "serve", "--port", str(port)]):
            run = subprocess.run(
                [sys.executable, *command],
                cwd=ROOT,
                env={**env, "RAG_PORT": str(port)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert run.returncode == 1, run.stderr
            assert f"error: port {port} is in use; set RAG_PORT or pass --port" in run.stderr
            assert "Traceback" not in run.stderr and "writable" not in run.stderr


def test_header_footer_and_laptop_fold(page):
    """Defect 10: the counts once, no stray dot in the footer, New conversation above the fold."""
    from playwright.sync_api import expect

    header = page.locator("#rag-counts")
    expect(header).to_have_text(re.compile(r"^\s*2 articles \u00b7 \d+ paragraphs\s*$"))
    visible_counts = [t for t in page.get_by_text(re.compile(r"\d+ paragraphs")).all() if t.is_visible()]
    assert len(visible_counts) == 1
    footer = page.locator("footer").inner_text().strip()
    assert footer and not footer.startswith("\u00b7") and not footer.endswith("\u00b7"), footer
    assert "\u00b7\n" not in footer and "\u00b7 \u00b7" not in footer
    page.evaluate("window.scrollTo(0, 0)")
    for control in ("#rag-new", "#rag-export", "#rag-question textarea", "#rag-ask"):
        box = page.locator(control).bounding_box()
        assert box["y"] + box["height"] <= LAPTOP["height"], control


def test_chips_preview_open_the_article_and_copy_plain_text(page):
    """Feature: chips with a preview and the whole article; defect 4: the Copy button; confidence."""
    from playwright.sync_api import expect

    reply = ask(page, QUESTION, 1)
    chip = reply.locator("a.rag-cite").first
    expect(reply.locator("small").last).to_contain_text(re.compile(r"confidence \d+%"))
    preview = page.locator("#rag-preview")
    chip.hover()
    expect(preview).to_be_visible()
    expect(preview.locator("mark")).to_have_text(FIRST_QUOTE)
    page.mouse.move(5, 5)
    expect(preview).to_be_hidden()
    chip.focus()  # the keyboard reaches the same preview
    expect(preview).to_be_visible()
    page.keyboard.press("Tab")  # on to the [1] under the answer: its preview
    expect(preview).to_be_visible()
    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()

    page.locator('#rag-chat button[aria-label="Copy message"]').last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(FIRST_QUOTE + " [1]") and "\nSources:\n[1] " in copied
    assert f'(000_b170d9b6d041f30c.txt, characters 0-73): "{FIRST_QUOTE}"' in copied
    assert "<" not in copied and "\\" not in copied

    chip.click()
    article = page.locator("#rag-article")
    expect(article).to_be_visible()
    expect(article.locator(".rag-article-head")).to_contain_text(UNTITLED)
    hit = article.locator(".rag-art-hit")
    expect(hit).to_have_attribute("id", "art-p-1")
    expect(hit.locator("mark")).to_have_text(FIRST_QUOTE)
    expect(hit).to_be_in_viewport()
    expect(article.locator(".rag-art-p")).to_have_count(5)  # the whole article, not one paragraph
    article.get_by_role("button", name="Back to the answer").click()
    expect(article).to_be_hidden()
    expect(chip).to_be_focused()


def test_follow_up_abstention_and_export(page):
    """Follow-ups use the conversation; defect 9: related reading without scores; export to Markdown."""
    from playwright.sync_api import expect

    ask(page, QUESTION, 1)
    follow = ask(page, "and what about training?", 2)
    expect(follow).to_contain_text("Read with the previous question")
    expect(page.locator("#src-2-1 mark").first).to_contain_text("train")
    none = ask(page, "What is the exchange rate of the hryvnia to the euro?", 3)
    expect(none).to_contain_text("don't say")
    expect(none).not_to_contain_text("\u2192")
    expect(none).not_to_contain_text("->")
    turn = page.locator("#rag-sources details#turn-3")
    expect(turn.locator("summary")).to_contain_text("related reading")
    related = turn.locator(".rag-related")
    assert related.count() >= 1
    expect(turn).not_to_contain_text("score")
    expect(turn.locator("button.rag-copy")).to_have_count(0)
    heads = [h.inner_text() for h in related.locator(".rag-card-head").all()]
    assert len(heads) == len(set(heads))  # no paragraph twice

    with page.expect_download() as download:
        page.locator("#rag-export").click()
    assert download.value.suggested_filename == "conversation.md"
    text = open(download.value.path(), encoding="utf-8").read()
    assert f"## Q1. {QUESTION}" in text and "## Q2. and what about training?" in text
    assert f"> [1] \u201c{FIRST_QUOTE}\u201d" in text and re.search(r"\*Confidence \d+%\*", text)
    assert "*Read with the previous question:" in text and "Related reading" in text
    assert "References (APA):" in text and "characters 0\u201373" in text

    page.locator("#rag-new").click()
    expect(page.locator("#rag-sources details")).to_have_count(0)


def test_ask_about_chosen_articles_in_the_page_and_the_api(page, web):
    from gradio_client import Client
    from playwright.sync_api import expect

    picker = page.locator("#rag-only")
    picker.locator("input").click()
    page.get_by_role("option", name=re.compile("NATO Ukraine Defense")).click()
    page.keyboard.press("Escape")
    expect(picker).to_contain_text("NATO Ukraine Defense")
    ask(page, QUESTION, 1)
    cards = page.locator("#rag-sources details#turn-1 .rag-card")
    assert cards.count() >= 1
    for card in cards.all():
        assert card.get_attribute("data-doc") == "004_4f21d8328f07c64f.txt"

    client = Client(web.url, verbose=False)
    answer = client.predict(QUESTION, "hybrid", 5, ["004_4f21d8328f07c64f.txt"], api_name="/ask")
    assert {p["doc"] for p in answer["passages"]} == {"004_4f21d8328f07c64f.txt"}
    plain = client.predict(QUESTION, "hybrid", 5, api_name="/ask")  # no choice: every article
    assert plain["citations"][0]["title"] == UNTITLED  # defect 7, in the API's JSON too


def test_find_a_source_empty_and_unsupported_claims(page):
    """Defect 6."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Find a source").click()
    found = page.locator("#rag-found")
    page.locator("#rag-find").click()
    expect(found).to_contain_text("Type or paste a claim first")
    page.locator("#rag-claim textarea").fill("Bananas are grown in greenhouses in Iceland")
    page.locator("#rag-find").click()
    first = found.locator("> div > *").first
    expect(first).to_contain_text("No paragraph supports this claim")
    assert found.locator(".rag-related").count() >= 1
    expect(found.locator("button.rag-copy")).to_have_count(0)


def test_phone_articles_table_scrolls_and_untitled_article_has_a_title(browser, web):
    """Defect 5 (phone) and defect 7 (the page)."""
    from playwright.sync_api import expect

    page = open_page(browser, web, PHONE, is_mobile=True, has_touch=True)
    try:
        page.get_by_role("tab", name="Articles").click()
        wrap = page.locator("#rag-collection .rag-table-wrap")
        expect(wrap).to_contain_text(UNTITLED)
        assert "000_b170d9b6d041f30c" not in wrap.locator("td:first-child").all_inner_texts()[0]
        assert wrap.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX") == "auto"
        last = wrap.locator("th").last
        last.scroll_into_view_if_needed()
        expect(last).to_be_in_viewport()
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        )  # the page itself does not scroll sideways
    finally:
        page.context.close()


def test_uploads_refused_binary_same_name_then_delete(page, web, tmp_path):
    """Defects 2 and 3, the same-name warning, and deleting an article (page and API)."""
    from gradio_client import Client
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Articles").click()
    drop = page.locator("#rag-upload input[type=file]")
    status = page.locator("#rag-upload-status")
    (tmp_path / "setup.exe").write_bytes(b"MZ\x90\x00 a program")
    drop.set_input_files(str(tmp_path / "setup.exe"))
    expect(status).to_have_text(
        "Not added: setup.exe: only .txt, .md, .markdown, .html, .htm, .pdf files can be added"
    )
    expect(page.locator("#rag-upload")).not_to_contain_text("Error")
    (tmp_path / "notes.md").write_bytes(bytes(range(256)) * 8)
    drop.set_input_files(str(tmp_path / "notes.md"))
    expect(status).to_contain_text("Not added: notes.md:")
    expect(status).not_to_contain_text("Indexed")
    heron = tmp_path / "heron.md"
    heron.write_text(HERON, encoding="utf-8")
    drop.set_input_files(str(heron))  # the drop zone still works after the refusals
    expect(status).to_contain_text("Indexed 1 of 1 uploaded file(s): 1 added")
    drop.set_input_files(str(heron))
    expect(status).to_contain_text(
        "heron.md has the same name as an article already in the collection: kept both, this one is saved as heron-2.md"
    )
    page.get_by_label("Replace the article").check()
    drop.set_input_files(str(heron))
    expect(status).to_contain_text("heron.md has the same name as an article in the collection: replaced it")
    table = page.locator("#rag-collection")
    expect(table).to_contain_text("uploads/heron-2.md")
    expect(page.locator("#rag-counts")).to_contain_text("4 articles")

    pick = page.locator("#rag-delete-pick")
    pick.locator("input").click()
    page.locator("[role=option]").filter(has_text="uploads/heron-2.md").click()
    page.locator("#rag-delete").click()
    confirm = page.locator("#rag-confirm")
    expect(confirm).to_contain_text("Delete uploads/heron-2.md from the folder and the index?")
    page.locator("#rag-delete-no").click()
    expect(confirm).to_be_hidden()
    assert (web.settings.articles_dir / "uploads" / "heron-2.md").exists()
    page.locator("#rag-delete").click()
    page.locator("#rag-delete-yes").click()
    expect(page.locator("#rag-delete-status")).to_contain_text("Deleted uploads/heron-2.md")
    expect(table).not_to_contain_text("uploads/heron-2.md")
    expect(page.locator("#rag-counts")).to_contain_text("3 articles")
    assert not (web.settings.articles_dir / "uploads" / "heron-2.md").exists()
    assert web.index().article_by_doc("uploads/heron-2.md") is None

    client = Client(web.url, verbose=False)
    done = client.predict("uploads/heron.md", api_name="/delete_article")
    assert done["deleted"] == "uploads/heron.md" and done["articles"] == 2
    answer = client.predict(
        "How many grey herons did volunteers count in Zanzibar?", "hybrid", 5, api_name="/ask"
    )
    assert all("heron" not in c["doc"] for c in answer["citations"])
    assert json.dumps(answer).count("Zanzibar") <= 1  # only the question itself


def test_two_citations_of_one_paragraph_make_one_card():
    """Defect 9: the same paragraph is not shown twice among the source cards."""
    from rag.cite import reference
    from rag.types import Answer, Citation, Hit
    from rag.web.panels import sources_html
    from rag.web.render import Turn

    text = "Herons nest in colonies. They feed at low tide. Volunteers counted them."
    hit = Hit(
        rank=1, doc="h.md", title="Herons", article_id="a1", paragraph=2, start=100, end=100 + len(text),
        text=text, score=0.9,
    )  # fmt: skip
    first = Citation(1, "h.md", "Herons", 2, 100, 124, text[:24], 100, 100 + len(text), 0.8)
    second = Citation(2, "h.md", "Herons", 2, 125, 147, text[25:47], 100, 100 + len(text), 0.7)
    answer = Answer(
        "q", "Herons nest in colonies. [1] They feed at low tide. [2]", False, (first, second), (hit,)
    )
    turn = Turn(1, "q", "q", answer, tuple(reference(c, None) for c in (first, second)))
    html = sources_html([turn])
    assert html.count('class="rag-card"') == 1
    assert re.findall(r"<mark>(.*?)</mark>", html) == ["Herons nest in colonies.", "They feed at low tide."]
    assert 'id="src-1-1"' in html and 'id="src-1-2"' in html
    assert "Copy citation [1]:" in html and "Copy citation [2]:" in html
