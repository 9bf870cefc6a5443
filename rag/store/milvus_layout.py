"""What a Milvus server holds when it holds the whole index: collection names, their schemas, and
articles cut into rows of at most 60,000 bytes.

For ``RAG_STORE=milvus://HOST:PORT/C`` each generation ``G`` (a build or an update) has::

    C_chunks_G     id (the chunk id), article, paragraph, start, end, text (the chunk's text, so
                   a hit needs no read of its article; "" past 60,000 bytes), terms (its BM25
                   tokens, ``lexical.terms`` of its embedding text, with the standard analyzer),
                   vector (dense), sparse (made by a BM25 function from terms)
    C_terms_G      term (the key), df: the chunks holding each BM25 term (a lookup by key per
                   question, for the reader's word weights; kept up to date as articles change)
    C_articles_G   pieces: part "row" (the article row as JSON, as ``article_rows`` makes it, cut
                   into pieces; piece 0 also carries doc, sha256, file stamp, paragraph count and
                   the row hash), part "sentences" (the reader's float16 sentence vectors,
                   base64, cut likewise) and one "manifest" row

and, across generations, the alias ``C`` (the commit point: it names ``C_chunks_G`` of the
generation that serves) and ``C_state`` (the writer's lock row; the lock itself is an alias on it,
``C_writer_N``: ``milvus_lock.py``).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from .article_rows import article_from_row, article_row, row_checksum

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from pymilvus import MilvusClient

    from ..types import Article

PIECE_BYTES = 60_000  # Milvus VARCHAR holds at most 65,535 bytes
TERMS_BYTES = 65_000  # a chunk's BM25 tokens beyond this are dropped (chunks are far shorter)
TERM_BYTES = 512  # longer "words" get no document frequency row (they count as never seen)
ROW, SENTENCES, MANIFEST = "row", "sentences", "manifest"
BM25_K1, BM25_B = 1.5, 0.75  # as lexical.rank scores (Lucene's BM25, as bm25s computes it)
CHUNK_FIELDS = ["id", "article", "paragraph", "start", "end", "text"]  # what a search returns


def chunks_name(base: str, generation: str) -> str:
    return f"{base}_chunks_{generation}"


def articles_name(base: str, generation: str) -> str:
    return f"{base}_articles_{generation}"


def terms_name(base: str, generation: str) -> str:
    return f"{base}_terms_{generation}"


GENERATION_COLLECTIONS = (chunks_name, articles_name, terms_name)  # what one generation is


def state_name(base: str) -> str:
    return f"{base}_state"


def generation_of(base: str, chunks_collection: str) -> str:
    return chunks_collection.removeprefix(f"{base}_chunks_")


def literal(value: str) -> str:
    """``value`` as a string literal of a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


# ---- schemas -------------------------------------------------------------------------------
def create_chunks(client: MilvusClient, name: str, dimension: int, index_type: str) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article", DataType.VARCHAR, max_length=128)
    for field in ("paragraph", "start", "end"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=65_535,
        enable_analyzer=True,  # the tokens are ours already: the standard tokenizer splits on spaces
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["sparse"],
        )
    )
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type=index_type, metric_type="IP")
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
    )
    params.add_index(field_name="article", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def create_pieces(client: MilvusClient, name: str) -> None:
    """Rows of text by key; Milvus wants a vector field in every collection, so there is a
    two-dimensional one that is always zero."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("article", DataType.VARCHAR, max_length=128)
    schema.add_field("part", DataType.VARCHAR, max_length=16)
    schema.add_field("piece", DataType.INT64)
    schema.add_field("doc", DataType.VARCHAR, max_length=4096)
    schema.add_field("sha256", DataType.VARCHAR, max_length=64)
    schema.add_field("stamp", DataType.VARCHAR, max_length=256)
    schema.add_field("paragraphs", DataType.INT64)
    schema.add_field("checksum", DataType.VARCHAR, max_length=64)
    schema.add_field("body", DataType.VARCHAR, max_length=65_535)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    params.add_index(field_name="article", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def create_terms(client: MilvusClient, name: str) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=TERM_BYTES)
    schema.add_field("df", DataType.INT64)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


# ---- pieces --------------------------------------------------------------------------------
def chunk_text(text: str) -> str:
    """What the text field holds of a chunk's text: all of it, or "" (then it is cut from the
    article's) if it is too long or holds a lone surrogate, which UTF-8 cannot."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return ""
    return text if size <= PIECE_BYTES else ""


def cut(text: str, limit: int = PIECE_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, never splitting a character."""
    data = text.encode("utf-8")
    pieces, at = [], 0
    while at < len(data):
        end = min(at + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte: step back
            end -= 1
        pieces.append(data[at:end].decode("utf-8"))
        at = end
    return pieces or [""]


def piece_row(article_id: str, part: str, piece: int, body: str, **fields: Any) -> dict[str, Any]:
    row = {"doc": "", "sha256": "", "stamp": "", "paragraphs": 0, "checksum": "", **fields}
    return {
        "key": f"{article_id}/{part}/{piece}",
        "article": article_id,
        "part": part,
        "piece": piece,
        "body": body,
        "unused": [0.0, 0.0],
        **row,
    }


def article_pieces(article: Article) -> list[dict[str, Any]]:
    """The rows of ``article`` (its text, paragraphs and metadata), piece 0 first."""
    row = article_row(article)
    try:
        body = json.dumps(row, ensure_ascii=False)
        body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a damaged file): keep it escaped
        body = json.dumps(row)
    first = {
        "doc": article.doc,
        "sha256": article.sha256,
        "stamp": str(article.meta.get("file_stat", "")),
        "paragraphs": len(article.paragraphs),
        "checksum": row_checksum(row),
    }
    return [
        piece_row(article.id, ROW, n, text, **(first if n == 0 else {})) for n, text in enumerate(cut(body))
    ]


def article_from_pieces(rows: list[dict[str, Any]]) -> tuple[Article, bool]:
    """The article the pieces of its row make, and whether its hash matches."""
    ordered = sorted(rows, key=lambda r: r["piece"])
    row = tuple(json.loads("".join(r["body"] for r in ordered)))
    return article_from_row(row), row_checksum(row) == ordered[0]["checksum"]


def sentence_pieces(article_id: str, vectors: npt.ArrayLike) -> list[dict[str, Any]]:
    import numpy as np

    array = np.asarray(vectors, dtype="<f2")
    body = base64.b64encode(array.tobytes()).decode("ascii")
    count = array.shape[0] if array.ndim else 0
    return [
        piece_row(article_id, SENTENCES, n, text, paragraphs=count if n == 0 else 0)
        for n, text in enumerate(cut(body))
    ]


def sentences_from_pieces(rows: list[dict[str, Any]]) -> npt.NDArray[np.float16]:
    import numpy as np

    ordered = sorted(rows, key=lambda r: r["piece"])
    count = int(ordered[0]["paragraphs"])  # piece 0 keeps the number of sentences there
    data = base64.b64decode("".join(r["body"] for r in ordered))
    return np.frombuffer(data, dtype="<f2").reshape(count, -1 if count else 0)
