"""A request to Milvus whose failure says what could not be done, and where.

pymilvus raises its own ``MilvusException`` and plain gRPC errors, and logs tracebacks; the
index's Milvus modules run every request through ``call_milvus`` so that a failure reaches the
user as one ``StoreUnavailableError`` with the server's first line and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import StoreUnavailableError

if TYPE_CHECKING:
    from .vectorstore import StoreSpec


def call_milvus(where: str, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``method(*args, **kwargs)``; a failure is told as "could not ``what`` ``where`` (why)"."""
    try:
        return method(*args, **kwargs)
    except Exception as exc:  # pymilvus raises MilvusException and plain gRPC errors
        raise unavailable(where, what, exc) from None


def call_on(
    spec: StoreSpec, collection: str, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """``call_milvus`` for a request about ``collection`` of the server ``spec`` names."""
    return call_milvus(collection_in(spec, collection), what, method, *args, **kwargs)


def collection_in(spec: StoreSpec, collection: str) -> str:
    """Where a request about ``collection`` went, as messages say it."""
    return f"the Milvus collection {collection} in {spec}"


def unavailable(where: str, what: str, exc: Exception) -> StoreUnavailableError:
    """The error for a failed request, for a caller that looked at ``exc`` itself first."""
    return StoreUnavailableError(
        f"could not {what} {where} ({first_line(exc)}); check that the server is up, then try again"
    )


def first_line(exc: Exception) -> str:
    """What a pymilvus error says, on one line of at most 300 characters."""
    text = str(getattr(exc, "message", "") or exc).strip()  # MilvusException keeps the server's words
    return (text.splitlines() or [type(exc).__name__])[0][:300]
