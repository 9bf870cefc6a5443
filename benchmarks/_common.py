"""Shared by the benchmark scripts: paths, percentiles, tables, peak memory, the web server, the
LangChain recipe."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "evalsets/squad-dev/articles"
QUESTIONS = ROOT / "evalsets/squad-dev/questions.jsonl"
CACHE = ROOT / "benchmarks/.cache"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.evaluate.summary import percentile  # noqa: E402, F401  (the project's one percentile, for the scripts)
from rag.net import free_port  # noqa: E402

LANGCHAIN_MISSING = (
    'the LangChain recipe needs the bench extra: .venv/bin/pip install -e ".[bench]" (skipped)'
)


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_note() -> str:
    """The machine's load when a table was made: timings on a shared machine are only comparable
    within one run."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def table(headers: list[str], rows: list[list], title: str = "") -> str:
    """A Markdown table, so the output pastes into the README as it is."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [f"\n{title}; {load_note()}\n"] if title else []
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def run_worker(script: Path, *args: str) -> dict:
    """Run ``script --worker ...`` in a fresh process (clean peak memory); its last line is JSON."""
    done = subprocess.run(
        [sys.executable, str(script), "--worker", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{script.name} --worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class AppDidNotStart(RuntimeError):
    """``python app.py`` exited, or its page did not answer in time."""


@contextmanager
def web_server(env: dict, timeout: float) -> Iterator[str]:
    """``python app.py`` on a free local port, in a process of its own: yields its URL once the page
    answers (raises AppDidNotStart if it exits or is not up within ``timeout`` seconds), and stops
    the server on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**env, "RAG_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_page(server, url, time.perf_counter() + timeout)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_page(server: subprocess.Popen, url: str, deadline: float) -> None:
    while True:
        if server.poll() is not None or time.perf_counter() > deadline:
            raise AppDidNotStart(f"python app.py did not come up at {url} (exit code {server.poll()})")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.1)


def model_path() -> str:
    from rag.embed.encoder import resolve_model_path
    from rag.settings import DEFAULT_MODEL

    return str(resolve_model_path(DEFAULT_MODEL))


def have_langchain() -> bool:
    try:
        import langchain_community.vectorstores  # noqa: F401
        import langchain_huggingface  # noqa: F401
    except ImportError:
        return False
    return True


def langchain_embeddings():
    """HuggingFaceEmbeddings of the same packaged model, as the recipe configures it."""
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model_path(), model_kwargs={"device": "cpu"})


def langchain_documents(folder: Path):
    """The articles split by RecursiveCharacterTextSplitter(1000, 200), with start offsets."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    files = sorted(p for p in folder.rglob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    return splitter.create_documents(
        texts, metadatas=[{"doc": p.relative_to(folder).as_posix()} for p in files]
    )


def squad_index(settings_overrides: dict | None = None):
    """Our index of the SQuAD dev articles in benchmarks/.cache (built once, then reused; built
    again when this version cannot read it)."""
    from rag.errors import IndexMismatchError
    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index

    settings = Settings.from_env(index_dir=CACHE / "squad-dev-index", **(settings_overrides or {}))
    try:
        update_index(ARTICLES, settings, progress=False)
    except IndexMismatchError:
        update_index(ARTICLES, settings, progress=False, rebuild=True)
    return Index.load(settings.index_dir, settings), settings
