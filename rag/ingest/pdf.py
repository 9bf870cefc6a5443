"""PDF to article text with pypdf: page texts as blocks, title and author from the metadata."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from ..errors import ArticleError
from .readers import Extracted, first_short_line, tidy_blocks

_log = logging.getLogger(__name__)
_reading = threading.local()  # the PDF this thread is reading, named in pypdf's remarks


class _PdfRemarks(logging.Handler):
    """pypdf's remarks on damaged files ("incorrect startxref pointer"), logged by our logger at
    INFO with the file's name, instead of printed to stderr by Python's last-resort handler."""

    def emit(self, record: logging.LogRecord) -> None:
        _log.info("%s: pypdf: %s", getattr(_reading, "path", "a PDF"), record.getMessage())


def _route_pypdf_log() -> None:
    logger = logging.getLogger("pypdf")
    if not any(isinstance(h, _PdfRemarks) for h in logger.handlers):
        logger.addHandler(_PdfRemarks())
        logger.propagate = False


def extract_pdf(path: Path, data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _route_pypdf_log()
    _reading.path = path
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(str(path), "is an encrypted PDF", "Save an unencrypted copy and index that")
        pages = [(page.extract_text() or "") for page in reader.pages]
        info: Mapping[str, object] = reader.metadata or {}
    except ArticleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ArticleError(
            str(path),
            f"is not a readable PDF ({exc})",
            "Check that the file opens in a PDF viewer, or remove it",
        ) from None
    text = tidy_blocks("\n\n".join(pages))
    if not text.strip():
        raise ArticleError(
            str(path),
            "is a PDF with no extractable text (a scan?)",
            "Run OCR on it first or provide a .txt version",
        )
    meta = {k: str(info.get(f"/{k.title()}") or "").strip() for k in ("author", "subject")}
    meta = {k: v for k, v in meta.items() if v}
    title = str(info.get("/Title") or "").strip() or first_short_line(text)
    return Extracted(text=text, title=title, meta=meta)
