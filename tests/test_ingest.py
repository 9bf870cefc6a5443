"""Paragraph and chunk spans, titles and metadata, for every supported file type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SAMPLES

from rag.ingest import chunk_article, find_articles, parse_article, split_paragraphs
from rag.settings import Settings

ONE_NEWLINE = SAMPLES / "000_b170d9b6d041f30c.txt"  # paragraphs separated by one newline
BLANK_LINES = SAMPLES / "004_4f21d8328f07c64f.txt"  # blank lines, short heading lines


def parse(path: Path, doc: str | None = None):
    article, _notes = parse_article(path, doc or path.name, path.read_bytes())
    return article


def texts(article) -> list[str]:
    return [article.text[p.start : p.end] for p in article.paragraphs]


def test_single_newline_article_has_one_paragraph_per_line():
    article = parse(ONE_NEWLINE)
    raw = ONE_NEWLINE.read_text(encoding="utf-8")
    assert article.text == raw
    assert texts(article) == [line.strip() for line in raw.splitlines() if line.strip()]
    assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))


def test_blank_line_article_keeps_headings_and_byline_as_numbered_paragraphs():
    article = parse(BLANK_LINES)
    raw = BLANK_LINES.read_text(encoding="utf-8")
    assert texts(article) == [block.strip() for block in raw.split("\n\n") if block.strip()]
    assert article.title == "NATO Ukraine Defense: A Coalition Meeting"
    assert article.paragraph_text(1) == "NATO Ukraine Defense: A Coalition Meeting"
    assert article.paragraph_text(2) == "by Jhon Lennon 42 views"
    assert article.paragraph_text(4) == "The Core Purpose of the Coalition Meeting"


def test_offsets_index_the_decoded_file_exactly():
    for path in (ONE_NEWLINE, BLANK_LINES):
        article = parse(path)
        raw = path.read_text(encoding="utf-8")
        for para in article.paragraphs:
            assert raw[para.start : para.end] == article.paragraph_text(para.number)
            assert raw[para.start : para.end].strip() == raw[para.start : para.end]


def test_long_paragraphs_are_chunked_on_sentence_boundaries_with_exact_spans():
    settings = Settings()
    article = parse(BLANK_LINES)
    chunks = chunk_article(article, settings)
    longest = max(article.paragraphs, key=lambda p: p.end - p.start)
    assert longest.end - longest.start > 3000
    pieces = [c for c in chunks if c.paragraph == longest.number]
    assert len(pieces) >= 4
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= settings.chunk_chars
    for piece in pieces[:-1]:
        assert piece.text.endswith((".", "!", "?", ",")), piece.text[-30:]
    assert pieces[0].start == longest.start and pieces[-1].end == longest.end
    short = [p for p in article.paragraphs if p.end - p.start <= settings.chunk_chars]
    for para in short:
        mine = [c for c in chunks if c.paragraph == para.number]
        assert [(c.start, c.end) for c in mine] == [(para.start, para.end)]


def test_ids_come_from_content():
    first, again = parse(BLANK_LINES), parse(BLANK_LINES)
    assert [p.id for p in first.paragraphs] == [p.id for p in again.paragraphs]
    assert len({p.id for p in first.paragraphs}) == len(first.paragraphs)
    chunks = chunk_article(first, Settings())
    assert len({c.id for c in chunks}) == len(chunks)
    assert [c.id for c in chunks] == [c.id for c in chunk_article(again, Settings())]


def test_hard_wrapped_paragraphs_stay_whole_and_crlf_offsets_hold():
    text = (
        "Wrapped Title\r\n\r\n"
        "The committee met in Brussels on Monday to discuss the budget for the\r\n"
        "coming year. Members from twelve countries attended the session and\r\n"
        "Several delegates asked for more time.\r\n"
        "A second paragraph starts after a short line that ended a sentence, and it\r\n"
        "goes on.\r\n"
        "- a list item\r\n"
        "- another item\r\n"
    )
    spans = split_paragraphs(text)
    got = [text[s:e] for s, e in spans]
    assert got[0] == "Wrapped Title"
    assert got[1].startswith("The committee") and got[1].endswith("more time.")
    assert got[2].startswith("A second paragraph") and got[2].endswith("goes on.")
    assert got[3:] == ["- a list item", "- another item"]


def test_markdown_front_matter_title_and_metadata(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: Front Title\nauthor: Ada Lovelace\ndate: 2024-05-01\n"
        "url: https://example.org/a\n---\n\n# Heading One\n\nBody text here.\n",
        encoding="utf-8",
    )
    article = parse(path)
    assert article.title == "Front Title"
    assert article.meta["author"] == "Ada Lovelace" and article.meta["url"] == "https://example.org/a"
    assert texts(article) == ["# Heading One", "Body text here."]
    plain = tmp_path / "plain.md"
    plain.write_text("Intro line\n\n## Real Heading\n\nText.\n", encoding="utf-8")
    assert parse(plain).title == "Real Heading"


def test_html_text_title_and_meta_without_scripts(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Page &amp; Title</title><meta name='author' content='Grace Hopper'>"
        "<meta property='article:published_time' content='2023-02-03'></head><body>"
        "<nav>Home | About</nav><article><h1>Big Heading</h1><p>First\nparagraph with <b>bold</b>"
        " text.</p><p>&lt;script&gt;alert(1)&lt;/script&gt; shown as text</p></article>"
        "<script>stealCookies()</script><footer>(c) 2024</footer></body></html>",
        encoding="utf-8",
    )
    article = parse(path)
    assert article.title == "Page & Title"
    assert article.meta == {"author": "Grace Hopper", "date": "2023-02-03"}
    assert texts(article) == [
        "Big Heading",
        "First paragraph with bold text.",
        "<script>alert(1)</script> shown as text",
    ]
    assert "stealCookies" not in article.text and "Home" not in article.text


def test_pdf_text_and_title(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("A PDF Article")
    pdf.set_author("Alan Turing")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Machines can think. This paragraph is in a PDF.")
    pdf.ln(10)
    pdf.multi_cell(0, 8, "A second paragraph follows.")
    path = tmp_path / "paper.pdf"
    pdf.output(str(path))
    article = parse(path)
    assert article.title == "A PDF Article"
    assert article.meta["author"] == "Alan Turing"
    assert "Machines can think." in article.text
    assert any("second paragraph" in t for t in texts(article))
    for chunk in chunk_article(article, Settings()):
        assert article.text[chunk.start : chunk.end] == chunk.text


def test_title_falls_back_to_the_first_sentence_cut_at_a_word(tmp_path):
    path = tmp_path / "no-title-here.txt"
    path.write_text(("word " * 60 + "\n") * 2, encoding="utf-8")
    title = parse(path).title
    assert title == " ".join(["word"] * 15) + "\u2026" and len(title) <= 80
    short = tmp_path / "000_b170d9b6d041f30c.txt"
    short.write_text("Herons nest in colonies on the shore. " * 8 + "\n", encoding="utf-8")
    assert parse(short).title == "Herons nest in colonies on the shore"


def test_find_articles_recurses_skips_hidden_and_other_types(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a.txt", "sub/b.md", "sub/deeper/c.HTML", "d.pdf", "e.docx", ".hidden/f.txt", ".g.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in find_articles(tmp_path)]
    assert found == ["a.txt", "d.pdf", "sub/b.md", "sub/deeper/c.HTML"]


@pytest.mark.parametrize("doc", ["000_b170d9b6d041f30c.txt", "004_4f21d8328f07c64f.txt"])
def test_gold_quotes_of_seed_set_fall_inside_one_paragraph(doc):
    import json

    from conftest import EVALSETS

    article = parse(SAMPLES / doc)
    for line in (EVALSETS / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines():
        for gold in json.loads(line)["gold"]:
            if gold["doc"] != doc:
                continue
            at = article.text.index(gold["quote"])
            inside = [p for p in article.paragraphs if p.start <= at and at + len(gold["quote"]) <= p.end]
            assert len(inside) == 1, gold["quote"]
            assert re.search(re.escape(gold["quote"]), article.paragraph_text(inside[0].number))


def test_sentences_are_cut_at_sentence_ends_only():
    from rag.ingest.sentences import sentence_spans

    text = (
        "The U.S. Army paid $3.50 at 10 a.m. on Friday. Mr. Smith wrote window.__pwned = 1 in "
        "config.json! See ![a.b](http://x.y/z.png) and [docs](https://e.org/a.b?c). It runs on "
        ".NET too. Why?"
    )
    spans = sentence_spans(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == [
        "The U.S. Army paid $3.50 at 10 a.m. on Friday.",
        "Mr. Smith wrote window.__pwned = 1 in config.json!",
        "See ![a.b](http://x.y/z.png) and [docs](https://e.org/a.b?c).",
        "It runs on .NET too.",
        "Why?",
    ]
