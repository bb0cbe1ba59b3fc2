"""What a run may read, and what it must not conclude, at the edge of its source (issue 9, items 2, 4, 13).

Real Prefect, Weaviate, MinIO and unstructured; the local folder is a real folder.
"""

import pytest

from ragkeeper import factory
from ragkeeper.flows.ingest import ingest
from ragkeeper.flows.reindex import reindex
from tests.support.cli import run_cli
from tests.support.index import chunk_identities, state_records
from tests.support.privileges import permissions_bind

pytestmark = pytest.mark.e2e

SECRET = "aws_secret_access_key = LEAKED-CREDENTIAL-MARKER"


def _page(title: str) -> str:
    return f"# {title}\n\n{title} explains how the platform team runs its weekly release review.\n"


def _texts(client, collection: str) -> dict[str, list[str]]:
    """Chunk texts by source URI."""
    texts: dict[str, list[str]] = {}
    for obj in client.collections.get(collection).iterator(return_properties=["text", "source_uri"]):
        texts.setdefault(str(obj.properties["source_uri"]), []).append(str(obj.properties["text"]))
    return texts


def test_an_unreadable_subfolder_fails_the_run_and_deletes_nothing(
    tmp_path, weaviate_env, weaviate_client, prefect_server
):
    corpus = tmp_path / "corpus"
    (corpus / "team").mkdir(parents=True)
    for name in ("a", "b", "c", "d"):
        (corpus / f"{name}.md").write_text(_page(name.upper()))
    (corpus / "team" / "e.md").write_text(_page("E"))
    env = {"PREFECT_API_URL": prefect_server.url}
    first = run_cli("ingest", str(corpus), env=env)
    assert first.returncode == 0, first.stderr
    chunks = chunk_identities(weaviate_client, weaviate_env)
    states = state_records(weaviate_client, weaviate_env)
    assert len(states) == 5

    (corpus / "team").chmod(0)
    try:
        denied = run_cli("ingest", str(corpus), env=env, prefix=permissions_bind())
    finally:
        (corpus / "team").chmod(0o755)

    assert denied.returncode != 0, f"the run went on without team/:\n{denied.stdout}"
    assert "Traceback" not in denied.stderr
    errors = [line for line in denied.stderr.splitlines() if line.strip()]
    assert errors == [
        f"error: cannot list {corpus / 'team'}: Permission denied; "
        "the run stops so that its documents are not taken as deleted"
    ]
    assert chunk_identities(weaviate_client, weaviate_env) == chunks
    assert state_records(weaviate_client, weaviate_env) == states


@pytest.mark.parametrize("follow_symlinks", [None, "true"], ids=["default", "follow_symlinks"])
def test_a_link_to_a_secret_outside_the_folder_is_never_indexed(
    prefect_harness, tmp_path, weaviate_env, weaviate_client, monkeypatch, follow_symlinks
):
    if follow_symlinks:
        monkeypatch.setenv("RAGKEEPER_SOURCE__FOLLOW_SYMLINKS", follow_symlinks)
    credentials = tmp_path / "home" / ".aws" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(f"[default]\n{SECRET}\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guide.md").write_text(_page("Guide"))
    (corpus / "notes.txt").symlink_to(credentials)
    (corpus / "aws").symlink_to(credentials.parent)
    leaked = [(corpus / "notes.txt").as_uri(), (corpus / "aws" / "credentials").as_uri()]

    summary = ingest(source=str(corpus))
    targeted = reindex(uris=leaked, source=str(corpus))

    assert (summary.objects_seen, summary.objects_parsed) == (1, 1)
    assert (targeted.objects_new, targeted.objects_parsed) == (0, 0)
    texts = _texts(weaviate_client, weaviate_env)
    assert set(texts) == {(corpus / "guide.md").as_uri()}
    assert not any("LEAKED-CREDENTIAL-MARKER" in text for chunks in texts.values() for text in chunks)
    assert set(state_records(weaviate_client, weaviate_env)) == {(corpus / "guide.md").as_uri()}


class _RewrittenAfterListing:
    """The real S3 source, with a writer that rewrites one object right after the first listing."""

    def __init__(self, source, rewrite) -> None:
        self._source = source
        self._rewrite = rewrite

    def __getattr__(self, name):
        return getattr(self._source, name)

    def list(self):
        listed = list(self._source.list())
        if self._rewrite is not None:
            self._rewrite()
            self._rewrite = None
        yield from listed


def test_an_object_rewritten_between_listing_and_read_is_read_again_next_run(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    version_a, version_b = _page("Version Alpha"), _page("Version Bravo")
    s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=version_a.encode())
    for n in range(5):  # one changed object of six stays under quality.max_failure_share
        s3_client.put_object(Bucket=bucket, Key=f"docs/other{n}.md", Body=_page(f"Other {n}").encode())
    etag_a = s3_client.head_object(Bucket=bucket, Key="docs/a.md")["ETag"].strip('"')
    uri = f"s3://{bucket}/docs/a.md"

    def rewrite() -> None:
        s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=version_b.encode())

    make_source = factory.make_source
    monkeypatch.setattr(factory, "make_source", lambda s: _RewrittenAfterListing(make_source(s), rewrite))
    raced = ingest(source=f"s3://{bucket}/docs/")
    monkeypatch.setattr(factory, "make_source", make_source)

    assert [q.uri for q in raced.quarantined] == [uri]
    assert "changed since it was listed" in raced.quarantined[0].reason
    assert state_records(weaviate_client, weaviate_env)[uri]["etag"] != etag_a
    assert uri not in _texts(weaviate_client, weaviate_env)

    # The writer reverts: the object has the ETag the first run listed again.
    s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=version_a.encode())
    assert s3_client.head_object(Bucket=bucket, Key="docs/a.md")["ETag"].strip('"') == etag_a
    again = ingest(source=f"s3://{bucket}/docs/")

    assert (again.objects_changed, again.quarantined) == (1, ())
    indexed = " ".join(_texts(weaviate_client, weaviate_env)[uri])
    assert "Version Alpha" in indexed and "Version Bravo" not in indexed
    assert state_records(weaviate_client, weaviate_env)[uri]["etag"] == etag_a
