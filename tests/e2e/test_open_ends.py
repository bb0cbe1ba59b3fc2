"""Open ends of the operations round (issue 13, part 3), each on the real services."""

import json

import pytest

from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed

pytestmark = pytest.mark.e2e


def test_raising_a_threshold_or_moving_the_override_file_reprocesses_nothing(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, monkeypatch, tmp_path
):
    rules = {
        "chunk": [
            {
                "type": "expect_column_value_lengths_to_be_between",
                "kwargs": {"column": "text", "min_value": 1},
            }
        ]
    }
    first, moved = tmp_path / "a" / "rules.json", tmp_path / "b" / "rules.json"
    for path in (first, moved):
        path.parent.mkdir()
        path.write_text(json.dumps(rules))
    _seed(s3_client, bucket, 3)
    monkeypatch.setenv("RAGKEEPER_QUALITY__SUITE_OVERRIDE_FILE", str(first))
    assert ingest(source=f"s3://{bucket}/docs/").objects_new == 3

    monkeypatch.setenv("RAGKEEPER_QUALITY__MAX_FAILURE_SHARE", "0.9")
    monkeypatch.setenv("RAGKEEPER_QUALITY__SUITE_OVERRIDE_FILE", str(moved))
    again = ingest(source=f"s3://{bucket}/docs/")
    assert (again.objects_unchanged, again.objects_changed, again.objects_parsed) == (3, 0, 0)

    monkeypatch.setenv("RAGKEEPER_QUALITY__MAX_CHUNK_CHARS", "7000")  # a rule that decides what is kept
    assert ingest(source=f"s3://{bucket}/docs/").objects_changed == 3


def test_a_one_key_reindex_publishes_its_reports_without_reading_every_state(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, monkeypatch
):
    from ragkeeper.adapters.weaviate.state import WeaviateStateStore
    from ragkeeper.flows.reindex import reindex
    from tests.e2e.test_sync import doc
    from tests.support.prefect_reads import latest_artifact

    _seed(s3_client, bucket, 4)
    s3_client.put_object(Bucket=bucket, Key="docs/empty.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_SOURCE__URI", f"s3://{bucket}/docs/")
    ingest()
    full_loads = []
    real_load = WeaviateStateStore.load

    def counted_load(self):
        states = real_load(self)
        full_loads.append(len(states))
        return states

    monkeypatch.setattr(WeaviateStateStore, "load", counted_load)
    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))

    summary = reindex(uris=[f"s3://{bucket}/docs/doc1.md"])

    assert summary.objects_changed == 1
    # Planning may still read the states (that is the sync flow's business); publishing must not.
    assert len(full_loads) <= 1, full_loads
    quarantine = latest_artifact(f"ingest-quarantine-{weaviate_env.lower()}")
    assert "1 quarantined objects" in quarantine.data and "empty.md" in quarantine.data
