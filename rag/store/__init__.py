"""Store: the index (manifest and generations, chunk and article rows, BM25, vectors in FAISS or Milvus).

``index`` holds the ``Index`` and its folder on disk; ``indexer`` brings an index up to date with
an articles folder; ``vectorstore`` picks where the vectors live (``faiss_vectors`` or
``milvus_vectors``); ``ann`` chooses the FAISS structure; ``lexical`` is BM25; ``sentence_vectors``
holds the reader's per-sentence vectors.
"""

from .index import Index
from .indexer import load_or_build, update_index
from .vectorstore import store_label

__all__ = ["Index", "load_or_build", "store_label", "update_index"]
