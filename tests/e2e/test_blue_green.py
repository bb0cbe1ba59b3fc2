"""A new embedding model is built into a new generation and swapped in behind the alias (blue/green)."""

import pytest

from ragkeeper.errors import DeleteGuardTripped
from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed
from tests.support.cli import run_cli
from tests.support.index import chunk_identities, serving_collection

pytestmark = pytest.mark.e2e


def _models(client, alias):
    objects = client.collections.get(alias).iterator(return_properties=["embedding_model"])
    return {o.properties["embedding_model"] for o in objects}


def test_new_model_builds_a_new_generation_and_readers_switch_only_when_it_is_complete(
    prefect_harness, prefect_server, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 4)
    source = f"s3://{bucket}/docs/"
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    first = ingest(source=source)
    blue = serving_collection(weaviate_client, weaviate_env)
    assert first.generation == blue != weaviate_env
    assert _models(weaviate_client, weaviate_env) == {"hashing-v2-64"}
    before = chunk_identities(weaviate_client, weaviate_env)

    # A run with another model is killed mid-build: readers still see the complete old generation.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    env = {
        "PREFECT_API_URL": prefect_server.url,
        "RAGKEEPER_FAULT_KILL_AT": "after-state:2",
        # One write at a time: exactly two documents are done when it dies, and no third is half-written.
        "RAGKEEPER_INGEST__WRITE_CONCURRENCY": "1",
    }
    assert run_cli("ingest", source, env=env).returncode == -9
    assert serving_collection(weaviate_client, weaviate_env) == blue
    assert chunk_identities(weaviate_client, weaviate_env) == before
    assert _models(weaviate_client, weaviate_env) == {"hashing-v2-64"}

    green = ingest(source=source)
    assert green.switched_from == blue and green.generation != blue
    assert serving_collection(weaviate_client, weaviate_env) == green.generation
    assert (green.objects_new, green.embeddings_reused) == (2, 0)  # two were done before the kill
    assert chunk_identities(weaviate_client, weaviate_env) == before  # same chunks, new vectors
    assert _models(weaviate_client, weaviate_env) == {"hashing-v2-96"}
    assert weaviate_client.collections.exists(blue)  # kept for a rollback

    # A third model: the generation before the previous one is dropped, with its state.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "128")
    third = ingest(source=source)
    assert third.generations_dropped == (blue,)
    assert not weaviate_client.collections.exists(blue)
    assert not weaviate_client.collections.exists(f"{blue}State")
    assert weaviate_client.collections.exists(green.generation)


def test_a_new_generation_that_lost_most_objects_is_not_switched_in(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 5)
    source = f"s3://{bucket}/docs/"
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    ingest(source=source)
    blue = serving_collection(weaviate_client, weaviate_env)
    for n in range(3):
        s3_client.delete_object(Bucket=bucket, Key=f"docs/doc{n}.md")

    before = chunk_identities(weaviate_client, weaviate_env)
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    # The deletions would also reach readers' generation while the new one is pending: refused first.
    with pytest.raises(DeleteGuardTripped, match=r"refusing to delete 3 of 5 objects readers see"):
        ingest(source=source)
    assert serving_collection(weaviate_client, weaviate_env) == blue
    assert chunk_identities(weaviate_client, weaviate_env) == before

    forced = ingest(source=source, force_delete=True)
    assert forced.switched_from == blue
    assert {uri for uri, _, _ in chunk_identities(weaviate_client, weaviate_env)} == {
        f"s3://{bucket}/docs/doc3.md",
        f"s3://{bucket}/docs/doc4.md",
    }


def test_a_collection_created_without_an_alias_keeps_its_model(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    from ragkeeper.adapters.weaviate.store import WeaviateStore
    from ragkeeper.errors import ModelMismatch
    from ragkeeper.settings import load_settings

    store = WeaviateStore(load_settings().weaviate)  # a plain collection under the alias name
    store.ensure_collection(64)
    store.close()
    _seed(s3_client, bucket, 2)
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    legacy = ingest(source=f"s3://{bucket}/docs/")
    assert legacy.generation == weaviate_env and legacy.objects_new == 2

    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    with pytest.raises(ModelMismatch, match="created without an alias"):
        ingest(source=f"s3://{bucket}/docs/")
