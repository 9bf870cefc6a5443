"""Ask the articles in a browser: ``python app.py``, then open http://127.0.0.1:7860.

Serves the index and articles the settings name (RAG_INDEX_DIR, RAG_ARTICLES_DIR; by default the
bundled samples), on RAG_HOST:RAG_PORT. The page itself is built in ``rag/web/app.py``.
"""

import os
import sys
from collections.abc import Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.settings import Settings, SettingsError  # noqa: E402
from rag.web.app import WebApp  # noqa: E402

try:  # the settings are read and checked here, once: a bad value is one line, not a traceback
    settings = Settings.from_env(warn=lambda message: print(f"warning: {message}", file=sys.stderr))
except SettingsError as exc:
    sys.exit(f"error: {exc}")
web = WebApp(settings)


def respond(message: str, history: list[dict]) -> Iterator[str]:
    """Reply to ``message`` in the light of ``history``: Markdown whose citation markers link to
    their sources, yielded as it is composed."""
    yield from web.respond(message, history)


demo = web.build(respond)

if __name__ == "__main__":
    import sys

    from rag.errors import RagError
    from rag.web.launch import check_port

    try:
        check_port(web.settings.host, web.settings.port)
    except RagError as exc:
        sys.exit(f"error: {exc}")
    web.warm_up()
    demo.launch(**web.launch_options())
