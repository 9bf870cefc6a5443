"""Article and chunk rows on disk: one SQLite file per generation (``rows.sqlite``), read on demand.

Tables: ``articles`` (text, paragraphs, metadata, a row hash, the reader's float16 sentence
vectors), ``chunks`` (article, paragraph, start, end) and ``terms``, FTS5 over each chunk's BM25
tokens (``lexical.terms``), ranked by FTS5's ``bm25()``. Opening reads the schema, not the rows.
A committed generation is opened read-only and immutable (a read-only folder serves); a writer
works on a copy in the next generation's temporary folder.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import IndexCorruptError
from ..types import Article, Chunk
from .article_rows import article_from_row, article_row, row_checksum

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FILE = "rows.sqlite"
SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, doc TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
    text TEXT NOT NULL, sha256 TEXT NOT NULL, paragraphs TEXT NOT NULL, meta TEXT NOT NULL,
    n_paragraphs INTEGER NOT NULL, sentences BLOB, checksum TEXT NOT NULL);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, article TEXT NOT NULL, paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL);
CREATE INDEX chunks_by_article ON chunks (article);
CREATE VIRTUAL TABLE terms USING fts5 (tokens, tokenize = 'unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE vocab USING fts5vocab (terms, 'row');
CREATE VIRTUAL TABLE instances USING fts5vocab (terms, 'instance');
CREATE TABLE counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
CACHED_ARTICLES = 64  # articles kept parsed in memory (the ones the last questions touched)


class RowStore:
    """The rows of one generation. Thread-safe: one connection, used under a lock."""

    def __init__(self, path: Path, connection: sqlite3.Connection, writable: bool, hint: str = "") -> None:
        self.path = path
        self.hint = hint  # how to recover, told with a damaged file
        self.writable = writable
        self._db = connection
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Article] = OrderedDict()
        self.closed = False

    @classmethod
    def create(cls, path: Path) -> RowStore:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
        db.execute("BEGIN")
        return cls(path, db, True)

    @classmethod
    def open(cls, path: Path, hint: str = "") -> RowStore:
        """A committed generation, read-only (raises sqlite3.DatabaseError if it is not one)."""
        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails on a damaged header
        return cls(path, db, False, hint)

    def copy_to(self, path: Path) -> RowStore:
        """A writable copy at ``path`` (the next generation's rows)."""
        with self._lock:
            shutil.copyfile(self.path, path)
        return RowStore.reopen(path, self.hint)

    @classmethod
    def reopen(cls, path: Path, hint: str = "") -> RowStore:
        """The draft at ``path``, writable again."""
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        db.execute("BEGIN")
        return cls(path, db, True, hint)

    def finish(self) -> None:
        """Record the counts, commit, compact and close a writable store (the file is then complete)."""
        with self._lock:
            for table in ("articles", "chunks"):
                self._db.execute(
                    f"INSERT OR REPLACE INTO counts SELECT '{table}', count(*) FROM {table}"  # noqa: S608
                )
            self._db.execute(
                "INSERT OR REPLACE INTO counts SELECT 'paragraphs', coalesce(sum(n_paragraphs), 0) FROM articles"
            )
            self._db.execute(
                "INSERT OR REPLACE INTO counts SELECT 'tokens', coalesce(sum(n_tokens), 0) FROM chunks"
            )
            self._db.execute("COMMIT")
            self._db.execute("INSERT INTO terms (terms) VALUES ('optimize')")
            self._db.close()
            self.closed = True

    def close(self, commit: bool = False) -> None:
        with self._lock:
            if self.closed:
                return
            if commit and self._db.in_transaction:
                self._db.execute("COMMIT")
            self._db.close()
            self.closed = True

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._damaged(f"cannot be read ({exc})") from None

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchone()
            except sqlite3.DatabaseError as exc:
                raise self._damaged(f"cannot be read ({exc})") from None

    def _damaged(self, what: str) -> IndexCorruptError:
        return IndexCorruptError(f"{self.path}: {what}. {self.hint}".strip())

    # ---- reading --------------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        with self._lock:
            found = self._cache.get(article_id)
            if found is not None:
                self._cache.move_to_end(article_id)
                return found
        row = self._one(
            "SELECT id, doc, title, text, sha256, paragraphs, meta, checksum FROM articles WHERE id = ?",
            (article_id,),
        )
        if row is None:
            return None
        if row_checksum(row[:7]) != row[7]:
            raise self._damaged(f"the row of article {row[1]!r} is damaged")
        article = article_from_row(row[:7])
        with self._lock:
            self._cache[article_id] = article
            while len(self._cache) > CACHED_ARTICLES:
                self._cache.popitem(last=False)
        return article

    def article_id_of(self, doc: str) -> str | None:
        row = self._one("SELECT id FROM articles WHERE doc = ?", (doc,))
        return row[0] if row else None

    def has_article(self, article_id: str) -> bool:
        return self._one("SELECT 1 FROM articles WHERE id = ?", (article_id,)) is not None

    def sentence_ids(self) -> Iterator[str]:
        return (r[0] for r in self._all("SELECT id FROM articles WHERE sentences IS NOT NULL"))

    def article_ids(self) -> Iterator[str]:
        return (r[0] for r in self._all("SELECT id FROM articles ORDER BY doc"))

    def docs(self) -> dict[str, tuple[str, str, str]]:
        """{doc: (article id, file sha256, file stamp)}: what an update compares files with."""
        sql = "SELECT doc, id, sha256, coalesce(json_extract(meta, '$.file_stat'), '') FROM articles"
        return {d: (i, s, t) for d, i, s, t in self._all(sql)}

    def count(self, table: str) -> int:
        """Rows in ``articles`` or ``chunks`` (recorded when the generation was saved)."""
        if not self.writable:
            return self._one("SELECT value FROM counts WHERE name = ?", (table,))[0]
        return self._one(f"SELECT count(*) FROM {table}")[0]  # noqa: S608 (a table of ours)

    def paragraph_count(self) -> int:
        if not self.writable:
            return self._one("SELECT value FROM counts WHERE name = 'paragraphs'")[0]
        return self._one("SELECT coalesce(sum(n_paragraphs), 0) FROM articles")[0]

    def chunk(self, chunk_id: int) -> Chunk | None:
        row = self._one('SELECT article, paragraph, start, "end" FROM chunks WHERE id = ?', (int(chunk_id),))
        if row is None:
            return None
        article = self.article(row[0])
        assert article is not None  # a chunk's article is deleted with it
        return Chunk(int(chunk_id), row[0], row[1], row[2], row[3], article.text[row[2] : row[3]])

    def chunk_ids(self) -> Iterator[int]:
        return (r[0] for r in self._all("SELECT id FROM chunks ORDER BY id"))

    def sample_chunk_ids(self, n: int) -> list[int]:
        """Up to ``n`` chunk ids spread over the id space (index lookups, not a scan)."""
        import random

        draw = random.Random(0)
        found = (
            self._one("SELECT id FROM chunks WHERE id >= ? ORDER BY id LIMIT 1", (draw.getrandbits(63),))
            for _ in range(n)
        )
        first = self._one("SELECT min(id) FROM chunks")
        return sorted({r[0] for r in found if r} | ({first[0]} if first and first[0] is not None else set()))

    def chunk_ids_of(self, article_id: str) -> list[int]:
        return [
            r[0] for r in self._all("SELECT id FROM chunks WHERE article = ? ORDER BY rowid", (article_id,))
        ]

    def sentences(self, article_id: str) -> npt.NDArray[np.float16] | None:
        """The article's float16 sentence vectors, or None if the index has none for it."""
        import numpy as np

        row = self._one("SELECT sentences FROM articles WHERE id = ?", (article_id,))
        if row is None or row[0] is None:
            return None
        article = self.article(article_id)
        assert article is not None  # its row was just read
        count = sum(len(p.sentences) or 1 for p in article.paragraphs)
        return np.frombuffer(row[0], dtype="<f2").reshape(count, -1 if count else 0)

    def search_terms(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best ``k`` chunks holding any of ``tokens``, best first:
        each term's postings (chunk, term count, chunk length) from FTS5, scored by ``lexical.rank``."""
        from . import lexical

        if not tokens or k <= 0:
            return []
        total = self._one("SELECT value FROM counts WHERE name = 'tokens'") if not self.writable else None
        total = total[0] if total else self._one("SELECT coalesce(sum(n_tokens), 0) FROM chunks")[0]
        sql = (
            "SELECT i.doc, count(*), c.n_tokens FROM instances AS i JOIN chunks AS c ON c.id = i.doc "
            "WHERE i.term = ? GROUP BY i.doc"
        )
        postings = {t: self._all(sql, (t,)) for t in dict.fromkeys(tokens)}
        return lexical.rank(tokens, postings, self.count("chunks"), total, k)

    def document_frequency(self, term: str) -> int:
        row = self._one("SELECT doc FROM vocab WHERE term = ?", (term,))
        return int(row[0]) if row else 0

    # ---- writing (a writable copy only) ---------------------------------------------------
    def put(
        self,
        article: Article,
        chunks: list[Chunk],
        tokens: list[list[str]],
        sentences: npt.ArrayLike | None = None,
    ) -> None:
        """Store ``article`` with its chunks (and each chunk's BM25 tokens), replacing its old rows."""
        import numpy as np

        self.delete(article.id)
        blob = None if sentences is None else np.asarray(sentences, dtype="<f2").tobytes()
        with self._lock:
            row = article_row(article)
            self._db.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, len(article.paragraphs), blob, row_checksum(row)),
            )
            self._db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.article_id, c.paragraph, c.start, c.end, len(t)) for c, t in zip(chunks, tokens)],
            )
            self._db.executemany(
                "INSERT INTO terms (rowid, tokens) VALUES (?, ?)",
                [(c.id, " ".join(t)) for c, t in zip(chunks, tokens)],
            )

    def set_sentences(self, article_id: str, sentences: npt.ArrayLike) -> None:
        import numpy as np

        blob = np.asarray(sentences, dtype="<f2").tobytes()
        with self._lock:
            self._db.execute("UPDATE articles SET sentences = ? WHERE id = ?", (blob, article_id))

    def delete(self, article_id: str) -> list[int]:
        """Forget the article and its chunks; returns the chunk ids it had."""
        old = self.chunk_ids_of(article_id)
        with self._lock:
            self._cache.pop(article_id, None)
            self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            self._db.execute("DELETE FROM chunks WHERE article = ?", (article_id,))
            self._db.executemany("DELETE FROM terms WHERE rowid = ?", [(i,) for i in old])
        return old
