"""Store: the index (manifest and generations, rows on disk with BM25, vectors in FAISS or Milvus).

``index`` holds the ``Index``; ``folder`` and ``loading`` its folder on disk (manifest,
generations, atomic save, checks); ``rows`` the article and chunk rows, BM25 terms and sentence
vectors in SQLite, read on demand (``views`` maps them); ``indexer`` brings an index up to date
with an articles folder; ``factory`` and ``vectorstore`` pick where the vectors live
(``faiss_vectors`` or ``milvus_vectors``); with a Milvus server the whole index is there (``milvus_index``, its rows
in ``milvus_rows``, layout in ``milvus_layout``, generations and lock in ``milvus_generations``
and ``milvus_lock``); ``ann`` chooses the FAISS structure; ``lexical`` makes
BM25 tokens; ``sentence_vectors`` embeds the reader's per-sentence vectors.
"""

from .first_use import load_or_build
from .index import Index
from .indexer import update_index
from .vectorstore import store_label

__all__ = ["Index", "load_or_build", "store_label", "update_index"]
