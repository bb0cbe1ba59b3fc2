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
