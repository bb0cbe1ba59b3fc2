from ragkeeper.deployments import pooled_deployments


def test_only_deployments_on_a_work_pool_are_someone_elses():
    existing = {"ingest/scheduled": "ragkeeper", "reindex/on-change": None, "retrain/scheduled": ""}
    assert pooled_deployments(existing) == {"ingest/scheduled": "ragkeeper"}
    assert pooled_deployments({}) == {}
