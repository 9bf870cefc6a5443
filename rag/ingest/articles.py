"""Articles in, paragraphs and chunks out, each with its exact character span."""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ArticleError
from ..settings import Settings
from ..types import Article, Chunk, Paragraph
from .folder import read_file
from .readers import extract
from .sentences import sentence_spans

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_LIST_ITEM = re.compile(r"^(?:[-*+\u2022]\s|\d{1,3}[.)]\s|#|>|\|)")
_TERMINAL = tuple(".!?:;\"\u201d'")
_CHUNK_SEPARATORS = ["\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
TITLE_CHARS = 80  # an article without a title is named by its first sentence, cut to this length


def short_hash(text: str, size: int = 16) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size // 2).hexdigest()


def article_text(path: Path, settings: Settings | None = None) -> str:
    """The text that an article's offsets index, read from ``path`` as indexing reads it: for
    .txt and .md the decoded file (a UTF-8 byte order mark removed), for HTML and PDF the
    extracted plain text. ``text[start:end] == quote`` holds for every citation of it."""
    return extract(Path(path), read_file(Path(path), settings or Settings())).text


def parse_article(path: Path, doc: str, data: bytes) -> tuple[Article, tuple[str, ...]]:
    """Extract text and metadata from ``data`` and number its paragraphs; also return remarks."""
    found = extract(path, data)
    article_id = short_hash(doc)
    spans = split_paragraphs(found.text, found.body_start)
    if not spans:
        raise ArticleError(str(path), "has no paragraphs of text", "Add text to it or remove it")
    paragraphs = tuple(
        Paragraph(article_id, n, s, e, short_hash(found.text[s:e]), sentence_spans(found.text, s, e))
        for n, (s, e) in enumerate(spans, start=1)
    )
    article = Article(
        id=article_id,
        doc=doc,
        title=found.title or first_sentence_title(found.text, paragraphs) or path.stem,
        text=found.text,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraphs=paragraphs,
        meta=dict(found.meta),
    )
    return article, found.notes


def first_sentence_title(text: str, paragraphs: tuple[Paragraph, ...], limit: int = TITLE_CHARS) -> str:
    """A readable title for an article that has none: its first sentence without the final
    stop, cut at a word boundary with an ellipsis when longer than ``limit`` characters."""
    first = paragraphs[0]
    start, end = first.sentences[0] if first.sentences else (first.start, first.end)
    sentence = " ".join(text[start:end].split()).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    cut = cut[: cut.rfind(" ")] if " " in cut else cut
    return cut.rstrip(" ,;:-\u2013\u2014") + "\u2026"


def _lines(text: str, start: int) -> Iterator[tuple[int, int]]:
    """Spans of the non-blank lines of ``text`` from ``start``, stripped; (-1, -1) for a blank line."""
    for match in _LINE.finditer(text, start):
        if match.start() == match.end():
            break
        line = match.group().rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            yield (-1, -1)
            continue
        lead = len(line) - len(line.lstrip())
        yield (match.start() + lead, match.start() + lead + len(stripped))


def split_paragraphs(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Paragraph spans: blocks split at blank lines, then at line breaks that end a paragraph.

    A line break inside a block ends a paragraph unless the block is hard-wrapped (lines of
    similar width, as in PDFs or wrapped Markdown) or the next line continues the sentence.
    """
    spans: list[tuple[int, int]] = []
    block: list[tuple[int, int]] = []
    for span in list(_lines(text, start)) + [(-1, -1)]:
        if span[0] >= 0:
            block.append(span)
        elif block:
            spans.extend(_split_block(text, block))
            block = []
    return spans


def _split_block(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    widths = [e - s for s, e in lines]
    width = max(widths)
    wrapped = len(lines) > 1 and 30 <= width <= 130 and statistics.median(widths[:-1]) >= 0.7 * width
    out, first = [], lines[0]
    for (s, e), (ns, ne) in zip(lines, lines[1:]):
        line, nxt = text[s:e], text[ns:ne]
        if _breaks(line, nxt, wrapped, width):
            out.append((first[0], e))
            first = (ns, ne)
    out.append((first[0], lines[-1][1]))
    return out


def _breaks(line: str, nxt: str, wrapped: bool, width: int) -> bool:
    if line.startswith("#") or _LIST_ITEM.match(nxt):
        return True
    ends_sentence = line.endswith(_TERMINAL)
    if wrapped:
        return ends_sentence and len(line) < 0.6 * width
    continues = (nxt[:1].islower() or nxt[:1] in ",;)") and not ends_sentence
    return not continues


def chunk_article(article: Article, settings: Settings) -> list[Chunk]:
    """One chunk per paragraph; paragraphs over ``chunk_chars`` split on sentence boundaries."""
    splitter = None
    chunks: list[Chunk] = []
    for para in article.paragraphs:
        body = article.text[para.start : para.end]
        pieces = [(0, body)]
        if len(body) > settings.chunk_chars:
            splitter = splitter or _splitter(settings)
            pieces = _split_long(splitter, body)
        for offset, piece in pieces:
            start = para.start + offset
            chunks.append(
                Chunk(
                    _chunk_id(article.id, start, piece),
                    article.id,
                    para.number,
                    start,
                    start + len(piece),
                    piece,
                )
            )
    return chunks


def _splitter(settings: Settings) -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_chars,
        chunk_overlap=settings.chunk_overlap,
        separators=_CHUNK_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def _split_long(splitter: Any, body: str) -> list[tuple[int, str]]:
    """Pieces with their offsets in ``body``: each piece is found after the previous one's start."""
    out, cursor = [], 0
    for piece in splitter.split_text(body):
        at = body.find(piece, cursor)
        if at < 0:  # the splitter never rewrites text, but never trust an offset blindly
            raise ValueError(f"chunk not found in its paragraph: {piece[:40]!r}")
        out.append((at, piece))
        cursor = at + 1
    return out


def _chunk_id(article_id: str, start: int, text: str) -> int:
    digest = hashlib.blake2b(f"{article_id}:{start}:{text}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & ((1 << 63) - 1)


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: the article title gives it context
    (a paragraph about "he" is then still about Tesla); citations use the chunk's own span."""
    return f"{article.title}\n{chunk.text}"
