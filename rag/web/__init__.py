"""Web: the Gradio chat. ``app`` holds the assistant and the chat handlers, ``page`` and
``page_articles`` lay out the page, ``chat`` turns answers into turns, ``render`` and ``panels``
draw the HTML, ``export`` writes the conversation as Markdown, ``library`` and ``uploads`` add
and delete articles, ``api`` serves the HTTP API, ``launch`` and ``guard`` check the address,
input and logins. ``static/`` holds the page's CSS and JS.

Importing this package is cheap; ``serve`` imports Gradio when called.
"""


def serve(*args, **kwargs):
    from .app import serve as _serve

    return _serve(*args, **kwargs)


__all__ = ["serve"]
