"""Retrieval and cited answers on the bundled sample articles, with the real model and index."""

from __future__ import annotations

import json
import re

import pytest
from conftest import EVALSETS, SAMPLES

from rag import Assistant, answer_to_dict
from rag.answer.assistant import clean_question
from rag.answer.extractive import NOT_IN_ARTICLES
from rag.answer.retrieve import rrf, score_fusion
from rag.errors import QuestionError

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def assistant(store_index, embedder):
    """The assistant on the samples, once with FAISS and once with Milvus holding the vectors."""
    from rag.settings import Settings

    return Assistant(Settings(), index=store_index, embedder=embedder)


def seed_questions():
    return [json.loads(line) for line in (EVALSETS / "seed_dev.jsonl").read_text().splitlines()]


def gold_paragraphs(question, index) -> set[tuple[str, int]]:
    found = set()
    for gold in question["gold"]:
        article = next(a for a in index.articles.values() if a.doc == gold["doc"])
        at = article.text.index(gold["quote"])
        found |= {(article.doc, p.number) for p in article.paragraphs if p.start <= at < p.end}
    return found


def test_answerable_seed_questions_cite_their_gold_paragraph(assistant):
    answerable = [q for q in seed_questions() if not q.get("unanswerable")]
    on_target = 0
    for question in answerable:
        answer = assistant.ask(question["question"])
        gold = gold_paragraphs(question, assistant.index)
        assert not answer.abstained, question["question"]
        assert gold & {(h.doc, h.paragraph) for h in answer.passages}, question["question"]
        on_target += (answer.citations[0].doc, answer.citations[0].paragraph) in gold
    assert on_target >= 9, f"{on_target} of {len(answerable)} top citations on the gold paragraph"


def test_answer_quotes_its_source_verbatim_with_numbered_markers(assistant):
    answer = assistant.ask("What have Ukraine and NATO begun doing together?")
    assert "joint arms production" in answer.text
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert re.findall(r"\[(\d+)\]", answer.text) == [str(c.n) for c in answer.citations]
    for citation in answer.citations:
        text = (SAMPLES / citation.doc).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.quote
        assert citation.quote in answer.text
        assert citation.paragraph_start <= citation.start < citation.end <= citation.paragraph_end
    first = answer.citations[0]
    assert (first.doc, first.paragraph, first.start) == ("000_b170d9b6d041f30c.txt", 1, 0)


def test_every_citation_of_every_seed_answer_reproduces_its_quote(assistant):
    for question in seed_questions():
        for citation in assistant.ask(question["question"]).citations:
            text = (SAMPLES / citation.doc).read_text(encoding="utf-8")
            assert text[citation.start : citation.end] == citation.quote


def test_question_the_articles_do_not_answer_is_abstained_with_related_passages(assistant):
    answer = assistant.ask("What is the exchange rate of the hryvnia to the euro?")
    assert answer.abstained and answer.text == NOT_IN_ARTICLES
    assert answer.citations == () and len(answer.passages) == 5


def test_question_in_another_script_does_not_crash_and_abstains(assistant):
    answer = assistant.ask("Какой курс гривны к евро?")
    assert answer.abstained


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_paragraph(assistant, mode):
    answer = assistant.ask("Why are joint exercises held with Ukrainian forces?", mode=mode, k=3)
    assert len(answer.passages) == 3
    assert ("004_4f21d8328f07c64f.txt", 7) in {(h.doc, h.paragraph) for h in answer.passages}
    assert [h.rank for h in answer.passages] == [1, 2, 3]


def test_passages_are_distinct_paragraphs(assistant):
    answer = assistant.ask("What comes next for the coalition's long-term support?", k=10)
    keys = [(h.doc, h.paragraph) for h in answer.passages]
    assert len(keys) == len(set(keys)) == 10


def test_json_contract(assistant):
    data = answer_to_dict(assistant.ask("What broader trend does the move reflect?"))
    assert set(data) >= {"question", "answer", "abstained", "citations", "passages", "timings_ms"}
    assert set(data["citations"][0]) >= {"n", "doc", "title", "paragraph", "start", "end", "quote"}
    assert set(data["passages"][0]) >= {"rank", "doc", "title", "paragraph", "start", "end", "text", "score"}
    assert data["timings_ms"]["total"] >= data["timings_ms"]["retrieve"] >= 0
    text = (SAMPLES / data["passages"][0]["doc"]).read_text(encoding="utf-8")
    assert text[data["passages"][0]["start"] : data["passages"][0]["end"]] == data["passages"][0]["text"]
    json.dumps(data)


def test_bad_questions_get_clear_errors(assistant):
    for empty in ("", "   \n\t", "\x00\x01"):
        with pytest.raises(QuestionError, match="empty"):
            assistant.ask(empty)
    with pytest.raises(QuestionError, match="102,400 characters long; the limit is 2,000"):
        assistant.ask("x" * 102_400)
    with pytest.raises(QuestionError, match="unknown retrieval mode"):
        assistant.ask("anything", mode="magic")
    with pytest.raises(QuestionError, match="out of range"):
        assistant.ask("anything", k=0)
    assert clean_question("  what\x00 is\u200b NATO?\n", 100) == "what is NATO?"


def test_rrf_and_score_fusion_by_hand():
    dense = {("a", 1): 0.9, ("a", 2): 0.5, ("b", 1): 0.1}
    lexical = {("a", 2): 10.0, ("b", 3): 5.0}
    fused = rrf(dense, lexical)
    assert fused[("a", 2)] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[("a", 1)] == pytest.approx(1 / 61)
    scored = score_fusion(dense, lexical, dense_weight=0.4)
    assert scored[("a", 1)] == pytest.approx(0.4 * 1.0)
    assert scored[("a", 2)] == pytest.approx(0.4 * 0.5 + 0.6 * 1.0)
    assert scored[("b", 3)] == pytest.approx(0.0)
    assert max(scored, key=scored.get) == ("a", 2)
