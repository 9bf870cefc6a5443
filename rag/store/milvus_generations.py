"""The generations of an index a Milvus server holds: which one serves (the alias ``C``), its
manifest's checks, the dense vectors of one generation, and dropping the generations no longer used."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from . import milvus_layout as layout
from .loading import check_manifest
from .milvus_calls import call_on
from .milvus_lock import alias_name, epochs
from .milvus_vectors import MilvusVectors

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
    names = call_on(spec, alias, "look for the alias", client.list_aliases).get("aliases", [])
    if alias not in names:
        return None
    target = call_on(spec, alias, "read the alias", client.describe_alias, alias)["collection_name"]
    return layout.generation_of(alias, target)


def drop_old(client: MilvusClient, spec: StoreSpec, keep: set[str]) -> None:
    """Drop the collections of generations not in ``keep`` (older ones, and unfinished writes)."""
    base = spec.collection
    for name in call_on(spec, base, "list the collections beside", client.list_collections):
        for make in layout.GENERATION_COLLECTIONS:
            prefix = make(base, "")
            if name.startswith(prefix) and name.removeprefix(prefix) not in keep:
                call_on(spec, name, "drop an old generation,", client.drop_collection, name)


def check_compatible(manifest: dict[str, Any], spec: StoreSpec, settings: Settings) -> None:
    check_manifest(
        manifest,
        settings,
        place=str(spec),
        manifest_file=f"the manifest of the index in {spec}",
        hint=rebuild_hint(spec),
        required=("data", "dimension", "counts"),
    )


def drop_index(client: MilvusClient, spec: StoreSpec) -> None:
    """Forget the whole index ``spec`` names: its alias, every generation and its lock row."""
    base = spec.collection
    if base in call_on(spec, base, "look for the alias", client.list_aliases).get("aliases", []):
        call_on(spec, base, "drop the alias", client.drop_alias, base)
    drop_old(client, spec, keep=set())
    state = layout.state_name(base)
    if call_on(spec, base, "look for", client.has_collection, state):
        for epoch in epochs(client, spec, state):  # a collection with aliases cannot be dropped
            call_on(spec, base, "drop the lock of", client.drop_alias, alias_name(state, epoch))
        call_on(spec, base, "drop the lock of", client.drop_collection, state)
