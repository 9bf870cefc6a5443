"""The page's layout: the Ask, Find a source and Articles tabs, wired to a ``WebApp``'s handlers.

Its CSS and JS are the files in ``static/``, read once when this module is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from ..settings import ARTICLE_SUFFIXES
from .chat import available_modes
from .render import sources_html

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


def page_js() -> str:
    """Runs once per page: the page's styles, citation links that open their source, copy buttons."""
    css = (STATIC / "page.css").read_text(encoding="utf-8")
    return (STATIC / "page.js").read_text(encoding="utf-8").replace("__CSS__", json.dumps(css))


PAGE_JS = page_js()


def build(app, respond: Callable | None = None) -> gr.Blocks:
    """The page. ``respond(message, history)`` is served as the ``/respond`` API endpoint."""
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
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
                _ask_tab(app)
            with gr.Tab("Find a source", id="find"):
                _find_tab(app)
            with gr.Tab("Articles", id="articles"):
                counts, table = _articles_tab(app, counts_top)
        demo.load(
            lambda: (lambda c, t: (c, c, t))(*app.collection()),
            outputs=[counts_top, counts, table],
            api_visibility="private",
        )
        demo.load(None, js=PAGE_JS)
        gr.api(app.api_ask, api_name="ask")
        gr.api(app.api_find_sources, api_name="find_sources")
        gr.api(respond or app.respond, api_name="respond")
    return demo.queue(default_concurrency_limit=max(1, app.settings.concurrency))


def _ask_tab(app) -> None:
    examples = [{"text": q} for q in SAMPLE_QUESTIONS] if app.is_sample_collection() else None
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=7):
            chatbot = gr.Chatbot(
                label="Conversation",
                height=560,
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
                    info="An LLM answer mode appears here once one is "
                    "configured; extractive answers need no LLM.",
                )
            clear = gr.Button("New conversation", size="sm", variant="secondary")
        with gr.Column(scale=5):
            gr.Markdown("### Sources")
            sources = gr.HTML(sources_html([]), elem_id="rag-sources", elem_classes="rag-panel")
    inputs = [box, chatbot, turns, retrieval, passages, answer_mode]
    outputs = [box, chatbot, sources, turns]
    for event in (box.submit, send.click):
        event(app.chat, inputs, outputs, api_visibility="private")

    def pick(evt: gr.SelectData, history, turns_, retrieval_, passages_, mode_):
        yield from app.chat(evt.value.get("text", ""), history, turns_, retrieval_, passages_, mode_)

    chatbot.example_select(pick, inputs[1:], outputs, api_visibility="private")
    clear.click(
        lambda: ([], sources_html([]), [], ""),
        None,
        [chatbot, sources, turns, box],
        api_visibility="private",
    )


def _find_tab(app) -> None:
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


def _articles_tab(app, counts_top) -> tuple:
    counts = gr.Markdown("*Loading the collection\u2026*")
    suffixes = ", ".join(ARTICLE_SUFFIXES)
    files = gr.File(
        label=f"Add articles ({suffixes}; up to {app.settings.upload_max_files} "
        f"files of {app.settings.upload_max_mb:g} MB each)",
        file_count="multiple",
        file_types=list(ARTICLE_SUFFIXES),
        elem_id="rag-upload",
        height=140,
    )
    status = gr.HTML(elem_id="rag-upload-status")
    table = gr.HTML(elem_id="rag-collection")

    def upload(paths, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        names = [Path(p).name for p in paths or []]
        progress(0, desc=f"Saving {len(names)} file(s)")
        seen = iter(range(1, 10**9))
        message = app.upload(
            paths, on_file=lambda path: progress(None, desc=f"Reading {next(seen)}: {path.name}")
        )
        counts_text, table_html = app.collection()
        return message, counts_text, counts_text, table_html, None

    files.upload(
        upload,
        files,
        [status, counts, counts_top, table, files],
        api_name="upload_articles",
        concurrency_limit=1,
    )
    return counts, table
