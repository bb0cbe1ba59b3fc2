"""Real documentation nobody here wrote (tests/fixtures/realdocs, from Debian packages) goes in whole.

Three of these documents were quarantined whole by the earlier quality gate for one or two odd
chunks, or for a book's blank pages: sqlite3's C API reference (prototypes that share parameter
lines), its session extension page, and the Debian FAQ as a PDF (7 of 73 pages blank before chapters).
"""

from pathlib import Path

import pytest

from ragkeeper.flows.ingest import ingest
from tests.support.index import chunk_identities, state_records

pytestmark = pytest.mark.e2e

REALDOCS = Path(__file__).resolve().parent.parent / "fixtures" / "realdocs"


def test_real_documents_are_indexed_whole_with_every_chunk_confirmed(
    prefect_harness, weaviate_env, weaviate_client, monkeypatch
):
    monkeypatch.setenv("RAGKEEPER_SOURCE__EXCLUDE", '["README.md", "copyright"]')
    summary = ingest(source=str(REALDOCS))

    documents = sorted(
        p for p in REALDOCS.rglob("*") if p.is_file() and p.name not in ("README.md", "copyright")
    )
    assert summary.objects_new == len(documents) == 11
    assert summary.quarantined == ()
    assert summary.excluded == ()
    assert summary.chunks_planned == summary.chunks_confirmed > 0
    stored = chunk_identities(weaviate_client, weaviate_env)
    assert sum(stored.values()) == summary.chunks_confirmed
    assert {Path(uri.removeprefix("file://")).name for uri, _, _ in stored} >= {
        "capi3ref.html",
        "session.html",
        "debian-faq.en.pdf",
    }
    assert all(
        state["status"] == "indexed" for state in state_records(weaviate_client, weaviate_env).values()
    )
