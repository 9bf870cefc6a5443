"""The web app under API load on a real Gradio server: the sessions Gradio keeps are bounded (each
API call without a session of its own used to leave ~100 kB behind for good), and with a login,
Gradio's routes that act on a session named in the request answer 401 to a caller not signed in."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_reliability import FIRST_QUOTE, QUESTION, pristine, serve  # noqa: F401  (a fixture)

pytestmark = pytest.mark.model

USER, PASSWORD = "ana", "first-pass"


@pytest.fixture
def server(tmp_path, pristine, embedder, monkeypatch):  # noqa: F811
    """A server with a login that keeps at most 25 sessions (as if SESSIONS_KEPT were 25)."""
    monkeypatch.setattr("rag.web.app.SESSIONS_KEPT", 25)
    app, demo = serve(tmp_path, pristine, embedder, auth_user=USER, auth_password=PASSWORD)
    yield app, demo
    demo.close()


def test_api_calls_each_in_a_new_session_keep_the_server_bounded(server):
    """140 /ask calls, each from a new session (as plain HTTP callers make): all answered, and
    the server keeps no more than its limit of sessions, the most recent ones."""
    from gradio_client import Client

    app, demo = server
    sessions = demo.server_app.state_holder.session_data
    clients = [Client(app.url, verbose=False, auth=(USER, PASSWORD)) for _ in range(4)]
    errors: list[str] = []
    lock = threading.Lock()

    def user(client) -> None:
        for _ in range(35):
            client.reset_session()
            answer = client.predict(QUESTION, "hybrid", 3, api_name="/ask")
            if answer["abstained"] or FIRST_QUOTE not in answer["citations"][0]["quote"]:
                with lock:
                    errors.append(str(answer)[:200])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(user, clients))
    assert errors == []
    assert 20 <= len(sessions) <= 25, len(sessions)  # without the limit: 140 and more
    assert all(c.session_hash in sessions for c in clients)  # the latest ones are kept


def status(url: str, method: str = "GET", body: dict | None = None, cookie: str = "") -> int:
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", "Cookie": cookie}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def signed_in_cookie(url: str) -> str:
    import urllib.parse

    data = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
    with urllib.request.urlopen(urllib.request.Request(url + "login", data=data), timeout=30) as r:
        return "; ".join(h.split(";", 1)[0] for h in r.headers.get_all("set-cookie"))


CLOSED = [
    ("POST", "gradio_api/cancel", {"session_hash": "s", "fn_index": 0, "event_id": "e"}),
    ("POST", "gradio_api/reset", {"event_id": "e"}),
    ("GET", "gradio_api/heartbeat/some-session", None),
    ("POST", "gradio_api/stream/some-event", {"data": [], "fn_index": 0}),
    ("POST", "gradio_api/stream/some-event/close", None),
    ("GET", "gradio_api/stream/some-session/run/1/playlist.m3u8", None),
    ("GET", "gradio_api/runs", None),
]


def test_gradios_session_routes_need_the_login(server):
    from gradio_client import Client

    app, _ = server
    for method, route, body in CLOSED:
        assert status(app.url + route, method, body) == 401, route
    assert status(app.url + "openapi.json") == 404  # no schema page, with or without a login
    cookie = signed_in_cookie(app.url)
    assert status(app.url + "gradio_api/cancel", "POST", CLOSED[0][2], cookie) == 200
    assert status(app.url + "gradio_api/stream/some-event/close", "POST", None, cookie) == 404
    # a signed-in API caller (its heartbeat included) is served as before
    answer = Client(app.url, verbose=False, auth=(USER, PASSWORD)).predict(
        QUESTION, "hybrid", 3, api_name="/ask"
    )
    assert FIRST_QUOTE in answer["citations"][0]["quote"]


def test_closed_routes_are_told_apart_from_the_apps_own():
    from rag.web.guard import closed_route

    assert closed_route("/gradio_api/cancel") and closed_route("/gradio_api/heartbeat/abc")
    assert closed_route("/sub/path/gradio_api/stream/e/close")
    assert not closed_route("/gradio_api/call/ask") and not closed_route("/gradio_api/login")
    assert not closed_route("/cancel") and not closed_route("/gradio_api/startup-events")
