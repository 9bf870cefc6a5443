"""What the web app checks before it does any work: API inputs, login attempts, the login file.

API inputs arrive as JSON from any program, so each is checked and refused with a message in the
API's own words (``passages must be a whole number from 1 to 20``). Login attempts are counted per
client address: after ``FREE_FAILURES`` wrong passwords each further attempt must wait, twice as
long each time, and is answered HTTP 429 with ``Retry-After`` until then. With a login, Gradio's
own routes that act on a session named in the request (``/gradio_api/cancel``, ``/heartbeat``...)
answer 401 to a caller who has not signed in.
"""

from __future__ import annotations

import json
import logging
import math
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from ..errors import RagError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("rag.web.app")

MAX_PASSAGES = 20  # as on the page's slider
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
FREE_FAILURES = 5  # wrong passwords from one address before it must wait
FIRST_DELAY_S = 2.0  # the first wait; each further failure doubles it
MAX_DELAY_S = 900.0
FORGET_AFTER_S = 3600.0  # an address quiet this long starts afresh
MAX_ADDRESSES = 10_000  # addresses remembered at most (the oldest are forgotten first)


class ApiInputError(RagError):
    """A caller of the web API sent a value of the wrong type or out of range."""


# ---- API inputs ---------------------------------------------------------------------------------
def text_input(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ApiInputError(f"{name} must be text, not {_kind(value)}")
    return value


def passages_input(value: object) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        whole = isinstance(value, int) or value.is_integer()
        if whole and 1 <= value <= MAX_PASSAGES:
            return int(value)
    raise ApiInputError(f"passages must be a whole number from 1 to {MAX_PASSAGES}, not {_shown(value)}")


def retrieval_input(value: object) -> str:
    if value not in RETRIEVAL_MODES:
        raise ApiInputError(f"retrieval must be one of {', '.join(RETRIEVAL_MODES)}, not {_shown(value)}")
    return str(value)


def history_input(value: object) -> list[dict]:
    """A chat history: a list of {"role": "user" or "assistant", "content": ...} messages."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ApiInputError(f"history must be a list of messages, not {_kind(value)}")
    for number, message in enumerate(value, start=1):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise ApiInputError(
                f"history message {number} must be an object like "
                '{"role": "user", "content": "..."}, not ' + _shown(message)
            )
    return list(value)


def _kind(value: object) -> str:
    return "nothing (null)" if value is None else f"a {type(value).__name__}"


def _shown(value: object) -> str:
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# ---- the login file -----------------------------------------------------------------------------
def warn_if_readable_by_others(path: Path) -> None:
    """Warn, as ssh does for a private key, when others may read the file of passwords."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "the login file %s can be read by other users of this computer (permissions "
            "%s); restrict it: chmod 600 %s",
            path,
            stat.filemode(mode),
            path,
        )


# ---- login throttling ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Record:
    failures: int
    last: float  # time of the last failure
    wait_until: float


class LoginThrottle:
    """ASGI middleware in front of Gradio's ``POST /login``: refuses an address with too many
    recent failures (429, ``Retry-After``), logs each failed login as one line, and forgets an
    address's failures when it signs in."""

    def __init__(
        self,
        app: ASGIApp,
        free: int = FREE_FAILURES,
        first_delay: float = FIRST_DELAY_S,
        max_delay: float = MAX_DELAY_S,
    ) -> None:
        self.app = app
        self.free, self.first_delay, self.max_delay = free, first_delay, max_delay
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].rstrip("/").endswith("/login")
        ):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        wait = self.wait_s(address)
        if wait > 0:
            await _too_many(send, wait)
            return
        body, replay = await _read_body(receive)
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replay, watch)
        self.settle(address, _user(body), ok=bool(status) and status[0] < 400)

    def wait_s(self, address: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            record = self._records.get(address)
        return max(0.0, record.wait_until - now) if record else 0.0

    def settle(self, address: str, user: str, ok: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if ok:
                self._records.pop(address, None)
                return
            old = self._records.get(address)
            failures = 1 if old is None or now - old.last > FORGET_AFTER_S else old.failures + 1
            over = failures - self.free
            delay = min(self.max_delay, self.first_delay * 2 ** (over - 1)) if over > 0 else 0.0
            self._records[address] = _Record(failures, now, now + delay)
            self._forget_oldest()
        log.warning(
            "failed login for user %r from %s (%d in a row%s)",
            user,
            address,
            failures,
            f"; next attempt allowed in {delay:g} s" if delay else "",
        )

    def _forget_oldest(self) -> None:
        if len(self._records) > MAX_ADDRESSES:
            for address, _ in sorted(self._records.items(), key=lambda item: item[1].last)[
                : len(self._records) - MAX_ADDRESSES
            ]:
                del self._records[address]


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The request's body, and a ``receive`` that hands the same body on to the app."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = [False]

    async def replay() -> Message:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _user(body: bytes) -> str:
    names: Sequence[str] = parse_qs(body.decode("utf-8", "replace")).get("username", [""])
    return names[0][:80]


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    await _refuse(
        send,
        429,
        f"Too many failed logins from this address; try again in {seconds} s.",
        [(b"retry-after", str(seconds).encode())],
    )


# ---- Gradio's own routes that answer without a login --------------------------------------------
# With a login, Gradio itself refuses every route that reads or writes data; these few of its
# routes act on a session or an event named in the request, without looking at the login:
CLOSED_ROUTES = ("cancel", "reset", "heartbeat", "stream", "runs", "run-history")
# Left open because they must answer before sign-in or hold nothing: login, logout, the page
# and its static files, theme.css, manifest.json, robots.txt, favicon; /gradio_api/user, /token
# and /app_id (the caller's own user and cookie, and a random app id); /startup-events (the
# server calls it itself at launch, and it runs the app's start-up once).


def closed_route(path: str) -> bool:
    """Whether ``path`` is one of Gradio's ``CLOSED_ROUTES`` (under ``/gradio_api/``)."""
    _, api, rest = path.partition("/gradio_api/")
    return bool(api) and rest.split("/", 1)[0] in CLOSED_ROUTES


class LoginRequired:
    """ASGI middleware: answers 401 to a caller who is not signed in on Gradio's routes that do
    not check the login themselves (``CLOSED_ROUTES``: cancelling or streaming into another
    session's event, holding its heartbeat). Checks the same login cookie Gradio checks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and closed_route(scope["path"]) and not _signed_in(scope):
            await _refuse(send, 401, "Not authenticated: sign in first.")
            return
        await self.app(scope, receive, send)


def _signed_in(scope: Scope) -> bool:
    from starlette.requests import HTTPConnection

    gradio_app = scope.get("app")
    cookie_id = getattr(gradio_app, "cookie_id", None)
    if gradio_app is None or cookie_id is None:  # not Gradio's app: refuse rather than guess
        return False
    cookies = HTTPConnection(scope).cookies
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return token is not None and gradio_app.tokens.get(token) is not None


async def _refuse(send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                *headers,
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
