"""The web app end to end: a real Gradio server on 127.0.0.1, the real model and index, driven in
Debian's Chromium through Playwright and through gradio_client.

Chromium comes from the system package (``apt-get install chromium``; never ``playwright install``).
A screenshot of the page with an answer is saved in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

from rag.net import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "What have Ukraine and NATO begun doing together?"
FIRST_QUOTE = "Ukraine and the North Atlantic Alliance have begun joint arms production."
HERON = """The Zanzibar Grey Heron Survey

Volunteers counted 412 grey herons on the mangrove shores of Zanzibar during the 2023 survey.

The herons nest in colonies and feed mostly on mudskippers at low tide.
"""
TRICKS = """Festival notes

The Quokka Festival <script>window.__pwned = 1</script> is held every spring on Rottnest Island <img src=x onerror="window.__pwned = 2"> with **loud** [music](javascript:alert(1)) & `code`.
"""

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def web(tmp_path_factory, embedder):
    """A WebApp on a writable copy of the samples, served by Gradio on 127.0.0.1."""
    from rag.answer.assistant import Assistant
    from rag.settings import Settings
    from rag.store.indexer import update_index
    from rag.web.app import WebApp

    root = tmp_path_factory.mktemp("web")
    shutil.copytree(SAMPLES, root / "articles")
    settings = Settings(index_dir=root / "index", articles_dir=root / "articles")
    update_index(settings.articles_dir, settings, embedder=embedder, progress=False)
    app = WebApp(settings, Assistant(settings, embedder=embedder))
    app.is_sample_collection = lambda: True  # a copy of the samples: offer their example questions
    demo = app.build()
    options = {**app.launch_options(), "server_port": free_port(), "quiet": True, "prevent_thread_lock": True}
    demo.launch(**options)
    app.url = f"http://127.0.0.1:{options['server_port']}/"
    yield app
    demo.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, web):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(web.url)
    yield page
    context.close()


def ask(page, question: str, turn: int):
    """Type a question, send it, and wait for its answer's sources; returns the reply element."""
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-ask").click()
    page.locator(f"#rag-sources details#turn-{turn}").wait_for()
    reply = page.locator("#rag-chat [data-testid=bot]").nth(turn - 1)
    reply.locator("small").last.wait_for()  # the footnote line comes last: the stream is done
    return reply


def test_ask_in_browser_cites_and_a_click_opens_the_source(page):
    from playwright.sync_api import expect

    reply = ask(page, QUESTION, 1)
    expect(reply).to_contain_text(FIRST_QUOTE)
    marker = reply.locator("a.rag-cite").first
    expect(marker).to_have_text("[1]")
    card = page.locator("#src-1-1")
    expect(card.locator("mark")).to_have_text(FIRST_QUOTE)
    expect(card.locator(".rag-card-head")).to_contain_text("para. 1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-answer.png"), full_page=True)

    ask(page, "Why are joint exercises held with Ukrainian forces?", 2)
    expect(page.locator("details#turn-1")).not_to_have_attribute("open", "")  # earlier answer folded
    marker.click()  # the first answer's [1]: its sources unfold and its card is brought into view
    expect(page.locator("details#turn-1")).to_have_attribute("open", "")
    expect(card).to_be_in_viewport()
    expect(card).to_have_class("rag-card rag-flash")
    assert page.url == page.context.pages[0].url and len(page.context.pages) == 1  # no navigation


def test_copy_buttons_put_each_citation_format_on_the_clipboard(page):
    from playwright.sync_api import expect

    ask(page, QUESTION, 1)
    card = page.locator("#src-1-1")
    copied = {}
    for fmt in ("markdown", "apa", "bibtex", "csl-json"):
        button = card.locator(f"button.rag-copy[data-format='{fmt}']")
        button.click()
        expect(button).to_have_text("Copied \u2713")
        copied[fmt] = page.evaluate("navigator.clipboard.readText()")
        assert FIRST_QUOTE in copied[fmt].replace('\\"', '"')
    assert copied["bibtex"].startswith("@misc{") and "para. 1" in copied["bibtex"]
    assert "para. 1" in copied["markdown"] and "para. 1)" in copied["apa"]
    assert '"locator": "1"' in copied["csl-json"]


def test_example_question_and_settings_are_on_the_empty_page(page):
    from playwright.sync_api import expect

    examples = page.locator("#rag-chat").get_by_text("Why are joint exercises held with Ukrainian forces?")
    expect(examples).to_be_visible()
    page.get_by_text("Answer settings").click()
    expect(page.get_by_text("Hybrid: meaning and words")).to_be_visible()
    expect(page.get_by_label("Extractive: quotes the articles word for word")).to_be_checked()
    page.get_by_label("Words only (BM25)").check()
    examples.click()  # an example is asked straight away, here with BM25 retrieval
    page.locator("#rag-sources details#turn-1 .rag-card").first.wait_for()
    expect(page.locator("#rag-chat [data-testid=bot]").first).to_contain_text("[1]")


def test_upload_an_article_in_the_page_then_ask_about_it(page, web, tmp_path):
    from playwright.sync_api import expect

    before = len(web.index().articles)
    upload = tmp_path / "heron survey (draft).md"
    upload.write_text(HERON, encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#rag-upload-status")).to_contain_text("Indexed 1 of 1 uploaded file(s): 1 added")
    expect(page.locator("#rag-counts")).to_contain_text(f"{before + 1} articles")
    expect(page.locator("#rag-collection")).to_contain_text("uploads/heron_survey_draft.md")
    assert (web.settings.articles_dir / "uploads" / "heron_survey_draft.md").read_text() == HERON

    page.get_by_role("tab", name="Ask").click()
    reply = ask(page, "How many grey herons did volunteers count in Zanzibar?", 1)
    expect(reply).to_contain_text("Volunteers counted 412 grey herons")
    expect(page.locator("#src-1-1 .rag-card-head")).to_contain_text("The Zanzibar Grey Heron Survey")


def test_article_with_html_and_markdown_tricks_is_shown_as_text(page, web, tmp_path):
    from playwright.sync_api import expect

    (tmp_path / "festival.txt").write_text(TRICKS, encoding="utf-8")
    status = web.upload([str(tmp_path / "festival.txt")])
    assert "1 added" in status
    reply = ask(page, "When is the Quokka Festival held on Rottnest Island?", 1)
    card = page.locator("#src-1-1")
    for shown in (reply, card.locator("mark")):
        expect(shown).to_contain_text("<script>window.__pwned = 1</script>")
        expect(shown).to_contain_text('<img src=x onerror="window.__pwned = 2">')
        expect(shown).to_contain_text("**loud** [music](javascript:alert(1)) & `code`")
    assert reply.locator("img, script, strong, code").count() == 0
    assert card.locator("img, script").count() == 0
    assert reply.locator("a").all_inner_texts() == ["[1]", "[1]"]  # only the citation links
    assert page.evaluate("window.__pwned") is None


def test_find_a_source_in_the_page(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Find a source").click()
    page.locator("#rag-claim textarea").fill(
        "Western partners see Ukrainian defense industry as globally competitive"
    )
    page.locator("#rag-find").click()
    best = page.locator("#rag-found .rag-found").first
    expect(best.locator(".rag-card-head")).to_contain_text("para. 3")
    expect(best.locator("mark")).to_contain_text("Observers noted that the progress has drawn attention")
    expect(best.locator(".rag-badge")).to_contain_text("support 0.")
    expect(best.locator("button.rag-copy")).to_have_count(4)


def test_follow_up_question_is_read_with_the_previous_one(web):
    from rag.web.chat import answer_turn

    first = answer_turn(web.assistant, 1, QUESTION, [])
    follow = answer_turn(web.assistant, 2, "and what about training?", [web.assistant.exchange(first.answer)])
    assert follow.query == f"and what about training? {QUESTION}"
    assert not follow.answer.abstained
    assert any("train" in c.quote for c in follow.answer.citations)
    alone = answer_turn(
        web.assistant, 2, "Who reported the joint production?", [web.assistant.exchange(first.answer)]
    )
    assert alone.query == alone.question == "Who reported the joint production?"


def test_gradio_api_answers_finds_sources_and_checks_uploads(web, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(web.url, verbose=False)
    answer = client.predict(QUESTION, "hybrid", 5, api_name="/ask")
    assert answer["citations"][0]["quote"] == FIRST_QUOTE and answer["citations"][0]["paragraph"] == 1
    found = client.predict(
        "Soldiers are being trained on new equipment, tactical maneuvers", 5, api_name="/find_sources"
    )
    assert found[0]["exact"] and found[0]["support"] == 1.0
    assert found[0]["formats"]["bibtex"].startswith("@misc{")
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "..."}]
    reply = client.predict("and what about training?", history, api_name="/respond")
    assert "Read with the previous question" in reply and 'href="#src-2-1"' in reply

    (tmp_path / "tool.exe").write_bytes(b"MZ\x90\x00")
    status, *_ = client.predict([handle_file(str(tmp_path / "tool.exe"))], api_name="/upload_articles")
    assert "Not added: tool.exe: only .txt, .md, .markdown, .html, .htm, .pdf files can be added" in status
    (tmp_path / "blank.md").write_text("")
    status, *_ = client.predict([handle_file(str(tmp_path / "blank.md"))], api_name="/upload_articles")
    assert "Not added: blank.md: the file is empty" in status and 'class="rag-error"' in status
    uploads = web.settings.articles_dir / "uploads"
    assert not (uploads / "tool.exe").exists() and not (uploads / "blank.md").exists()


def test_upload_limits_and_file_names(web, tmp_path):
    from rag.web.uploads import UploadError, check_files, check_index_folder, safe_name

    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\boot.ini.MD") == "boot.ini.md"
    assert safe_name(".hidden.md") == "hidden.md" and safe_name("r\u00e9sum\u00e9 <b>.txt") == "resume_b.txt"
    big = tmp_path / "big.txt"
    big.write_text("word " * 400)
    empty = tmp_path / "empty.md"
    empty.write_text("")
    small = web.settings.with_(upload_max_mb=0.001, upload_max_files=3)
    ok, refused = check_files([("big.txt", big), ("empty.md", empty), ("x.docx", big)], small)
    assert ok == []
    assert refused == [
        "big.txt: 0.0 MB is over the 0.001 MB upload limit; split it or add it with rag index",
        "empty.md: the file is empty",
        "x.docx: only .txt, .md, .markdown, .html, .htm, .pdf files can be added",
    ]
    with pytest.raises(UploadError, match="4 files were uploaded at once; the limit is 3"):
        check_files([("a.txt", big)] * 4, small)
    elsewhere = web.settings.with_(articles_dir=tmp_path / "other")
    with pytest.raises(UploadError, match="holds articles that are not in"):
        check_index_folder(web.index(), elsewhere)


def test_python_app_py_starts_on_localhost_and_answers(tmp_path):
    """``python app.py`` from cold (its index built from the samples on first use) to an answer."""
    import urllib.request

    from gradio_client import Client

    port = free_port()
    shutil.copytree(SAMPLES, tmp_path / "articles")
    env = {
        **os.environ,
        "RAG_PORT": str(port),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_ARTICLES_DIR": str(tmp_path / "articles"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    began = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            assert server.poll() is None, "python app.py exited"
            assert time.perf_counter() - began < 180, "the page did not come up in 180 s"
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                time.sleep(0.25)
        page_seconds = time.perf_counter() - began
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 240})
        answer = client.predict(QUESTION, "hybrid", 5, api_name="/ask")
        seconds = time.perf_counter() - began
        assert answer["citations"][0]["quote"] == FIRST_QUOTE
        print(f"\npython app.py, cold: page up in {page_seconds:.1f} s, first answer at {seconds:.1f} s")
        with socket.socket() as s:  # bound to the loopback address only, not to the machine's others
            s.settimeout(2)
            outside = socket.gethostbyname(socket.gethostname())
            assert outside.startswith("127.") or s.connect_ex((outside, port)) != 0
    finally:
        server.terminate()
        server.wait(timeout=30)
