"""The S3 source against a real MinIO server."""

import pytest

from ragkeeper.adapters.storage.s3 import S3Source
from ragkeeper.errors import ConfigError, ServiceUnavailable, TerminalError
from ragkeeper.settings import load_settings

pytestmark = pytest.mark.integration


def _source(uri: str, include=("*",), exclude=()):
    return S3Source(uri, list(include), list(exclude), load_settings().s3)


def test_lists_and_reads_objects_under_a_prefix(s3_env, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=b"# A\n\nalpha")
    s3_client.put_object(Bucket=bucket, Key="docs/sub/b.txt", Body=b"bravo")
    s3_client.put_object(Bucket=bucket, Key="docs/skip.tmp", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="other/c.md", Body=b"charlie")

    source = _source(f"s3://{bucket}/docs/", exclude=["*.tmp"])
    objects = list(source.list())

    assert [o.key for o in objects] == ["a.md", "sub/b.txt"]
    assert [o.uri for o in objects] == [f"s3://{bucket}/docs/a.md", f"s3://{bucket}/docs/sub/b.txt"]
    assert all(o.etag and '"' not in o.etag for o in objects)
    assert source.read(objects[1]) == b"bravo"
    assert source.check() == f"bucket {bucket}"


def test_missing_bucket_is_one_clear_config_error(s3_env):
    source = _source("s3://no-such-bucket-ragkeeper/docs")
    with pytest.raises(ConfigError, match="no-such-bucket-ragkeeper: bucket does not exist"):
        source.check()
    with pytest.raises(ConfigError, match="bucket does not exist"):
        list(source.list())


def test_wrong_credentials_are_terminal(s3_env, bucket, monkeypatch):
    monkeypatch.setenv("RAGKEEPER_S3__SECRET_ACCESS_KEY", "wrong-password")
    with pytest.raises(TerminalError, match="access denied") as caught:
        _source(f"s3://{bucket}/").check()
    assert "wrong-password" not in str(caught.value)


def test_stopped_endpoint_is_transient(monkeypatch):
    import devservices

    monkeypatch.setenv("RAGKEEPER_S3__ENDPOINT_URL", f"http://127.0.0.1:{devservices.free_port()}")
    monkeypatch.setenv("RAGKEEPER_S3__ACCESS_KEY_ID", "x")
    monkeypatch.setenv("RAGKEEPER_S3__SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("RAGKEEPER_S3__MAX_ATTEMPTS", "1")
    with pytest.raises(ServiceUnavailable, match="cannot reach the S3 endpoint"):
        _source("s3://anything/").check()


def test_listing_paginates_past_one_thousand_keys(s3_env, s3_client, bucket):
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"many/{n:05d}.txt" for n in range(1_205)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: s3_client.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    listed = [o.key for o in _source(f"s3://{bucket}/many/").list()]
    assert listed == [key.removeprefix("many/") for key in keys]


def test_keys_with_url_characters_and_prefix_as_folder(s3_env, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="docs/What is RAG?.md", Body=b"question mark")
    s3_client.put_object(Bucket=bucket, Key="docs/C#.md", Body=b"hash sign")
    s3_client.put_object(Bucket=bucket, Key="docs-old/stale.md", Body=b"not under docs/")
    source = _source(f"s3://{bucket}/docs")
    objects = list(source.list())
    assert sorted(o.key for o in objects) == ["C#.md", "What is RAG?.md"]
    assert sorted(source.read(o) for o in objects) == [b"hash sign", b"question mark"]


def test_partial_credentials_are_one_config_error(monkeypatch, bucket):
    monkeypatch.delenv("RAGKEEPER_S3__SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("RAGKEEPER_S3__ACCESS_KEY_ID", "only-the-id")
    with pytest.raises(ConfigError, match="credentials incomplete or missing"):
        _source(f"s3://{bucket}/")
