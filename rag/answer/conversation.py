"""Follow-up questions, resolved against the conversation before anything is retrieved.

"Why?", "When did that start?" or "who said that?" mean nothing alone. A follow-up is searched
and read together with the previous question (as that one was resolved), the sentences the
previous answer quoted are not offered again (a follow-up asks for something new), and "who
said that?" asks about the article the previous answer cited; a follow-up that names nothing of
its own ("Why?", "When did that start?") is answered from the articles already cited. A message
that names a topic of its own is a new question: the old one is not dragged along.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|or|what about|how about|what else|why not|how come|"
    r"more on|tell me more|same for|and what|and how|and why|and who|and when)\b",
    re.I,
)
_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|"
    r"there|such|the same)\b",
    re.I,
)
_SMALL = frozenset(
    "a an the is are was were be do does did what which who whom how why when where "
    "about and or but also so then of to in on for with more tell me us please it its "
    "they them their this that these those he him his she her there such same "
    "said say says start started begin began happen happened mean means".split()
)


@dataclass(frozen=True)
class Exchange:
    """One earlier turn: the question as it was resolved, and the spans its answer quoted."""

    query: str
    cited: tuple[tuple[str, int, int], ...] = ()  # (doc, start, end)


@dataclass(frozen=True)
class Resolved:
    """What to do with a message: the text to search with and to read as the question."""

    question: str  # the message as asked
    query: str  # the message read with the conversation (equal to ``question`` for a new topic)
    exclude: tuple[tuple[str, int, int], ...] = ()  # spans not to quote again
    cited_docs: tuple[str, ...] = ()  # articles the previous answer cited ("who said that?")
    stay: bool = False  # names nothing of its own ("Why?"): answer from the articles already cited

    @property
    def follow_up(self) -> bool:
        return self.query != self.question

    @property
    def read(self) -> str:
        """What the reader reads as the question: a follow-up's own words when it has any ("and
        what about training?" asks about training), else the whole resolved query."""
        return self.question if self.follow_up and content_words(self.question) else self.query


def content_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", message) if w.lower() not in _SMALL]


def is_follow_up(message: str) -> bool:
    """True for a message that leans on the one before ("Why?", "and what about training?")."""
    content = content_words(message)
    if _FOLLOW_UP_START.match(message) or not content:
        return True
    return len(content) <= 2 and bool(_REFERS_BACK.search(message))


def resolve(message: str, history: Sequence[Exchange], limit: int = 2000) -> Resolved:
    """``message`` read with the last exchange when it is a follow-up, else alone."""
    if not history or not is_follow_up(message):
        return Resolved(message, message)
    last = history[-1]
    query = f"{message} {last.query}"
    if len(query) > limit:
        return Resolved(message, message)
    docs = tuple(dict.fromkeys(doc for doc, _, _ in last.cited))
    return Resolved(message, query, last.cited, docs, stay=bool(docs) and not content_words(message))


def exchanges(turns: Iterable[dict]) -> list[Exchange]:
    """Exchanges from JSON records: ``rag ask --json`` answers (``query`` or ``question``, and
    ``citations``), or chat messages (``{"role": "user", "content": ...}``; the answers' own
    messages carry no spans and are skipped)."""
    out: list[Exchange] = []
    for turn in turns:
        if not isinstance(turn, dict):
            raise ValueError("each turn must be a JSON object")
        if "role" in turn:
            if (
                turn.get("role") == "user"
                and isinstance(turn.get("content"), str)
                and turn["content"].strip()
            ):
                out.append(Exchange(resolve(turn["content"].strip(), out).query))
            continue
        query = turn.get("query") or turn.get("question")
        if not isinstance(query, str) or not query.strip():
            raise ValueError('each turn needs a "question" string')
        cited = tuple((c["doc"], int(c["start"]), int(c["end"])) for c in turn.get("citations") or ())
        out.append(Exchange(query.strip(), cited))
    return out
