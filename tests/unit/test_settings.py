from pathlib import Path

import pytest

from ragkeeper.errors import ConfigError
from ragkeeper.settings import EMBEDDED_WEAVIATE_VERSION, load_settings

VERSIONS = Path(__file__).resolve().parents[2] / "infra" / "versions.env"


def test_defaults_run_offline_on_embedded_weaviate():
    settings = load_settings()
    assert settings.weaviate.mode == "embedded"
    assert settings.embed.backend == "hashing"
    assert settings.source.uri == "examples/corpus"


def test_embedded_mode_runs_the_weaviate_that_make_services_builds():
    # `make demo` links the build of infra/versions.env where weaviate-client looks for this version;
    # a mismatch would send the demo to a download, which fails offline.
    pinned = dict(
        line.split("=", 1) for line in VERSIONS.read_text().splitlines() if "=" in line and line[0] != "#"
    )
    assert pinned["WEAVIATE_VERSION"] == "v" + EMBEDDED_WEAVIATE_VERSION


def test_environment_sets_nested_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__MODE", "local")
    monkeypatch.setenv("RAGKEEPER_PARSE__MAX_CHARACTERS", "900")
    monkeypatch.setenv("RAGKEEPER_SOURCE__INCLUDE", '["*.md", "*.pdf"]')
    settings = load_settings()
    assert settings.weaviate.mode == "local"
    assert settings.parse.max_characters == 900
    assert settings.source.include == ["*.md", "*.pdf"]


def test_toml_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "ragkeeper.toml"
    config.write_text(
        '[source]\nuri = "s3://docs/handbook"\n[weaviate]\ncollection = "Handbook"\nmode = "custom"\n'
    )
    monkeypatch.setenv("RAGKEEPER_CONFIG", str(config))
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__MODE", "local")
    settings = load_settings()
    assert settings.source.uri == "s3://docs/handbook"
    assert settings.weaviate.collection == "Handbook"
    assert settings.weaviate.mode == "local"


def test_overrides_merge_with_other_sources(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_SOURCE__EXCLUDE", '["drafts/*"]')
    settings = load_settings(source={"uri": "/data/docs"})
    assert settings.source.uri == "/data/docs"
    assert settings.source.exclude == ["drafts/*"]


def test_unknown_backend_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_EMBED__BACKEND", "word2vec")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert "embed.backend" in message
    assert "RAGKEEPER_EMBED__BACKEND" in message
    assert "word2vec" in message


def test_malformed_url_is_rejected(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__URL", "localhost:8080 oops")
    with pytest.raises(ConfigError, match=r"weaviate\.url"):
        load_settings()


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_S3__SECRET_ACCESS_KEY", "")
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__API_KEY", "sk-very-secret")
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__TIMEOUT_SECONDS", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "sk-very-secret" not in str(caught.value)
    monkeypatch.delenv("RAGKEEPER_WEAVIATE__TIMEOUT_SECONDS")
    settings_repr = repr(load_settings(weaviate={"api_key": "sk-very-secret"}))
    assert "sk-very-secret" not in settings_repr


def test_unknown_setting_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config = tmp_path / "ragkeeper.toml"
    config.write_text("[weaviate]\ncolection = 'Typo'\n")
    monkeypatch.setenv("RAGKEEPER_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"weaviate\.colection"):
        load_settings()


def test_missing_settings_file_named_in_the_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("RAGKEEPER_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()


def test_invalid_secret_value_is_not_echoed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config = tmp_path / "ragkeeper.toml"
    config.write_text("[weaviate]\napi_key = 987654321\n")
    monkeypatch.setenv("RAGKEEPER_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"weaviate\.api_key") as caught:
        load_settings()
    assert "987654321" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RAGKEEPER_OPENAI__TOKEN", "sk-live-SECRET"),  # unknown key: could be anything
        ("RAGKEEPER_WEAVIATE__URL", "http://admin:SECRET@:bad:port"),  # URLs can carry passwords
    ],
)
def test_values_that_may_be_secrets_are_not_echoed(monkeypatch: pytest.MonkeyPatch, name: str, value: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SECRET" not in str(caught.value)


def test_bad_json_in_the_environment_names_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGKEEPER_SOURCE__INCLUDE", "*.pdf")
    with pytest.raises(ConfigError, match=r"settings \(environment or ragkeeper\.toml\)"):
        load_settings()


def test_overlap_must_be_below_chunk_size():
    with pytest.raises(ConfigError, match="overlap"):
        load_settings(parse={"overlap": 2000, "max_characters": 1000})
