"""Turn one file's bytes into article text, a title and metadata, by file type.

For .txt and .md the text is the decoded file, unchanged, so offsets point into the file as
people see it. HTML and PDF are reduced to plain text with blank lines between blocks, and
offsets point into that text (which the index keeps).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import ArticleError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_HTML_DROP = ("script", "style", "noscript", "template", "svg", "nav", "form", "iframe",
              "button", "select", "footer", "aside")
_HTML_BLOCKS = ("p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4",
                "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table",
                "tr", "figure", "figcaption", "address", "hr", "title")
_META_KEYS = {  # HTML <meta name/property> -> our metadata key
    "author": "author", "article:author": "author", "citation_author": "author",
    "dc.creator": "author", "date": "date", "article:published_time": "date",
    "citation_publication_date": "date", "citation_date": "date", "dc.date": "date",
    "og:url": "url", "citation_title": "title", "og:title": "title", "og:site_name": "site",
    "citation_journal_title": "site", "description": "description",
}


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))  # UTF-32's before UTF-16's
# NUL-byte positions of text mostly in Latin script in each wide encoding without a BOM, in units of its width:
# (encoding, width, positions that are almost always NUL, positions that almost never are).
_WIDE = (("utf-32-le", 4, (2, 3), (0,)), ("utf-32-be", 4, (0, 1), (3,)),
         ("utf-16-le", 2, (1,), (0,)), ("utf-16-be", 2, (0,), (1,)))


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    body_start: int = 0  # where paragraphs begin (after Markdown front matter)
    notes: tuple[str, ...] = ()  # non-fatal remarks, e.g. the fallback encoding used


def extract(path: Path, data: bytes) -> Extracted:
    """Dispatch on the file suffix; raises ArticleError naming the file when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _extract_pdf(path, data)
    text, notes = decode_text(path, data)
    if suffix in (".html", ".htm"):
        found = _extract_html(text)
    elif suffix in (".md", ".markdown"):
        found = _extract_markdown(text)
    else:
        found = Extracted(text=text, title=_first_short_line(text))
    return Extracted(found.text, found.title, found.meta, found.body_start, notes)


def decode_text(path: Path, data: bytes) -> tuple[str, tuple[str, ...]]:
    """UTF-8 (a BOM is dropped: offsets index the text after it), UTF-16 or UTF-32 with a BOM or
    recognised by where their NUL bytes fall, else the best-guess encoding, else refuse."""
    if not data:
        raise ArticleError(str(path), "the file is empty (0 bytes)", "Add text to it or remove it")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(encoding, errors="replace")
            return _check_text(path, text), (f"read as {encoding.upper()[:6]}",)
    if b"\x00" in data[:65536]:
        wide = _wide_encoding(data[:65536])
        if wide is None:
            raise ArticleError(str(path), "looks like a binary file, not text (it contains NUL bytes)",
                               "Remove it from the articles folder or convert it to .txt")
        text = data.decode(wide, errors="replace")
        return _check_text(path, text), (f"read as {wide.upper()} (it has no byte order mark)",)
    try:
        return _check_text(path, data.decode("utf-8-sig")), ()
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is not None:  # on a tie, prefer Windows-1252, the most common legacy encoding of articles
        ties = [m for m in results if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for m in ties if m.encoding == "cp1252"), best)
    if best is None or best.encoding is None:
        raise ArticleError(str(path), "is not UTF-8 and no other text encoding fits",
                           "Convert it to UTF-8 (for example: iconv -t UTF-8) and index again")
    note = f"not valid UTF-8; read it as {best.encoding} (convert it to UTF-8 to be sure)"
    return _check_text(path, str(best)), (note,)


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 (LE or BE) when the NUL bytes of ``sample`` fall where that encoding puts
    them for mostly-Latin text, and the sample decodes cleanly in it; None for anything else."""
    for encoding, width, nul, text in _WIDE:
        usable = sample[: len(sample) - len(sample) % width]
        units = len(usable) // width
        if units < 2:
            continue
        share = [usable[at::width].count(0) / units for at in range(width)]
        if all(share[at] >= 0.5 for at in nul) and all(share[at] <= 0.02 for at in text):
            try:
                usable.decode(encoding)
            except UnicodeDecodeError as exc:
                if exc.start < len(usable) - 4:  # not just a character cut at the sample's end
                    continue
            return encoding
    return None


def _check_text(path: Path, text: str) -> str:
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > 0.05 * len(sample):
        raise ArticleError(str(path), "looks like a binary file, not text (many control characters)",
                           "Remove it from the articles folder or convert it to .txt")
    if not text.strip():
        raise ArticleError(str(path), "holds only whitespace", "Add text to it or remove it")
    return text


def _first_short_line(text: str, start: int = 0) -> str:
    for line in text[start:].splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 150 else ""
    return ""


def _extract_markdown(text: str) -> Extracted:
    meta: dict[str, str] = {}
    body_start = 0
    front = _FRONT_MATTER.match(text)
    if front:
        meta = _parse_front_matter(front.group(1))
        body_start = front.end()
    heading = _MD_HEADING.search(text, body_start)
    title = meta.get("title") or (heading.group(1).strip() if heading else _first_short_line(text, body_start))
    return Extracted(text=text, title=title, meta=meta, body_start=body_start)


def _parse_front_matter(block: str) -> dict[str, str]:
    import yaml

    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    out = {}
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value is not None and not isinstance(value, dict):
            out[str(key).lower()] = str(value).strip()
    return out


def _extract_html(markup: str) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    meta = _html_meta(soup)
    title_tag = soup.find("title")
    heading = soup.find(["h1", "h2"])
    title = (title_tag.get_text(" ", strip=True) if title_tag else "") or meta.get("title", "")
    if not title and heading:
        title = heading.get_text(" ", strip=True)
    for tag in soup.find_all(_HTML_DROP + ("head",)):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    text = _tidy_blocks(_block_text(root))
    meta.pop("title", None)
    return Extracted(text=text, title=title[:300], meta=meta)


def _block_text(root) -> str:
    """The text of ``root``: blank lines around blocks, a line break for each ``<br>``, and source
    line breaks read as spaces except inside ``<pre>``. One pass with a stack, so time is linear
    and deep nesting cannot overflow the recursion limit (BeautifulSoup's ``insert_after`` walks
    a tag's whole subtree, which made deeply nested pages quadratic)."""
    from bs4 import NavigableString, Tag

    types = root.interesting_string_types or Tag.MAIN_CONTENT_STRING_TYPES  # no comments etc.
    in_pre = root.name == "pre" or root.find_parent("pre") is not None
    out: list[str] = []
    stack: list = [(child, in_pre) for child in reversed(root.contents)]
    while stack:
        node, pre = stack.pop()
        if node is None:  # the end of a block
            out.append("\n\n")
        elif isinstance(node, NavigableString):
            if type(node) in types:
                out.append(str(node) if pre else node.replace("\n", " "))
        elif node.name == "br":
            out.append("\n")
        else:
            if node.name in _HTML_BLOCKS:
                out.append("\n\n")
                stack.append((None, pre))
            stack.extend((child, pre or node.name == "pre") for child in reversed(node.contents))
    return "".join(out)


def _html_meta(soup) -> dict[str, str]:
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or tag.get("property") or "").strip().lower()
        content = str(tag.get("content") or "").strip()
        key = _META_KEYS.get(name)
        if key and content and key not in meta:
            meta[key] = content
    canonical = soup.find("link", rel="canonical")
    if canonical and canonical.get("href") and "url" not in meta:
        meta["url"] = str(canonical["href"])
    return meta


def _tidy_blocks(raw: str) -> str:
    """Collapse spaces inside lines and keep one blank line between blocks."""
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in raw.split("\n")]
    blocks, current = [], []
    for line in lines + [""]:
        if line:
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    return "\n\n".join(blocks) + ("\n" if blocks else "")


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


def _extract_pdf(path: Path, data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _route_pypdf_log()
    _reading.path = path
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(str(path), "is an encrypted PDF", "Save an unencrypted copy and index that")
        pages = [(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
    except ArticleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ArticleError(str(path), f"is not a readable PDF ({exc})",
                           "Check that the file opens in a PDF viewer, or remove it") from None
    text = _tidy_blocks("\n\n".join(pages))
    if not text.strip():
        raise ArticleError(str(path), "is a PDF with no extractable text (a scan?)",
                           "Run OCR on it first or provide a .txt version")
    meta = {k: str(info.get(f"/{k.title()}") or "").strip() for k in ("author", "subject")}
    meta = {k: v for k, v in meta.items() if v}
    title = str(info.get("/Title") or "").strip() or _first_short_line(text)
    return Extracted(text=text, title=title, meta=meta)
