"""The FAISS structure behind the index: exact below a size threshold, approximate above it.

* ``flat``: ``IndexIDMap2(IndexFlatIP)``, exact cosine search over float32 vectors (1.5 kB a chunk).
* ``ivf-fp16``: ``IndexIVFScalarQuantizer`` (inverted lists, fp16 scalar quantizer, inner product)
  with a hash-table direct map: 0.77 kB of codes a chunk plus its 8-byte id and hash-map entry
  (about 0.8 kB), and each query scans ``nprobe`` of ``nlist`` clusters instead of every vector.
  Half-precision codes keep recall@10 against exact search at 0.99-1.00 (1M chunks,
  nprobe 32), where 8-bit codes stopped at 0.89-0.96 whatever the nprobe.
* ``ivf-sq8``: the same with an 8-bit scalar quantizer (about 0.45 kB a chunk), what earlier
  versions built. Still read and searched, and converted to ``ivf-fp16`` on the next save.

All keep each vector under its chunk's 63-bit id and support ``add_with_ids``, ``remove_ids``
and ``reconstruct(id)``, so incremental updates (and the reuse of stored vectors for unchanged
chunks) work the same on any. ``rebuild`` converts one into another, or retrains the clusters
when the index has grown well past what they were trained on; the store calls it on save.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import faiss
    import numpy as np
    import numpy.typing as npt

FLAT, IVF = "flat", "ivf-fp16"
IVF_SQ8 = "ivf-sq8"  # approximate indexes built before ivf-fp16: read, then converted on save
CHOICES = ("auto", "flat", "ivf")  # the index_type setting
REGROW = 4  # retrain the clusters once the index holds this many times the vectors they saw
TRAIN_PER_LIST = 40  # training vectors per cluster (FAISS warns under 39)


@dataclass(frozen=True)
class Policy:
    """Which structure to keep: forced, or ``auto`` (approximate from ``threshold`` chunks on)."""

    index_type: str = "auto"
    threshold: int = 50_000
    nprobe: int = 0  # clusters scanned per query; 0: the default for the index's nlist

    def __post_init__(self) -> None:
        if self.index_type not in CHOICES:
            raise ValueError(f"unknown index type {self.index_type!r}; use one of {', '.join(CHOICES)}")

    def wanted(self, count: int, current: str) -> str:
        """The layout for ``count`` vectors; auto switches back to flat only under half the
        threshold, so an index hovering around it is not converted back and forth."""
        if self.index_type != "auto":
            return FLAT if self.index_type == "flat" else IVF
        if current in (IVF, IVF_SQ8):
            return IVF if count >= self.threshold // 2 else FLAT
        return IVF if count >= self.threshold else FLAT


def layout(vectors: faiss.Index) -> str:
    """``flat``, ``ivf-fp16``, or ``ivf-sq8`` for an approximate index of the 8-bit codec."""
    import faiss

    index = faiss.downcast_index(vectors)
    if not isinstance(index, faiss.IndexIVF):
        return FLAT
    if isinstance(index, faiss.IndexIVFScalarQuantizer) and index.sq.qtype == faiss.ScalarQuantizer.QT_8bit:
        return IVF_SQ8
    return IVF


def approximate(name: str) -> bool:
    """Whether layout ``name`` is an IVF index (of either codec)."""
    return name in (IVF, IVF_SQ8)


def new_flat(dimension: int) -> faiss.IndexIDMap2:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def nlist_for(count: int) -> int:
    """Clusters for ``count`` vectors: a power of two near 2·sqrt(count) (at most 65,536), and
    no more than there are ``TRAIN_PER_LIST`` vectors to train them on."""
    target = 1 << round(math.log2(max(1.0, 2 * math.sqrt(max(count, 1)))))
    return max(1, min(target, 65_536, count // TRAIN_PER_LIST))


def default_nprobe(nlist: int) -> int:
    """Clusters scanned per query: 32 kept recall@10 at 0.97-0.98 against exact search at 10k,
    100k and 1M chunks with 8-bit codes, at under 2 ms a query (benchmarks/query_scale.py); with
    fp16 codes 0.998 (synthetic queries) and 0.990 (SQuAD questions) at 1M, about 1.6 ms
    (benchmarks/rows_scale.py; docs/deployment.md)."""
    return min(nlist, max(32, nlist // 64))


def set_nprobe(vectors: faiss.Index, nprobe: int) -> None:
    import faiss

    if isinstance(vectors, faiss.IndexIVF):  # what layout() calls IVF or IVF_SQ8
        vectors.nprobe = min(max(1, nprobe), vectors.nlist)


def needs_rebuild(vectors: faiss.Index, policy: Policy, trained_on: int) -> bool:
    """True when the layout is not the wanted one (never ``ivf-sq8``: an old index converts), or the
    clusters were trained on far fewer vectors than the index now holds."""
    current = layout(vectors)
    wanted = policy.wanted(vectors.ntotal, current)
    if wanted != current:
        return True
    return wanted == IVF and vectors.ntotal > REGROW * max(trained_on, 1)


def rebuild(
    vectors: faiss.Index, ids: Collection[int], policy: Policy, seed: int = 0
) -> tuple[faiss.Index, dict[str, Any]]:
    """A new structure of the wanted layout holding the same vectors under the same ``ids``
    (every id in ``vectors``); returns (index, info for the manifest)."""
    import numpy as np

    ids = np.asarray(ids, dtype="int64")
    new: faiss.Index
    wanted = policy.wanted(len(ids), layout(vectors))
    if wanted == FLAT:
        new = new_flat(vectors.d)
        info: dict[str, Any] = {}
    else:
        nlist = nlist_for(len(ids))
        new = _new_ivf(vectors.d, nlist)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(len(ids), min(len(ids), nlist * TRAIN_PER_LIST), replace=False))
        new.train(vectors.reconstruct_batch(ids[sample]))
        nprobe = policy.nprobe or default_nprobe(nlist)
        set_nprobe(new, nprobe)
        info = {"nlist": nlist, "nprobe": new.nprobe, "trained_on": len(ids)}
    for begin in range(0, len(ids), 65_536):
        block = ids[begin : begin + 65_536]
        new.add_with_ids(vectors.reconstruct_batch(block), block)
    return new, info


def _new_ivf(dimension: int, nlist: int) -> faiss.IndexIVFScalarQuantizer:
    import faiss

    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT, False
    )
    index.cp.niter = 10
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # not in faiss's stubs; for reconstruct(id), remove_ids by id
    return index


def remove_ids(vectors: faiss.Index, ids: npt.NDArray[np.int64]) -> None:
    """Remove ``ids`` (int64 array); the hash-table direct map of an IVF index needs an id array."""
    import faiss

    if approximate(layout(vectors)):
        vectors.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
    else:
        vectors.remove_ids(ids)  # type: ignore[arg-type]  # the Python wrapper takes an id array too
