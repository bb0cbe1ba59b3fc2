import hashlib

import pytest

from ragkeeper.core.sync.generations import (
    SCHEMA_VERSION,
    EmbedderDescription,
    GenerationRecord,
    adoptable,
    describe_embedder,
    generation_name,
    lifecycle_updates,
    public_url,
    settings_for_embedder,
    to_drop,
)
from ragkeeper.core.sync.ids import source_key
from ragkeeper.errors import EmbedderUnavailable
from ragkeeper.settings import load_settings


def test_a_generation_is_named_by_model_and_schema_version_and_version_1_keeps_its_old_name():
    old = "Docs_" + hashlib.sha256(b"hashing-v2-64").hexdigest()[:10]  # as earlier releases named it
    assert generation_name("Docs", "hashing-v2-64", 1) == old
    names = {generation_name("Docs", model, version) for model in ("m1", "m2") for version in (1, 2, 3)}
    assert len(names) == 6
    assert generation_name("Docs", "m1", SCHEMA_VERSION) == generation_name("Docs", "m1", SCHEMA_VERSION)


def test_public_url_drops_credentials_query_and_fragment():
    assert public_url("https://user:s3cret@llm.example.com:8443/v1/?api-key=s3cret#x") == (
        "https://llm.example.com:8443/v1"
    )
    assert public_url("http://[::1]:9000/v1") == "http://[::1]:9000/v1"
    assert public_url(None) == ""


def test_the_embedder_description_is_secret_free_and_round_trips():
    api = load_settings(
        openai={"base_url": "http://key:s3cret@127.0.0.1:8000/v1?token=s3cret", "api_key": "s3cret"}
    ).openai
    description = describe_embedder("openai:text-embedding-3-small:64", api)
    assert description == EmbedderDescription(
        "openai", "text-embedding-3-small", 64, "openai:text-embedding-3-small:64", "http://127.0.0.1:8000/v1"
    )
    assert description is not None and "s3cret" not in description.to_json()
    assert EmbedderDescription.from_json(description.to_json()) == description
    assert EmbedderDescription.from_json("not json") is None
    assert describe_embedder("hashing-v2-96", api) == EmbedderDescription("hashing", "", 96, "hashing-v2-96")
    local = describe_embedder("local:/models/mini:lm:384", api)
    assert local is not None and (local.backend, local.model, local.dimensions) == (
        "local",
        "/models/mini:lm",
        384,
    )
    assert describe_embedder("something-else", api) is None


def test_a_recorded_embedder_is_built_only_with_the_endpoint_its_key_belongs_to():
    settings = load_settings(openai={"base_url": "http://127.0.0.1:8000/v1", "api_key": "k"})
    same = describe_embedder("openai:text-embedding-3-large:256", settings.openai)
    assert same is not None
    rebuilt = settings_for_embedder(settings, same)
    assert (rebuilt.embed.backend, rebuilt.embed.model, rebuilt.embed.dimensions) == (
        "openai",
        "text-embedding-3-large",
        256,
    )
    assert rebuilt.openai.api_key == settings.openai.api_key
    elsewhere = load_settings(openai={"base_url": "http://10.0.0.9/v1", "api_key": "k"})
    with pytest.raises(EmbedderUnavailable, match=r"through http://127.0.0.1:8000/v1, but openai.base_url"):
        settings_for_embedder(elsewhere, same)
    hashing = settings_for_embedder(elsewhere, EmbedderDescription("hashing", "", 96, "hashing-v2-96"))
    assert (hashing.embed.backend, hashing.embed.dimensions) == ("hashing", 96)


def test_only_collections_named_by_their_own_stored_model_are_adopted():
    ours = generation_name("Docs", "hashing-v2-64", 1)
    assert adoptable("Docs", ours, "hashing-v2-64")
    assert not adoptable("Docs", ours, "hashing-v2-96")
    assert not adoptable("Docs", "Docs_0123456789", "hashing-v2-64")
    assert not adoptable("Docs", ours, None)


def _record(name, status):
    return GenerationRecord(name, "m", SCHEMA_VERSION, None, status)


def test_lifecycle_follows_the_alias_and_cleanup_lists_only_recorded_generations():
    records = [_record("A", "serving"), _record("B", "building"), _record("C", "retired")]
    assert [(r.collection, r.status) for r in lifecycle_updates(records, "B")] == [
        ("A", "retired"),
        ("B", "serving"),
    ]
    assert lifecycle_updates(records, "A") == []
    assert to_drop(records, keep={"B", "A"}) == ["C"]
    assert to_drop([], keep=set()) == []  # an unrecorded collection is never a candidate


def test_the_source_key_tells_apart_what_a_trimming_filter_would_not():
    keys = {
        source_key(uri) for uri in ("s3://b/a.txt", "s3://b/a.txt ", "s3://b/a.txt\u00a0", "s3://b/a.txt\t")
    }
    assert len(keys) == 4
    assert source_key("s3://b/caf\u00e9") != source_key("s3://b/cafe\u0301")
    assert source_key("s3://b/a.txt") == hashlib.sha256(b"s3://b/a.txt").hexdigest()
