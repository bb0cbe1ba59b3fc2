"""Source keys that differ only in whitespace or Unicode normalisation each keep their own chunks.

Weaviate trims whitespace of field-tokenized values on both sides of a filter, so a filter on the
source URI alone matches `docs/a.txt` when asked for `docs/a.txt ` (issue 9, item 1).
"""

import unicodedata

import pytest

from ragkeeper.flows.ingest import ingest
from tests.support.index import serving_collection, state_records

pytestmark = pytest.mark.e2e

CAFE = "docs/caf\u00e9.txt"
# Keys that a trimming or normalising filter would confuse with another one.
VARIANTS = [
    "docs/a.txt",
    "docs/a.txt ",
    "docs/a.txt\u00a0",
    "docs/a.txt\t",
    "docs/a.txt  \t",
    "docs/ a.txt",
    unicodedata.normalize("NFC", CAFE),
    unicodedata.normalize("NFD", CAFE),
]


def _text(n: int, version: str) -> bytes:
    return f"Document {n} version {version}: runbook number {n} for the platform team.\n".encode()


def _stored(client, alias):
    """Chunk ids by source URI, as Weaviate holds them for readers."""
    stored: dict[str, set[str]] = {}
    for o in client.collections.get(alias).iterator(return_properties=["source_uri", "text"]):
        stored.setdefault(o.properties["source_uri"], set()).add(str(o.uuid))
    return stored


def _texts(client, alias):
    return {
        o.properties["source_uri"]: o.properties["text"]
        for o in client.collections.get(alias).iterator(return_properties=["source_uri", "text"])
    }


def _assert_exact(client, alias, bucket, keys, version):
    uris = {f"s3://{bucket}/{key}" for key in keys}
    stored = _stored(client, alias)
    assert set(stored) == uris
    states = state_records(client, alias)
    assert {uri: set(s["chunk_ids"]) for uri, s in states.items()} == stored
    assert {s["status"] for s in states.values()} == {"indexed"}
    texts = _texts(client, alias)
    for n, key in enumerate(VARIANTS):
        if key in keys:
            assert f"Document {n} version {version}" in texts[f"s3://{bucket}/{key}"]


def test_cold_ingest_of_keys_differing_by_a_trailing_space_keeps_both(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    """The measured report: both recorded as indexed, the collection left empty."""
    s3_client.put_object(Bucket=bucket, Key="docs/a.txt", Body=_text(0, "one"))
    s3_client.put_object(Bucket=bucket, Key="docs/a.txt ", Body=_text(1, "one"))

    result = ingest(source=f"s3://{bucket}/docs/")

    assert (result.chunks_written, result.chunks_deleted) == (2, 0)
    _assert_exact(weaviate_client, weaviate_env, bucket, VARIANTS[:2], "one")


def test_whitespace_and_normalisation_variants_keep_their_chunks_through_ingest_edit_and_delete(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    source = f"s3://{bucket}/docs/"
    for n, key in enumerate(VARIANTS):
        s3_client.put_object(Bucket=bucket, Key=key, Body=_text(n, "one"))
    ingest(source=source)
    _assert_exact(weaviate_client, weaviate_env, bucket, VARIANTS, "one")

    for n, key in enumerate(VARIANTS):
        s3_client.put_object(Bucket=bucket, Key=key, Body=_text(n, "two"))
    edited = ingest(source=source)
    assert edited.objects_changed == len(VARIANTS)
    _assert_exact(weaviate_client, weaviate_env, bucket, VARIANTS, "two")

    gone = VARIANTS[1::2]
    for key in gone:
        s3_client.delete_object(Bucket=bucket, Key=key)
    ingest(source=source, force_delete=True)
    kept = [key for key in VARIANTS if key not in gone]
    _assert_exact(weaviate_client, weaviate_env, bucket, kept, "two")
    assert serving_collection(weaviate_client, weaviate_env) != weaviate_env
