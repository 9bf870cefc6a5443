"""The conversation: follow-up questions read with the previous one, answers composed in steps.

An answer mode composes an ``Answer`` for (assistant, query, k, retrieval mode): it yields draft
text while it works (an LLM's tokens) and the final, verified ``Answer`` last. Only the
extractive mode has no drafts; the LLM mode streams the model's words as drafts and is offered
only when an LLM is configured (RAG_LLM). Another mode plugs in by adding an ``AnswerMode`` to
``ANSWER_MODES``. The page offers the modes that are available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, Union

from .assistant import Assistant
from .cite import reference
from .config import Settings
from .types import Answer
from .web_render import Turn, answer_pieces


@dataclass(frozen=True)
class AnswerMode:
    label: str  # shown in the page's settings
    available: Callable[[Settings], bool]
    # (assistant, question, search, k, retrieval mode) -> drafts, then the Answer. ``search`` is
    # what to retrieve with: the question itself, or a follow-up read with the previous question.
    compose: Callable[[Assistant, str, str, int, str], Iterator[Union[str, Answer]]]


def _extractive(assistant: Assistant, question: str, search: str, k: int,
                mode: str) -> Iterator[Union[str, Answer]]:
    if search == question:
        yield assistant.ask(question, k=k, mode=mode)
        return
    # A follow-up: passages are found with the conversation's words, and the answer's sentences
    # are chosen for what the follow-up itself asks ("training"), when it names anything.
    from .answer import answer_question

    found = assistant.search(search, k=k, mode=mode)
    asked = question if _content_words(question) else found.query
    yield answer_question(asked, found.hits, assistant.index)


def _llm(assistant: Assistant, question: str, search: str, k: int,
         mode: str) -> Iterator[Union[str, Answer]]:
    # The model sees the question as read with the conversation; its sentences are verified.
    yield from assistant.ask_stream(search, k=k, mode=mode, answer_mode="llm")


ANSWER_MODES: dict[str, AnswerMode] = {
    "extractive": AnswerMode("Extractive: quotes the articles word for word", lambda s: True, _extractive),
    "llm": AnswerMode("LLM: written by the configured model, every sentence verified",
                      lambda s: bool(s.llm), _llm),
}


def available_modes(settings: Settings) -> list[tuple[str, str]]:
    """(label, name) of the answer modes this configuration offers."""
    return [(m.label, name) for name, m in ANSWER_MODES.items() if m.available(settings)]


# ---- follow-up questions -----------------------------------------------------------------------
_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|or|what about|how about|what else|why not|how come|"
    r"more on|tell me more|same for|and what|and how|and why|and who|and when)\b", re.I)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|"
                          r"there|such|the same)\b", re.I)
_SMALL = frozenset("a an the is are was were be do does did what which who whom how why when where "
                   "about and or but also so then of to in on for with more tell me us please it its "
                   "they them their this that these those he him his she her there such same".split())


def _content_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", message) if w.lower() not in _SMALL]


def is_follow_up(message: str) -> bool:
    """True for a question that leans on the one before ("and what about training?")."""
    content = _content_words(message)
    if _FOLLOW_UP_START.match(message) or not content:  # "Why?", "and how?"
        return True
    return len(content) <= 2 and bool(_REFERS_BACK.search(message))


def contextual_query(message: str, previous_queries: Sequence[str], limit: int) -> str:
    """What to search for ``message``: itself, or, for a follow-up, itself with the previous query."""
    if not previous_queries or not is_follow_up(message):
        return message
    combined = f"{message.strip()} {previous_queries[-1].strip()}"
    return combined if len(combined) <= limit else message


def user_questions(history: Sequence[dict]) -> list[str]:
    """The user's messages in a Gradio chat history (content as text or as a list of parts)."""
    return [text for m in history if m.get("role") == "user" and (text := message_text(m.get("content")))]


def message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(message_text(part) for part in content).strip()
    return ""


# ---- composing a turn --------------------------------------------------------------------------
def compose_turn(assistant: Assistant, number: int, question: str, previous_queries: Sequence[str],
                 k: int | None = None, mode: str | None = None,
                 answer_mode: str = "extractive") -> Iterator[Union[str, Turn]]:
    """Answer ``question`` (read with the previous queries when it is a follow-up) as turn
    ``number``: yields the answer mode's drafts, then the ``Turn``."""
    settings = assistant.settings
    question = " ".join(str(question).split())
    query = contextual_query(question, previous_queries, settings.max_question_chars)
    chosen = ANSWER_MODES.get(answer_mode or "extractive")
    if chosen is None or not chosen.available(settings):
        from .errors import QuestionError

        offered = ", ".join(name for _, name in available_modes(settings))
        raise QuestionError(f"answer mode {answer_mode!r} is not available here; use {offered}")
    for item in chosen.compose(assistant, question, query, k or settings.top_k, mode or settings.mode):
        if isinstance(item, str):
            yield item
            continue
        index = assistant.index
        refs = tuple(reference(c, index.article_by_doc(c.doc)) for c in item.citations)
        yield Turn(number, question, query, item, refs)
        return


def answer_turn(assistant: Assistant, number: int, question: str, previous_queries: Sequence[str],
                k: int | None = None, mode: str | None = None, answer_mode: str = "extractive") -> Turn:
    """``compose_turn`` without the drafts."""
    *_, turn = compose_turn(assistant, number, question, previous_queries, k, mode, answer_mode)
    return turn


def stream_markdown(turn: Turn) -> Iterator[str]:
    """The reply's Markdown, growing piece by piece."""
    text = ""
    for piece in answer_pieces(turn):
        text += piece
        yield text
