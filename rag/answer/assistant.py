"""The question-answering entry point: a question in, a cited ``Answer`` out.

``Assistant`` holds the settings, the model and the index, loaded once, so that a batch of
hundreds of questions, a web server or an evaluation pay for loading only once.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..embed.encoder import Embedder, follow
from ..errors import QuestionError
from ..settings import Settings
from ..store.index import Index
from ..types import Answer, Hit
from .conversation import Exchange, resolve
from .extractive import Reading, answer_question
from .modes import answer_mode as mode_named
from .retrieve import MODES, article_ids, retrieve

if TYPE_CHECKING:
    from .cross_encoder import Reranker

READERS = ("learned", "lexical")


@dataclass(frozen=True, kw_only=True)
class Search:
    """What ``Assistant.search`` found: the cleaned text, the passages, and seconds per step."""

    query: str
    hits: list[Hit]
    seconds: dict[str, float]
    vector: object = None  # the query's vector (None in bm25 mode)


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        index: Index | None = None,
        embedder: Embedder | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or Embedder(self.settings)
        self._index = index
        if index is not None:
            follow(self.embedder, getattr(index, "encoder", None))
        self._notify = notify  # told when the default index or the re-ranker is made first
        self._chat = None  # the LangChain chat model, built on first LLM answer
        self._reranker: Reranker | None = None  # loaded on first use

    @property
    def reader(self):
        """The learned reader's scorer (``rag.answer.reader.Scorer``), or None with ``RAG_READER=lexical``."""
        if self.settings.reader not in READERS:
            raise QuestionError(f"unknown reader {self.settings.reader!r}; use one of {', '.join(READERS)}")
        if self.settings.reader == "lexical":
            return None
        from .reader import shared_scorer

        return shared_scorer()

    def reading(self, found: Search, text: str | None = None) -> Reading | None:
        """What the learned reader needs to read ``found`` for ``text`` (default: what was
        searched); None: the word-overlap reader."""
        scorer = self.reader
        if scorer is None:
            return None
        text = found.query if text is None else text
        vector = (
            found.vector
            if found.vector is not None and text == found.query
            else self.embedder.encode_query(text)
        )
        return Reading(scorer, vector, self.embedder, self.reranker)

    @property
    def reranker(self):
        """The cross-encoder re-ranker (``rag.answer.cross_encoder.Reranker``), or None with
        ``RAG_RERANK=false`` or the lexical reader; loaded (and exported once) on first use."""
        if not self.settings.rerank or self.settings.reader == "lexical":
            return None
        if self._reranker is None:
            from .cross_encoder import shared_reranker

            cache, notify = self.settings.encoder_cache, self._notify

            def announce() -> None:
                if notify:
                    notify(
                        f"Preparing the re-ranker: exporting it from the packaged model into {cache} "
                        "(once, about 20 s; RAG_RERANK=false answers without it)..."
                    )

            self._reranker = shared_reranker(cache, announce)
        return self._reranker

    @property
    def index(self) -> Index:
        if self._index is None:
            from ..store.first_use import load_or_build

            index = load_or_build(self.settings, self.embedder, notify=self._notify)
            follow(
                self.embedder, getattr(index, "encoder", None)
            )  # questions are embedded as its articles were
            self._index = index
        return self._index

    def use_index(self, index: Index) -> None:
        """Swap in a new index (e.g. after an update); questions in flight keep the old one."""
        follow(self.embedder, getattr(index, "encoder", None))
        self._index = index

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        answer_mode: str | None = None,
        history: Sequence[Exchange] = (),
        docs: Sequence[str] = (),
    ) -> Answer:
        """Answer ``question`` from the ``k`` best passages found in ``mode`` (hybrid, dense, bm25),
        extractively or with the configured LLM (``answer_mode``); a follow-up ("Why?") is read
        with ``history``, the conversation so far. ``docs``: answer from these articles only."""
        for event in self.ask_stream(question, k, mode, answer_mode, history, docs):
            if isinstance(event, Answer):  # the last event; the ones before are drafts
                return event
        raise AssertionError("ask_stream ended without an answer")

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        answer_mode: str | None = None,
        history: Sequence[Exchange] = (),
        docs: Sequence[str] = (),
    ) -> Iterator[str | Answer]:
        """Drafts of the answer as it is composed (strings), then the final ``Answer``.

        In LLM mode the drafts are the model's unverified words; the final Answer keeps only
        verified sentences. If the model is unreachable or slow, the extractive answer is given
        with a notice saying so."""
        answer_mode = mode_named(answer_mode or self.settings.answer_mode).name
        asked = clean_question(question, self.settings.max_question_chars)
        context = resolve(asked, history, self.settings.max_question_chars)
        if context.stay and not docs:  # "Why?": about what was cited, not whatever else matches
            found = self._within(context.query, context.cited_docs, k, mode)
        else:
            found = self.search(context.query, k=k, mode=mode, docs=docs)
        began = time.perf_counter()
        if answer_mode == "llm":
            answer = yield from self._llm_answer(found, self.index)
        else:
            answer = answer_question(
                context.read,
                found.hits,
                self.index,
                self.reading(found, context.read),
                context,
                self.settings.abstain_below,
            )
        timings = {**found.seconds, "answer": time.perf_counter() - began}
        timings["total"] = sum(timings.values())
        yield replace(
            answer,
            question=asked,
            query=context.query if context.follow_up else "",
            timings_ms={k: round(v * 1000, 2) for k, v in timings.items()},
        )

    def _within(self, text: str, docs: Sequence[str], k: int | None, mode: str | None) -> Search:
        """The ``k`` best passages for ``text`` in the articles ``docs`` (searched deeper for
        them), or in any article when none of theirs is found."""
        k = self.settings.top_k if k is None else k
        wider = self.search(text, k=min(100, max(k * 4, 20)), mode=mode)
        kept = [h for h in wider.hits if h.doc in docs][:k] or wider.hits[:k]
        return replace(wider, hits=[replace(h, rank=n) for n, h in enumerate(kept, start=1)])

    def exchange(self, answer: Answer) -> Exchange:
        """What a later follow-up needs to know of ``answer``."""
        return Exchange(
            answer.query or answer.question, tuple((c.doc, c.start, c.end) for c in answer.citations)
        )

    def search(
        self, text: str, k: int | None = None, mode: str | None = None, docs: Sequence[str] = ()
    ) -> Search:
        """The ``k`` best passages for ``text`` (a question, a claim, a follow-up read with the
        conversation) in retrieval ``mode``, in the articles ``docs`` (all when empty); refuses
        empty or huge text, unknown options and articles."""
        began = time.perf_counter()
        text = clean_question(text, self.settings.max_question_chars)
        k = self.settings.top_k if k is None else k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QuestionError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not 1 <= k <= 100:
            raise QuestionError(f"-k {k} is out of range; ask for 1 to 100 passages")
        index = self.index
        only = frozenset(article_ids(index, docs)) if docs else None
        vector = self.embedder.encode_query(text) if mode != "bm25" else None
        embedded = time.perf_counter()
        hits = retrieve(
            index,
            text,
            vector,
            k=k,
            mode=mode,
            fusion=self.settings.fusion,
            dense_weight=self.settings.dense_weight,
            only=only,
        )
        return Search(
            query=text,
            hits=hits,
            seconds={"embed": embedded - began, "retrieve": time.perf_counter() - embedded},
            vector=vector,
        )

    def _llm_answer(self, found: Search, index: Index) -> Generator[str, None, Answer]:
        from .llm import LLMUnavailableError, build_chat_model, stream_answer
        from .verify import verified_answer

        question, hits = found.query, found.hits
        draft = ""
        try:
            if self._chat is None:
                self._chat = build_chat_model(self.settings)
            for piece in stream_answer(self._chat, question, hits[: self.settings.llm_passages]):
                draft += piece
                yield draft
        except LLMUnavailableError as exc:
            fallback = answer_question(
                question, hits, index, self.reading(found), abstain_below=self.settings.abstain_below
            )
            return replace(
                fallback,
                notice=f"{str(exc).capitalize()} ({self.settings.llm_base_url}); "
                "showing the extractive answer instead.",
            )
        return verified_answer(question, draft, hits, index, self.embedder, verify=self.settings.verify)

    def ask_many(
        self, questions: Iterable[str], k: int | None = None, mode: str | None = None
    ) -> Iterator[Answer]:
        for question in questions:
            yield self.ask(question, k=k, mode=mode)


def clean_question(question: str, limit: int) -> str:
    """The question without control characters and surrounding space; refuses empty or huge ones."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    if len(question) > limit:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is {limit:,}. Ask a "
            "shorter question (to find where a long passage comes from, quote one sentence of it)"
        )
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("the question is empty. Type a question about the articles")
    return cleaned


def answer_to_dict(answer: Answer) -> dict:
    """The JSON contract of ``rag ask --json`` and ``--batch``."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "confidence": round(answer.confidence, 4),
        "citations": [
            {
                "n": c.n,
                "doc": c.doc,
                "title": c.title,
                "paragraph": c.paragraph,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "support": c.support,
            }
            for c in answer.citations
        ],
        "passages": [
            {
                "rank": h.rank,
                "doc": h.doc,
                "title": h.title,
                "paragraph": h.paragraph,
                "start": h.start,
                "end": h.end,
                "text": h.text,
                "score": round(h.score, 4),
            }
            for h in answer.passages
        ],
        "timings_ms": dict(answer.timings_ms),
        "dropped": list(answer.dropped),
        "notice": answer.notice,
        "query": answer.query,
    }
