"""The page's conversation: turns composed in steps by the assistant, in the chosen answer mode.

Follow-ups are resolved by the assistant (``conversation.py``) from the earlier turns' answers.
An answer mode yields draft text while it works (an LLM's tokens) and the final, verified
``Answer`` last. Only the extractive mode has no drafts; the LLM mode is offered only when an LLM
is configured (RAG_LLM). The page offers the modes that are available.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..answer.assistant import Assistant
from ..answer.conversation import Exchange, exchanges
from ..answer.modes import ANSWER_MODES, available_modes
from ..cite import reference
from .render import Turn, answer_pieces

# What the page's chat handler yields: (question box, chat history, sources panel, turns), where
# gr.skip() (a dict) leaves that output as it is.
ChatUpdate = tuple[str | dict, list[dict], str | dict, list[Turn]]


def user_questions(history: Sequence[dict]) -> list[Exchange]:
    """The conversation in a Gradio chat history: the user's messages (content as text or as a
    list of parts), each resolved against the ones before."""
    return exchanges(
        {"role": "user", "content": text}
        for m in history
        if m.get("role") == "user" and (text := message_text(m.get("content")))
    )


def message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(message_text(part) for part in content).strip()
    return ""


# ---- composing a turn --------------------------------------------------------------------------
def compose_turn(
    assistant: Assistant,
    number: int,
    question: str,
    history: Sequence[Exchange],
    k: int | None = None,
    mode: str | None = None,
    answer_mode: str = "extractive",
    docs: Sequence[str] = (),
) -> Iterator[str | Turn]:
    """Answer ``question`` (a follow-up is resolved by the assistant against ``history``) as turn
    ``number``, from the articles ``docs`` (all when empty): yields the answer mode's drafts,
    then the ``Turn``."""
    settings = assistant.settings
    question = " ".join(str(question).split())
    chosen = ANSWER_MODES.get(answer_mode or "extractive")
    if chosen is None or not chosen.available(settings):
        from ..errors import QuestionError

        offered = ", ".join(name for _, name in available_modes(settings))
        raise QuestionError(f"answer mode {answer_mode!r} is not available here; use {offered}")
    for item in assistant.ask_stream(
        question,
        k=k or settings.top_k,
        mode=mode or settings.mode,
        answer_mode=chosen.name,
        history=history,
        docs=docs,
    ):
        if isinstance(item, str):
            yield item
            continue
        index = assistant.index
        refs = tuple(reference(c, index.article_by_doc(c.doc)) for c in item.citations)
        yield Turn(number, question, item.query or item.question, item, refs)
        return


def answer_turn(
    assistant: Assistant,
    number: int,
    question: str,
    history: Sequence[Exchange],
    k: int | None = None,
    mode: str | None = None,
    answer_mode: str = "extractive",
) -> Turn:
    """``compose_turn`` without the drafts."""
    *_, last = compose_turn(assistant, number, question, history, k, mode, answer_mode)
    return final_turn(last)


def final_turn(item: str | Turn | None) -> Turn:
    """The ``Turn`` that ``compose_turn`` yields last; an answer mode always ends with its answer,
    so anything else is a bug, reported as such rather than shown as a reply."""
    if not isinstance(item, Turn):
        raise RuntimeError(f"the answer mode ended without an answer (last yielded {type(item).__name__})")
    return item


def stream_markdown(turn: Turn) -> Iterator[str]:
    """The reply's Markdown, growing piece by piece."""
    text = ""
    for piece in answer_pieces(turn):
        text += piece
        yield text
