"""The default vector store: a FAISS index in this process, saved as ``vectors.faiss``.

Exact below ``Settings.ann_threshold`` chunks, approximate (IVF with fp16 codes) from there on; ``fit``
converts between the two before a save (the structures and the policy are in ``ann.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ann
from .vectorstore import FAISS

if TYPE_CHECKING:
    import faiss
    import numpy as np
    import numpy.typing as npt

FILE = "vectors.faiss"


class FaissVectors:
    kind = FAISS
    files = (FILE,)  # what it writes into the index's data folder
    search_margin = 0  # holds exactly the index's chunks: no extra hits to ask for

    def __init__(self, index: faiss.Index, policy: ann.Policy, info: dict[str, Any] | None = None) -> None:
        self.index = index  # IndexIDMap2(IndexFlatIP) or IndexIVFScalarQuantizer (fp16, or 8-bit if old)
        self.policy = policy
        self.info = info or {}  # nlist, nprobe and training size of an approximate index

    @classmethod
    def empty(cls, dimension: int, policy: ann.Policy) -> FaissVectors:
        return cls(ann.new_flat(dimension), policy)

    @property
    def dimension(self) -> int:
        return self.index.d

    @property
    def layout(self) -> str:
        return ann.layout(self.index)

    def add(self, ids: Collection[int], vectors: npt.ArrayLike) -> None:
        import numpy as np

        self.index.add_with_ids(np.asarray(vectors, dtype="float32"), np.asarray(ids, dtype="int64"))

    def remove(self, ids: Collection[int]) -> None:
        import numpy as np

        ann.remove_ids(self.index, np.asarray(ids, dtype="int64"))

    def search(self, vector: npt.ArrayLike, k: int) -> list[tuple[int, float]]:
        import faiss
        import numpy as np

        query = np.asarray(vector, dtype="float32").reshape(1, -1)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query: a second thread costs more to sync than it saves
        try:
            scores, ids = self.index.search(query, k)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def get(self, ids: Collection[int]) -> npt.NDArray[np.float32]:
        import numpy as np

        return self.index.reconstruct_batch(np.asarray(ids, dtype="int64"))

    def count(self) -> int:
        return self.index.ntotal

    def describe(self) -> dict[str, Any]:
        return {
            "kind": FAISS,
            "index_type": self.layout,
            "vectors": self.count(),
            "ann": self.info if ann.approximate(self.layout) else {},
            "ann_threshold": self.policy.threshold,
        }

    def check(self, chunks: int, sample: list[int], where: str, hint: str) -> None:
        """One vector per chunk, no more and no fewer."""
        from ..errors import IndexCorruptError

        count = self.count()
        if count != chunks:
            raise IndexCorruptError(f"{where} holds {count} vectors for {chunks} chunks. {hint}")

    # ---- the exact / approximate switch --------------------------------------------------------
    def stale(self) -> bool:
        """True when ``fit`` would convert the structure (see ``ann.needs_rebuild``)."""
        return ann.needs_rebuild(self.index, self.policy, self.info.get("trained_on", 0))

    def fit(self, ids: Collection[int]) -> None:
        """Convert to the structure the policy wants for the count, or apply a new nprobe."""
        import faiss

        if self.stale():
            self.index, self.info = ann.rebuild(self.index, ids, self.policy)
        elif isinstance(self.index, faiss.IndexIVF) and self.policy.nprobe:  # ann.IVF
            ann.set_nprobe(self.index, self.policy.nprobe)
            self.info = {**self.info, "nprobe": self.index.nprobe}

    def owned_by(self, owner: str) -> bool:
        """Always: the vectors are a file in the index folder, copied with it."""
        return True

    def commit(self) -> None:
        """Nothing to do: the file in the data folder is the committed state."""

    # ---- disk -----------------------------------------------------------------------------
    def write(self, folder: Path) -> None:
        import faiss

        try:
            faiss.write_index(self.index, str(folder / FILE))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
            raise OSError(f"FAISS could not write {FILE}: {str(exc).splitlines()[0]}") from exc

    @classmethod
    def read(
        cls, folder: Path, policy: ann.Policy, info: dict[str, Any], nprobe: int, hint: str
    ) -> FaissVectors:
        import faiss

        from ..errors import IndexCorruptError

        path = folder / FILE
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(
                f"{path} is not a readable FAISS index ({str(exc).splitlines()[0]}). {hint}"
            ) from None
        if isinstance(index, faiss.IndexIVF):  # ann.IVF or ann.IVF_SQ8 (converted on the next save)
            ann.set_nprobe(index, nprobe or info.get("nprobe", 0) or ann.default_nprobe(index.nlist))
            info = {**info, "nprobe": index.nprobe}
        return cls(index, policy, info)
