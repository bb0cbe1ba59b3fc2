"""The retrieval gate on the blue/green switch: a worse generation is refused, a better one switched in."""

import pytest

from ragkeeper.flows.evaluate import evaluate
from ragkeeper.flows.ingest import ingest
from tests.conftest import CORPUS, REPO
from tests.support.index import serving_collection

pytestmark = pytest.mark.e2e

QUESTIONS = REPO / "examples" / "questions.jsonl"


def test_a_weaker_generation_is_refused_and_a_better_one_switched_in(
    prefect_harness, weaviate_env, weaviate_client, monkeypatch
):
    monkeypatch.setenv("RAGKEEPER_EVAL__QUESTIONS_URI", str(QUESTIONS))
    monkeypatch.setenv("RAGKEEPER_EVAL__GATE_MODE", "vector")
    # A deliberately weak embedder: 8 hashed dimensions, so unrelated words collide.
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "8")
    weak = ingest(source=str(CORPUS))
    assert weak.switched_from is None and not weak.switch_refused  # a first generation has nothing to beat
    weak_recall = evaluate(modes=["vector"]).recall("vector")

    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "384")
    better = ingest(source=str(CORPUS))
    assert better.switched_from == weak.generation and not better.switch_refused
    assert serving_collection(weaviate_client, weaviate_env) == better.generation
    better_recall = evaluate(modes=["vector"]).recall("vector")
    assert better_recall > weak_recall + 0.02

    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "8")  # back to the weak model: a new generation again
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__KEEP_PREVIOUS_GENERATION", "false")
    refused = ingest(source=str(CORPUS))
    assert refused.switched_from is None
    assert "below the serving one's" in refused.switch_refused and "vector recall@5" in refused.switch_refused
    assert serving_collection(weaviate_client, weaviate_env) == better.generation  # readers stay
    assert weaviate_client.collections.exists(refused.generation)  # built, kept for the next attempt

    # With a tolerance wider than the gap, the same generation is switched in by the next full sync.
    monkeypatch.setenv("RAGKEEPER_EVAL__TOLERANCE", "1.0")
    accepted = ingest(source=str(CORPUS))
    assert accepted.switched_from == better.generation and accepted.objects_unchanged == 5
