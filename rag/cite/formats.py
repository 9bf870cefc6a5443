"""References for reports: a quoted sentence with its paragraph locator, in four formats.

A ``Reference`` is one quoted sentence with its paragraph locator and the article's metadata
(author, date, URL and site from front matter, HTML meta tags or PDF metadata, when present).
It is written out in four formats: Markdown, an APA-like plain-text style, BibTeX and CSL-JSON;
each holds the quoted sentence and the paragraph locator (``para. 7``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import RagError
from ..types import Article, Citation
from .sources import Source

FORMATS = ("markdown", "apa", "bibtex", "csl-json")
FORMAT_LABELS = {"markdown": "Markdown", "apa": "APA", "bibtex": "BibTeX", "csl-json": "CSL-JSON"}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")


@dataclass(frozen=True)
class Reference:
    """A quoted sentence, where it is (article and paragraph), and who published it when."""

    title: str
    doc: str
    paragraph: int
    quote: str
    start: int
    end: int
    author: str = ""
    date: str = ""
    url: str = ""
    site: str = ""


def reference(item: Citation | Source, article: Article | None) -> Reference:
    """A reference to a cited sentence (a Citation of an answer, or a Source of a claim)."""
    if isinstance(item, Source):
        title, doc, paragraph = item.hit.title, item.hit.doc, item.hit.paragraph
    else:
        title, doc, paragraph = item.title, item.doc, item.paragraph
    meta: Mapping[str, str] = article.meta if article is not None else {}
    return Reference(
        title=title,
        doc=doc,
        paragraph=paragraph,
        quote=item.quote,
        start=item.start,
        end=item.end,
        author=_clean(meta.get("author")),
        date=_clean(meta.get("date")),
        url=safe_url(meta.get("url")),
        site=_clean(meta.get("site")),
    )


def safe_url(url: str | None) -> str:
    """``url`` if it is an http(s) address, else "" (no javascript: or data: links from articles)."""
    url = _clean(url)
    return url if re.match(r"^https?://[^\s\"'<>]+$", url, re.I) else ""


def format_reference(ref: Reference, fmt: str) -> str:
    formatters = {"markdown": to_markdown, "apa": to_apa, "bibtex": to_bibtex, "csl-json": to_csl_json}
    if fmt not in formatters:
        raise RagError(f"unknown citation format {fmt!r}; use one of {', '.join(FORMATS)}")
    return formatters[fmt](ref)


def all_formats(ref: Reference) -> dict[str, str]:
    return {fmt: format_reference(ref, fmt) for fmt in FORMATS}


def to_markdown(ref: Reference) -> str:
    title = f"[{_md(ref.title)}]({ref.url})" if ref.url else f"*{_md(ref.title)}*"
    parts = [p for p in (_md(ref.author), title, _md(ref.site), _md(ref.date)) if p]
    where = "" if ref.url else f" (`{ref.doc}`)"
    return f"> {_md(ref.quote)}\n\n— {', '.join(parts)}{where}, para. {ref.paragraph}"


def to_apa(ref: Reference) -> str:
    """In-text citation with the quote, then the reference-list entry (APA 7, simplified)."""
    year = _year(ref.date) or "n.d."
    names = _authors(ref.author)
    who = _apa_in_text(names) if names else f'"{_short_title(ref.title)}"'
    in_text = f'"{ref.quote}" ({who}, {year}, para. {ref.paragraph})'
    date = f"({_apa_date(ref.date) or 'n.d.'})."
    title = ref.title.rstrip(".") + "."
    site = f" {ref.site.rstrip('.')}." if ref.site else ""
    where = f" {ref.url}" if ref.url else f" {ref.doc}"
    entry = f"{_apa_names(names)} {date} {title}{site}{where}" if names else f"{title} {date}{site}{where}"
    return f"{in_text}\n{entry}"


def to_bibtex(ref: Reference) -> str:
    fields = [("title", "{" + _tex(ref.title) + "}")]
    if ref.author:
        fields.append(
            (
                "author",
                " and ".join(
                    _tex(f"{family}, {given}".strip(", ")) for family, given in _authors(ref.author)
                ),
            )
        )
    if _year(ref.date):
        fields.append(("year", _year(ref.date)))
    if ref.date:
        fields.append(("date", _tex(ref.date)))
    if ref.site:
        fields.append(("howpublished", _tex(ref.site)))
    if ref.url:
        fields.append(("url", ref.url.replace("{", "%7B").replace("}", "%7D")))
    fields.append(("note", f"para. {ref.paragraph}: ``{_tex(ref.quote)}''"))
    fields.append(("file", _tex(ref.doc)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{cite_key(ref)},\n{body}\n}}"


def to_csl_json(ref: Reference) -> str:
    return json.dumps([csl_item(ref)], ensure_ascii=False, indent=2)


def csl_item(ref: Reference) -> dict:
    item: dict = {"id": cite_key(ref), "type": "webpage" if ref.url else "article", "title": ref.title}
    if ref.author:
        item["author"] = [
            {"family": family, "given": given} if given else {"literal": family}
            for family, given in _authors(ref.author)
        ]
    parts = _date_parts(ref.date)
    if parts:
        item["issued"] = {"date-parts": [parts]}
    elif ref.date:
        item["issued"] = {"raw": ref.date}
    if ref.site:
        item["container-title"] = ref.site
    if ref.url:
        item["URL"] = ref.url
    item.update(
        {
            "locator": str(ref.paragraph),  # a paragraph number (CSL-JSON items carry no "label")
            "note": f'"{ref.quote}" (para. {ref.paragraph}; {ref.doc}, characters {ref.start}-{ref.end})',
        }
    )
    return item


def cite_key(ref: Reference) -> str:
    names = _authors(ref.author)
    base = names[0][0] if names else (ref.title.split() or ["source"])[0]
    key = re.sub(r"[^A-Za-z0-9]", "", base.encode("ascii", "ignore").decode()).lower() or "source"
    return f"{key}{_year(ref.date)}p{ref.paragraph}"


# ---- small helpers ------------------------------------------------------------------------------
def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value else ""


def _authors(author: str) -> list[tuple[str, str]]:
    """(family, given) pairs from "Ada Lovelace; Grace Hopper" or "Lovelace, Ada and Hopper, G."."""
    names = [n.strip() for n in re.split(r";|\band\b|&", author) if n.strip()]
    out = []
    for name in names:
        if "," in name:
            family, given = (p.strip() for p in name.split(",", 1))
        else:
            words = name.split()
            family, given = words[-1], " ".join(words[:-1])
        out.append((family, given))
    return out


def _apa_names(names: list[tuple[str, str]]) -> str:
    written = [
        f"{family}, {' '.join(w[0] + '.' for w in given.split())}".rstrip(", ") if given else family
        for family, given in names
    ]
    if len(written) == 1:
        return written[0] + ("" if written[0].endswith(".") else ".")
    return ", ".join(written[:-1]) + ", & " + written[-1] + ("" if written[-1].endswith(".") else ".")


def _apa_in_text(names: list[tuple[str, str]]) -> str:
    families = [family for family, _ in names]
    if len(families) == 1:
        return families[0]
    return f"{families[0]} & {families[1]}" if len(families) == 2 else f"{families[0]} et al."


def _short_title(title: str) -> str:
    words = title.split()
    return " ".join(words[:5]) + ("..." if len(words) > 5 else "")


def _year(date: str) -> str:
    found = _YEAR.search(date or "")
    return found.group(1) if found else ""


def _date_parts(date: str) -> list[int]:
    found = _ISO_DATE.match((date or "").strip())
    if not found:
        return [int(_year(date))] if _year(date) else []
    parts = [int(p) for p in found.groups() if p]
    if len(parts) > 1 and not 1 <= parts[1] <= 12:
        parts = parts[:1]
    return parts


def _apa_date(date: str) -> str:
    parts = _date_parts(date)
    if len(parts) == 3:
        return f"{parts[0]}, {_MONTHS[parts[1] - 1]} {parts[2]}"
    if len(parts) == 2:
        return f"{parts[0]}, {_MONTHS[parts[1] - 1]}"
    return str(parts[0]) if parts else ""


def _md(text: str) -> str:
    """Text that Markdown shows as written (its punctuation escaped)."""
    return re.sub(r"([\\`*_\[\]<>#|~])", r"\\\1", text or "")


_TEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text or "")
