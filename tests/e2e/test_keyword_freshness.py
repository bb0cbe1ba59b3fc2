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

    bm25 = [hit.source_uri for hit in ragkeeper.search(f"common {RARE}", mode="bm25", limit=5)]
    assert bm25 and bm25[0].endswith("/new.md"), bm25  # the one rare word outweighs any common one
    # Hybrid's BM25 side alone (alpha 0): with any alpha, that side must see the document too.
    hybrid = [hit.source_uri for hit in ragkeeper.search(f"common {RARE}", mode="hybrid", alpha=0, limit=5)]
    assert hybrid and hybrid[0].endswith("/new.md"), hybrid
