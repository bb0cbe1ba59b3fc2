"""Reading a collection back for assertions on the exact index contents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ragkeeper.core.sync.ids import chunk_uuid


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


_IDENTITY = ["source_uri", "content_hash", "occurrence"]


@dataclass(frozen=True)
class StoredChunk:
    """One chunk object as Weaviate holds it: its id, vector and embedding model."""

    uuid: str
    vector: tuple[float, ...]
    model: str


@dataclass(frozen=True)
class IndexSnapshot:
    """Everything readers of a collection see: chunks by identity (with duplicates) and state records."""

    collection: str  # the name readers use; chunk ids are derived from it
    chunks: dict[tuple[str, str, int], list[StoredChunk]]
    states: dict[str, dict[str, Any]]
    generations: tuple[str, ...]

    def identities(self) -> set[tuple[str, str, int]]:
        """(source_uri, content_hash, occurrence) of every chunk."""
        return set(self.chunks)


def snapshot(client: Any, collection: str) -> IndexSnapshot:
    """Read the chunks (with vectors) and state records of the generation serving `collection`."""
    chunks: dict[tuple[str, str, int], list[StoredChunk]] = {}
    if client.collections.exists(collection):
        for o in client.collections.get(collection).iterator(
            include_vector=True, return_properties=[*_IDENTITY, "embedding_model"]
        ):
            p = o.properties
            vector = o.vector.get("default") if isinstance(o.vector, dict) else o.vector
            key = (str(p["source_uri"]), str(p["content_hash"]), int(p["occurrence"]))
            chunks.setdefault(key, []).append(
                StoredChunk(str(o.uuid), tuple(vector or ()), str(p.get("embedding_model") or ""))
            )
    prefix = f"{collection}_"
    generations = tuple(
        sorted(
            name
            for name in client.collections.list_all(simple=True)
            if name.startswith(prefix) and not name.endswith(("State", "Runs"))
        )
    )
    return IndexSnapshot(collection, chunks, state_records(client, collection), generations)


def identity_mapper(actual_root: str, reference_root: str) -> Callable[[str], str]:
    """Map a reference URI under `reference_root` to the same key under `actual_root`."""

    def mapped(uri: str) -> str:
        assert uri.startswith(reference_root), f"{uri} is not under {reference_root}"
        return actual_root + uri[len(reference_root) :]

    return mapped


def assert_same_index(
    actual: IndexSnapshot,
    reference: IndexSnapshot,
    uri_of: Callable[[str], str] = lambda uri: uri,
    *,
    compare_reasons: bool = True,
) -> None:
    """`actual` holds exactly what `reference` holds, its URIs mapped by `uri_of`.

    Compared: the chunk identities (no duplicates, none missing, none extra); each chunk's id (the
    UUIDv5 of its collection, URI, content hash and occurrence); each chunk's vector and embedding
    model (the vector belongs to that chunk, not to another one); and every state record (ETag, status,
    chunk ids, reason, and one config hash where the reference has one).
    """
    duplicates = {key: len(found) for key, found in actual.chunks.items() if len(found) > 1}
    assert not duplicates, f"chunks stored more than once: {duplicates}"
    expected = {(uri_of(u), h, n): found[0] for (u, h, n), found in reference.chunks.items()}
    missing = sorted(set(expected) - actual.identities())
    extra = sorted(actual.identities() - set(expected))
    assert not missing and not extra, (
        f"{len(missing)} chunks missing {missing[:3]}, {len(extra)} extra {extra[:3]}"
    )
    for key, want in expected.items():
        got = actual.chunks[key][0]
        assert got.uuid == chunk_uuid(actual.collection, *key), f"chunk {key} has id {got.uuid}"
        assert got.model == want.model, f"chunk {key} embedded by {got.model}, expected {want.model}"
        assert len(got.vector) == len(want.vector) and all(
            abs(a - b) < 1e-5 for a, b in zip(got.vector, want.vector, strict=True)
        ), f"chunk {key} holds another chunk's vector"
    ids_by_reference = {found[0].uuid: key for key, found in reference.chunks.items()}
    want_states = {uri_of(uri): state for uri, state in reference.states.items()}
    assert set(actual.states) == set(want_states), (
        f"state records differ: missing {sorted(set(want_states) - set(actual.states))}, "
        f"extra {sorted(set(actual.states) - set(want_states))}"
    )
    # The config hash covers the collection name: equal settings give one hash per collection.
    config_hashes: dict[str, str] = {}
    for uri, want in want_states.items():
        got = actual.states[uri]
        paired = config_hashes.setdefault(str(want.get("config_hash")), str(got.get("config_hash")))
        assert got.get("config_hash") == paired, f"{uri}: config hash {got.get('config_hash')} is stale"
        for name in ("etag", "status"):
            assert got.get(name) == want.get(name), f"{uri}: {name} {got.get(name)!r} != {want.get(name)!r}"
        want_ids = {
            chunk_uuid(actual.collection, uri_of(ids_by_reference[i][0]), *ids_by_reference[i][1:])
            for i in want.get("chunk_ids") or ()
            if i in ids_by_reference
        }
        assert len(want_ids) == len(want.get("chunk_ids") or ()), f"{uri}: reference names absent chunks"
        assert set(got.get("chunk_ids") or ()) == want_ids, f"{uri}: recorded chunk ids differ"
        if compare_reasons:
            want_reason = _remap(str(want.get("reason") or ""), reference.states, uri_of)
            assert str(got.get("reason") or "") == want_reason, f"{uri}: reason {got.get('reason')!r}"


def _remap(text: str, states: dict[str, Any], uri_of: Callable[[str], str]) -> str:
    for uri in sorted(states, key=len, reverse=True):
        text = text.replace(uri, uri_of(uri))
    return text
