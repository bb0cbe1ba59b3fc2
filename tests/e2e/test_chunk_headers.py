"""Contextual chunk headers end to end: embedded, never stored, and part of what decides vector reuse."""

import pytest

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.flows.ingest import ingest
from tests.support.index import serving_collection

pytestmark = pytest.mark.e2e

BODY = (
    "## Alpha\n\nAlpha covers onboarding of new engineers and their first week on the team.\n\n"
    "## Beta\n\nBeta explains how API keys are rotated every ninety days by the platform team.\n"
)


def _put(s3, bucket, title):
    s3.put_object(Bucket=bucket, Key="docs/guide.md", Body=f"# {title}\n\n{BODY}".encode())


def _stored(client, alias):
    objects = client.collections.get(serving_collection(client, alias)).iterator(
        include_vector=True, return_properties=["text", "title", "section"]
    )
    return {o.properties["text"]: (o.properties, o.vector["default"]) for o in objects}


def test_a_changed_title_re_embeds_every_chunk_and_the_dry_run_counts_it(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    source = f"s3://{bucket}/docs/"
    _put(s3_client, bucket, "Handbook")
    first = ingest(source=source)
    stored = _stored(weaviate_client, weaviate_env)
    beta = next(text for text in stored if "Beta explains" in text)
    properties, vector = stored[beta]
    assert (properties["title"], properties["section"]) == ("Handbook", "Beta")
    # The vector is of the header and the text; the stored text is the document's own.
    (expected,) = HashingEmbedder(384).embed([f"Handbook > Beta\n\n{beta}"])
    assert vector == pytest.approx(expected)

    _put(s3_client, bucket, "Team handbook")
    plan = ingest(source=source, dry_run=True)
    assert plan.chunks_to_embed == first.chunks_planned  # every chunk's header changed
    renamed = ingest(source=source)
    assert (renamed.embeddings_computed, renamed.embeddings_reused) == (first.chunks_planned, 0)


def test_without_headers_a_changed_title_keeps_the_vectors_of_unchanged_text(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks, monkeypatch
):
    monkeypatch.setenv("RAGKEEPER_EMBED__CHUNK_HEADER", "none")
    source = f"s3://{bucket}/docs/"
    _put(s3_client, bucket, "Handbook")
    first = ingest(source=source)
    stored = _stored(weaviate_client, weaviate_env)
    beta = next(text for text in stored if "Beta explains" in text)
    assert stored[beta][1] == pytest.approx(HashingEmbedder(384).embed([beta])[0])

    _put(s3_client, bucket, "Team handbook")
    assert ingest(source=source, dry_run=True).chunks_to_embed == 1  # only the title chunk is new text
    renamed = ingest(source=source)
    assert (renamed.embeddings_computed, renamed.embeddings_reused) == (1, first.chunks_planned - 1)
