"""Generative answers through LangChain chat models; LangChain is the adapter to any provider.

``RAG_LLM`` names the provider: ``openai-compatible`` (llama.cpp server, vLLM, LM Studio, OpenAI
itself; uses RAG_LLM_BASE_URL, RAG_LLM_MODEL, RAG_LLM_API_KEY), ``ollama`` (needs the
langchain-ollama package), or ``PROVIDER`` of LangChain's ``init_chat_model`` (needs the
langchain package and that provider's integration), e.g. ``RAG_LLM=anthropic``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import RagError
from ..settings import Settings
from ..types import Hit
from .prompts import PASSAGE_TEMPLATE, SYSTEM_PROMPT, USER_PROMPT


class LLMUnavailableError(RagError):
    """The language model could not be reached or did not answer in time."""


def _openai_compatible(settings: Settings) -> Any:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(  # type: ignore[call-arg]  # max_tokens is a field its stubs miss
        base_url=settings.llm_base_url,
        model=settings.llm_model or "local",
        api_key=SecretStr(settings.llm_api_key or "not-needed"),
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def _ollama(settings: Settings) -> Any:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise RagError(
            "RAG_LLM=ollama needs the langchain-ollama package: pip install langchain-ollama"
        ) from None
    return ChatOllama(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
    )


PROVIDERS: dict[str, Callable[[Settings], object]] = {
    "openai-compatible": _openai_compatible,
    "openai": _openai_compatible,
    "ollama": _ollama,
}


def build_chat_model(settings: Settings) -> Any:
    """A LangChain chat model for ``settings.llm``; raises RagError when none is configured."""
    if not settings.llm:
        raise RagError(
            "no language model is configured. Set RAG_LLM=openai-compatible and "
            "RAG_LLM_BASE_URL (see docs/answers.md), or use extractive answers"
        )
    factory = PROVIDERS.get(settings.llm)
    if factory:
        return factory(settings)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise RagError(
            f"unknown RAG_LLM={settings.llm!r}: use one of {', '.join(PROVIDERS)}, or "
            "install the langchain package to use any provider it supports"
        ) from None
    return init_chat_model(
        settings.llm_model,
        model_provider=settings.llm,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def format_passages(hits: Sequence[Hit], limit: int = 1200) -> str:
    """Numbered passages, each cut to ``limit`` characters so small models keep up."""
    return "\n\n".join(
        PASSAGE_TEMPLATE.format(
            n=n, title=h.title, paragraph=h.paragraph, text=_cut(h.text, limit).replace('"""', '"')
        )
        for n, h in enumerate(hits, start=1)
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(". ") + 1] if ". " in cut else cut + "..."


def messages_for(question: str, hits: Sequence[Hit]) -> list[tuple[str, str]]:
    return [
        ("system", SYSTEM_PROMPT),
        ("human", USER_PROMPT.format(passages=format_passages(hits), question=question)),
    ]


def stream_answer(chat_model: Any, question: str, hits: Sequence[Hit]) -> Iterator[str]:
    """The model's answer, piece by piece; LLMUnavailableError when the endpoint fails."""
    try:
        for piece in chat_model.stream(messages_for(question, hits)):
            text = piece.content if isinstance(piece.content, str) else ""
            if text:
                yield text
    except RagError:
        raise
    except Exception as exc:  # connection refused, timeout, HTTP error: every client differs
        raise LLMUnavailableError(describe_failure(exc)) from exc


def describe_failure(exc: Exception) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "the language model did not answer in time"
    if "Connection" in name:
        return "the language model could not be reached"
    return f"the language model failed ({name}: {str(exc)[:200]})"
