"""Reading a collection back for assertions on the exact index contents."""

from __future__ import annotations

from collections import Counter
from typing import Any


def chunk_identities(client: Any, collection: str) -> Counter[tuple[str, str, int]]:
    """(source_uri, content_hash, occurrence) of every stored chunk, with multiplicity."""
    if not client.collections.exists(collection):
        return Counter()
    objects = client.collections.get(collection).iterator(
        return_properties=["source_uri", "content_hash", "occurrence"]
    )
    return Counter(
        (str(o.properties["source_uri"]), str(o.properties["content_hash"]), int(o.properties["occurrence"]))
        for o in objects
    )


def serving_collection(client: Any, alias: str) -> str:
    """The physical collection an alias points to (the name itself when it is not an alias)."""
    target = client.alias.get(alias_name=alias)
    return target.collection if target else alias


def state_records(client: Any, collection: str) -> dict[str, dict[str, Any]]:
    """The recorded index state by source URI, for the generation readers see."""
    name = f"{serving_collection(client, collection)}State"
    if not client.collections.exists(name):
        return {}
    return {
        str(o.properties["source_uri"]): dict(o.properties) for o in client.collections.get(name).iterator()
    }


def generation_states(client: Any, alias: str) -> dict[str, dict[str, Any]]:
    """The recorded state by source URI of the one generation built for `alias`, served or not yet."""
    names = [
        n
        for n in client.collections.list_all(simple=True)
        if n.startswith(f"{alias}_") and n.endswith("State")
    ]
    assert len(names) == 1, names
    return {
        str(o.properties["source_uri"]): dict(o.properties)
        for o in client.collections.get(names[0]).iterator()
    }
