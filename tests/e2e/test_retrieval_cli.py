"""Reading the index as users and dashboards do: `query --json`, `eval`, the eval artifact and event,
and the boilerplate report of a full sync."""

import json

import pytest

from ragkeeper.adapters.source_events import collection_resource_id
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.flows.evaluate import evaluate
from ragkeeper.flows.ingest import ingest
from tests.conftest import CORPUS, REPO
from tests.support.cli import run_cli
from tests.support.prefect_reads import events_of, latest_artifact

pytestmark = pytest.mark.e2e

QUESTIONS = REPO / "examples" / "questions.jsonl"
HIT_KEYS = {"rank", "score", "text", "source_uri", "title", "section", "page", "chunk_id"}


def test_query_json_and_eval_from_the_command_line(weaviate_env, prefect_server):
    env = {"PREFECT_API_URL": prefect_server.url, "RAGKEEPER_EVAL__QUESTIONS_URI": str(QUESTIONS)}
    assert run_cli("ingest", str(CORPUS), env=env).returncode == 0

    answered = run_cli("query", "how do I rotate the API keys?", "--json", "--limit", "3", env=env)
    assert answered.returncode == 0, answered.stderr
    document = json.loads(answered.stdout)
    assert document["version"] == 1 and document["mode"] == "hybrid" and document["alpha"] == 0.4
    assert document["collection"] == weaviate_env and document["generation"].startswith(weaviate_env + "_")
    assert [hit["rank"] for hit in document["hits"]] == [1, 2, 3]
    assert all(set(hit) == HIT_KEYS for hit in document["hits"])
    top = document["hits"][0]
    assert top["source_uri"].endswith("/security-policy.docx") and top["chunk_id"] and top["title"]

    pdf = run_cli(
        "query",
        "page the on-call engineer",
        "--json",
        "--mode",
        "bm25",
        "--file-type",
        "pdf",
        "--pages",
        "1",
        env=env,
    )
    hits = json.loads(pdf.stdout)["hits"]
    assert hits and all(h["source_uri"].endswith(".pdf") and h["page"] == 1 for h in hits)
    prefix = run_cli(
        "query", "keys", "--json", "--mode", "vector", "--source-prefix", str(CORPUS / "onboarding"), env=env
    )
    assert {h["source_uri"].rsplit("/", 1)[-1] for h in json.loads(prefix.stdout)["hits"]} == {
        "onboarding.md"
    }

    scored = run_cli("eval", "--json", env=env)
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)
    assert [s["mode"] for s in report["scores"]] == ["hybrid", "vector", "bm25"]
    assert all(s["questions"] == 10 and 0 <= s["recall@5"] <= 1 for s in report["scores"])
    assert report["scores"][0]["recall@5"] >= 0.9

    # BM25 misses one example question: below eval.min_recall 1.0 the table is printed and the exit is 1.
    strict = {**env, "RAGKEEPER_EVAL__MIN_RECALL": "1.0", "RAGKEEPER_EVAL__GATE_MODE": "bm25"}
    degraded = run_cli("eval", "--mode", "bm25", env=strict)
    assert degraded.returncode == 1, degraded.stderr
    assert "recall@5" in degraded.stdout and "misses" in degraded.stdout


def test_eval_publishes_its_table_and_a_drop_emits_the_degraded_event(
    prefect_harness, weaviate_env, monkeypatch
):
    ingest(source=str(CORPUS))
    monkeypatch.setenv("RAGKEEPER_EVAL__QUESTIONS_URI", str(QUESTIONS))
    report = evaluate()
    artifact = latest_artifact(artifact_key("retrieval-eval", weaviate_env))
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    assert [row["mode"] for row in rows] == ["hybrid", "vector", "bm25"]
    assert rows[0]["recall_at_k"] == round(report.recall("hybrid"), 4) and rows[0]["k"] == 5

    monkeypatch.setenv("RAGKEEPER_EVAL__MIN_RECALL", "1.0")
    monkeypatch.setenv("RAGKEEPER_EVAL__GATE_MODE", "bm25")
    evaluate(modes=["bm25"])
    (event,) = [
        e
        for e in events_of(collection_resource_id(weaviate_env), 1)
        if e.event == "ragkeeper.retrieval.degraded"
    ]
    assert event.payload["mode"] == "bm25" and event.payload["min_recall"] == 1.0


def test_a_full_sync_reports_boilerplate_and_patterns_exclude_it(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, small_chunks, monkeypatch
):
    footer = "Copyright 2024 Northwind. All rights reserved. Terms of use apply to every page."
    for n in range(6):
        body = (
            f"# Page {n}\n\nTopic {n} explains item number {n} of the catalogue in some detail: what it is "
            f"made of, where it is stored, who orders it and how long it keeps.\n\n{footer}\n"
        )
        s3_client.put_object(Bucket=bucket, Key=f"docs/p{n}.md", Body=body.encode())
    first = ingest(source=f"s3://{bucket}/docs/")
    assert first.boilerplate is not None, first
    (repeated,) = first.boilerplate.repeated
    assert (repeated.documents, repeated.chunks) == (6, 6) and footer in repeated.sample
    assert first.boilerplate.share == pytest.approx(6 / first.chunks_planned)
    markdown = latest_artifact(artifact_key("excluded-chunks", weaviate_env)).data
    assert "**Boilerplate**: 6 chunks" in markdown and "Copyright 2024 Northwind" in markdown

    monkeypatch.setenv("RAGKEEPER_QUALITY__BOILERPLATE_PATTERNS", json.dumps(["Copyright \\d{4} Northwind"]))
    second = ingest(source=f"s3://{bucket}/docs/")
    assert second.objects_changed == 6  # the patterns are part of the config hash
    assert {(e.check, e.chunk_index) for e in second.excluded} == {("boilerplate", 1)}
    assert len(second.excluded) == 6 and second.boilerplate is not None and second.boilerplate.repeated == ()
