"""Which files in a folder are articles, and reading one safely (size limit, links, pipes, permissions)."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArticleError, ArticlesFolderError
from ..settings import ARTICLE_SUFFIXES, Settings
from ..types import FileWarning


def find_articles(folder: Path) -> list[Path]:
    """Article files under ``folder``, recursively, in a stable order; hidden entries skipped."""
    return list(scan_articles(folder).files)


@dataclass(frozen=True)
class Scan:
    files: tuple[Path, ...]  # to read, in a stable order
    skipped: tuple[FileWarning, ...]  # article-named entries that are never opened, and why


def scan_articles(folder: Path) -> Scan:
    """Article files under ``folder``, and the entries with an article's name that are not read:
    anything but a regular file (a named pipe would block the reader forever, a device never
    ends) and links to files outside the folder. Links to folders are not followed."""
    folder = Path(folder)
    if not folder.exists():
        raise ArticlesFolderError(f"articles folder {folder} does not exist. Check the path.")
    if not folder.is_dir():
        raise ArticlesFolderError(f"{folder} is not a folder. Give the folder that holds the articles.")
    root = folder.resolve()
    candidates = sorted(
        (
            p
            for p in folder.rglob("*")
            if p.suffix.lower() in ARTICLE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    kinds = {p: _kind(p, root) for p in candidates}
    regular = {os.path.realpath(p) for p, kind in kinds.items() if kind == "file"}
    files, skipped = [], []
    for path, kind in kinds.items():
        if kind in ("file", "missing") or (kind == "link" and os.path.realpath(path) not in regular):
            files.append(path)  # a link to an article also found under its own name is read once
        elif kind not in ("folder", "link"):
            skipped.append(FileWarning(str(path), kind))
    return Scan(tuple(files), tuple(skipped))


def _kind(path: Path, root: Path) -> str:
    """ "file", "link" (to a regular file inside ``root``), "folder", "missing" (a dangling link,
    reported when read), or why the entry is not read."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(root):
                return (
                    f"is a link to {target}, outside the articles folder; not read. Copy the "
                    "file into the folder if it belongs in the collection"
                )
            mode = os.stat(path).st_mode
            return _mode_kind(mode, "link")
        return _mode_kind(mode, "file")
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc}); not read. Check its permissions"


def _mode_kind(mode: int, regular: str) -> str:
    if stat.S_ISREG(mode):
        return regular
    if stat.S_ISDIR(mode):
        return "folder"
    return f"{_not_regular(mode)}; not read. {_NOT_REGULAR_FIX}"


_NOT_REGULAR_FIX = "Remove it from the articles folder, or save its text as a file"


def _not_regular(mode: int) -> str:
    kind = (
        "named pipe"
        if stat.S_ISFIFO(mode)
        else "socket"
        if stat.S_ISSOCK(mode)
        else "device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "special file"
    )
    return f"is not a regular file (a {kind})"


def doc_name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same clock tick


def file_stamp(path: Path) -> str:
    """The file's size and modification time in nanoseconds: a cheap sign of change, checked
    before the file is read and hashed. "" (no shortcut: read and hash it) if the file cannot be
    stat'ed or was modified in the last 2 s, when a same-size edit could keep its time (as git does)."""
    try:
        info = os.stat(path)
    except OSError:
        return ""
    if time.time_ns() - info.st_mtime_ns < RACY_NS:
        return ""
    return f"{info.st_size}:{info.st_mtime_ns}"


def read_file(path: Path, settings: Settings, root: Path | None = None) -> bytes:
    """The file's bytes, or an ArticleError that says why not (size, vanished, permissions, not a
    regular file, a link out of ``root``). The file is checked again as it is opened, without
    blocking, so an entry swapped for a pipe or a link after the scan is refused, not waited on."""
    try:
        if root is not None and not Path(os.path.realpath(path)).is_relative_to(Path(root).resolve()):
            raise ArticleError(
                str(path),
                "is a link to a file outside the articles folder; not read",
                "Copy the file into the folder if it belongs in the collection",
            )
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ArticleError(str(path), _not_regular(info.st_mode), _NOT_REGULAR_FIX)
            if info.st_size > settings.max_file_bytes:
                raise ArticleError(
                    str(path),
                    f"is {info.st_size / 1e6:.1f} MB, over the {settings.max_file_mb:g} MB limit",
                    "Split it, or raise the limit with RAG_MAX_FILE_MB",
                )
            return handle.read()
    except FileNotFoundError:
        raise ArticleError(
            str(path), "vanished before it could be read", "Index again once it is back"
        ) from None
    except PermissionError:
        raise ArticleError(
            str(path),
            "cannot be read (permission denied)",
            "Give read permission (chmod +r) or move it out of the folder",
        ) from None
    except IsADirectoryError:
        raise ArticleError(str(path), "is a folder, not a file", "Rename it") from None
    except OSError as exc:
        raise ArticleError(str(path), f"cannot be read ({exc.strerror or exc})", "Check the file") from None
