"""The Articles tab: the collection's table, uploads (with what to do about a same-named
article) and deleting an article after a confirmation."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..settings import ARTICLE_SUFFIXES
from .render import md_text
from .uploads import KEEP_BOTH, REPLACE


def articles_tab(app, counts_top, only):
    """Lays out the tab; returns ``refreshed`` and the components it fills (this tab's details,
    the header's counts, the table, and both article pickers), for the page to fill on load."""
    details = gr.Markdown("*Loading the collection\u2026*", elem_id="rag-details")
    suffixes = ", ".join(ARTICLE_SUFFIXES)
    files = gr.File(  # no file_types: a refused file gets our message, and the drop zone stays usable
        label=f"Add articles ({suffixes}; up to {app.settings.upload_max_files} "
        f"files of {app.settings.upload_max_mb:g} MB each)",
        file_count="multiple",
        elem_id="rag-upload",
        height=140,
    )
    same_name = gr.Radio(
        [("Keep both (save the upload under a numbered name)", KEEP_BOTH), ("Replace the article", REPLACE)],
        value=KEEP_BOTH,
        label="When an upload has the same name as an article already here",
        elem_id="rag-same-name",
    )
    status = gr.HTML(elem_id="rag-upload-status")
    with gr.Row(elem_classes="rag-toolbar"):
        pick = gr.Dropdown([], label="Delete an article", elem_id="rag-delete-pick", scale=4)
        ask_delete = gr.Button("Delete\u2026", variant="stop", size="sm", elem_id="rag-delete", scale=1)
    with gr.Row(visible=False, elem_id="rag-confirm") as confirm:
        question = gr.Markdown()
        yes = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="rag-delete-yes")
        no = gr.Button("Keep it", size="sm", elem_id="rag-delete-no")
    deleted = gr.HTML(elem_id="rag-delete-status")
    table = gr.HTML(elem_id="rag-collection")

    def refreshed():
        more, rows = app.collection()
        choices = app.article_choices()
        return (
            more,
            app.header(),
            rows,
            gr.Dropdown(choices=choices),
            gr.Dropdown(choices=choices, value=None),
        )

    # the order of /upload_articles' outputs after the status, as before: details, header, table
    listing = [details, counts_top, table, only, pick]

    def upload(paths, same, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        names = [Path(p).name for p in paths or []]
        progress(0, desc=f"Saving {len(names)} file(s)")
        seen = iter(range(1, 10**9))
        message = app.upload(
            paths,
            on_file=lambda path: progress(None, desc=f"Reading {next(seen)}: {path.name}"),
            same_name=same,
        )
        return message, *refreshed(), None

    files.upload(
        upload, [files, same_name], [status, *listing, files], api_name="upload_articles", concurrency_limit=1
    )

    def confirm_delete(doc):
        if not doc:
            return (
                gr.Row(visible=False),
                "",
                '<div class="rag-error">Choose the article to delete first.</div>',
            )
        return (
            gr.Row(visible=True),
            f"Delete **{md_text(doc)}** from the folder and the index? This cannot be undone.",
            "",
        )

    ask_delete.click(confirm_delete, pick, [confirm, question, deleted], api_visibility="private")
    no.click(lambda: gr.Row(visible=False), None, confirm, api_visibility="private")

    def delete(doc):
        message = app.delete(doc)
        return gr.Row(visible=False), message, *refreshed()

    yes.click(delete, pick, [confirm, deleted, *listing], api_visibility="private", concurrency_limit=1)
    return refreshed, listing
