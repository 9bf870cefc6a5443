"""Turn one file's bytes into article text, a title and metadata, by file type.

For .txt and .md the text is the decoded file, unchanged, so offsets point into the file as
people see it. HTML and PDF are reduced to plain text with blank lines between blocks, and
offsets point into that text (which the index keeps): see ``html.py`` and ``pdf.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ArticleError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)  # UTF-32's before UTF-16's
# NUL-byte positions of text mostly in Latin script in each wide encoding without a BOM, in units of its width:
# (encoding, width, positions that are almost always NUL, positions that almost never are).
_WIDE = (
    ("utf-32-le", 4, (2, 3), (0,)),
    ("utf-32-be", 4, (0, 1), (3,)),
    ("utf-16-le", 2, (1,), (0,)),
    ("utf-16-be", 2, (0,), (1,)),
)


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
        from .pdf import extract_pdf

        return extract_pdf(path, data)
    text, notes = decode_text(path, data)
    if suffix in (".html", ".htm"):
        from .html import extract_html

        found = extract_html(text)
    elif suffix in (".md", ".markdown"):
        found = _extract_markdown(text)
    else:
        found = Extracted(text=text, title=first_short_line(text))
    return Extracted(found.text, found.title, found.meta, found.body_start, notes)


def decode_text(path: Path, data: bytes) -> tuple[str, tuple[str, ...]]:
    """UTF-8 (a BOM is dropped: offsets index the text after it), UTF-16 or UTF-32 with a BOM or
    recognised by where their NUL bytes fall, else the best-guess encoding, else refuse."""
    if not data:
        raise ArticleError(str(path), "the file is empty (0 bytes)", "Add text to it or remove it")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            return _check_text(path, text), (f"read as {encoding.upper()[:6]}",)
    if b"\x00" in data[:65536]:
        wide = _wide_encoding(data[:65536])
        if wide is None:
            raise ArticleError(
                str(path),
                "looks like a binary file, not text (it contains NUL bytes)",
                "Remove it from the articles folder or convert it to .txt",
            )
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
        raise ArticleError(
            str(path),
            "is not UTF-8 and no other text encoding fits",
            "Convert it to UTF-8 (for example: iconv -t UTF-8) and index again",
        )
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
        raise ArticleError(
            str(path),
            "looks like a binary file, not text (many control characters)",
            "Remove it from the articles folder or convert it to .txt",
        )
    if not text.strip():
        raise ArticleError(str(path), "holds only whitespace", "Add text to it or remove it")
    return text


def first_short_line(text: str, start: int = 0) -> str:
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
    title = meta.get("title") or (heading.group(1).strip() if heading else first_short_line(text, body_start))
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


def tidy_blocks(raw: str) -> str:
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
