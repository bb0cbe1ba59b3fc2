"""Generations while a new one is pending: readers keep a truthful index, and cleanup drops only ours."""

import pytest

from ragkeeper.flows.ingest import ingest
from ragkeeper.flows.reindex import reindex
from tests.e2e.test_sync import _seed, doc
from tests.support.cli import run_cli
from tests.support.index import chunk_identities, serving_collection

pytestmark = pytest.mark.e2e


def _served(client, alias):
    """(source URI, text, embedding model) of every chunk readers see."""
    objects = client.collections.get(alias).iterator(
        return_properties=["source_uri", "text", "embedding_model"]
    )
    return [
        (o.properties["source_uri"], o.properties["text"], o.properties["embedding_model"]) for o in objects
    ]


def test_deletions_and_edits_reach_readers_while_a_new_generation_is_pending(
    prefect_harness, prefect_server, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 4)
    source = f"s3://{bucket}/docs/"
    uri = f"s3://{bucket}/docs/doc{{}}.md".format
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    ingest(source=source)
    blue = serving_collection(weaviate_client, weaviate_env)

    # A model change whose run never completes: killed after two of four objects.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    env = {"PREFECT_API_URL": prefect_server.url, "RAGKEEPER_FAULT_KILL_AT": "after-state:2"}
    assert run_cli("ingest", source, env=env).returncode == -9
    assert serving_collection(weaviate_client, weaviate_env) == blue

    # Events: doc3 (not in the new generation yet) leaves the source, doc0 (already there) is edited.
    s3_client.delete_object(Bucket=bucket, Key="docs/doc3.md")
    s3_client.put_object(Bucket=bucket, Key="docs/doc0.md", Body=doc(0, "-edited"))
    result = reindex(uris=[uri(3), uri(0)], source=source)

    served = _served(weaviate_client, weaviate_env)
    assert uri(3) not in {source_uri for source_uri, _, _ in served}
    doc0 = [text for source_uri, text, _ in served if source_uri == uri(0)]
    assert doc0 and any("A0-edited" in text for text in doc0)
    assert {model for _, _, model in served} == {"hashing-v2-64"}  # the serving generation's own model
    assert (result.serving_updated, result.serving_deleted, result.serving_stale) == (1, 1, 0)
    assert serving_collection(weaviate_client, weaviate_env) == blue

    # Readers see what a fresh ingest of the source with the serving model gives.
    fresh = weaviate_env + "Fresh"
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    ingest(source=source, collection=fresh)
    assert chunk_identities(weaviate_client, weaviate_env) == chunk_identities(weaviate_client, fresh)

    # The run that completes the new generation switches readers to an equally exact index.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    green = ingest(source=source)
    assert green.switched_from == blue
    assert chunk_identities(weaviate_client, weaviate_env) == chunk_identities(weaviate_client, fresh)


def test_query_embeds_with_the_serving_generations_model(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 3)
    source = f"s3://{bucket}/docs/"
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    ingest(source=source)
    # A reindex with a new model starts a new generation but never completes it.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "96")
    pending = reindex(uris=[f"s3://{bucket}/docs/doc1.md"], source=source)
    assert pending.new_generation

    answer = run_cli("query", "Gamma lists the runbooks for outages", "--limit", "2")

    assert answer.returncode == 0, answer.stderr
    assert "doc" in answer.stdout and "runbooks" in answer.stdout


def test_generation_cleanup_drops_only_generations_ragkeeper_recorded(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    from weaviate.classes.config import Configure, DataType, Property

    foreign = f"{weaviate_env}_0123456789"  # someone else's collection with a generation-like name
    weaviate_client.collections.create(
        foreign,
        properties=[Property(name="text", data_type=DataType.TEXT)],
        vector_config=Configure.Vectors.self_provided(),
    )
    weaviate_client.collections.get(foreign).data.insert({"text": "not ragkeeper's"}, vector=[0.5] * 8)
    _seed(s3_client, bucket, 2)
    source = f"s3://{bucket}/docs/"
    dropped = []
    for dimensions in ("64", "96", "128", "160"):
        monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", dimensions)
        dropped += ingest(source=source).generations_dropped

    assert len(dropped) == 2 and foreign not in dropped
    assert weaviate_client.collections.exists(foreign)
    assert weaviate_client.collections.get(foreign).aggregate.over_all(total_count=True).total_count == 1


def test_updates_the_serving_model_cannot_embed_are_stale_until_it_can(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, openai_env, monkeypatch
):
    from ragkeeper.settings import load_settings
    from ragkeeper.status import collect_status
    from tests.conftest import OPENAI_TEST_KEY

    _seed(s3_client, bucket, 3)
    source = f"s3://{bucket}/docs/"
    uri = f"s3://{bucket}/docs/doc{{}}.md".format
    ingest(source=source)  # readers' generation: openai:text-embedding-3-small:64 through the stand-in
    # The configuration moves to the offline embedder: the stand-in's endpoint and key are gone.
    monkeypatch.setenv("RAGKEEPER_EMBED__BACKEND", "hashing")
    monkeypatch.delenv("RAGKEEPER_OPENAI__BASE_URL")
    monkeypatch.delenv("RAGKEEPER_OPENAI__API_KEY")
    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc2.md")

    result = reindex(uris=[uri(1), uri(2)], source=source)

    assert (result.serving_updated, result.serving_deleted, result.serving_stale) == (0, 1, 1)
    served = _served(weaviate_client, weaviate_env)
    assert uri(2) not in {source_uri for source_uri, _, _ in served}  # deletions need no embedder
    doc1 = [text for source_uri, text, _ in served if source_uri == uri(1)]
    assert doc1 and not any("A1-edited" in text for text in doc1)  # the older version stays searchable
    status = collect_status(load_settings(source={"uri": source}))
    assert (status.objects_stale, status.building_model) == (1, "hashing-v2-64")
    assert "not re-embedded with the serving model" in status.stale_reason
    assert status.generation_model == "openai:text-embedding-3-small:64"
    printed = run_cli("status", env={"RAGKEEPER_SOURCE__URI": source})
    assert "objects stale for readers" in printed.stdout and OPENAI_TEST_KEY not in printed.stdout

    refused = run_cli("query", "runbooks")  # readers' model cannot be built: one line says what to do
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 2 and message.count("error:") == 1
    assert "embedded by openai:text-embedding-3-small:64" in message and "ragkeeper ingest" in message

    # With the endpoint configured again, the next run brings readers up to date.
    monkeypatch.setenv("RAGKEEPER_OPENAI__BASE_URL", openai_env.base_url)
    monkeypatch.setenv("RAGKEEPER_OPENAI__API_KEY", OPENAI_TEST_KEY)
    again = reindex(uris=[uri(1)], source=source)
    assert (again.objects_changed, again.serving_updated, again.serving_stale) == (1, 1, 0)
    served = _served(weaviate_client, weaviate_env)
    assert any("A1-edited" in text for source_uri, text, _ in served if source_uri == uri(1))
    assert {model for _, _, model in served} == {"openai:text-embedding-3-small:64"}
    assert collect_status(load_settings(source={"uri": source})).objects_stale == 0
    assert run_cli("query", "runbooks").returncode == 0
