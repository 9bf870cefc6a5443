"""The conversation as a Markdown file: each question, its answer with ``[n]`` markers, the
reader's confidence, the quoted sentences and their references. Article text is escaped for
Markdown, so a quote cannot turn into a link or a heading."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..cite import Reference, format_reference
from .render import Turn, confidence_words

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


def md(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def conversation_markdown(turns: Sequence[Turn], now: float | None = None) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now))
    lines = ["# Conversation with the articles", "", f"Exported {stamp}. Every quote is word for word.", ""]
    for turn in turns:
        lines += [f"## Q{turn.number}. {md(turn.question)}", ""]
        if turn.query != turn.question:
            lines += [f"*Read with the previous question: {md(turn.query)}*", ""]
        answer = turn.answer
        text = re.sub(r"\\\[(\d+)\\\]", r"[\1]", md(answer.text))  # keep the citation markers
        lines += [text, "", f"*{confidence_words(answer).capitalize()}*", ""]
        if answer.abstained:
            lines += ["Related reading (does not answer the question):", ""]
            lines += [f"- {md(h.title)}, para. {h.paragraph} ({md(h.doc)})" for h in answer.passages]
            lines.append("")
            continue
        for citation in answer.citations:
            lines += [
                f"> [{citation.n}] \u201c{md(citation.quote)}\u201d",
                f"> \u2014 {md(citation.title)}, para. {citation.paragraph} ({md(citation.doc)}, "
                f"characters {citation.start}\u2013{citation.end})",
                "",
            ]
        lines += ["References (APA):", ""]
        lines += [f"- [{c.n}] {_apa_entry(r)}" for c, r in zip(answer.citations, turn.references)]
        lines.append("")
    return "\n".join(lines)


def _apa_entry(ref: Reference) -> str:
    return md(format_reference(ref, "apa").splitlines()[-1])


def write_export(turns: Sequence[Turn]) -> str | None:
    """The conversation written to a new Markdown file for the page's download button; None when
    there is nothing to export yet."""
    if not turns:
        return None
    folder = Path(tempfile.mkdtemp(prefix="rag-conversation-"))
    path = folder / "conversation.md"
    path.write_text(conversation_markdown(turns), encoding="utf-8")
    return str(path)
