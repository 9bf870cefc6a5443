"""Articles uploaded in the web page: checked, saved under safe names, indexed incrementally.

Uploads are saved in ``<articles_dir>/<uploads_subdir>/`` and the whole articles folder is then
brought up to date with ``update_index`` (which removes from the index any article no longer in
the folder, so uploads must live inside it). Before that, the index is checked to hold only
articles of that folder, so an index built from another folder is never emptied by an upload.
"""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RagError
from ..settings import ARTICLE_SUFFIXES, Settings
from ..types import IndexReport

if TYPE_CHECKING:
    from ..answer.assistant import Assistant
    from ..store.index import Index

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]+")
MAX_NAME_CHARS = 120


class UploadError(RagError):
    """An upload was refused as a whole (nothing was saved or indexed)."""


KEEP_BOTH, REPLACE = "keep both", "replace"  # what to do with an upload named like an article


@dataclass(frozen=True)
class Saved:
    paths: tuple[Path, ...]  # saved inside the uploads folder
    refused: tuple[str, ...]  # "name: why" for each file that was not saved
    same_name: tuple[str, ...] = ()  # a warning for each upload named like an article already there


@dataclass(frozen=True)
class UploadResult:
    saved: Saved
    report: IndexReport | None
    failed: tuple[str, ...]  # "name: why" for saved files the indexer could not read (removed again)

    def message(self) -> str:
        lines = list(self.saved.same_name)
        if self.report is not None and len(self.failed) < len(self.saved.paths):
            r = self.report
            lines.append(
                f"Indexed {len(self.saved.paths) - len(self.failed)} of "
                f"{len(self.saved.paths)} uploaded file(s): {r.added} added, {r.updated} "
                f"updated, {r.unchanged} unchanged; {r.embedded_chunks} chunks embedded in "
                f"{r.seconds:.1f} s. They can be asked about now."
            )
        lines += [f"Not added: {why}" for why in self.saved.refused + self.failed]
        return "\n".join(lines) or "No files were uploaded."


def safe_name(name: str) -> str:
    """A plain file name for ``name``: no folders, no leading dots, only safe characters."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip(" ._-")  # no leading dot (hidden) or dash (an option)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1].strip(" ._-") or "article"
    return f"{stem}.{suffix.lower()}" if suffix else stem


_ARCHIVES = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    *((b"BZh%d1AY&SY" % level, "bzip2") for level in range(1, 10)),
)  # magic bytes


def archive_kind(path: Path) -> str:
    """ "zip", "tar", ... when the file's first bytes say it is an archive, whatever its name; else ""."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head[257:262] == b"ustar":
        return "tar"
    return next((kind for magic, kind in _ARCHIVES if head.startswith(magic)), "")


def uploads_folder(settings: Settings) -> Path:
    return Path(settings.articles_dir) / settings.uploads_subdir


def check_files(
    files: Sequence[tuple[str, Path]], settings: Settings
) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name, path) pairs that may be saved, and "name: why" for the others."""
    if len(files) > settings.upload_max_files:
        raise UploadError(
            f"{len(files)} files were uploaded at once; the limit is "
            f"{settings.upload_max_files}. Upload them in smaller groups"
        )
    limit = int(settings.upload_max_mb * 1024 * 1024)
    ok, refused = [], []
    for name, path in files:
        shown = safe_name(name)
        if Path(path).is_symlink():  # never follow a link out to a file the server can read
            refused.append(f"{shown}: is a symbolic link, not a file; upload the file itself")
            continue
        size = Path(path).stat().st_size
        archive = archive_kind(Path(path))
        if Path(shown).suffix.lower() not in ARTICLE_SUFFIXES:
            refused.append(f"{shown}: only {', '.join(ARTICLE_SUFFIXES)} files can be added")
        elif size > limit:
            refused.append(
                f"{shown}: {size / 1048576:.1f} MB is over the {settings.upload_max_mb:g} MB "
                "upload limit; split it or add it with rag index"
            )
        elif size == 0:
            refused.append(f"{shown}: the file is empty")
        elif archive:
            refused.append(f"{shown}: is a {archive} archive; unpack it and upload the articles inside")
        else:
            ok.append((name, Path(path)))
    return ok, refused


def save_uploads(files: Sequence[tuple[str, Path]], settings: Settings, same_name: str = KEEP_BOTH) -> Saved:
    """Copy the acceptable files into the uploads folder. An upload named like an article already
    there is saved beside it under a numbered name (``same_name="keep both"``) or replaces it
    (``"replace"``); either way the result says so."""
    ok, refused = check_files(files, settings)
    folder = uploads_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    saved, warnings = [], []
    for name, path in ok:
        target = folder / safe_name(name)
        if target.resolve().parent != folder.resolve():  # belt and braces: never outside the folder
            refused.append(f"{safe_name(name)}: not a plain file name")
            continue
        if target.exists() and same_name != REPLACE:
            kept = _free_name(target)
            warnings.append(
                f"{target.name} has the same name as an article already in the collection: kept "
                f"both, this one is saved as {kept.name} (choose Replace to overwrite instead)"
            )
            target = kept
        elif target.exists():
            warnings.append(f"{target.name} has the same name as an article in the collection: replaced it")
        shutil.copyfile(path, target)
        saved.append(target)
    return Saved(tuple(saved), tuple(refused), tuple(warnings))


def _free_name(path: Path) -> Path:
    number = 2
    while (candidate := path.with_name(f"{path.stem}-{number}{path.suffix}")).exists():
        number += 1
    return candidate


def check_index_folder(index: Index, settings: Settings) -> None:
    """Refuse to update an index that holds articles missing from the articles folder."""
    from ..ingest import doc_name, find_articles

    root = Path(settings.articles_dir)
    present = {doc_name(p, root) for p in find_articles(root)} if root.exists() else set()
    missing = sorted(doc for doc in index.docs() if doc not in present)  # names only, no texts read
    if missing:
        raise UploadError(
            f"the index in {settings.index_dir} holds articles that are not in {root} (e.g. "
            f"{missing[0]}); adding uploads there would remove them. Set RAG_ARTICLES_DIR to the "
            "folder the index was built from, or re-index it with rag index"
        )


_LOCK = threading.Lock()  # one upload at a time per process; the indexer also locks the folder


def add_articles(
    assistant: Assistant,
    files: Sequence[tuple[str, Path]],
    on_file: Callable[[Path], None] | None = None,
    progress: bool = False,
    same_name: str = KEEP_BOTH,
) -> UploadResult:
    """Save ``files`` ((original name, temporary path) pairs), index them, and swap the new
    index into ``assistant``: questions asked from then on can find them."""
    from ..store.indexer import update_index

    settings = assistant.settings
    with _LOCK:
        check_index_folder(assistant.index, settings)
        check_writable(settings.index_dir)
        existed = set(uploads_folder(settings).glob("*"))
        saved = save_uploads(files, settings, same_name)
        if not saved.paths:
            return UploadResult(saved, None, ())
        try:
            report = update_index(
                settings.articles_dir,
                settings,
                embedder=assistant.embedder,
                progress=progress,
                on_file=on_file,
            )
        except BaseException:  # not indexed: take new files back out, so the folder matches the index
            for path in set(saved.paths) - existed:
                path.unlink(missing_ok=True)
            raise
        failed = _remove_unreadable(saved.paths, report)
        assistant.use_index(report.index)  # the updated index, as it is in memory
    return UploadResult(saved, report, failed)


def delete_article(assistant: Assistant, doc: str) -> IndexReport:
    """Delete the article ``doc`` (as the collection lists it) from the articles folder and the
    index. The new index is written beside the old and swapped in whole; if that fails, the file
    is put back and the old index stays."""
    from ..store.index import Index
    from ..store.indexer import update_index

    settings = assistant.settings
    with _LOCK:
        index = assistant.index
        if index.article_by_doc(doc) is None:
            raise UploadError(f"no article {doc!r} in the collection; pick one from the Articles list")
        check_index_folder(index, settings)
        check_writable(settings.index_dir)
        root = Path(settings.articles_dir).resolve()
        path = (root / doc).resolve()
        if root not in path.parents or not path.is_file():
            raise UploadError(f"{doc} is not a file in {root}; remove it there and run rag index")
        data = path.read_bytes()
        path.unlink()
        try:
            report = update_index(
                settings.articles_dir, settings, embedder=assistant.embedder, progress=False
            )
        except BaseException:  # put the file back (whole, then renamed into place)
            back = path.with_name(f".restoring-{path.name}")
            back.write_bytes(data)
            back.replace(path)
            raise
        assistant.use_index(Index.load(settings.index_dir, settings))
    return report


def check_writable(index_dir: Path) -> None:
    """Refuse an upload up front when the index folder cannot be written (read-only, full...)."""
    import tempfile

    try:
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=index_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise UploadError(
            f"cannot write the index in {index_dir} ({exc.strerror or exc}); the "
            "previous index is unchanged and nothing was added. Free disk space or "
            "make the folder writable, then upload again"
        ) from None


def _remove_unreadable(paths: Sequence[Path], report: IndexReport) -> tuple[str, ...]:
    """Delete saved uploads the indexer skipped, so they are not reported again next time."""
    skipped = {Path(w.path).resolve(): w.message for w in report.warnings if w.skipped}
    failed = []
    for path in paths:
        why = skipped.get(path.resolve())
        if why is not None:
            path.unlink(missing_ok=True)
            failed.append(f"{path.name}: {why}")
    return tuple(failed)
