"""The web app: one ``Assistant`` (model and index loaded once) and the page's handlers.

``WebApp`` answers in the chat, finds sources, lists and adds articles; ``page.py`` lays out
the page, ``api.py`` serves the HTTP API, ``launch.py`` the address and login. Handlers turn
``RagError``s into messages on the page; anything unexpected is logged with its traceback and
shown as a short apology, never as a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (this module is the Gradio page; the CLI imports it lazily)

from ..answer.assistant import Assistant  # noqa: E402
from ..cite import SUPPORTED_BELOW, find_sources, reference  # noqa: E402
from ..errors import RagError  # noqa: E402
from ..settings import Settings  # noqa: E402
from . import api, launch, library  # noqa: E402
from .chat import (  # noqa: E402
    ChatUpdate,
    compose_turn,
    final_turn,
    message_text,
    stream_markdown,
    user_questions,
)
from .guard import ApiInputError, history_input  # noqa: E402
from .launch import auth_accounts, is_loopback  # noqa: E402,F401  (part of this module's API)
from .panels import sources_found_html, sources_html  # noqa: E402
from .render import Turn, error_html, md_text  # noqa: E402

log = logging.getLogger("rag.web.app")

# Sessions (browser tabs and API callers) whose state Gradio keeps; past this the least recently
# used is forgotten. Each costs about 100 kB, and an API call without a session, e.g. a plain
# HTTP POST to /gradio_api/call/ask, starts a new one: Gradio's default of 10,000 grew the server
# by about 1 GB under API load. A tab forgotten this way keeps its chat; its sources panel and
# the context of follow-up questions start afresh with its next question.
SESSIONS_KEPT = 1000
SORRY = api.SORRY


class WebApp:
    def __init__(self, settings: Settings | None = None, assistant: Assistant | None = None) -> None:
        self.settings = settings or (assistant.settings if assistant else Settings.from_env())
        self.assistant = assistant or Assistant(self.settings, notify=log.warning)
        self._loading = threading.Lock()
        self._manifest_seen: tuple | None = None  # (inode, mtime, size) of the manifest last read
        self.index_changed_at = ""  # when an index updated by another process was swapped in

    # ---- model and index ---------------------------------------------------------------------
    def index(self):
        """The index, loaded (or built from the articles folder) once, whoever asks first; when
        another process (``rag index``) has committed a new one since, that one is loaded and
        swapped in whole, so each request sees the old collection or the new, never a mix."""
        with self._loading:
            index = self.assistant.index
            fresh = self._newer_on_disk(index)
            if fresh is not None:
                self.assistant.use_index(fresh)
            return self.assistant.index

    def _newer_on_disk(self, index):
        """The index on disk if its manifest names another data generation than ``index``; one
        ``stat`` per request while the manifest file is unchanged."""
        import json

        from ..store.index import MANIFEST, Index
        from ..store.milvus_index import MilvusIndex

        if isinstance(index, MilvusIndex):  # the alias in Milvus names the generation that serves
            return self._newer_in_milvus(index)
        path = Path(self.settings.index_dir) / MANIFEST
        try:
            info = path.stat()
            key = (info.st_ino, info.st_mtime_ns, info.st_size)
            if key == self._manifest_seen:
                return None
            self._manifest_seen = key
            data = json.loads(path.read_text(encoding="utf-8")).get("data")
            if not data or data == index.manifest.get("data"):
                return None
            fresh = Index.load(self.settings.index_dir, self.settings)
        except (OSError, ValueError, RagError) as exc:  # keep serving the index in memory
            log.warning(
                "the index in %s changed but could not be loaded (%s); still serving the previous one",
                self.settings.index_dir,
                exc,
            )
            return None
        log.info(
            "the index in %s was updated by another process (%s); serving it now",
            self.settings.index_dir,
            data,
        )
        self.index_changed_at = fresh.manifest.get("updated_at", "")
        return fresh

    def _newer_in_milvus(self, index):
        try:
            fresh = index.newer()
        except RagError as exc:  # keep serving the index in memory
            log.warning(
                "could not look for a newer index in %s (%s); still serving %s",
                index.spec,
                exc,
                index.manifest.get("data"),
            )
            return None
        if fresh is not None:
            log.info(
                "the index in %s was updated by another process (%s); serving it now",
                index.spec,
                fresh.manifest.get("data"),
            )
            self.index_changed_at = fresh.manifest.get("updated_at", "")
        return fresh

    def warm_up(self) -> threading.Thread:
        """Load the model and the index in the background so the first question is quick."""

        def load() -> None:
            try:
                self.index()
                self.assistant.embedder.encode_query("warm up")
                self.assistant.reranker  # noqa: B018  (loaded, exported the first time)
            except RagError as exc:
                log.error("could not load the index: %s", exc)

        thread = threading.Thread(target=load, name="rag-warm-up", daemon=True)
        thread.start()
        return thread

    def is_sample_collection(self) -> bool:
        return Path(self.settings.articles_dir).resolve() == Settings().articles_dir.resolve()

    # ---- chat --------------------------------------------------------------------------------
    def respond(self, message: str, history: list[dict]) -> Iterator[str]:
        """Gradio's chat-function shape: the reply to ``message`` (Markdown, citation markers
        linked), growing as it is composed; a follow-up is read with the user's earlier questions."""
        try:
            history = history_input(history)
            if not isinstance(message, (str, dict, list)):
                raise ApiInputError(f"message must be text, not a {type(message).__name__}")
        except ApiInputError as exc:
            raise api.refused("/respond", exc) from None
        self.index()
        previous = user_questions(history)
        try:
            *drafts, last = compose_turn(self.assistant, len(previous) + 1, message_text(message), previous)
        except RagError as exc:
            yield f"\u26a0\ufe0f {md_text(str(exc))}"
            return
        turn = final_turn(last)
        yield from (md_text(d) for d in drafts if isinstance(d, str))  # drafts are text; the turn is last
        yield from stream_markdown(turn)

    def chat(
        self,
        message: str,
        history: list[dict],
        turns: list[Turn],
        retrieval: str,
        passages: int,
        answer_mode: str,
        docs: list[str] | None = None,
    ) -> Iterator[ChatUpdate]:
        """The page's chat handler: streams the reply, then fills the sources panel; ``docs``:
        answer from these articles only."""
        message = message_text(message)
        history = list(history or [])
        turns = list(turns or [])
        if not message.strip():
            yield gr.skip(), history, gr.skip(), turns
            return
        history += [
            {"role": "user", "content": md_text(message)},
            {"role": "assistant", "content": "*Searching the articles\u2026*"},
        ]
        yield "", history, gr.skip(), turns
        try:
            self.index()
            found: Turn | None = None
            for item in compose_turn(
                self.assistant,
                len(turns) + 1,
                message,
                [self.assistant.exchange(t.answer) for t in turns],
                int(passages or self.settings.top_k),
                retrieval,
                answer_mode,
                tuple(docs or ()),
            ):
                if isinstance(item, str):
                    history[-1] = {"role": "assistant", "content": md_text(item)}
                    yield gr.skip(), history, gr.skip(), turns
                else:
                    found = item
            turn = final_turn(found)  # before it joins the turns: a missing one would break the next
            turns.append(turn)
            first = True
            for text in stream_markdown(turn):
                history[-1] = {"role": "assistant", "content": text}
                yield gr.skip(), history, (sources_html(turns) if first else gr.skip()), turns
                first = False
        except RagError as exc:
            history[-1] = {"role": "assistant", "content": f"\u26a0\ufe0f {md_text(str(exc))}"}
            yield gr.skip(), history, gr.skip(), turns
        except Exception:
            log.exception("answering %r failed", message)
            history[-1] = {"role": "assistant", "content": f"\u26a0\ufe0f {SORRY}"}
            yield gr.skip(), history, gr.skip(), turns

    # ---- find a source -----------------------------------------------------------------------
    def find(self, claim: str, passages: int = 5) -> str:
        if not " ".join(str(claim or "").split()):
            return (
                '<div class="rag-note">Type or paste a claim first: a sentence from your report, '
                "and the paragraphs that support it are listed here with their citations.</div>"
            )
        try:
            self.index()
            sources = find_sources(self.assistant, claim, k=int(passages or 5))
            index = self.assistant.index
            refs = [reference(s, index.articles.get(s.hit.article_id)) for s in sources]
            return sources_found_html(" ".join(claim.split()), sources, refs, SUPPORTED_BELOW)
        except RagError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("finding sources for %r failed", claim)
            return error_html(SORRY)

    # ---- articles (library.py) ---------------------------------------------------------------
    collection = library.collection
    header = library.header
    article_choices = library.article_choices
    upload = library.upload
    delete = library.delete
    open_article = library.open_article

    # ---- API and page ------------------------------------------------------------------------
    api_ask = api.ask
    api_find_sources = api.find_sources
    api_delete_article = api.delete_article

    def build(self, respond: Callable | None = None) -> gr.Blocks:
        """The page. ``respond(message, history)`` is served as the ``/respond`` API endpoint."""
        from .page import build

        return build(self, respond)

    def launch_options(self) -> dict:
        """Arguments for ``demo.launch`` (see ``launch.launch_options``)."""
        return launch.launch_options(self.settings, SESSIONS_KEPT)


def serve(settings: Settings | None = None, respond: Callable | None = None) -> None:
    """Build the page, start loading the model and index, and serve until interrupted; refuses
    to start when the port is taken."""
    settings = settings or Settings.from_env()
    launch.check_port(settings.host, settings.port)
    app = WebApp(settings)
    demo = app.build(respond)
    app.warm_up()
    demo.launch(**app.launch_options())
