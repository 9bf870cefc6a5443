"""The generations of an index a Milvus server holds: which one serves (the alias ``C``), its
manifest's checks, the dense vectors of one generation, and dropping the generations no longer used."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError, IndexMismatchError
from ..settings import Settings
from . import milvus_layout as layout
from .folder import FORMAT_VERSION
from .loading import encoder_of
from .milvus_vectors import MilvusVectors, _call

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from pymilvus import MilvusClient

    from .vectorstore import StoreSpec


def rebuild_hint(spec: StoreSpec) -> str:
    return f"Rebuild it: RAG_STORE={spec} rag index ARTICLES_FOLDER --rebuild"


class StateVectors(MilvusVectors):
    """The dense vectors of one generation's chunks collection, written with their chunk rows
    (``MilvusIndex.add``); a generation is never changed once it serves, so nothing is deferred."""

    search_margin = 0

    def add(self, ids: Collection[int], vectors: npt.NDArray[np.float32]) -> None:
        raise TypeError("a Milvus index writes each vector with its chunk row: use MilvusIndex.add")

    def remove(self, ids: Collection[int]) -> None:
        pass  # the chunk rows go, and their vectors with them

    def commit(self) -> None:
        pass

    def owned_by(self, owner: str) -> bool:
        return True  # no index folder to copy: the server is the one place the index is

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "holds": "everything"}


def committed_generation(client: MilvusClient, spec: StoreSpec) -> str | None:
    """The generation the alias ``spec.collection`` names, or None before the first save."""
    alias = spec.collection
    names = _call(spec, alias, "look for the alias", client.list_aliases).get("aliases", [])
    if alias not in names:
        return None
    target = _call(spec, alias, "read the alias", client.describe_alias, alias)["collection_name"]
    return layout.generation_of(alias, target)


def drop_old(client: MilvusClient, spec: StoreSpec, keep: set[str]) -> None:
    """Drop the collections of generations not in ``keep`` (older ones, and unfinished writes)."""
    base = spec.collection
    for name in _call(spec, base, "list the collections beside", client.list_collections):
        for make in layout.GENERATION_COLLECTIONS:
            prefix = make(base, "")
            if name.startswith(prefix) and name.removeprefix(prefix) not in keep:
                _call(spec, name, "drop an old generation,", client.drop_collection, name)


def check_compatible(manifest: dict[str, Any], spec: StoreSpec, settings: Settings) -> None:
    hint = rebuild_hint(spec)
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {spec} has format {manifest.get('format')!r}; this version reads format "
            f"{FORMAT_VERSION}. {hint}"
        )
    if manifest.get("model") != settings.model:
        raise IndexMismatchError(
            f"the index in {spec} was built with embedding model {manifest.get('model')!r}, but the "
            f"model set now is {settings.model!r}. Set RAG_MODEL={manifest.get('model')} to use "
            f"that index, or build a new one. {hint}"
        )
    built = encoder_of(manifest)
    if settings.encoder not in ("auto", built) and not (settings.encoder == "torch" and built == "fp32"):
        raise IndexMismatchError(
            f"the index in {spec} was built with the {built} encoder, but RAG_ENCODER is "
            f"{settings.encoder!r}; questions must be embedded like the articles were. Unset "
            f"RAG_ENCODER (or set it to {built}) to use that index, or rebuild it with this encoder. {hint}"
        )
    for key in ("data", "dimension", "counts"):
        if key not in manifest:
            raise IndexCorruptError(f"the manifest of the index in {spec} lacks {key!r}. {hint}")


def drop_index(client: MilvusClient, spec: StoreSpec) -> None:
    """Forget the whole index ``spec`` names: its alias, every generation and its lock row."""
    base = spec.collection
    if base in _call(spec, base, "look for the alias", client.list_aliases).get("aliases", []):
        _call(spec, base, "drop the alias", client.drop_alias, base)
    drop_old(client, spec, keep=set())
    if _call(spec, base, "look for", client.has_collection, layout.state_name(base)):
        _call(spec, base, "drop the lock of", client.drop_collection, layout.state_name(base))
