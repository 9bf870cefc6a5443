"""Bad articles and folders: a clear message naming the file, the other articles indexed, nothing lost."""

from __future__ import annotations

import os

import pytest

from rag.errors import ArticlesFolderError
from rag.store.index import Index
from rag.store.indexer import update_index

pytestmark = pytest.mark.model

GOOD = "Lighthouses guide ships along rocky coasts at night.\n"


def run(folder, settings, embedder, **kw):
    return update_index(folder, settings, embedder=embedder, progress=False, **kw)


def messages(report) -> dict[str, str]:
    return {os.path.basename(w.path): w.message for w in report.warnings}


def test_each_bad_file_is_named_and_the_good_ones_are_indexed(tmp_path, settings, embedder):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\n\t\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "control.txt").write_bytes(b"\x01\x02\x03\x04\x05\x06abc" * 200)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "huge.txt").write_bytes(b"")
    os.truncate(folder / "huge.txt", 50 * 1024 * 1024)  # 50 MB, never read into memory
    (folder / "latin1.txt").write_bytes("Café crème in Zürich, naïve façade.\n".encode("latin-1"))
    os.symlink(folder / "gone.txt", folder / "dangling.txt")

    report = run(folder, settings, embedder)
    got = messages(report)
    assert got["empty.txt"].startswith("the file is empty")
    assert "only whitespace" in got["blank.md"]
    assert "binary" in got["binary.txt"] and "binary" in got["control.txt"]
    assert "not a readable PDF" in got["broken.pdf"]
    assert "52.4 MB, over the 10 MB limit" in got["huge.txt"] and "RAG_MAX_FILE_MB" in got["huge.txt"]
    assert "vanished" in got["dangling.txt"]
    assert "read it as" in got["latin1.txt"]
    assert report.failed == 7 and report.articles == 2 and report.added == 2
    index = Index.load(settings.index_dir, settings)
    texts = {a.doc: a.text for a in index.articles.values()}
    assert texts["good.txt"] == GOOD
    assert "Café crème in Zürich" in texts["latin1.txt"]


def test_file_vanishing_mid_run_is_reported_and_the_rest_indexed(tmp_path, settings, embedder):
    folder = tmp_path / "race"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"{name} says: {GOOD}", encoding="utf-8")

    def delete_b(path):
        if path.name == "a.txt":
            (folder / "b.txt").unlink()

    report = run(folder, settings, embedder, on_file=delete_b)
    assert "vanished before it could be read" in messages(report)["b.txt"]
    assert report.articles == 2 and report.failed == 1


def test_unreadable_file_is_named(tmp_path, settings, embedder, monkeypatch):
    folder = tmp_path / "perm"
    folder.mkdir()
    (folder / "ok.txt").write_text(GOOD, encoding="utf-8")
    secret = folder / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    secret.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user
        real = os.open
        monkeypatch.setattr(
            os,
            "open",
            lambda path, *a, **k: (
                (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
                if str(path).endswith("secret.txt")
                else real(path, *a, **k)
            ),
        )
    report = run(folder, settings, embedder)
    assert "permission denied" in messages(report)["secret.txt"]
    assert report.articles == 1


def test_a_file_that_turns_bad_keeps_its_indexed_version(samples, settings, embedder):
    run(samples, settings, embedder)
    (samples / "000_b170d9b6d041f30c.txt").write_bytes(b"\x00\x01binary now")
    report = run(samples, settings, embedder)
    assert "kept its previously indexed version" in messages(report)["000_b170d9b6d041f30c.txt"]
    assert report.articles == 2 and report.removed == 0


def test_missing_empty_and_non_folder_inputs(tmp_path, settings, embedder, samples):
    with pytest.raises(ArticlesFolderError, match="does not exist"):
        run(tmp_path / "nope", settings, embedder)
    (tmp_path / "file.txt").write_text(GOOD)
    with pytest.raises(ArticlesFolderError, match="is not a folder"):
        run(tmp_path / "file.txt", settings, embedder)
    run(samples, settings, embedder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.docx").write_text("not an article type")
    with pytest.raises(ArticlesFolderError, match="no articles in .*left unchanged"):
        run(empty, settings, embedder)
    assert len(Index.load(settings.index_dir, settings).articles) == 2  # nothing was lost
