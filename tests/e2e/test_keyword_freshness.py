"""A document is found by keyword the moment its sync finishes, not only after the server flushes.

Weaviate before 1.36.20 pruned BM25 matches that were still in its memtable (weaviate#11780): a limited
BM25 or hybrid query silently left out the chunks written last, until a flush or a restart. A user who
adds a document and searches for it right away met exactly that.
"""

import pytest

import ragkeeper
from ragkeeper.flows.ingest import ingest

pytestmark = pytest.mark.e2e

RARE = "zanzibarite"


def test_a_document_added_a_moment_ago_is_found_by_bm25_and_hybrid(prefect_harness, weaviate_env, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(40):
        (docs / f"page{n:02}.md").write_text(
            f"# Page {n}\n\nThe catalogue lists item {n}: a common part, common in every common order.\n"
        )
    assert ingest(source=str(docs)).chunks_confirmed == 40
    (docs / "new.md").write_text(f"# Minerals\n\nThe {RARE} sample arrived today.\n")
    assert ingest(source=str(docs)).objects_new == 1

    for mode in ("bm25", "hybrid"):
        hits = ragkeeper.search(f"common {RARE}", mode=mode, limit=5)
        assert hits, mode
        assert hits[0].source_uri.endswith("/new.md"), (mode, [h.source_uri for h in hits])
