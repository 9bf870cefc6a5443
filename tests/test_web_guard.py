"""The web app's guards on a real Gradio server: wrongly typed API input is refused in the API's own
words and logged as one line, wrong passwords are throttled per address (HTTP 429 with
Retry-After), and a login file others can read is warned about."""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from test_reliability import QUESTION, pristine, serve  # noqa: F401  (a fixture)

pytestmark = pytest.mark.model


@pytest.fixture
def server(tmp_path, pristine, embedder):  # noqa: F811
    app, demo = serve(tmp_path, pristine, embedder)
    yield app
    demo.close()


def refusal(app, *args, api_name: str) -> str:
    """The message a gradio_client caller gets when the server refuses its call."""
    from gradio_client import Client

    with pytest.raises(Exception) as refused:
        Client(app.url, verbose=False).predict(*args, api_name=api_name)
    return str(refused.value)


def test_wrongly_typed_api_input_is_refused_in_the_apis_words(server, caplog, capfd):
    with caplog.at_level(logging.INFO, logger="rag.web.app"):
        assert 'passages must be a whole number from 1 to 20, not "abc"' in refusal(
            server, QUESTION, "hybrid", "abc", api_name="/ask"
        )
        assert "passages must be a whole number from 1 to 20, not 0" in refusal(
            server, QUESTION, "hybrid", 0, api_name="/ask"
        )
        assert "retrieval must be one of hybrid, dense, bm25" in refusal(
            server, QUESTION, "fuzzy", 5, api_name="/ask"
        )
        assert "question must be text, not a list" in refusal(
            server, ["a", "b"], "hybrid", 5, api_name="/ask"
        )
        assert "history must be a list of messages, not a str" in refusal(
            server, "and why?", "not a history", api_name="/respond"
        )
        assert "history message 1 must be an object like" in refusal(
            server, "and why?", [42], api_name="/respond"
        )
        long_claim = "Herons nest in colonies. " * 4096  # 100 kB
        message = refusal(server, long_claim, 5, api_name="/find_sources")
        assert "the claim is 102,400 characters long" in message and "question" not in message
    refused = [r for r in caplog.records if r.getMessage().startswith("refused a call to")]
    assert len(refused) == 7 and all(r.exc_info is None for r in refused)
    assert "Traceback" not in capfd.readouterr().err


def test_api_input_checks_accept_what_the_page_sends():
    from rag.web.guard import history_input, passages_input, retrieval_input

    assert passages_input(5) == 5 and passages_input(5.0) == 5 and passages_input(20) == 20
    for bad in (True, 2.5, "5", None, 21):
        with pytest.raises(Exception, match="passages must be a whole number from 1 to 20"):
            passages_input(bad)
    assert retrieval_input("bm25") == "bm25"
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"text": "x"}]}]
    assert history_input(history) == history and history_input(None) == []


def login(url: str, user: str, password: str) -> tuple[int, dict]:
    data = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "login", data=data), timeout=30) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers)


def test_thirty_wrong_passwords_are_throttled_per_address(tmp_path, pristine, embedder, caplog):  # noqa: F811
    from gradio_client import Client

    app, demo = serve(tmp_path, pristine, embedder, auth_user="ana", auth_password="first-pass")
    try:
        with caplog.at_level(logging.WARNING, logger="rag.web.app"):
            answers = [login(app.url, "ana", f"guess-{n}") for n in range(30)]
        codes = [code for code, _ in answers]
        assert codes[:6] == [400] * 6 and set(codes[6:]) == {429}, codes
        wait = int(answers[-1][1]["retry-after"])
        assert 1 <= wait <= 2
        assert login(app.url, "ana", "first-pass")[0] == 429  # even the right password waits
        failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("failed login")]
        assert len(failed) == 6 and "'ana' from 127.0.0.1" in failed[0]
        time.sleep(wait + 0.2)
        assert login(app.url, "ana", "guess-again")[0] == 400  # one more failure...
        assert 3 <= int(login(app.url, "ana", "first-pass")[1]["retry-after"]) <= 4  # ...doubles the wait
        time.sleep(4.2)
        client = Client(app.url, verbose=False, auth=("ana", "first-pass"))  # signs in
        assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert login(app.url, "ana", "wrong")[0] == 400  # a sign-in forgave the earlier failures
    finally:
        demo.close()


def test_throttle_delays_grow_and_are_forgotten():
    from rag.web.guard import FORGET_AFTER_S, LoginThrottle

    throttle = LoginThrottle(app=None, free=3, first_delay=2, max_delay=60)
    for n in range(3):
        throttle.settle("10.0.0.1", "ana", ok=False, now=100.0 + n)
    assert throttle.wait_s("10.0.0.1", now=103.0) == 0
    waits = []
    for n in range(6):
        throttle.settle("10.0.0.1", "ana", ok=False, now=200.0 + 100 * n)
        waits.append(throttle.wait_s("10.0.0.1", now=200.0 + 100 * n))
    assert waits == [2, 4, 8, 16, 32, 60]
    assert throttle.wait_s("10.0.0.2", now=800.0) == 0  # per address
    throttle.settle("10.0.0.1", "ana", ok=False, now=800.0 + FORGET_AFTER_S + 1)
    assert throttle.wait_s("10.0.0.1", now=800.0 + FORGET_AFTER_S + 1) == 0


def test_a_login_file_others_can_read_is_warned_about(tmp_path, caplog):
    from rag.settings import Settings
    from rag.web.app import auth_accounts

    accounts = tmp_path / "accounts.txt"
    accounts.write_text("bea:second-pass\n")
    os.chmod(accounts, 0o644)
    with caplog.at_level(logging.WARNING, logger="rag.web.app"):
        assert auth_accounts(Settings(auth_file=str(accounts))) == [("bea", "second-pass")]
    assert any(
        f"the login file {accounts} can be read by other users" in r.getMessage()
        and "chmod 600" in r.getMessage()
        for r in caplog.records
    )
    caplog.clear()
    os.chmod(accounts, 0o600)
    with caplog.at_level(logging.WARNING, logger="rag.web.app"):
        auth_accounts(Settings(auth_file=str(accounts)))
    assert not caplog.records


def test_a_running_server_serves_an_index_updated_by_another_process(server):
    import subprocess
    import sys

    from conftest import ROOT
    from test_reliability import new_article

    before = server.index()
    assert before.article_by_doc("puffins.txt") is None
    new_article(server.settings.articles_dir, "puffins.txt")
    (server.settings.articles_dir / "004_4f21d8328f07c64f.txt").unlink()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "index",
            str(server.settings.articles_dir),
            "--index",
            str(server.settings.index_dir),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    from gradio_client import Client

    answer = Client(server.url, verbose=False).predict(  # the next request over HTTP sees it
        "How many puffins did survey 1 count on Quillmarsh?", "hybrid", 5, api_name="/ask"
    )
    assert answer["citations"][0]["doc"] == "puffins.txt"
    assert all(p["doc"] != "004_4f21d8328f07c64f.txt" for p in answer["passages"])
    after = server.index()  # what the next request is answered from
    assert after is not before and after.article_by_doc("puffins.txt") is not None
    assert after.article_by_doc("004_4f21d8328f07c64f.txt") is None  # no citing deleted articles
    assert server.assistant.index is after and server.index() is after  # loaded once
    counts, table = server.collection()
    assert "2 articles" in counts and "updated " in counts and "puffins.txt" in table
