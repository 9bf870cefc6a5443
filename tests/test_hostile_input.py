"""Hostile input: random bytes, odd Unicode, giant lines and deep HTML into ingestion (property
based, with hypothesis); hostile uploads (names, symlinks, archives, limits); and the page's
escaping of every piece of article text, title and metadata.

Ingestion must never crash on what a user drops in the folder: each file either becomes an
article whose every paragraph, sentence and chunk span holds (``text[start:end]`` is the quoted
text), or is refused with an ``ArticleError`` that names it.
"""

from __future__ import annotations

import html.parser
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.errors import ArticleError
from rag.ingest.articles import chunk_article, parse_article, split_paragraphs
from rag.ingest.sentences import sentence_spans
from rag.settings import Settings

CHUNKING = Settings(chunk_chars=200, chunk_overlap=40)  # small chunks: the splitter runs often
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that break naive text handling: zero-width and joiners, bidi controls (RTL/LTR
# overrides and isolates), combining marks, NUL and other C0 controls, line and paragraph
# separators, a BOM, surrogate-free astral characters, CR/LF mixes and non-breaking spaces.
ODD = (
    "\u200b\u200c\u200d\u2060\ufeff\u202e\u202d\u202a\u202c\u2066\u2067\u2069\u200f\u061c"
    "\u0301\u0308\u0336\u20dd\u0000\u0001\u0007\u001b\u007f\u0085\u2028\u2029\u00a0\u3000"
    "\r\n\t \U0001f600\U0001d54f\u05d0\u05d1\u0627\u0644\u4e2d\u6587.!?;:\"'()#*-> "
)
odd_text = st.text(alphabet=st.sampled_from(ODD) | st.characters(blacklist_categories=("Cs",)), max_size=400)
words = st.text(alphabet="abcdefghij XYZ.,!?\n", min_size=1, max_size=60)


def check_article(path: Path, data: bytes) -> None:
    """Parse ``data`` as ``path``; an article's spans must all index its text exactly."""
    try:
        article, _ = parse_article(path, path.name, data)
    except ArticleError as exc:
        assert exc.path == str(path) and str(exc).startswith(f"{path}: ")
        return
    text = article.text
    assert article.paragraphs and isinstance(article.title, str)
    previous_end = 0
    for para in article.paragraphs:
        body = text[para.start : para.end]
        assert body and body == body.strip() and para.start >= previous_end
        previous_end = para.end
        for s, e in para.sentences:
            assert para.start <= s < e <= para.end
            assert text[s:e] == text[s:e].strip() and text[s:e]
    for chunk in chunk_article(article, CHUNKING):
        assert text[chunk.start : chunk.end] == chunk.text and chunk.text


@FAST
@given(st.binary(max_size=3000), st.sampled_from([".txt", ".md", ".html", ".pdf"]))
@example(b"\x00" * 10, ".txt")
@example(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj trailer<</Root 1 0 R>>", ".pdf")
@example("\ufeff\u202eevil\u202c\r\n\r\n\u200b".encode("utf-8"), ".md")
@example(b"\xff\xfe" + "Hello\n\nworld".encode("utf-16-le"), ".txt")
def test_random_bytes_never_crash_ingestion(data, suffix):
    check_article(Path(f"random{suffix}"), data)


@FAST
@given(odd_text, st.sampled_from([".txt", ".md", ".html"]))
@example("\u0301\u0301\u0301 combining first.\n\n\u202eRTL override\u202c then text. Next one.", ".txt")
@example("---\ntitle: [unclosed\n---\n# \u200b\n\nBody \x00 with NUL.", ".md")
@example("A\u2028B\u2029C\u0085D\r\rE\n\n\n", ".txt")
def test_odd_unicode_keeps_every_offset_valid(text, suffix):
    check_article(Path(f"odd{suffix}"), text.encode("utf-8", "surrogatepass"))


@FAST
@given(odd_text, st.integers(min_value=0, max_value=50), st.data())
def test_sentence_spans_stay_inside_their_paragraph(text, pad, data):
    text = " " * pad + text
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for a, b in split_paragraphs(text) + [(start, end)]:  # real paragraphs, and any span at all
        spans = sentence_spans(text, a, b)
        assert spans
        for s, e in spans:
            assert a <= s <= e <= b and text[s:e] == text[s:e].strip()


@settings(max_examples=5, deadline=None)
@given(words, st.integers(min_value=5_000, max_value=60_000))
def test_giant_lines_are_chunked_with_exact_spans(unit, size):
    line = (unit.replace("\n", " ").strip() or "word") + " "
    giant = (line * (size // len(line) + 1))[:size] + "\n\nA short closing paragraph.\n"
    check_article(Path("giant.txt"), giant.encode())


def test_one_giant_word_without_spaces_is_chunked():
    text = "x" * 50_000 + "\n"
    article, _ = parse_article(Path("word.txt"), "word.txt", text.encode())
    chunks = chunk_article(article, Settings())
    assert len(chunks) > 50 and all(article.text[c.start : c.end] == c.text for c in chunks)


@settings(max_examples=10, deadline=None)
@given(
    st.integers(min_value=200, max_value=5000),
    st.lists(
        st.sampled_from(["div", "p", "span", "b", "li", "table", "section", "blockquote"]),
        min_size=1,
        max_size=4,
    ),
)
def test_deeply_nested_html_is_read_or_refused_cleanly(depth, tags):
    opening = "".join(f"<{tags[i % len(tags)]}>" for i in range(depth))
    closing = "".join(f"</{tags[i % len(tags)]}>" for i in reversed(range(depth)))
    markup = f"<html><head><title>Deep</title></head><body>{opening}Deep text here.{closing}</body></html>"
    check_article(Path("deep.html"), markup.encode())
    unclosed = f"<html><body>{opening}Never closed. " * 2
    check_article(Path("unclosed.html"), unclosed.encode())


# ---- uploads ------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
@example("../../etc/passwd.txt")
@example("..\\..\\windows\\system32\\x.md")
@example("/absolute/path/.bashrc")
@example("\u202egpj.txt")
@example("con.txt\x00.exe")
@example("....//....//x.md")
def test_upload_names_are_always_plain_names(name):
    from rag.web.uploads import MAX_NAME_CHARS, safe_name

    safe = safe_name(name)
    assert safe and len(safe) <= MAX_NAME_CHARS
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]*", safe), safe
    assert ".." not in safe.split(".")[0] and "/" not in safe and "\\" not in safe


@pytest.fixture
def upload_settings(tmp_path):
    (tmp_path / "articles").mkdir()
    return Settings(
        index_dir=tmp_path / "index",
        articles_dir=tmp_path / "articles",
        upload_max_mb=0.01,
        upload_max_files=3,
    )


def test_traversal_names_are_saved_inside_the_uploads_folder(tmp_path, upload_settings):
    from rag.web.uploads import save_uploads, uploads_folder

    source = tmp_path / "plain.txt"
    source.write_text("Otters hold hands while they sleep.\n")
    names = ["../../escape.txt", "..\\..\\escape2.md", "/etc/cron.d/x.txt"]
    saved = save_uploads([(n, source) for n in names], upload_settings)
    folder = uploads_folder(upload_settings).resolve()
    assert [p.name for p in saved.paths] == ["escape.txt", "escape2.md", "x.txt"]
    assert all(p.resolve().parent == folder for p in saved.paths)
    assert not (tmp_path / "escape.txt").exists() and not Path("/etc/cron.d/x.txt").exists()


def test_symlinks_are_refused_not_followed(tmp_path, upload_settings):
    from rag.web.uploads import save_uploads, uploads_folder

    secret = tmp_path / "secret.txt"
    secret.write_text("the server's private notes\n")
    link = tmp_path / "innocent.txt"
    os.symlink(secret, link)
    saved = save_uploads([("innocent.txt", link)], upload_settings)
    assert saved.paths == ()
    assert saved.refused == ("innocent.txt: is a symbolic link, not a file; upload the file itself",)
    assert not (uploads_folder(upload_settings) / "innocent.txt").exists()


ARCHIVES = {
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40,
    "gzip": b"\x1f\x8b\x08\x00" + b"\x00" * 40,
    "bzip2": b"BZh91AY&SY" + b"\x00" * 40,
    "xz": b"\xfd7zXZ\x00" + b"\x00" * 40,
    "7z": b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40,
    "rar": b"Rar!\x1a\x07\x01\x00" + b"\x00" * 40,
    "tar": b"notes.txt".ljust(257, b"\x00") + b"ustar\x0000" + b"\x00" * 100,
}


@pytest.mark.parametrize("kind", sorted(ARCHIVES))
def test_archives_are_refused_even_when_renamed(tmp_path, upload_settings, kind):
    from rag.web.uploads import check_files

    disguised = tmp_path / f"{kind}.txt"
    disguised.write_bytes(ARCHIVES[kind])
    ok, refused = check_files([(f"report.{kind}.txt", disguised), ("bundle.zip", disguised)], upload_settings)
    assert ok == []
    assert refused == [
        f"report.{kind}.txt: is a {kind} archive; unpack it and upload the articles inside",
        "bundle.zip: only .txt, .md, .markdown, .html, .htm, .pdf files can be added",
    ]


def test_many_refusals_in_one_upload_are_each_named(tmp_path, upload_settings):
    from rag.web.uploads import UploadError, check_files

    good = tmp_path / "good.md"
    good.write_text("# Moths\n\nMoths navigate by the moon.\n")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 20_000)
    ok, refused = check_files([("good.md", good), ("big.txt", big), ("../x.exe", good)], upload_settings)
    assert ok == [("good.md", good)]
    assert [r.split(":")[0] for r in refused] == ["big.txt", "x.exe"]
    with pytest.raises(UploadError, match="4 files were uploaded at once; the limit is 3"):
        check_files([("good.md", good)] * 4, upload_settings)


# ---- escaping -----------------------------------------------------------------------------------
SAFE_TAGS = {
    "div",
    "span",
    "p",
    "mark",
    "small",
    "details",
    "summary",
    "a",
    "button",
    "pre",
    "b",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "br",
    "em",
    "strong",
    "s",
    "i",
    "ul",
    "li",
    "sup",
    "h3",
    "h4",
}
hostile = st.lists(
    st.sampled_from(
        list("<>&\"'`=/ ;:()[]*_#!\\")
        + [
            "script",
            "img",
            "onerror",
            "javascript",
            "a",
            "x",
            "\u202e",
            "\u200b",
            "<script>",
            "<img src=x onerror=y>",
            "](javascript:alert(1))",
            "<a href='javascript:x'>",
        ]
    ),
    max_size=40,
).map("".join)


class TagAudit(html.parser.HTMLParser):
    """Collects every tag and attribute an HTML string really contains."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]


def audit(markup: str) -> TagAudit:
    parser = TagAudit()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(markup: str) -> None:
    found = audit(markup)
    assert set(found.tags) <= SAFE_TAGS, set(found.tags) - SAFE_TAGS
    for name, value in found.attrs:
        assert not name.startswith("on"), name
        if name == "href":
            assert value.startswith(("#src-", "http://", "https://")), value


@settings(max_examples=80, deadline=None)
@given(title=hostile, text=hostile, doc=hostile, author=hostile, url=hostile, question=hostile)
def test_rendered_html_never_contains_article_markup(title, text, doc, author, url, question):
    from rag.cite import Reference, Source
    from rag.types import Answer, Article, Citation, Hit, Paragraph
    from rag.web.panels import article_html, sources_found_html, sources_html
    from rag.web.render import Turn, answer_markdown, collection_html

    body = f"Intro. {text} End."
    para = Paragraph("a1", 1, 0, len(body), "p1", ((0, len(body)),))
    article = Article(
        "a1",
        doc or "d.txt",
        title or "t",
        body,
        "0" * 64,
        (para,),
        {"author": author, "date": author, "url": url},
    )
    hit = Hit(
        rank=1, doc=article.doc, title=article.title, article_id=article.id, paragraph=1, start=0,
        end=len(body), text=body, score=0.5,
    )  # fmt: skip
    cite = Citation(1, article.doc, article.title, 1, 0, len(body), body, 0, len(body), 0.9)
    answer = Answer(question or "q", f"{body} [1]", False, (cite,), (hit,), confidence=0.9)
    ref = Reference(article.title, article.doc, 1, body, 0, len(body), author, author, url, doc)
    turn = Turn(1, question or "q", question or "q", answer, (ref,))
    for markup in (
        sources_html([turn]),
        collection_html([article], {article.id: 1}),
        sources_found_html(question, [Source(1, hit, 0, len(body), body, 0.9)], [ref], 0.5),
        sources_found_html(question, [Source(1, hit, 0, len(body), body, 0.1)], [ref], 0.5),
        article_html(article, 1, 0, len(body)),
    ):
        assert_inert(markup)
    reply = answer_markdown(turn)  # chat Markdown: no raw markup, and no Markdown link syntax
    assert_inert(reply)
    outside_tags = re.sub(r"<[^<>]*>", "", reply)
    assert not re.search(r"(?<!\\)\]\(", outside_tags)  # every "](" that could form a link is escaped


# ---- size and depth: time must grow linearly ----------------------------------------------------
def timed(path: Path, data: bytes) -> float:
    import time

    began = time.perf_counter()
    check_article(path, data)
    return time.perf_counter() - began


def test_deep_nesting_and_a_giant_paragraph_take_linear_time():
    """20,000 nested tags took minutes when each block's end was inserted with BeautifulSoup's
    ``insert_after``; a 200,000-character paragraph of sentences took minutes in pysbd at once."""
    depth = 20_000
    deep = (
        "<html><body>" + "<div><p>" * depth + "Deep text." + "</p></div>" * depth + "</body></html>"
    ).encode()
    assert timed(Path("deep.html"), deep) < 30
    sentences = ("The tide rose by 3.5 m. Dr. Smith measured it at 5 p.m. on the pier! " * 3000).encode()
    assert timed(Path("long.txt"), sentences) < 30


def test_html_comments_and_line_breaks():
    markup = (
        "<html><body><article><!-- a comment\nover two lines --><p>First\nline.</p>"
        "<pre>keep\n  this</pre><p>a<br>b</p></article></body></html>"
    )
    article, _ = parse_article(Path("c.html"), "c.html", markup.encode())
    assert article.text == "First line.\n\nkeep\nthis\n\na\nb\n"  # no comment text
    assert [article.text[p.start : p.end] for p in article.paragraphs] == [
        "First line.",
        "keep\nthis",
        "a\nb",
    ]
