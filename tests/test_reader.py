"""The learned reader on the bundled samples, with the real model, sentence vectors and index:
questions in a reader's own words, questions about the article itself, follow-ups, refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES

from rag import Assistant
from rag.answer.about import asks_about_article
from rag.answer.conversation import Exchange, exchanges, is_follow_up, resolve
from rag.errors import RagError

NATO = "000_b170d9b6d041f30c.txt"
COALITION = "004_4f21d8328f07c64f.txt"


@pytest.fixture(scope="module")
def assistant(sample_index, embedder):
    from rag.settings import Settings

    return Assistant(Settings(), index=sample_index, embedder=embedder)


def cited(answer) -> list[tuple[str, int]]:
    return [(c.doc, c.paragraph) for c in answer.citations]


def reproduces(answer) -> bool:
    return all(
        (SAMPLES / c.doc).read_text(encoding="utf-8")[c.start : c.end] == c.quote for c in answer.citations
    )


@pytest.mark.model
def test_a_heading_that_restates_the_question_is_not_the_answer(assistant, sample_index, embedder):
    from rag.settings import Settings

    question = "What is the core purpose of the coalition meetings?"
    heading = assistant.index.article_by_doc(COALITION).paragraph_text(4)
    assert heading == "The Core Purpose of the Coalition Meeting"
    answer = assistant.ask(question)
    assert (COALITION, 4) == (answer.passages[0].doc, answer.passages[0].paragraph)  # retrieval finds it
    assert all(c.quote != heading for c in answer.citations)
    # however unsure, the reader's best sentence is in the section under the heading
    eager = Assistant(Settings(abstain_below=0.0), index=sample_index, embedder=embedder).ask(question)
    assert not eager.abstained and cited(eager)[0] == (COALITION, 5) and reproduces(eager)


@pytest.mark.model
def test_a_lead_in_sentence_is_quoted_with_the_sentence_that_carries_it_on(assistant):
    from rag.answer.extractive import continued_to

    article = assistant.index.article_by_doc(COALITION)
    agenda = next(p for p in article.paragraphs if "significant focus" in article.text[p.start : p.end])
    spans = agenda.sentences
    said = [article.text[s:e] for s, e in spans]
    lead = said.index(
        "While immediate aid is vital, there's a significant focus on what happens after the immediate crisis."
    )
    assert said[lead + 1].startswith("This includes discussions about defense reforms")
    assert continued_to(article, agenda.number, spans[lead][1]) == spans[lead + 1][1]
    # a sentence whose successor starts afresh, and the paragraph's last sentence, stay alone
    fresh = next(
        i for i in range(len(spans) - 1) if not said[i + 1].startswith(("This", "These", "It", "They"))
    )
    assert continued_to(article, agenda.number, spans[fresh][1]) == spans[fresh][1]
    assert continued_to(article, agenda.number, spans[-1][1]) == spans[-1][1]
    # a source line that opens with "This" is metadata, not the rest of the answer
    nato = assistant.index.article_by_doc(NATO)
    first = nato.paragraphs[0].sentences
    assert nato.text[first[1][0] : first[1][1]].startswith("This update comes from")
    assert continued_to(nato, 1, first[0][1]) == first[0][1]
    # asked in a reader's words, the answer quotes the lead-in with what it leads into, verbatim
    answer = assistant.ask("What is planned for after the current crisis ends?")
    assert not answer.abstained and "defense reforms within Ukraine" in answer.citations[0].quote
    assert answer.citations[0].quote.startswith("While immediate aid is vital") and reproduces(answer)


@pytest.mark.model
@pytest.mark.parametrize(
    "question, words",
    [
        ("what abt training for ukranian soldiers?", ("train",)),
        ("wat do allies do about disinformation", ("propaganda", "disinformation")),
        ("what kinda weapons r flowing into ukraine", ("missiles", "artillery", "weapon")),
    ],
)
def test_informal_spelling_is_answered_not_refused(assistant, question, words):
    answer = assistant.ask(question)
    assert not answer.abstained, question
    assert answer.citations[0].doc == COALITION
    assert any(w in answer.citations[0].quote.lower() for w in words), answer.text
    assert reproduces(answer)


@pytest.mark.model
def test_questions_about_the_article_are_answered_from_its_byline_and_source_line(assistant):
    author = assistant.ask("Who wrote the article about the coalition meeting?")
    assert cited(author) == [(COALITION, 2)] and "Jhon Lennon" in author.citations[0].quote
    views = assistant.ask("How many views does the coalition piece have?")
    assert "42 views" in views.text
    source = assistant.ask("Where did the story on joint arms production come from?")
    assert source.citations[0].doc == NATO and "UNIAN" in source.citations[0].quote
    assert all(reproduces(a) for a in (author, views, source))
    # a byline never answers a question about the topic
    topic = assistant.ask("What does the coalition meeting article discuss about aid?")
    assert all("Jhon Lennon" not in c.quote for c in topic.citations)


@pytest.mark.model
def test_two_turn_follow_ups_use_the_conversation(assistant):
    first = assistant.ask("What have Ukraine and NATO begun doing together?")
    assert "joint arms production" in first.citations[0].quote
    history = [assistant.exchange(first)]
    why = assistant.ask("Why?", history=history)
    assert why.query.startswith("Why?") and not why.abstained
    assert why.citations[0].doc == NATO
    assert why.citations[0].quote != first.citations[0].quote  # not the previous answer again
    who = assistant.ask("who said that?", history=history)
    assert who.citations[0].doc == NATO
    assert "National Security and Defense Council" in who.citations[0].quote
    when = assistant.ask("When did that start?", history=history)  # about what was cited
    assert when.query.startswith("When did that start?")
    assert all(h.doc == NATO for h in when.passages)
    assert all(c.quote != first.citations[0].quote for c in when.citations)
    more = assistant.ask("and what about training?", history=history)  # reads its own words
    assert any("train" in c.quote for c in more.citations)
    # a new topic is read alone: the old question is not dragged along
    fresh = assistant.ask("What does the coalition give Ukraine apart from weapons?", history=history)
    assert fresh.query == "" and fresh.citations[0].doc == COALITION


@pytest.mark.model
@pytest.mark.parametrize(
    "question",
    [
        "What is the boiling point of mercury?",
        "Who won the 1998 football world cup?",
        "How much did Germany pledge in air defence at the last meeting?",
    ],
)
def test_off_topic_and_unanswered_questions_are_refused(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained and answer.citations == ()
    assert answer.confidence < assistant.reader.abstain_below  # neither the scorer nor the re-ranker finds it


@pytest.mark.model
def test_confidence_is_calibrated_probability_and_in_the_json(assistant):
    from rag import answer_to_dict

    good = assistant.ask("What have Ukraine and NATO begun doing together?")
    bad = assistant.ask("What is the boiling point of mercury?")
    assert 0.0 <= bad.confidence < good.confidence <= 1.0
    data = answer_to_dict(good)
    assert data["confidence"] == round(good.confidence, 4) and data["query"] == ""


@pytest.mark.model
def test_the_lexical_reader_stays_selectable(sample_index, embedder):
    from rag.settings import Settings

    lexical = Assistant(Settings(reader="lexical"), index=sample_index, embedder=embedder)
    assert lexical.reader is None and lexical.reranker is None
    answer = lexical.ask("What have Ukraine and NATO begun doing together?")
    assert "joint arms production" in answer.text


def test_follow_up_resolution_logic():
    history = [Exchange("What have Ukraine and NATO begun doing together?", ((NATO, 0, 73),))]
    assert is_follow_up("Why?") and is_follow_up("When did that start?") and is_follow_up("who said that?")
    assert not is_follow_up("What does the coalition give Ukraine apart from weapons?")
    why = resolve("Why?", history)
    assert why.follow_up and why.query == f"Why? {history[0].query}"
    assert why.exclude == ((NATO, 0, 73),) and why.cited_docs == (NATO,)
    assert not resolve("Why?", []).follow_up
    assert (
        resolve("How is Ukraine's army trained by its allies?", history).query
        == "How is Ukraine's army trained by its allies?"
    )
    chat = exchanges(
        [
            {"role": "user", "content": "What have Ukraine and NATO begun doing together?"},
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": "Why?"},
        ]
    )
    assert [e.query for e in chat] == [history[0].query, f"Why? {history[0].query}"]


def test_questions_about_the_article_are_told_from_questions_about_its_topic():
    assert asks_about_article("Who is the author of this piece?") == "author"
    assert asks_about_article("Which outlet carried the story?") == "source"
    assert asks_about_article("How many people viewed the article?") == "views"
    assert asks_about_article("who said that?", follow_up=True) == "source"
    assert asks_about_article("who said that?") == ""
    assert asks_about_article("Who wrote To Kill a Mockingbird?") == ""  # a topic, not the article


def test_a_damaged_or_foreign_scorer_file_is_refused_by_name(tmp_path):
    from rag.answer.reader import Scorer

    path = tmp_path / "reader_scorer.json"
    path.write_text('{"format": "something-else/9"}')
    with pytest.raises(RagError, match=r"reader_scorer.json cannot be used.*train_reader.py"):
        Scorer.load(path)
    path.write_text("{not json")
    with pytest.raises(RagError, match="reader_scorer.json cannot be used"):
        Scorer.load(path)
    path.write_text("[1, 2]")  # valid JSON, but not a model
    with pytest.raises(RagError, match="reader_scorer.json cannot be used .it holds a JSON list"):
        Scorer.load(path)
    shipped = json.loads((ROOT / "rag/answer/models/reader_scorer.json").read_text())
    shipped["model"]["features"] = shipped["model"]["features"][:-1]
    path.write_text(json.dumps(shipped))
    with pytest.raises(RagError, match="this version reads"):
        Scorer.load(path)
    shipped = json.loads((ROOT / "rag/answer/models/reader_scorer.json").read_text())
    shipped["model"]["weights"].append(1.0)
    path.write_text(json.dumps(shipped))
    with pytest.raises(RagError, match="17 weights for 16 signals"):
        Scorer.load(path)


@pytest.mark.model
def test_the_cli_carries_a_conversation_in_a_history_file(tmp_path, embedder):
    import os

    from rag.settings import Settings
    from rag.store.indexer import update_index

    update_index(SAMPLES, Settings(index_dir=tmp_path / "index"), embedder=embedder, progress=False)
    conversation = tmp_path / "conversation.jsonl"
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index")}
    run = [sys.executable, "-m", "rag.cli", "ask", "--json", "--history", str(conversation)]
    first = subprocess.run(
        run + ["What have Ukraine and NATO begun doing together?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    who = subprocess.run(run + ["who said that?"], env=env, capture_output=True, text=True, timeout=120)
    assert who.returncode == 0, who.stderr
    data = json.loads(who.stdout)
    assert data["query"].startswith("who said that?") and "UNIAN" in data["answer"]
    assert len(conversation.read_text().splitlines()) == 2
    conversation.write_text("not json\n")
    bad = subprocess.run(run + ["Why?"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "conversation.jsonl" in bad.stderr and "Traceback" not in bad.stderr


def run_training(script: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``training/script`` run with ``args`` in a process of its own, its output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "training" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_training_script_runs_end_to_end_on_a_few_questions(tmp_path):
    done = run_training("train_reader.py", "all", "--quick", "--work", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    from rag.answer.reader import Scorer

    scorer = Scorer.load(tmp_path / "reader_scorer.json")
    assert len(scorer.model.weights) == len(scorer.model.features) and 0 < scorer.abstain_below < 1
    assert "held-out by article" in done.stdout and "Solar_energy.txt" in done.stdout


@pytest.fixture(scope="module")
def reranking(sample_index, embedder):
    from rag.settings import Settings

    return Assistant(Settings(rerank=True), index=sample_index, embedder=embedder)


@pytest.mark.model
def test_the_re_ranker_reads_the_section_not_the_heading_or_a_lead_in(reranking):
    question = "What is the core purpose of the coalition meetings?"
    text = reranking.index.article_by_doc(COALITION).text
    search = reranking.search(question)
    reading = reranking.reading(search)
    from rag.answer.reader import candidates

    found = candidates(question, reading.vector, search.hits, reranking.index, reading.embedder)
    ranked, _ = reading.rank(question, found)
    lead_in = "Let's dive into what's been going down with the NATO Ukraine defense coalition meeting."
    assert lead_in in text
    assert ranked[0].candidate.hit.paragraph == 5 and ranked[0].candidate.text != lead_in
    heading = reranking.index.article_by_doc(COALITION).paragraph_text(4)
    assert all(r.candidate.text not in (heading, lead_in) for r in ranked[: reranking.reranker.config.rerank])
    assert [r.probability for r in ranked] == sorted((r.probability for r in ranked), reverse=True)


@pytest.mark.model
def test_the_re_ranker_scores_pairs_side_by_side_as_it_does_one_by_one(reranking):
    from dataclasses import replace

    question = "What is the core purpose of the coalition meetings?"
    article = reranking.index.article_by_doc(COALITION)
    sentences = [article.text[s:e] for p in article.paragraphs[4:7] for s, e in p.sentences][:6]
    encoder = reranking.reranker.encoder
    one_by_one = replace(encoder, threads=1, _session=None, _pool=None).score(question, sentences)
    side_by_side = replace(encoder, threads=2, _session=None, _pool=None).score(question, sentences)
    assert len(set(one_by_one)) == len(sentences)  # distinct scores, so an order mix-up would show
    assert side_by_side == one_by_one


@pytest.mark.model
def test_the_re_ranker_is_on_by_default_and_off_when_asked(sample_index, embedder, reranking, tmp_path):
    from rag.embed.onnx_cache import cached_export
    from rag.hashing import file_sha256
    from rag.settings import Settings

    assert Settings().rerank and Assistant(Settings(), index=sample_index, embedder=embedder).reranker
    assert Assistant(Settings(rerank=False), index=sample_index, embedder=embedder).reranker is None

    # an export is announced just before it is made, and not when it is already cached
    def build(out):
        (out / "model.onnx").write_bytes(b"onnx")
        record = {"size": 4, "sha256": file_sha256(out / "model.onnx")}
        (out / "export.json").write_text(json.dumps(record))

    announced: list[str] = []
    for _ in range(2):
        cached_export(tmp_path, "entry", build, lambda: announced.append("export"))
    assert announced == ["export"]
    told: list[str] = []
    assert Assistant(Settings(), index=sample_index, embedder=embedder, notify=told.append).reranker
    assert told == []
    answer = reranking.ask("What have Ukraine and NATO begun doing together?")
    assert "joint arms production" in answer.citations[0].quote and reproduces(answer)
    assert reranking.reading(reranking.search("anything")).abstain_below == reranking.reader.abstain_below
    off = reranking.ask("What is the boiling point of mercury?")
    assert off.abstained and off.confidence < reranking.reader.abstain_below


@pytest.mark.model
def test_an_answer_either_model_is_sure_of_is_given_one_neither_is_sure_of_is_refused(
    sample_index, embedder, reranking
):
    from rag.settings import Settings

    # in a reader's words: the logistic scorer alone is unsure and refuses, the re-ranker reads it
    question = "what does the support mean for the transatlantic relationship"
    alone = Assistant(Settings(rerank=False), index=sample_index, embedder=embedder).ask(question)
    assert alone.abstained and alone.confidence < reranking.reader.abstain_below
    both = reranking.ask(question)
    assert not both.abstained and both.confidence >= reranking.reader.abstain_below
    assert "strengthened transatlantic alliance" in both.citations[0].quote and reproduces(both)
    assert reranking.ask("Who won the 1998 football world cup?").abstained  # neither is sure


def test_either_confident_puts_the_second_probability_on_the_first_ones_scale():
    from rag.answer.extractive import either_confident

    assert either_confident(0.5, 0.2, 0.01, 0.07) == 0.5  # the first is higher: unchanged
    assert either_confident(0.1, 0.2, 0.07, 0.07) == pytest.approx(0.2)  # at its own threshold
    assert 0.1 < either_confident(0.1, 0.2, 0.05, 0.07) < 0.2  # under both thresholds: under 0.2
    assert either_confident(0.1, 0.2, 0.3, 0.07) > 0.2  # over its own: over the first one's
    values = [either_confident(0.0, 0.2, p / 100, 0.07) for p in range(0, 101)]
    assert values == sorted(values) and all(0.0 <= v <= 1.0 for v in values)


def test_a_damaged_re_ranker_is_refused_by_name(tmp_path):
    from rag.answer.cross_encoder import CONFIG, CrossConfig

    shipped = json.loads(CONFIG.read_text())
    (tmp_path / shipped["delta"]).write_bytes(b"not the delta")
    path = tmp_path / "cross_encoder.json"
    path.write_text(json.dumps(shipped))
    with pytest.raises(RagError, match=r"cross_encoder.json cannot be used.*does not match.*RAG_RERANK"):
        CrossConfig.load(path)
    path.write_text('{"format": "something-else/9"}')
    with pytest.raises(RagError, match=r"cannot be used.*train_cross_encoder.py"):
        CrossConfig.load(path)


def test_the_cross_encoder_training_runs_on_a_few_questions(tmp_path):
    done = run_training("train_cross_encoder.py", "--quick", "--work", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    from rag.answer.cross_encoder import CrossConfig

    config = CrossConfig.load(tmp_path / "cross_encoder.json")
    assert config.delta.stat().st_size < 5_000_000 and 0 < config.abstain_below < 1
    assert "held-out by article" in done.stdout and "Solar_energy.txt" in done.stdout
    trained = json.loads((tmp_path / "cross_encoder.json").read_text())["trained"]

    # a delta trained elsewhere (say on a GPU) is calibrated here, keeping its training record
    again = run_training(
        "train_cross_encoder.py", "--quick", "--work", str(tmp_path), "--calibrate", str(config.delta)
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "held-out by article" in again.stdout and "trained " not in again.stdout  # no training
    recalibrated = CrossConfig.load(tmp_path / "cross_encoder.json")
    assert recalibrated.delta_sha256 == config.delta_sha256
    assert json.loads((tmp_path / "cross_encoder.json").read_text())["trained"] == trained


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder):
        self.inner, self.texts = embedder, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, progress=None):
        self.texts += list(texts)
        return self.inner.encode(texts, progress)

    def token_sums(self, texts, progress=None):
        self.texts += list(texts)
        return self.inner.token_sums(texts, progress)


@pytest.mark.model
def test_sentence_vectors_are_saved_in_the_rows_and_reused_on_update(tmp_path, embedder, samples):
    import numpy as np

    from rag.settings import Settings
    from rag.store.index import Index
    from rag.store.indexer import update_index
    from rag.store.sentence_vectors import sentence_texts

    settings = Settings(index_dir=tmp_path / "index")
    update_index(samples, settings, embedder=embedder, progress=False)
    index = Index.load(settings.index_dir, settings)
    article = index.article_by_doc(NATO)
    stored = index.sentences[article.id]
    texts = sentence_texts(article)
    assert stored.dtype == np.float16 and not stored.flags.writeable  # read from rows.sqlite, not a copy
    fresh = embedder.encode(texts)
    assert stored.shape == fresh.shape and np.min(np.sum(stored.astype("float32") * fresh, 1)) > 0.999

    path = samples / NATO
    path.write_text(
        path.read_text(encoding="utf-8") + "\nA new closing sentence about drones.\n", encoding="utf-8"
    )
    counting = CountingEmbedder(embedder)
    update_index(samples, settings, embedder=counting, progress=False)
    # the new paragraph's sentence, and the title its chunk's vector is pooled with
    assert sorted(counting.texts) == sorted([article.title, "A new closing sentence about drones."])
    updated = Index.load(settings.index_dir, settings)
    kept = updated.sentences[article.id][: len(texts)]
    assert np.array_equal(kept, stored)  # unchanged sentences kept their vectors


@pytest.mark.model
def test_an_index_saved_without_sentence_vectors_still_answers(tmp_path, embedder):
    from rag.settings import Settings
    from rag.store.index import MANIFEST, Index
    from rag.store.indexer import update_index

    settings = Settings(index_dir=tmp_path / "index")
    update_index(SAMPLES, settings, embedder=embedder, progress=False)
    index = Index.load(settings.index_dir, settings)
    index.writable()._db.execute("UPDATE articles SET sentences = NULL")  # as if saved without them
    index.save(settings.index_dir)
    assert json.loads((settings.index_dir / MANIFEST).read_text())["counts"]["articles"] == 2
    index = Index.load(settings.index_dir, settings)
    assert dict(index.sentences) == {}
    answer = Assistant(settings, index=index, embedder=embedder).ask(
        "What have Ukraine and NATO begun doing together?"
    )
    assert "joint arms production" in answer.citations[0].quote
    assert index._embedded_sentences  # embedded on first use
    counting = CountingEmbedder(embedder)
    update_index(SAMPLES, settings, embedder=counting, progress=False)  # nothing changed but them
    assert set(Index.load(settings.index_dir, settings).sentences) == set(index.articles)
    assert counting.texts
