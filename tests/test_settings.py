"""Settings are checked once, when made; the documentation is generated from them and the
``--json`` fields are documented (both fail here when they drift)."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, fields

import pytest
from conftest import ROOT

from rag.settings import CHOICES, Settings, SettingsError, unknown_variables


def test_environment_values_are_typed_and_booleans_strict():
    s = Settings.from_env(
        {"RAG_TOP_K": "7", "RAG_DENSE_WEIGHT": "0.5", "RAG_VERIFY": "no", "RAG_FUSION": "rrf"}
    )
    assert (s.top_k, s.dense_weight, s.verify, s.fusion) == (7, 0.5, False, "rrf")
    for word, value in [("true", True), ("YES", True), ("1", True), ("false", False), ("0", False)]:
        assert Settings.from_env({"RAG_VERIFY": word}).verify is value
    with pytest.raises(SettingsError, match=r"^RAG_VERIFY='ture' is not a boolean; use one of true, 1, yes"):
        Settings.from_env({"RAG_VERIFY": "ture"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_FUSION": "bogus"}, r"^RAG_FUSION='bogus' is not one of: score, rrf$"),
        (
            {"RAG_MODE": "hybird"},
            r"RAG_MODE='hybird' is not one of: hybrid, dense, bm25 \(did you mean hybrid\?\)",
        ),
        ({"RAG_TOP_K": "0"}, r"^RAG_TOP_K=0 is out of range; use a value from 1 to 100$"),
        ({"RAG_DENSE_WEIGHT": "1.5"}, r"RAG_DENSE_WEIGHT=1.5 is out of range; use a value from 0 to 1"),
        ({"RAG_PORT": "http"}, r"RAG_PORT='http' is not a valid int; give a whole number like 7860"),
        ({"RAG_CHUNK_OVERLAP": "900"}, r"RAG_CHUNK_OVERLAP=900 must be smaller than RAG_CHUNK_CHARS=800"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_values_given_in_code_are_checked_too_and_secrets_never_shown():
    with pytest.raises(SettingsError, match="RAG_READER='learnt' is not one of: learned, lexical"):
        Settings(reader="learnt")
    with pytest.raises(SettingsError, match=r"RAG_LLM_API_KEY='\*\*\*' is not a valid str"):
        Settings(llm_api_key=123)  # type: ignore[arg-type]
    assert Settings(index_dir="elsewhere").index_dir.name == "elsewhere"  # a path given as text is a Path
    with pytest.raises(FrozenInstanceError):
        Settings().top_k = 3  # type: ignore[misc]


def test_unknown_variables_get_the_closest_name():
    warnings: list[str] = []
    settings = Settings.from_env({"RAG_TOPK": "3", "RAG_VERIFY": "1", "RAG_ZZZ": "x"}, warn=warnings.append)
    assert settings.top_k == 5  # ignored, not guessed
    assert warnings == [
        "RAG_TOPK is not a setting and is ignored; did you mean RAG_TOP_K?",
        "RAG_ZZZ is not a setting and is ignored; see docs/settings.md for the settings",
    ]
    assert unknown_variables({"HOME": "/root", "RAG_MODE": "dense"}) == []


def test_the_choices_are_the_ones_the_code_offers():
    from rag.answer.modes import ANSWER_MODES
    from rag.answer.retrieve import FUSIONS, MODES
    from rag.store.ann import CHOICES as INDEX_TYPES

    assert CHOICES["answer_mode"] == tuple(ANSWER_MODES)  # the assistant's registry, one list
    assert (CHOICES["mode"], CHOICES["fusion"], CHOICES["index_type"]) == (MODES, FUSIONS, INDEX_TYPES)


def test_docs_settings_is_generated_from_the_dataclass():
    from rag.docgen import field_comments, settings_markdown

    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert doc == settings_markdown(), "docs/settings.md is stale: run python -m rag.docgen"
    comments = field_comments()
    for f in fields(Settings):
        assert comments.get(f.name), f"{f.name} has no comment in rag/settings.py to document it"
        assert f"`RAG_{f.name.upper()}`" in doc


def test_docs_api_lists_every_json_field():
    """docs/api.md documents the fields of ``rag ask --json`` (answer_to_dict), and only those."""
    from rag.answer.assistant import answer_to_dict
    from rag.types import Answer, Citation, Hit

    hit = Hit(
        rank=1, doc="a.txt", title="A", article_id="x", paragraph=1, start=0, end=5, text="Hello", score=1.0
    )
    cite = Citation(
        n=1, doc="a.txt", title="A", paragraph=1, start=0, end=5, quote="Hello",
        paragraph_start=0, paragraph_end=5, support=0.9,
    )  # fmt: skip
    record = answer_to_dict(Answer("Q?", "Hello [1]", False, (cite,), (hit,), confidence=0.9))
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    schema = doc.split("<!-- json-fields -->", 2)[1]
    documented = set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", schema, re.M))
    actual = set(record) | {f"citations[].{k}" for k in record["citations"][0]}
    actual |= {f"passages[].{k}" for k in record["passages"][0]}
    assert documented == actual, f"undocumented: {actual - documented}; stale: {documented - actual}"
    for required in ("dropped", "notice", "confidence", "query"):
        assert required in documented
