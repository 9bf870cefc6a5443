"""The answer modes, in one registry: how an answer is composed from the passages found.

The assistant checks a requested mode here, the web page offers the ones available with the
settings, and the ``answer_mode`` setting accepts their names (``rag.settings.CHOICES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import QuestionError
from ..settings import Settings


@dataclass(frozen=True, kw_only=True)
class AnswerMode:
    name: str  # the assistant's answer mode, and the value of RAG_ANSWER_MODE
    label: str  # shown in the web page's settings
    available: Callable[[Settings], bool]  # whether this configuration can answer this way


ANSWER_MODES: dict[str, AnswerMode] = {
    "extractive": AnswerMode(
        name="extractive", label="Extractive: quotes the articles word for word", available=lambda s: True
    ),
    "llm": AnswerMode(
        name="llm",
        label="LLM: written by the configured model, every sentence verified",
        available=lambda s: bool(s.llm),
    ),
}


def answer_mode(name: str) -> AnswerMode:
    """The mode called ``name``; refuses an unknown one, naming those there are."""
    found = ANSWER_MODES.get(name)
    if found is None:
        raise QuestionError(f"unknown answer mode {name!r}; use one of {', '.join(ANSWER_MODES)}")
    return found


def available_modes(settings: Settings) -> list[tuple[str, str]]:
    """(label, name) of the answer modes this configuration offers."""
    return [(m.label, name) for name, m in ANSWER_MODES.items() if m.available(settings)]
