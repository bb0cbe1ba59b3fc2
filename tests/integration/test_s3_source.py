"""The S3 source against a real MinIO server."""

import pytest

from ragkeeper.adapters.storage.s3 import S3Source
from ragkeeper.errors import (
    ConfigError,
    ServiceUnavailable,
    TerminalError,
    TransientError,
    UnsupportedDocument,
)
from ragkeeper.settings import load_settings
from tests.support.s3_fault_proxy import S3FaultProxy

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


def _proxied(monkeypatch, s3_env, fail_when) -> S3FaultProxy:
    proxy = S3FaultProxy(s3_env["RAGKEEPER_S3__ENDPOINT_URL"], fail_when).start()
    monkeypatch.setenv("RAGKEEPER_S3__ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("RAGKEEPER_S3__MAX_ATTEMPTS", "2")
    return proxy


def test_a_listing_that_fails_on_its_second_page_raises(s3_env, s3_client, bucket, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"docs/{n:05d}.txt" for n in range(1_005)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: s3_client.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    proxy = _proxied(monkeypatch, s3_env, lambda method, path: "continuation-token=" in path)
    try:
        source = _source(f"s3://{bucket}/docs/")
        with pytest.raises(TransientError, match=r"listing s3://.*/docs/: S3 is throttling or failing"):
            list(source.list())
    finally:
        proxy.stop()
    # Page 1 went through; page 2 failed on its first attempt and on both retries (max_attempts=2).
    assert len(proxy.failed) == 3 and all("continuation-token=" in r for r in proxy.failed)


# --- reading what was listed (issue 9, item 13) ----------------------------------------------------


def _configured_source(uri: str, monkeypatch, **settings: str):
    """The source the pipeline would build for `uri` (through the factory, from settings)."""
    from ragkeeper.factory import make_source

    monkeypatch.setenv("RAGKEEPER_SOURCE__URI", uri)
    for name, value in settings.items():
        monkeypatch.setenv(f"RAGKEEPER_SOURCE__{name.upper()}", value)
    return make_source(load_settings())


def test_an_object_overwritten_since_listing_is_not_read(s3_env, s3_client, bucket, monkeypatch):
    s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=b"# A\n\nas listed")
    source = _configured_source(f"s3://{bucket}/docs/", monkeypatch)
    (listed,) = source.list()
    s3_client.put_object(Bucket=bucket, Key="docs/a.md", Body=b"# A\n\nrewritten after the listing")

    with pytest.raises(TerminalError, match=r"docs/a.md changed since it was listed"):
        source.read(listed)

    (relisted,) = source.list()
    assert relisted.etag != listed.etag
    assert source.read(relisted) == b"# A\n\nrewritten after the listing"


def test_reading_stops_at_the_size_cap_even_if_the_listed_size_lied(s3_env, s3_client, bucket, monkeypatch):
    import tracemalloc
    from dataclasses import replace

    s3_client.put_object(Bucket=bucket, Key="docs/big.txt", Body=b"x" * (32 * 1024 * 1024))
    source = _configured_source(f"s3://{bucket}/docs/", monkeypatch, max_object_bytes="1000")
    (listed,) = source.list()
    lied = replace(listed, size=10)

    tracemalloc.start()
    try:
        with pytest.raises(UnsupportedDocument, match="more than the 1000-byte limit"):
            source.read(lied)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"reading past the cap held {peak} bytes"
