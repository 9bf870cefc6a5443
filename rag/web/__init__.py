"""Web: the Gradio chat. ``app`` builds the page, ``chat`` turns answers into turns, ``render``
draws the HTML, ``uploads`` adds articles, ``guard`` checks API input and logins.

Importing this package is cheap; ``serve`` imports Gradio when called.
"""


def serve(*args, **kwargs):
    from .app import serve as _serve

    return _serve(*args, **kwargs)


__all__ = ["serve"]
