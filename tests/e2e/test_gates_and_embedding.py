"""Quality gate, cost guard and the OpenAI-compatible embedder inside the ingest flow, on real services."""

from pathlib import Path

import pytest

from ragkeeper.errors import BudgetExceeded
from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _put, _seed
from tests.support.index import chunk_identities, state_records

pytestmark = pytest.mark.e2e


def test_quality_failures_are_quarantined_reported_and_kept_out(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, tmp_path: Path
):
    _seed(s3_client, bucket, count=5)
    _put(s3_client, bucket, "spam.md", "# Spam\n\n" + "buy now\n\n" * 400)

    summary = ingest(source=f"s3://{bucket}/docs/")

    spam = f"s3://{bucket}/docs/spam.md"
    assert [q.uri for q in summary.quarantined] == [spam]
    assert summary.quarantined[0].reason.startswith("quality: ")
    assert "repetition" in summary.quarantined[0].reason or "repeated" in summary.quarantined[0].reason
    assert spam not in {k[0] for k in chunk_identities(weaviate_client, weaviate_env)}
    assert state_records(weaviate_client, weaviate_env)[spam]["status"] == "quarantined"
    assert summary.quality is not None
    assert (summary.quality.documents_checked, len(summary.quality.failures)) == (6, 1)
    assert Path(summary.quality.data_docs_path or "").is_file()

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    keys = [f"quality-checks-{weaviate_env.lower()}", f"quality-offenders-{weaviate_env.lower()}"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    assert {a.key for a in found} == set(keys)
    assert any(spam in str(a.data) for a in found)


def test_openai_embeddings_with_429_and_a_poisoned_document(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, openai_env
):
    _seed(s3_client, bucket, count=4)
    _put(s3_client, bucket, "poison.md", "# Poison\n\nThis text contains POISON-MARKER and is refused.\n")
    openai_env.faults.fail_next(1, status=429, retry_after=0.3)
    openai_env.faults.fail_inputs_containing("POISON-MARKER", status=500)

    summary = ingest(source=f"s3://{bucket}/docs/")

    poison = f"s3://{bucket}/docs/poison.md"
    assert [q.uri for q in summary.quarantined] == [poison]
    assert "embedding failed" in summary.quarantined[0].reason
    assert summary.objects_parsed == 5
    stored = chunk_identities(weaviate_client, weaviate_env)
    assert poison not in {k[0] for k in stored}
    assert len({k[0] for k in stored}) == 4
    assert summary.embeddings_computed == sum(stored.values())
    assert summary.tokens_embedded > 0
    assert openai_env.stats.tokens_served >= summary.tokens_embedded
    embedding_models = {
        o.properties["embedding_model"]
        for o in weaviate_client.collections.get(weaviate_env).iterator(return_properties=["embedding_model"])
    }
    assert embedding_models == {"openai:text-embedding-3-small:64"}

    # A server-side failure may pass later: the poisoned document is retried by the next run, the
    # others are not touched again.
    assert state_records(weaviate_client, weaviate_env)[poison]["etag"] == ""
    again = ingest(source=f"s3://{bucket}/docs/")
    assert (again.objects_unchanged, again.objects_changed, again.embeddings_computed) == (4, 1, 0)
    assert [q.uri for q in again.quarantined] == [poison]

    openai_env.faults.clear()
    healed = ingest(source=f"s3://{bucket}/docs/")
    assert (healed.objects_changed, healed.quarantined, healed.embeddings_computed) == (1, (), 1)
    assert poison in {k[0] for k in chunk_identities(weaviate_client, weaviate_env)}


def test_dry_run_estimates_tokens_and_cost_and_max_cost_refuses(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, count=3)
    monkeypatch.setenv("RAGKEEPER_EMBED__PRICE_PER_MILLION_TOKENS", "1000")
    plan = ingest(source=f"s3://{bucket}/docs/", dry_run=True)
    assert plan.estimated_tokens > 50
    assert plan.estimated_cost_usd == pytest.approx(plan.estimated_tokens * 1000 / 1_000_000)
    assert chunk_identities(weaviate_client, weaviate_env) == {}

    with pytest.raises(BudgetExceeded, match=r"above --max-cost \$0\.0100"):
        ingest(source=f"s3://{bucket}/docs/", max_cost=0.01)
    assert chunk_identities(weaviate_client, weaviate_env) == {}

    done = ingest(source=f"s3://{bucket}/docs/", max_cost=plan.estimated_cost_usd + 0.01)
    assert done.tokens_embedded == plan.estimated_tokens
    assert done.embeddings_computed == plan.chunks_to_embed > 0
    assert ingest(source=f"s3://{bucket}/docs/", dry_run=True).estimated_tokens == 0
