"""HTML to article text: the main block's text with blank lines between blocks, its title and meta tags."""

from __future__ import annotations

from typing import Any

from .readers import Extracted, tidy_blocks

_HTML_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "form",
    "iframe",
    "button",
    "select",
    "footer",
    "aside",
)
_HTML_BLOCKS = (
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "table",
    "tr",
    "figure",
    "figcaption",
    "address",
    "hr",
    "title",
)
_META_KEYS = {  # HTML <meta name/property> -> our metadata key
    "author": "author",
    "article:author": "author",
    "citation_author": "author",
    "dc.creator": "author",
    "date": "date",
    "article:published_time": "date",
    "citation_publication_date": "date",
    "citation_date": "date",
    "dc.date": "date",
    "og:url": "url",
    "citation_title": "title",
    "og:title": "title",
    "og:site_name": "site",
    "citation_journal_title": "site",
    "description": "description",
}


def extract_html(markup: str) -> Extracted:
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
    text = tidy_blocks(_block_text(root))
    meta.pop("title", None)
    return Extracted(text=text, title=title[:300], meta=meta)


def _block_text(root: Any) -> str:
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


def _html_meta(soup: Any) -> dict[str, str]:
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
