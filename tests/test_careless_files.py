"""What a careless or hostile articles folder holds, with real files and real processes: a named
pipe, links out of the folder, UTF-16/32 without a byte order mark, a UTF-8 BOM, a writer killed
mid-save, and two `rag index` runs on one index."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.model

HERONS = (
    "The Zanzibar Grey Heron Survey\n\nVolunteers counted 412 grey herons on the mangrove "
    "shores of Zanzibar during the 2023 survey.\n\nThe herons nest in colonies and feed "
    "mostly on mudskippers at low tide.\n"
)
SECRET = "Kestrelwood vault combination is 7731-alpha.\n"


def rag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``rag ARGS`` in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def indexed(index_dir: Path) -> dict[str, str]:
    from rag.settings import Settings
    from rag.store.index import Index

    index = Index.load(index_dir, Settings(index_dir=index_dir))
    return {a.doc: a.text for a in index.articles.values()}


# ---- pipes, devices and links ---------------------------------------------------------------------
def test_pipe_and_links_out_of_the_folder_are_skipped_by_name(tmp_path):
    """`rag index` on a folder with a FIFO and a link to a file outside it finishes (a FIFO used to
    block it forever in open()), names both, and indexes neither; links inside the folder are read."""
    folder, outside = tmp_path / "articles", tmp_path / "private"
    (folder / ".drafts").mkdir(parents=True)
    outside.mkdir()
    (folder / "herons.txt").write_text(HERONS, encoding="utf-8")
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / ".drafts" / "kites.txt").write_text("Red kites returned to the Chiltern hills.\n")
    os.mkfifo(folder / "pipe.txt")
    os.symlink(outside / "secret.txt", folder / "p.txt")  # out of the folder: never read
    os.symlink(outside, folder / "elsewhere")  # a link to a folder is not followed
    (outside / "more.txt").write_text(SECRET, encoding="utf-8")
    os.symlink(folder / "herons.txt", folder / "again.txt")  # the same article: indexed once
    os.symlink(Path(".drafts") / "kites.txt", folder / "kites.txt")  # inside: read under its name

    done = rag("index", str(folder), "--index", str(tmp_path / "index"), "--quiet", timeout=240)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert any(f"{folder / 'pipe.txt'}: is not a regular file (a named pipe)" in w for w in warnings)
    assert any(
        f"{folder / 'p.txt'}: is a link to {outside / 'secret.txt'}, outside the articles folder" in w
        for w in warnings
    )
    assert len(warnings) == 2, warnings
    texts = indexed(tmp_path / "index")
    assert sorted(texts) == ["herons.txt", "kites.txt"]
    assert not any("Kestrelwood" in text for text in texts.values())


def test_a_pipe_swapped_in_after_the_scan_is_refused_without_blocking(tmp_path):
    from rag.errors import ArticleError
    from rag.ingest import read_file
    from rag.settings import Settings

    os.mkfifo(tmp_path / "late.txt")
    outcome: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            read_file(tmp_path / "late.txt", Settings(), tmp_path)
        except ArticleError as exc:
            outcome.put(str(exc))

    threading.Thread(target=read, daemon=True).start()
    message = outcome.get(timeout=10)  # a blocking open() would never answer
    assert "late.txt: is not a regular file (a named pipe)" in message


def test_a_link_that_used_to_be_indexed_is_dropped(tmp_path, embedder):
    """An index built before links were checked (or a file later replaced by a link) loses it."""
    from rag.settings import Settings
    from rag.store.indexer import update_index

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "herons.txt").write_text(HERONS, encoding="utf-8")
    (folder / "notes.txt").write_text("Puffins nest in burrows on Skomer island.\n")
    settings = Settings(index_dir=tmp_path / "index", articles_dir=folder)
    update_index(folder, settings, embedder=embedder, progress=False)
    (folder / "notes.txt").unlink()
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink(tmp_path / "secret.txt", folder / "notes.txt")
    report = update_index(folder, settings, embedder=embedder, progress=False)
    assert report.removed == 1 and "outside the articles folder" in report.warnings[0].message
    assert sorted(indexed(settings.index_dir)) == ["herons.txt"]


# ---- encodings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_bom_are_read_not_called_binary(tmp_path, embedder, encoding):
    from rag.settings import Settings
    from rag.store.indexer import update_index

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "herons.txt").write_bytes(HERONS.encode(encoding))  # Python writes no BOM for these
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    settings = Settings(index_dir=tmp_path / "index", articles_dir=folder)
    report = update_index(folder, settings, embedder=embedder, progress=False)
    notes = {Path(w.path).name: w for w in report.warnings}
    assert f"read as {encoding.upper()} (it has no byte order mark)" in notes["herons.txt"].message
    assert not notes["herons.txt"].skipped and notes["binary.txt"].skipped
    assert indexed(settings.index_dir) == {"herons.txt": HERONS}


def test_offsets_index_the_text_after_a_utf8_bom(tmp_path, embedder):
    """`rag cite` reports characters start-end; they index the file decoded as UTF-8 with its BOM
    removed, which is what ``rag.ingest.articles.article_text`` returns."""
    from rag.ingest.articles import article_text
    from rag.settings import Settings
    from rag.store.indexer import update_index

    folder = tmp_path / "articles"
    folder.mkdir()
    path = folder / "herons.txt"
    path.write_bytes(b"\xef\xbb\xbf" + HERONS.encode("utf-8"))
    update_index(
        folder, Settings(index_dir=tmp_path / "index", articles_dir=folder), embedder=embedder, progress=False
    )
    done = rag(
        "cite",
        "Volunteers counted 412 grey herons on the mangrove shores",
        "--format",
        "csl-json",
        "--index",
        str(tmp_path / "index"),
    )
    assert done.returncode == 0, done.stderr
    note = json.loads(done.stdout)[0]["note"]
    quote = note.split('"')[1]
    start, end = map(int, note.rsplit("characters ", 1)[1].rstrip(")").split("-"))
    assert article_text(path)[start:end] == quote == path.read_text(encoding="utf-8-sig")[start:end]
    assert path.read_text(encoding="utf-8")[start:end] != quote  # plain UTF-8 keeps the BOM


# ---- a killed writer, and two writers -------------------------------------------------------------
KILLED_WRITER = r"""
import os, sys, time
from pathlib import Path
from rag.store import folder as store

def stop(src, dst):
    print("WRITTEN", src, flush=True)
    time.sleep(600)  # killed here: the new manifest is written under its temporary name

os.replace = stop
store._write_atomic(Path(sys.argv[1]) / "manifest.json", "{}\n")
"""


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_run(tmp_path, embedder):
    from rag.settings import Settings
    from rag.store.indexer import update_index

    folder, index_dir = tmp_path / "articles", tmp_path / "index"
    folder.mkdir()
    index_dir.mkdir()
    (folder / "herons.txt").write_text(HERONS, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(index_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("WRITTEN"), child.stderr.read()
    finally:
        child.kill()
        child.wait(timeout=30)
    leftover = index_dir / f".manifest.json.{child.pid}.tmp"
    assert leftover.exists()
    alive = index_dir / f".manifest.json.{os.getppid()}.tmp"  # its writer still runs: kept
    alive.write_text("{}\n")
    update_index(
        folder, Settings(index_dir=index_dir, articles_dir=folder), embedder=embedder, progress=False
    )
    assert not leftover.exists() and alive.exists()


def test_a_second_index_run_says_at_once_whom_it_waits_for(tmp_path, samples):
    from rag.store.lock import writer_lock

    index_dir = tmp_path / "index"
    lines: queue.Queue = queue.Queue()
    with writer_lock(index_dir, notify=lambda message: None):  # this test process is indexing
        second = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "index", str(samples), "--index", str(index_dir), "--quiet"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=lambda: [lines.put(line) for line in second.stderr], daemon=True).start()
        began = time.monotonic()
        first = lines.get(timeout=60)
        assert f"waiting for another indexing run (pid {os.getpid()})" in first
        assert time.monotonic() - began < 30
        assert second.poll() is None  # still waiting while the lock is held
    assert second.wait(timeout=240) == 0
    assert "Index " in second.stdout.read() and len(indexed(index_dir)) == 2


# ---- Markdown images, pypdf's remarks -------------------------------------------------------------
def test_markdown_images_do_not_split_or_reorder_sentences(tmp_path):
    from rag.ingest.articles import parse_article

    text = (
        "# Herons\n\nHerons nest in colonies. ![a grey heron](https://e.org/img/heron.v2.png) "
        "They feed at low tide! See [the survey](https://e.org/a.b.html). ![map](m.png)\n"
    )
    path = tmp_path / "herons.md"
    path.write_text(text, encoding="utf-8")
    article, _ = parse_article(path, "herons.md", path.read_bytes())
    sentences = [text[s:e] for s, e in article.paragraphs[1].sentences]
    assert sentences == [
        "Herons nest in colonies.",
        "![a grey heron](https://e.org/img/heron.v2.png) They feed at low tide!",
        "See [the survey](https://e.org/a.b.html).",
        "![map](m.png)",
    ]
    starts = [s for s, _ in article.paragraphs[1].sentences]
    assert starts == sorted(starts)


def test_pypdf_remarks_on_a_damaged_pdf_go_to_the_log_not_stderr(tmp_path, capfd, caplog):
    import logging
    import re

    from fpdf import FPDF

    from rag.ingest.readers import extract

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Herons nest in colonies on the mangrove shores of Zanzibar.")
    path = tmp_path / "damaged.pdf"  # a wrong startxref offset: pypdf repairs it, and remarks on it
    path.write_bytes(re.sub(rb"startxref\s+\d+", b"startxref\n99", bytes(pdf.output())))
    with caplog.at_level(logging.INFO, logger="rag.ingest"):  # the PDF reader logs as rag.ingest.pdf
        text = extract(path, path.read_bytes()).text
    assert "Herons nest in colonies" in text
    assert capfd.readouterr().err == ""
    assert any(str(path) in r.getMessage() and "startxref" in r.getMessage() for r in caplog.records)
