"""The page's layout: the Ask and Find a source tabs, wired to a ``WebApp``'s handlers (the
Articles tab is in ``page_articles.py``).

Its CSS and JS are the files in ``static/``, read once when this module is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from .chat import ChatUpdate, available_modes
from .export import write_export
from .page_articles import articles_tab
from .panels import sources_html
from .render import Turn

if TYPE_CHECKING:
    from gradio.components.chatbot import ExampleMessage

    from .app import WebApp

STATIC = Path(__file__).parent / "static"
SAMPLE_QUESTIONS = (  # shown on the empty chat when the bundled sample articles are served
    "What have Ukraine and NATO begun doing together?",
    "Why are joint exercises held with Ukrainian forces?",
    "What do Western partners think of Ukraine's defense industry?",
    "What is the core purpose of the coalition meetings?",
)
RETRIEVAL_CHOICES = [
    ("Hybrid: meaning and words", "hybrid"),
    ("Meaning only (dense)", "dense"),
    ("Words only (BM25)", "bm25"),
]
CHAT_HEIGHT = 420  # px: with the header and the question box, fits a 1366x768 laptop screen


def page_js() -> str:
    """Runs once per page: the page's styles, citation chips (preview, open the article), copy
    buttons (citations, and the chat's: plain text)."""
    css = (STATIC / "page.css").read_text(encoding="utf-8")
    return (STATIC / "page.js").read_text(encoding="utf-8").replace("__CSS__", json.dumps(css))


PAGE_JS = page_js()


def build(app: WebApp, respond: Callable | None = None) -> gr.Blocks:
    """The page. ``respond(message, history)`` is served as the ``/respond`` API endpoint."""
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        with gr.Row(elem_classes="rag-header"):
            gr.Markdown(
                "## Ask the articles\nAnswers quote the articles; every sentence links to "
                "the paragraph it came from.",
                elem_classes="rag-title",
            )
            counts_top = gr.Markdown(
                "*Loading the collection\u2026*", elem_id="rag-counts", elem_classes="rag-counts"
            )
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                only = _ask_tab(app)
            with gr.Tab("Find a source", id="find"):
                _find_tab(app)
            with gr.Tab("Articles", id="articles"):
                refreshed, listing = articles_tab(app, counts_top, only)
        _article_reader(app)

        demo.load(refreshed, outputs=listing, api_visibility="private")
        demo.load(None, js=PAGE_JS)
        gr.api(app.api_ask, api_name="ask")
        gr.api(app.api_find_sources, api_name="find_sources")
        gr.api(app.api_delete_article, api_name="delete_article")
        gr.api(respond or app.respond, api_name="respond")
    return demo.queue(default_concurrency_limit=max(1, app.settings.concurrency))


def _ask_tab(app: WebApp) -> gr.Dropdown:
    examples: list[ExampleMessage] | None = (
        [{"text": q} for q in SAMPLE_QUESTIONS] if app.is_sample_collection() else None
    )
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=7):
            with gr.Row(elem_classes="rag-toolbar"):
                only = gr.Dropdown(
                    [],
                    multiselect=True,
                    label="Ask about (none chosen: all articles)",
                    elem_id="rag-only",
                    scale=6,
                )
                clear = gr.Button(
                    "New conversation", size="sm", variant="secondary", elem_id="rag-new", scale=1
                )
                export = gr.DownloadButton(
                    "Export conversation", value=None, size="sm", elem_id="rag-export", scale=1
                )
            chatbot = gr.Chatbot(
                label="Conversation",
                height=CHAT_HEIGHT,
                elem_id="rag-chat",
                examples=examples,
                placeholder="**Ask a question about the articles.** Follow-up questions (\u201cand "
                "what about training?\u201d) are read with the previous one.",
                buttons=["copy"],
                feedback_options=None,
                latex_delimiters=[],
                sanitize_html=True,
                group_consecutive_messages=False,
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask a question\u2026",
                    show_label=False,
                    scale=8,
                    elem_id="rag-question",
                    autofocus=True,
                    max_lines=4,
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
            with gr.Accordion("Answer settings", open=False):
                retrieval = gr.Radio(RETRIEVAL_CHOICES, value=app.settings.mode, label="Retrieval")
                passages = gr.Slider(
                    1,
                    20,
                    value=app.settings.top_k,
                    step=1,
                    label="Passages",
                    info="Paragraphs retrieved per question",
                )
                modes = available_modes(app.settings)
                answer_mode = gr.Radio(
                    modes,
                    value=modes[0][1],
                    label="Answer mode",
                    info="An LLM answer mode appears here once one is configured; extractive answers need no LLM.",
                )
        with gr.Column(scale=5):
            gr.Markdown("### Sources")
            sources = gr.HTML(sources_html([]), elem_id="rag-sources", elem_classes="rag-panel")
    inputs = [box, chatbot, turns, retrieval, passages, answer_mode, only]
    outputs = [box, chatbot, sources, turns]
    for event in (box.submit, send.click):  # the export file is written once the answer is complete
        # always_last: a question sent while the previous answer's export is still written is
        # asked right after it, not dropped
        event(app.chat, inputs, outputs, api_visibility="private", trigger_mode="always_last").then(
            write_export, turns, export, api_visibility="private"
        )

    def pick(
        evt: gr.SelectData,
        history: list[dict],
        turns_: list[Turn],
        retrieval_: str,
        passages_: int,
        mode_: str,
        only_: list[str] | None,
    ) -> Iterator[ChatUpdate]:
        yield from app.chat(evt.value.get("text", ""), history, turns_, retrieval_, passages_, mode_, only_)

    chatbot.example_select(pick, inputs[1:], outputs, api_visibility="private").then(
        write_export, turns, export, api_visibility="private"
    )
    clear.click(
        lambda: ([], sources_html([]), [], "", None),
        None,
        [chatbot, sources, turns, box, export],
        api_visibility="private",
    )
    return only


def _find_tab(app: WebApp) -> None:
    gr.Markdown(
        "Paste a claim or a quote from your report: get the paragraphs that support "
        "it, the supporting sentence highlighted, and the citation in four formats."
    )
    claim = gr.Textbox(
        label="Claim or quote",
        lines=3,
        elem_id="rag-claim",
        placeholder="e.g. Ukraine and NATO started producing weapons together",
    )
    with gr.Row():
        go = gr.Button("Find sources", variant="primary", elem_id="rag-find")
        passages = gr.Slider(1, 20, value=5, step=1, label="Paragraphs to check")
    found = gr.HTML(elem_id="rag-found", elem_classes="rag-panel")
    for event in (claim.submit, go.click):
        event(app.find, [claim, passages], found, api_visibility="private")


def _article_reader(app: WebApp) -> None:
    """An article opened from a citation: the page's script puts the request in a hidden box,
    the server answers with the article's HTML in a panel over the page."""
    request = gr.Textbox(elem_id="rag-open-req", elem_classes="rag-hidden", show_label=False, container=False)
    article = gr.HTML("", elem_id="rag-article")
    request.change(app.open_article, request, article, api_visibility="private", queue=False)
