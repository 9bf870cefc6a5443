"""Reliability and security of a shared assistant: an indexer killed mid-update, a full disk, a
read-only or damaged index, many users at once while an upload is indexed, login, and the
security defaults (no pickle, no network calls, loopback only).

Real model, real FAISS, real processes and a real Gradio server on 127.0.0.1. The full-disk and
read-only tests mount a small tmpfs when the test runs with the right to mount (as root in a
container); elsewhere they are skipped and the ENOSPC test at the OS-call level still runs.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

from rag.net import free_port

pytestmark = pytest.mark.model

QUESTION = "What have Ukraine and NATO begun doing together?"
FIRST_QUOTE = "Ukraine and the North Atlantic Alliance have begun joint arms production."
SAMPLE_DOCS = {"000_b170d9b6d041f30c.txt", "004_4f21d8328f07c64f.txt"}
QUESTIONS = {  # question -> a sentence its answer must quote (from the bundled samples)
    QUESTION: FIRST_QUOTE,
    "Why are joint exercises held with Ukrainian forces?": "joint exercises",
    "What do Western partners think of Ukraine's defense industry?": "defense industry",
}


def new_article(folder: Path, name: str, paragraphs: int = 3) -> Path:
    """An article about a made-up island, with ``paragraphs`` distinct paragraphs."""
    body = "\n\n".join(
        f"On the island of Quillmarsh, survey {i} counted {100 + i} puffins nesting "
        f"on the cliffs of bay number {i}, and ranger {i} logged the weather."
        for i in range(paragraphs)
    )
    path = folder / name
    path.write_text(f"Quillmarsh Puffin Census\n\n{body}\n", encoding="utf-8")
    return path


def settings_for(index_dir: Path, articles: Path | None = None, **changes):
    from rag.settings import Settings

    return Settings(index_dir=index_dir, articles_dir=articles or SAMPLES, **changes)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, embedder) -> Path:
    """An index of the samples, built once; tests change copies of it."""
    from rag.store.indexer import update_index

    index_dir = tmp_path_factory.mktemp("pristine") / "index"
    update_index(SAMPLES, settings_for(index_dir), embedder=embedder, progress=False)
    return index_dir


@pytest.fixture
def built(tmp_path, pristine):
    """A writable copy of the samples and of their index: (settings, manifest before any fault)."""
    shutil.copytree(SAMPLES, tmp_path / "articles")
    shutil.copytree(pristine, tmp_path / "index")
    settings = settings_for(tmp_path / "index", tmp_path / "articles")
    return settings, json.loads((settings.index_dir / "manifest.json").read_text())


def assert_answers_from_samples(settings, embedder) -> None:
    """The index on disk loads and answers with a verbatim, correctly located citation."""
    from rag.answer.assistant import Assistant
    from rag.store.index import Index

    index = Index.load(settings.index_dir, settings)
    assert {a.doc for a in index.articles.values()} == SAMPLE_DOCS
    answer = Assistant(settings, index=index, embedder=embedder).ask(QUESTION)
    cited = answer.citations[0]
    assert cited.quote == FIRST_QUOTE and cited.paragraph == 1
    assert index.article_by_doc(cited.doc).text[cited.start : cited.end] == cited.quote


# ---- SIGKILL mid-update ---------------------------------------------------------------------------
KILLABLE = r"""
import os, sys, time
from pathlib import Path
from rag.embed import encoder as embed
from rag.store import index as store
from rag.settings import Settings
from rag.store.indexer import update_index

articles, index_dir, stage = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def pause(name):
    if name == stage:
        print("PAUSED", name, flush=True)
        time.sleep(600)  # killed here

real_sums, real_save, real_replace = embed.Embedder.token_sums, store.save_index, os.replace
def token_sums(self, texts, progress=None):
    out = real_sums(self, texts[:8])  # one batch embedded, then the pause
    pause("embedding")
    return real_sums(self, texts, progress)
def replace(src, dst, *a, **k):
    if str(dst).endswith("manifest.json"):
        pause("manifest-replace")  # the new manifest is written to its temporary name, not renamed
    return real_replace(src, dst, *a, **k)
embed.Embedder.token_sums = token_sums
store.save_index = lambda index, where, hook: real_save(index, where, pause)
os.replace = replace
update_index(articles, Settings(index_dir=index_dir, articles_dir=articles), progress=False)
print("FINISHED", flush=True)
"""


@pytest.mark.parametrize("stage", ["embedding", "vectors-written", "data-renamed", "manifest-replace"])
def test_indexer_killed_mid_update_leaves_the_previous_index_answering(built, embedder, tmp_path, stage):
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings, before = built
    for n in range(2):  # enough new text for several embedding batches
        new_article(settings.articles_dir, f"puffins_{n}.txt", paragraphs=10)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(settings.articles_dir), str(settings.index_dir), stage],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()  # blocks until the child reaches the stage
        assert line.strip() == f"PAUSED {stage}", child.stderr.read()
        child.kill()  # SIGKILL: no cleanup, no finally blocks, no atexit
        assert child.wait(timeout=30) == -9
    finally:
        if child.poll() is None:
            child.kill()
    after = json.loads((settings.index_dir / "manifest.json").read_text())
    assert after == before  # the commit point was never reached
    assert_answers_from_samples(settings, embedder)

    killed_mid_save = stage in ("vectors-written",)
    assert bool(list(settings.index_dir.glob(".tmp-data-*"))) == killed_mid_save
    report = update_index(settings.articles_dir, settings, embedder=embedder, progress=False)
    assert report.added == 2 and report.articles == 4  # the lock died with the process
    assert len(Index.load(settings.index_dir, settings).articles) == 4
    assert not list(settings.index_dir.glob(".tmp-data-*"))  # the next writer cleared the leftover


# ---- full disk, read-only folder -----------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    """A 4 MB tmpfs mounted at a fresh folder, or a skip where mounting is not allowed."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the ENOSPC test at "
            "the OS-call level covers the full disk"
        )
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    """Write zeros until the file system says it is full."""
    with open(folder / "filler", "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_full_disk_gives_a_clear_error_and_keeps_the_index(built, tmpfs, embedder):
    from rag.errors import IndexWriteError
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings, _ = built
    shutil.copytree(settings.index_dir, tmpfs / "index")
    settings = settings.with_(index_dir=tmpfs / "index")
    index = Index.load(settings.index_dir, settings)
    index.remove(next(iter(index.articles)))

    def full_after_faiss(stage):  # the disk fills up while the save is under way
        if stage == "vectors-written":
            fill(tmpfs)

    with pytest.raises(
        IndexWriteError,
        match=r"No space left on device.*previous index is "
        r"unchanged\. Free disk space",
    ):
        index.save(settings.index_dir, crash_hook=full_after_faiss)
    assert not list(settings.index_dir.glob(".tmp-*"))  # the half-written folder was removed
    assert_answers_from_samples(settings, embedder)
    (tmpfs / "filler").unlink()
    new_article(settings.articles_dir, "puffins.txt")
    assert update_index(settings.articles_dir, settings, embedder=embedder, progress=False).added == 1


def test_full_disk_while_faiss_writes_gives_a_clear_error(built, tmpfs, embedder):
    from rag.errors import IndexWriteError
    from rag.store.indexer import update_index

    settings, _ = built
    shutil.copytree(settings.index_dir, tmpfs / "index")
    settings = settings.with_(index_dir=tmpfs / "index")
    new_article(settings.articles_dir, "puffins.txt", paragraphs=40)
    fill(tmpfs)
    try:
        with pytest.raises(IndexWriteError, match="Free disk space"):
            update_index(settings.articles_dir, settings, embedder=embedder, progress=False)
    finally:
        assert_answers_from_samples(settings, embedder)


def test_no_space_at_the_os_call_level_gives_a_clear_error(built, embedder, monkeypatch):
    """The same without a tmpfs: every fsync of the new data fails with ENOSPC."""
    from rag.errors import IndexWriteError
    from rag.store.index import Index

    settings, before = built
    index = Index.load(settings.index_dir, settings)
    index.remove(next(iter(index.articles)))

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(IndexWriteError, match="No space left on device.*Free disk space"):
        index.save(settings.index_dir)
    monkeypatch.undo()
    assert json.loads((settings.index_dir / "manifest.json").read_text()) == before
    assert_answers_from_samples(settings, embedder)


def test_read_only_index_folder_still_answers_and_updates_say_why_not(built, tmpfs, embedder, tmp_path):
    """A real read-only mount (root ignores file modes): questions are answered, an update from
    the web page is refused with a message that names the folder, the command line exits 1."""
    from rag.answer.assistant import Assistant
    from rag.web.uploads import UploadError, add_articles

    settings, _ = built
    shutil.copytree(settings.index_dir, tmpfs / "index")
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    settings = settings.with_(index_dir=tmpfs / "index")
    assert_answers_from_samples(settings, embedder)

    upload = new_article(tmp_path, "puffins.txt")
    with pytest.raises(
        UploadError,
        match=r"cannot write the index in .*tmpfs/index \(Read-only file "
        r"system\).*previous index is unchanged",
    ):
        add_articles(Assistant(settings, embedder=embedder), [("puffins.txt", upload)])
    assert not (settings.articles_dir / "uploads" / "puffins.txt").exists()  # not left half-added
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "index",
            str(settings.articles_dir),
            "--index",
            str(settings.index_dir),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1 and "Read-only file system" in out.stderr
    assert "Traceback" not in out.stderr
    assert_answers_from_samples(settings, embedder)


# ---- damaged files ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rows.sqlite"])
def test_damaged_chunk_store_is_caught_by_its_checksum(built, name):
    """A flipped bit, a cut-off file and a deleted file are each caught before anything is read.
    (vectors.faiss and manifest.json are covered in test_index.py.)"""
    from rag.errors import IndexCorruptError
    from rag.store.index import Index

    settings, manifest = built
    path = settings.index_dir / manifest["data"] / name
    data = path.read_bytes()
    rebuild = f"rag index ARTICLES_FOLDER --index {settings.index_dir} --rebuild"
    damages = {
        "does not match its checksum": data[:10] + bytes([data[10] ^ 1]) + data[11:],
        "does not match its checksum ": data[: len(data) // 2],
        "is missing": None,
    }
    for problem, damaged in damages.items():
        path.unlink() if damaged is None else path.write_bytes(damaged)
        with pytest.raises(IndexCorruptError, match=f"{name} {problem.strip()}") as caught:
            Index.load(settings.index_dir, settings)
        assert str(caught.value).endswith(rebuild)
        path.write_bytes(data)
    assert len(Index.load(settings.index_dir, settings).articles) == 2


def test_the_rebuild_hint_works(built, embedder):
    from rag.store.indexer import update_index

    settings, manifest = built
    (settings.index_dir / manifest["data"] / "rows.sqlite").write_text("{}\n")
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", QUESTION, "--index", str(settings.index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1 and "rows.sqlite does not match its checksum" in out.stderr
    hint = out.stderr.strip().rsplit("Rebuild it: ", 1)[1]
    assert hint == f"rag index ARTICLES_FOLDER --index {settings.index_dir} --rebuild"
    update_index(settings.articles_dir, settings, embedder=embedder, progress=False, rebuild=True)
    assert_answers_from_samples(settings, embedder)


def test_web_page_shows_the_rebuild_hint_for_a_damaged_index(built, embedder):
    from rag.answer.assistant import Assistant
    from rag.web.app import WebApp

    settings, manifest = built
    (settings.index_dir / manifest["data"] / "rows.sqlite").write_text("{}\n")
    app = WebApp(settings, Assistant(settings, embedder=embedder))
    counts, table = app.collection()
    assert "does not match its checksum" in counts and "--rebuild" in table
    assert "--rebuild" in app.find("joint arms production")
    reply = list(app.chat(QUESTION, [], [], "hybrid", 5, "extractive"))[-1][1][-1]["content"]
    assert "does not match its checksum" in reply and "rebuild" in reply


# ---- many users at once, while an upload is indexed -----------------------------------------------
def serve(tmp_path: Path, pristine: Path, embedder, **changes):
    """A WebApp on copies of the samples and their index, served by Gradio on 127.0.0.1."""
    from rag.answer.assistant import Assistant
    from rag.web.app import WebApp

    shutil.copytree(SAMPLES, tmp_path / "articles")
    shutil.copytree(pristine, tmp_path / "index")
    settings = settings_for(tmp_path / "index", tmp_path / "articles", port=free_port(), **changes)
    app = WebApp(settings, Assistant(settings, embedder=embedder))
    demo = app.build()
    demo.launch(**{**app.launch_options(), "quiet": True, "prevent_thread_lock": True})
    app.url = f"http://127.0.0.1:{settings.port}/"
    return app, demo


PUFFINS = "How many puffins did survey 7 count on the island of Quillmarsh?"


def test_eight_users_ask_while_an_upload_is_indexed(tmp_path, pristine, embedder):
    """8 gradio_client users ask without pause while a 150-paragraph article is uploaded and indexed:
    no request fails, every citation is exact, and the new article is seen all at once."""
    from gradio_client import Client, handle_file

    app, demo = serve(tmp_path, pristine, embedder, concurrency=4)
    in_flight, peak, lock = [0], [0], threading.Lock()
    real_ask = app.assistant.ask

    def counted_ask(*args, **kwargs):  # how many questions the server answers at the same time
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return real_ask(*args, **kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    app.assistant.ask = counted_ask
    upload = new_article(tmp_path, "puffins.txt", paragraphs=150)
    uploaded = threading.Event()
    window: dict[str, float] = {}
    try:

        def user(number: int) -> list[tuple[str, dict, float, float]]:
            client = Client(app.url, verbose=False, httpx_kwargs={"timeout": 120})
            asked, questions = [], list(QUESTIONS) + [PUFFINS]

            def ask(question: str) -> None:
                began = time.monotonic()
                answer = client.predict(question, "hybrid", 5, api_name="/ask")
                asked.append((question, answer, began, time.monotonic()))

            while len(asked) < 4 or not uploaded.is_set():
                ask(questions[(number + len(asked)) % len(questions)])
                assert len(asked) < 200, "the upload never finished"
            for question in questions:  # one more round once the new index is in
                ask(question)
            return asked

        with ThreadPoolExecutor(max_workers=8) as users:
            futures = [users.submit(user, n) for n in range(8)]
            time.sleep(1.0)  # the users are asking
            window["start"] = time.monotonic()
            status, *_ = Client(app.url, verbose=False, httpx_kwargs={"timeout": 300}).predict(
                [handle_file(str(upload))], api_name="/upload_articles"
            )
            window["end"] = time.monotonic()
            uploaded.set()
            results = [answer for f in futures for answer in f.result()]  # re-raises any failure
    finally:
        demo.close()

    assert "Indexed 1 of 1 uploaded file(s): 1 added" in status
    index = app.index()
    during = [r for r in results if r[2] > window["start"] and r[3] < window["end"]]
    assert len(during) >= 8, f"only {len(during)} answers while the upload was indexed"
    assert peak[0] >= 2, "the server answered one question at a time"
    for question, answer, began, _ended in results:
        for cited in answer["citations"]:  # exact offsets into the article, old index or new
            assert index.article_by_doc(cited["doc"]).text[cited["start"] : cited["end"]] == cited["quote"]
        if question == PUFFINS:
            if began > window["end"]:  # asked after the swap: the new article must answer
                assert answer["citations"][0]["doc"] == "uploads/puffins.txt"
            assert answer["abstained"] or answer["citations"][0]["doc"] == "uploads/puffins.txt"
        else:
            assert not answer["abstained"]
            assert QUESTIONS[question].lower() in answer["citations"][0]["quote"].lower()
            assert answer["citations"][0]["doc"] in SAMPLE_DOCS
    assert any(q == PUFFINS and r3 > window["end"] for q, _, r3, _ in results)


# ---- login -------------------------------------------------------------------------------------
def test_login_is_required_when_set(tmp_path, pristine, embedder):
    import urllib.error
    import urllib.request

    from gradio_client import Client

    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# team accounts\nbea:second-pass\n")
    app, demo = serve(
        tmp_path, pristine, embedder, auth_user="ana", auth_password="first-pass", auth_file=str(accounts)
    )
    try:
        for path in ("config", "gradio_api/info"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(app.url + path, timeout=30)
            assert refused.value.code == 401
        request = urllib.request.Request(
            app.url + "gradio_api/call/ask",
            method="POST",
            data=json.dumps({"data": [QUESTION, "hybrid", 5]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
        with pytest.raises(Exception, match="(?i)login|401|unauthorized|credentials"):
            Client(app.url, verbose=False)
        with pytest.raises(Exception, match="(?i)login|401|unauthorized|credentials"):
            Client(app.url, verbose=False, auth=("ana", "wrong"))
        with urllib.request.urlopen(app.url, timeout=30) as page:  # the login page itself is served
            assert page.status == 200
        for account in (("ana", "first-pass"), ("bea", "second-pass")):
            answer = Client(app.url, verbose=False, auth=account).predict(
                QUESTION, "hybrid", 5, api_name="/ask"
            )
            assert answer["citations"][0]["quote"] == FIRST_QUOTE
    finally:
        demo.close()


def test_login_settings(tmp_path):
    from rag.errors import RagError
    from rag.settings import Settings
    from rag.web.app import WebApp, auth_accounts, is_loopback

    env = {"RAG_AUTH_USER": "ana", "RAG_AUTH_PASSWORD": "first-pass", "RAG_CONCURRENCY": "6"}
    settings = Settings.from_env(env)
    assert auth_accounts(settings) == [("ana", "first-pass")] and settings.concurrency == 6
    assert "first-pass" not in repr(settings)
    assert auth_accounts(Settings()) is None
    options = WebApp(settings).launch_options()  # (no model is loaded for this)
    assert options["auth"] == [("ana", "first-pass")] and options["server_name"] == "127.0.0.1"
    assert options["enable_monitoring"] is False
    assert WebApp(Settings()).launch_options()["auth"] is None
    with pytest.raises(RagError, match="RAG_AUTH_USER and RAG_AUTH_PASSWORD go together"):
        auth_accounts(Settings(auth_user="ana"))
    bad = tmp_path / "bad.txt"
    bad.write_text("ana:pw\nno-colon-here\n")
    with pytest.raises(RagError, match=r"bad.txt line 2 is not \"user:password\""):
        auth_accounts(Settings(auth_file=str(bad)))
    with pytest.raises(RagError, match="cannot read the login file"):
        auth_accounts(Settings(auth_file=str(tmp_path / "missing.txt")))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


# ---- security defaults -----------------------------------------------------------------------------
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def python_files() -> list[Path]:
    return sorted((ROOT / "rag").rglob("*.py")) + [ROOT / "app.py"]


def test_no_pickle_anywhere():
    """No module imports a pickle library, passes allow_pickle=True, or calls torch.load without
    weights_only=True; BM25 arrays are loaded with allow_pickle=False."""
    problems = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            problems += [
                f"{path.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in UNSAFE_MODULES
            ]
            if isinstance(node, ast.Call):
                keywords = {k.arg: k.value for k in node.keywords}
                flag = keywords.get("allow_pickle")
                if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{path.name}:{node.lineno} allow_pickle is not False")
                called = ast.unparse(node.func)
                if called.endswith(("read_pickle", "pickle.load", "pickle.loads")):
                    problems.append(f"{path.name}:{node.lineno} calls {called}")
                weights_only = keywords.get("weights_only")
                if called == "torch.load" and not (
                    isinstance(weights_only, ast.Constant) and weights_only.value is True
                ):
                    problems.append(f"{path.name}:{node.lineno} torch.load without weights_only=True")
    assert problems == []


def test_index_files_hold_no_pickles(pristine):
    manifest = json.loads((pristine / "manifest.json").read_text())
    names = sorted(p.name for p in (pristine / manifest["data"]).iterdir())
    assert names == ["rows.sqlite", "vectors.faiss"]  # SQLite rows and FAISS's own format
    assert (pristine / manifest["data"] / "rows.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
    for path in (pristine / manifest["data"]).rglob("*"):
        if path.is_file():
            assert not path.read_bytes()[:2] == b"\x80\x04", f"{path.name} is a pickle"


NETWORK_PROBE = r"""
import json, os, sys, time

seen = []
def audit(event, args):
    if event == "socket.connect":
        address = args[1]
        seen.append(address[0] if isinstance(address, tuple) else str(address))
    elif event == "socket.getaddrinfo":
        seen.append(str(args[0]))
sys.addaudithook(audit)

import app  # as python app.py does, without GRADIO_ANALYTICS_ENABLED or HF_HUB_OFFLINE set outside
app.web.warm_up().join()
app.demo.launch(**{**app.web.launch_options(), "prevent_thread_lock": True, "quiet": True})
from gradio_client import Client
answer = Client(f"http://127.0.0.1:{app.web.settings.port}/", verbose=False).predict(
    sys.argv[1], "hybrid", 5, api_name="/ask")
time.sleep(3)  # time for any background call (analytics, version checks) to happen
print("REPORT", json.dumps({"quote": answer["citations"][0]["quote"], "seen": sorted(set(seen)),
                  "analytics_env": os.environ.get("GRADIO_ANALYTICS_ENABLED"),
                  "analytics": app.demo.analytics_enabled, "host": app.web.settings.host}))
app.demo.close()
"""


def test_the_app_makes_no_network_calls_and_listens_on_loopback(pristine, tmp_path):
    shutil.copytree(pristine, tmp_path / "index")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "RAG_HOST")
    }
    env.update(
        RAG_INDEX_DIR=str(tmp_path / "index"), RAG_ARTICLES_DIR=str(SAMPLES), RAG_PORT=str(free_port())
    )
    out = subprocess.run(
        [sys.executable, "-c", NETWORK_PROBE, QUESTION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert report["quote"] == FIRST_QUOTE
    assert report["analytics_env"] == "False" and report["analytics"] is False
    assert report["host"] == "127.0.0.1"
    outside = [
        h
        for h in report["seen"]
        if h not in ("127.0.0.1", "localhost", "::1", "0.0.0.0") and not h.startswith(("/", "127."))
    ]
    assert outside == [], f"network calls to {outside}"
