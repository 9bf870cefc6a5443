"""The web page: chat with clickable citations, a sources panel, "Find a source", and uploads.

``WebApp`` holds one ``Assistant`` (model and index loaded once) and builds the Gradio page.
Its handlers turn ``RagError``s into messages on the page; anything unexpected is logged with
its traceback and shown as a short apology, never as a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (this module is the Gradio page; the CLI imports it lazily)

from ..answer.assistant import Assistant, answer_to_dict  # noqa: E402
from ..cite import SUPPORTED_BELOW, find_sources, reference  # noqa: E402
from ..errors import RagError  # noqa: E402
from ..settings import ARTICLE_SUFFIXES, Settings  # noqa: E402
from ..store.vectorstore import store_label  # noqa: E402
from .chat import available_modes, compose_turn, message_text, stream_markdown, user_questions  # noqa: E402
from .guard import (
    ApiInputError,
    LoginRequired,
    LoginThrottle,
    history_input,  # noqa: E402
    passages_input,
    retrieval_input,
    text_input,
    warn_if_readable_by_others,
)
from .render import (
    collection_html,
    counts_line,
    error_html,
    esc,
    md_text,  # noqa: E402
    sources_found_html,
    sources_html,
)
from .uploads import add_articles  # noqa: E402

log = logging.getLogger("rag.web.app")

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
# Sessions (browser tabs and API callers) whose state Gradio keeps; past this the least recently
# used is forgotten. Each costs about 100 kB, and an API call without a session, e.g. a plain
# HTTP POST to /gradio_api/call/ask, starts a new one: Gradio's default of 10,000 grew the server
# by about 1 GB under API load. A tab forgotten this way keeps its chat; its sources panel and
# the context of follow-up questions start afresh with its next question.
SESSIONS_KEPT = 1000
SORRY = "Something went wrong on the server (details are in its log). Try again, or rephrase."


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

    def warm_up(self) -> threading.Thread:
        """Load the model and the index in the background so the first question is quick."""

        def load() -> None:
            try:
                self.index()
                self.assistant.embedder.encode_query("warm up")
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
            raise _refused("/respond", exc) from None
        self.index()
        previous = user_questions(history)
        try:
            *drafts, turn = compose_turn(self.assistant, len(previous) + 1, message_text(message), previous)
        except RagError as exc:
            yield f"\u26a0\ufe0f {md_text(str(exc))}"
            return
        yield from (md_text(d) for d in drafts)
        yield from stream_markdown(turn)

    def chat(self, message: str, history: list, turns: list, retrieval: str, passages: int, answer_mode: str):
        """The page's chat handler: streams the reply, then fills the sources panel."""
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
            turn = None
            for item in compose_turn(
                self.assistant,
                len(turns) + 1,
                message,
                [self.assistant.exchange(t.answer) for t in turns],
                int(passages or self.settings.top_k),
                retrieval,
                answer_mode,
            ):
                if isinstance(item, str):
                    history[-1] = {"role": "assistant", "content": md_text(item)}
                    yield gr.skip(), history, gr.skip(), turns
                else:
                    turn = item
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

    # ---- articles ----------------------------------------------------------------------------
    def collection(self) -> tuple[str, str]:
        """(counts line, collection table) of the index now in use."""
        try:
            index = self.index()
        except RagError as exc:
            return f"\u26a0\ufe0f {md_text(str(exc))}", error_html(str(exc))
        chunks: dict[str, int] = {}
        for chunk in index.chunks.values():
            chunks[chunk.article_id] = chunks.get(chunk.article_id, 0) + 1
        counts = counts_line(len(index.articles), index.paragraph_count, len(index.chunks))
        where = md_text(store_label(index.vectors.describe()))
        changed = f" \u00b7 updated {md_text(self.index_changed_at)}" if self.index_changed_at else ""
        return (
            f"**Collection:** {counts} \u00b7 {where}{changed}",
            collection_html(index.articles.values(), chunks),
        )

    def upload(self, paths: list[str] | None, on_file: Callable[[Path], None] | None = None) -> str:
        """Add uploaded files to the collection; returns the status as HTML."""
        files = [(Path(p).name, Path(p)) for p in (paths or [])]
        if not files:
            return ""
        try:
            self.index()
            result = add_articles(self.assistant, files, on_file=on_file, progress=True)
        except RagError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("adding uploads failed")
            return error_html(SORRY)
        ok = result.report is not None and len(result.failed) < len(result.saved.paths)
        lines = "<br>".join(esc(line) for line in result.message().splitlines())
        return f'<div class="{"rag-ok" if ok else "rag-error"}">{lines}</div>'

    # ---- API (gradio_client) -----------------------------------------------------------------
    def api_ask(self, question: str, retrieval: str = "hybrid", passages: int = 5) -> dict:
        """Answer one question; the JSON of `rag ask --json`."""
        try:
            question = text_input("question", question)
            k, mode = passages_input(passages), retrieval_input(retrieval)
            self.index()
            return answer_to_dict(self.assistant.ask(question, k=k, mode=mode))
        except RagError as exc:
            raise _refused("/ask", exc) from None
        except Exception:
            log.exception("answering %r through the API failed", question)
            raise gr.Error(SORRY, print_exception=False) from None

    def api_find_sources(self, claim: str, passages: int = 5) -> list[dict]:
        """The paragraphs that support a claim, best first, with every citation format."""
        from ..cite import all_formats

        try:
            claim, k = text_input("claim", claim), passages_input(passages)
            self.index()
            sources = find_sources(self.assistant, claim, k=k)
        except RagError as exc:
            raise _refused("/find_sources", exc) from None
        index = self.assistant.index
        return [
            {
                "rank": s.rank,
                "doc": s.hit.doc,
                "title": s.hit.title,
                "paragraph": s.hit.paragraph,
                "start": s.start,
                "end": s.end,
                "quote": s.quote,
                "support": s.support,
                "exact": s.exact,
                "formats": all_formats(reference(s, index.articles.get(s.hit.article_id))),
            }
            for s in sources
        ]

    # ---- the page ----------------------------------------------------------------------------
    def build(self, respond: Callable | None = None) -> gr.Blocks:
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
                    self._ask_tab()
                with gr.Tab("Find a source", id="find"):
                    self._find_tab()
                with gr.Tab("Articles", id="articles"):
                    counts, table = self._articles_tab(counts_top)
            demo.load(
                lambda: (lambda c, t: (c, c, t))(*self.collection()),
                outputs=[counts_top, counts, table],
                api_visibility="private",
            )
            demo.load(None, js=page_js())
            gr.api(self.api_ask, api_name="ask")
            gr.api(self.api_find_sources, api_name="find_sources")
            gr.api(respond or self.respond, api_name="respond")
        return demo.queue(default_concurrency_limit=max(1, self.settings.concurrency))

    def _ask_tab(self) -> None:
        examples = [{"text": q} for q in SAMPLE_QUESTIONS] if self.is_sample_collection() else None
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
                    retrieval = gr.Radio(RETRIEVAL_CHOICES, value=self.settings.mode, label="Retrieval")
                    passages = gr.Slider(
                        1,
                        20,
                        value=self.settings.top_k,
                        step=1,
                        label="Passages",
                        info="Paragraphs retrieved per question",
                    )
                    modes = available_modes(self.settings)
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
            event(self.chat, inputs, outputs, api_visibility="private")

        def pick(evt: gr.SelectData, history, turns_, retrieval_, passages_, mode_):
            yield from self.chat(evt.value.get("text", ""), history, turns_, retrieval_, passages_, mode_)

        chatbot.example_select(pick, inputs[1:], outputs, api_visibility="private")
        clear.click(
            lambda: ([], sources_html([]), [], ""),
            None,
            [chatbot, sources, turns, box],
            api_visibility="private",
        )

    def _find_tab(self) -> None:
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
            event(self.find, [claim, passages], found, api_visibility="private")

    def _articles_tab(self, counts_top) -> tuple:
        counts = gr.Markdown("*Loading the collection\u2026*")
        suffixes = ", ".join(ARTICLE_SUFFIXES)
        files = gr.File(
            label=f"Add articles ({suffixes}; up to {self.settings.upload_max_files} "
            f"files of {self.settings.upload_max_mb:g} MB each)",
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
            message = self.upload(
                paths, on_file=lambda path: progress(None, desc=f"Reading {next(seen)}: {path.name}")
            )
            counts_text, table_html = self.collection()
            return message, counts_text, counts_text, table_html, None

        files.upload(
            upload,
            files,
            [status, counts, counts_top, table, files],
            api_name="upload_articles",
            concurrency_limit=1,
        )
        return counts, table

    def launch_options(self) -> dict:
        """Arguments for ``demo.launch``: address and login from the settings, upload size limit,
        theme, sessions kept; no monitoring page, no FastAPI schema page; with a login, Gradio's
        routes that skip its login check are closed (``LoginRequired``). Warns when the page is
        open to the network without a login."""
        accounts = auth_accounts(self.settings)
        if accounts is None and not is_loopback(self.settings.host):
            log.warning(
                "serving on %s without a login: anyone who can reach it can ask and upload. "
                "Set RAG_AUTH_USER and RAG_AUTH_PASSWORD (or RAG_AUTH_FILE)",
                self.settings.host,
            )
        return {
            "server_name": self.settings.host,
            "server_port": self.settings.port,
            "max_file_size": f"{self.settings.upload_max_mb:g}mb",
            "theme": theme(),
            "state_session_capacity": SESSIONS_KEPT,
            "footer_links": ["api"],
            "auth": accounts,
            "enable_monitoring": False,
            "auth_message": "Sign in to ask the articles." if accounts else None,
            "app_kwargs": {
                "openapi_url": None,
                **(
                    {"middleware": [_middleware(LoginThrottle), _middleware(LoginRequired)]}
                    if accounts
                    else {}
                ),
            },
        }


def _middleware(cls):
    from starlette.middleware import Middleware

    return Middleware(cls)


def _refused(endpoint: str, exc: RagError) -> gr.Error:
    """The caller's mistake, answered in words and logged as one line (no traceback)."""
    log.info("refused a call to %s: %s", endpoint, exc)
    return gr.Error(str(exc), print_exception=False)


def auth_accounts(settings: Settings) -> list[tuple[str, str]] | None:
    """(user, password) pairs from RAG_AUTH_USER/RAG_AUTH_PASSWORD and RAG_AUTH_FILE; None: no login."""
    accounts = []
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise RagError(
            "RAG_AUTH_USER and RAG_AUTH_PASSWORD go together: set both to require a login, or neither"
        )
    if settings.auth_user:
        accounts.append((settings.auth_user, settings.auth_password))
    if settings.auth_file:
        accounts += _read_auth_file(Path(settings.auth_file).expanduser())
    return accounts or None


def _read_auth_file(path: Path) -> list[tuple[str, str]]:
    warn_if_readable_by_others(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"cannot read the login file {path} ({exc}); fix RAG_AUTH_FILE") from None
    accounts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise RagError(f'{path} line {number} is not "user:password"; fix or remove it')
        accounts.append((user.strip(), password))
    if not accounts:
        raise RagError(
            f'the login file {path} holds no "user:password" lines; add one or unset RAG_AUTH_FILE'
        )
    return accounts


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def theme():
    """Gradio's default look with the computer's own fonts (no font downloads: works offline)."""
    return gr.themes.Default(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )


CSS = """
.rag-title h2 { margin-bottom: 0 }
.rag-counts p { color: var(--body-text-color-subdued); margin-top: 0 }
a.rag-cite { font-size: .78em; vertical-align: super; line-height: 0; text-decoration: none;
  font-weight: 600; padding: 0 1px; color: var(--color-accent) !important }
a.rag-cite:hover { text-decoration: underline }
.rag-panel { max-height: 640px; overflow-y: auto }
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin: 8px 0; background: var(--background-fill-secondary) }
.rag-card-head { margin-bottom: 4px }
.rag-n { font-weight: 700; color: var(--color-accent) }
.rag-para { margin: 6px 0; line-height: 1.5; white-space: pre-wrap }
.rag-para mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 3px }
.rag-meta { font-size: .82em; color: var(--body-text-color-subdued) }
.rag-badge { font-size: .8em; border-radius: 999px; padding: 1px 8px; margin-left: 6px;
  background: var(--color-accent-soft); color: var(--body-text-color) }
.rag-copyrow { margin-top: 6px; font-size: .85em; display: flex; flex-wrap: wrap; gap: 6px;
  align-items: center }
.rag-panel button.rag-copy { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 1px 9px; margin: 0; cursor: pointer; background: var(--background-fill-primary);
  font-size: 12px; font-weight: 500; line-height: 1.6 }
button.rag-copy:hover { border-color: var(--color-accent) }
button.rag-copy.rag-copied { background: #bbf7d0; color: #14532d }
.rag-formats summary { cursor: pointer; font-size: .82em; color: var(--body-text-color-subdued) }
.rag-formats pre { white-space: pre-wrap; word-break: break-word; font-size: .78em; margin: 2px 0 8px }
details.rag-turn > summary { cursor: pointer; font-weight: 600; padding: 4px 0 }
.rag-card.rag-flash { animation: rag-flash 1.8s ease-out }
@keyframes rag-flash { 0% { box-shadow: 0 0 0 3px var(--color-accent) } 100% { box-shadow: 0 0 0 0 transparent } }
.rag-empty, .rag-note { color: var(--body-text-color-subdued) }
.rag-error { color: #b91c1c; border-left: 3px solid #b91c1c; padding: 4px 10px }
.rag-ok { border-left: 3px solid #16a34a; padding: 4px 10px }
table.rag-collection { width: 100%; border-collapse: collapse; font-size: .9em }
table.rag-collection th, table.rag-collection td { text-align: left; padding: 4px 8px;
  border-bottom: 1px solid var(--border-color-primary) }
"""

_JS = """
() => {
  if (window.__ragPage) return;
  window.__ragPage = true;
  const style = document.createElement('style');
  style.id = 'rag-style';
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const copy = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      const area = document.createElement('textarea');
      area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      const ok = document.execCommand('copy'); area.remove(); return ok;
    }
  };
  const show = (id) => {
    const card = document.getElementById(id);
    if (!card) return;
    const turn = card.closest('details.rag-turn');
    if (turn) turn.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.remove('rag-flash'); void card.offsetWidth; card.classList.add('rag-flash');
  };
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    const link = target && target.closest('a[href^="#src-"]');
    if (link) {
      ev.preventDefault(); ev.stopPropagation();
      show(link.getAttribute('href').slice(1));
      return;
    }
    const button = target && target.closest('button.rag-copy');
    if (button) {
      ev.preventDefault();
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      window.ragLastCopied = button.dataset.copy;
      copy(button.dataset.copy).then((ok) => {
        button.textContent = ok ? 'Copied \\u2713' : 'Select and copy below';
        button.classList.add('rag-copied');
        setTimeout(() => { button.textContent = label; button.classList.remove('rag-copied'); }, 1800);
      });
    }
  }, true);
}
"""


def page_js() -> str:
    """Runs once per page: the page's styles, citation links that open their source, copy buttons."""
    import json

    return _JS.replace("__CSS__", json.dumps(CSS))


def serve(settings: Settings | None = None, respond: Callable | None = None) -> None:
    """Build the page, start loading the model and index, and serve until interrupted."""
    app = WebApp(settings)
    demo = app.build(respond)
    app.warm_up()
    demo.launch(**app.launch_options())
