import pytest

from ragkeeper import factory
from ragkeeper.adapters.storage.s3 import parse_s3_uri
from ragkeeper.errors import ConfigError
from ragkeeper.settings import load_settings


def test_source_kind_by_uri():
    assert factory.source_kind("s3://bucket/prefix") == "s3"
    assert factory.source_kind("/data/docs") == "local"
    assert factory.source_kind("file:///data/docs") == "local"


def test_unsupported_scheme_is_a_config_error():
    with pytest.raises(ConfigError, match="gs://"):
        factory.make_source(load_settings(source={"uri": "gs://bucket/docs"}))


def test_s3_uri_parsing():
    assert parse_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ConfigError, match="malformed S3 URI"):
        parse_s3_uri("s3:///nobucket")


def test_missing_local_folder_is_a_config_error(tmp_path):
    source = factory.make_source(load_settings(source={"uri": str(tmp_path / "missing")}))
    with pytest.raises(ConfigError, match="does not exist"):
        list(source.list())
