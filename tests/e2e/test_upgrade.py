"""An index built by the release before generation records and schema versions upgrades without loss.

The previous release (commit PREVIOUS, the last one before this change) is unpacked with `git
archive` and its real `ragkeeper` command builds an index in the same Weaviate; the current code
then shows the cost of the upgrade with `--dry-run` and converges to exactly what a fresh ingest
of the source builds.
"""

import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ragkeeper.core.sync.ids import chunk_uuid
from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed, doc
from tests.support.cli import run_cli
from tests.support.index import serving_collection, state_records

pytestmark = pytest.mark.e2e

PREVIOUS = "3ad8cf6"  # Tasks: planning and generation handling split out of ingest_tasks
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `src` folder of the previous release."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS, "src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        pytest.fail(f"cannot read commit {PREVIOUS} from git: {archive.stderr.decode()[:300]}")
    target = tmp_path_factory.mktemp("previous-release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def _run_previous(src: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The previous release's `ragkeeper ARGS`, in this virtualenv, with its own code first on the path."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ragkeeper.cli import main; sys.argv[0] = 'ragkeeper'; main()",
            *args,
        ],
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(src), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _figure(output: str, row: str) -> int:
    found = re.search(re.escape(row) + r"\s*│\s*(\d+)", output)
    assert found, output[-3000:]
    return int(found.group(1))


def _index(client, alias):
    """Every chunk readers see as {(uri, content hash, occurrence): (id, vector)}."""
    objects = client.collections.get(alias).iterator(
        return_properties=["source_uri", "content_hash", "occurrence"], include_vector=True
    )
    return {
        (o.properties["source_uri"], o.properties["content_hash"], o.properties["occurrence"]): (
            str(o.uuid),
            o.vector["default"],
        )
        for o in objects
    }


@pytest.mark.parametrize("dimensions", ["64", "96"], ids=["same-model", "new-model"])
def test_an_index_of_the_previous_release_upgrades_to_exactly_a_fresh_index(
    dimensions,
    previous_release,
    prefect_harness,
    prefect_server,
    s3_env,
    s3_client,
    bucket,
    weaviate_env,
    weaviate_client,
    small_chunks,
    monkeypatch,
):
    _seed(s3_client, bucket, 5)
    source = f"s3://{bucket}/docs/"
    cli_env = {"PREFECT_API_URL": prefect_server.url}
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    built = _run_previous(previous_release, "ingest", source, env=cli_env)
    assert built.returncode == 0, built.stderr[-2000:]
    old = serving_collection(weaviate_client, weaviate_env)
    old_properties = {p.name for p in weaviate_client.collections.get(old).config.get().properties}
    assert "source_key" not in old_properties  # schema version 1
    total = len(_index(weaviate_client, weaviate_env))
    # The source moves on while the upgrade waits: one edit, one deletion, one new document.
    s3_client.put_object(Bucket=bucket, Key="docs/doc0.md", Body=doc(0, "-edited"))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc4.md")
    s3_client.put_object(Bucket=bucket, Key="docs/doc7.md", Body=doc(7))

    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", dimensions)
    if dimensions == "64":
        # The previous release embedded the bare chunk text; with contextual headers (the default now)
        # every embedded text changes. Without them, the same model's vectors carry over.
        monkeypatch.setenv("RAGKEEPER_EMBED__CHUNK_HEADER", "none")
    dry = run_cli("ingest", source, "--dry-run", env=cli_env)
    assert dry.returncode == 0, dry.stderr[-2000:]
    to_embed = _figure(dry.stdout, "estimated chunks to embed")
    upgraded = ingest(source=source)

    assert upgraded.switched_from == old and upgraded.generation != old
    assert upgraded.embeddings_computed == to_embed
    fresh_alias = weaviate_env + "Fresh"
    fresh = ingest(source=source, collection=fresh_alias)
    if dimensions == "64":  # the same model: only new text is embedded, the rest is copied
        assert 0 < to_embed < total
        assert upgraded.embeddings_reused == fresh.chunks_written - to_embed
    else:
        assert to_embed == fresh.chunks_written

    # Exactly a fresh index: the same chunks under the same ids, each with its own vector, same states.
    index, reference = _index(weaviate_client, weaviate_env), _index(weaviate_client, fresh_alias)
    assert index.keys() == reference.keys()
    for (uri, digest, occurrence), (chunk_id, vector) in index.items():
        assert chunk_id == chunk_uuid(weaviate_env, uri, digest, occurrence)
        assert vector == pytest.approx(reference[uri, digest, occurrence][1], abs=1e-6)
    states, fresh_states = (
        state_records(weaviate_client, weaviate_env),
        state_records(weaviate_client, fresh_alias),
    )
    assert {u: (s["etag"], s["status"]) for u, s in states.items()} == {
        u: (s["etag"], s["status"]) for u, s in fresh_states.items()
    }
    owners = {chunk_id: uri for (uri, _, _), (chunk_id, _) in index.items()}
    assert {u: {owners[i] for i in s["chunk_ids"]} for u, s in states.items()} == {u: {u} for u in states}

    # The previous generation is kept for a rollback, recorded as adopted and retired.
    records = {
        o.properties["collection"]: o.properties
        for o in weaviate_client.collections.get(f"{weaviate_env}Generations").iterator()
    }
    assert (records[old]["status"], records[old]["adopted"], records[old]["schema_version"]) == (
        "retired",
        True,
        1,
    )
    assert (records[upgraded.generation]["status"], records[upgraded.generation]["schema_version"]) == (
        "serving",
        2,
    )
    again = ingest(source=source)
    assert (again.objects_unchanged, again.chunks_written, again.chunks_deleted) == (5, 0, 0)
