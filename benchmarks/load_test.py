"""Load test of the web app: throughput and latency for 1, 4 and 8 simultaneous users.

    .venv/bin/python benchmarks/load_test.py                      # starts its own app on 127.0.0.1
    .venv/bin/python benchmarks/load_test.py --during-upload      # ...while an upload is indexed
    .venv/bin/python benchmarks/load_test.py --url http://127.0.0.1:7860/   # a running app
    .venv/bin/python benchmarks/load_test.py --memory --users 16 --seconds 30  # server memory

``--memory`` serves ``app.py`` in a process of its own and reports its resident memory after
the warm-up and after each level; each call is made in a new session, as plain HTTP callers
(``POST /gradio_api/call/ask``) do, and an article is uploaded during each level. Target:
0 errors, and memory after at most 1.3 times memory after the warm-up.

Each user is a ``gradio_client`` thread asking the sample questions through ``/ask`` one after
another. Bounded: ``--requests`` questions per level in all (shared among its users) and
``--max-seconds`` per level, whichever comes first. Loopback only: other addresses are refused.
Every answer is checked (it must cite the expected paragraph); a wrong answer counts as an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate.summary import percentile  # noqa: E402
from rag.net import free_port  # noqa: E402

QUESTIONS = {  # question -> (article, paragraph) its first citation must be in
    "What have Ukraine and NATO begun doing together?": ("000_b170d9b6d041f30c.txt", 1),
    "Why are joint exercises held with Ukrainian forces?": ("004_4f21d8328f07c64f.txt", 7),
    "What do Western partners think of Ukraine's defense industry?": ("000_b170d9b6d041f30c.txt", 3),
    "How does intelligence sharing help Ukraine?": ("004_4f21d8328f07c64f.txt", 5),
}


def start_app(folder: Path, concurrency: int):
    """The web app on a copy of the samples, on a free loopback port; returns (url, app, demo)."""
    from rag.answer.assistant import Assistant
    from rag.settings import Settings
    from rag.store.indexer import update_index
    from rag.web.app import WebApp

    shutil.copytree(ROOT / "articles", folder / "articles")
    settings = Settings(
        index_dir=folder / "index",
        articles_dir=folder / "articles",
        port=free_port(),
        concurrency=concurrency,
    )
    assistant = Assistant(settings)
    update_index(settings.articles_dir, settings, embedder=assistant.embedder, progress=False)
    app = WebApp(settings, assistant)
    demo = app.build()
    demo.launch(**{**app.launch_options(), "quiet": True, "prevent_thread_lock": True})
    return f"http://127.0.0.1:{settings.port}/", app, demo


def serve_app(folder: Path, concurrency: int) -> tuple[str, subprocess.Popen]:
    """``python app.py`` on a copy of the samples, in its own process; returns (url, process)."""
    import urllib.request

    shutil.copytree(ROOT / "articles", folder / "articles")
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "RAG_HOST": "127.0.0.1",
        "RAG_PORT": str(port),
        "RAG_CONCURRENCY": str(concurrency),
        "RAG_ARTICLES_DIR": str(folder / "articles"),
        "RAG_INDEX_DIR": str(folder / "index"),
    }
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "w"),
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=5).close()
            return url, server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"app.py stopped: {(folder / 'server.log').read_text()[-2000:]}") from None
            time.sleep(0.5)
    server.kill()
    raise SystemExit("app.py did not answer within 2 minutes; see its log")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` now, in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        kb = next(line for line in status if line.startswith("VmRSS:")).split()[1]
    return int(kb) / 1024


def run_level(
    url: str, users: int, requests: int, max_seconds: float, auth, new_sessions: bool = False
) -> dict:
    from gradio_client import Client

    clients = [Client(url, verbose=False, auth=auth, httpx_kwargs={"timeout": 120}) for _ in range(users)]
    questions = list(QUESTIONS)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    per_user = [requests // users + (1 if n < requests % users else 0) for n in range(users)]

    def user(number: int) -> None:
        for i in range(per_user[number]):
            if time.monotonic() > deadline:
                return
            question = questions[(number + i) % len(questions)]
            began = time.perf_counter()
            try:
                if new_sessions:
                    clients[number].reset_session()
                answer = clients[number].predict(question, "hybrid", 5, api_name="/ask")
                first = answer["citations"][0] if answer["citations"] else {}
                ok = (
                    not answer["abstained"]
                    and (first.get("doc"), first.get("paragraph")) == QUESTIONS[question]
                )
                problem = None if ok else f"wrong answer to {question!r}"
            except Exception as exc:  # a failed request is counted, and the test goes on
                problem = f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.perf_counter() - began) if problem is None else errors.append(problem)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        list(pool.map(user, range(users)))
    wall = time.perf_counter() - began
    for client in clients:
        client.close()  # its heartbeat connection
    return {
        "users": users,
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0,
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else 0.0,
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1) if latencies else 0.0,
    }


def upload_in_background(url: str, folder: Path, auth) -> threading.Thread:
    """Upload (and so index) a 150-paragraph article while the users ask."""
    from gradio_client import Client, handle_file

    path = folder / "load_test_upload.txt"
    path.write_text(
        "Load Test Census\n\n"
        + "\n\n".join(
            f"Survey {i} on the island of Quillmarsh counted {100 + i} puffins in bay {i}."
            for i in range(150)
        )
        + "\n",
        encoding="utf-8",
    )
    thread = threading.Thread(
        target=lambda: Client(url, verbose=False, auth=auth).predict(
            [handle_file(str(path))], api_name="/upload_articles"
        ),
        daemon=True,
    )
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4, 8], help="levels (default 1 4 8)")
    parser.add_argument("--requests", type=int, default=40, help="questions per level (default 40)")
    parser.add_argument("--max-seconds", type=float, default=90, help="time limit per level (default 90)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="requests the started app answers at once (RAG_CONCURRENCY; default 4)",
    )
    parser.add_argument("--during-upload", action="store_true", help="index an upload during each level")
    parser.add_argument("--auth", help="user:password, for an app that asks for a login")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--memory", action="store_true", help="serve app.py in its own process; report its memory (see above)"
    )
    parser.add_argument(
        "--seconds", type=float, default=30, help="with --memory: how long each level runs (default 30)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 1000 or not 0 < args.max_seconds <= 600 or max(args.users) > 32:
        parser.error("keep it bounded: --requests 1..1000, --max-seconds up to 600, at most 32 users")
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    if args.memory:
        return memory_test(args, auth)
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        demo = None
        url = args.url
        if url is None:
            url, _, demo = start_app(Path(tmp), args.concurrency)
        elif urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("loopback only: give an http://127.0.0.1:PORT/ address")
        try:
            run_level(url, 1, 2, 60, auth)  # warm up: model and index loaded, first query done
            results = []
            for users in args.users:
                uploading = upload_in_background(url, Path(tmp), auth) if args.during_upload else None
                results.append(run_level(url, users, args.requests, args.max_seconds, auth))
                if uploading:
                    uploading.join(timeout=300)
        finally:
            if demo is not None:
                demo.close()
    during = " while an upload is indexed" if args.during_upload else ""
    print(f"\n/ask load test{during} ({url}; {args.requests} questions per level)\n")
    print("| users | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['users']} | {r['requests']} | {r['errors']} | {r['throughput_rps']} | "
            f"{r['p50_ms']} | {r['p95_ms']} |"
        )
    for r in results:
        if r["errors"]:
            print(f"{r['users']} users, first error: {r['first_error']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any(r["errors"] for r in results) else 0


def memory_test(args, auth) -> int:
    """Each level asks for ``--seconds`` in new sessions while an article is uploaded; the
    server's resident memory after the warm-up and after each level."""
    from _common import table

    if not 0 < args.seconds <= 120:
        raise SystemExit("keep it bounded: --seconds up to 120")
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        url, server = serve_app(Path(tmp), args.concurrency)
        try:
            run_level(url, 4, 200, 30, auth, new_sessions=True)  # warm up, sessions included
            warm = rss_mb(server.pid)
            rows, errors = [], 0
            for users in args.users:
                uploading = upload_in_background(url, Path(tmp), auth)
                r = run_level(url, users, 10**6, args.seconds, auth, new_sessions=True)
                uploading.join(timeout=300)
                after = rss_mb(server.pid)
                errors += r["errors"]
                rows.append(
                    [
                        users,
                        r["requests"],
                        r["errors"],
                        r["p50_ms"],
                        r["p95_ms"],
                        round(warm),
                        round(after),
                        round(after / warm, 2),
                    ]
                )
                if r["errors"]:
                    print(f"{users} users, first error: {r['first_error']}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        table(
            [
                "users",
                "requests",
                "errors",
                "p50 (ms)",
                "p95 (ms)",
                "RSS after warm-up (MB)",
                "RSS after (MB)",
                "after / warm-up",
            ],
            rows,
            f"/ask for {args.seconds:g} s per level, each call in a new session, while an "
            f"article is uploaded",
        )
    )
    return 1 if errors or any(row[-1] > 1.3 for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
