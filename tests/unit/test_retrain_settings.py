import json
from pathlib import Path

import pytest

from ragkeeper.errors import ConfigError
from ragkeeper.flows.retrain import select_datasets
from ragkeeper.settings import load_settings

TOML = """
[retrain]
registry = "s3://models/registry.json"
max_cost_usd = 5.0

[[retrain.datasets]]
name = "support-tone"
uri = "s3://styles/support/train.jsonl"
validation_uri = "s3://styles/support/valid.jsonl"
base_model = "gpt-4o-mini-2024-07-18"
suffix = "support"
[retrain.datasets.hyperparameters]
n_epochs = 3

[[retrain.datasets]]
name = "legal"
uri = "datasets/legal.jsonl"
base_model = "gpt-4.1-mini-2025-04-14"
"""


def test_datasets_come_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "ragkeeper.toml"
    config.write_text(TOML)
    monkeypatch.setenv("RAGKEEPER_CONFIG", str(config))
    settings = load_settings()
    first, second = settings.retrain.datasets
    assert (first.name, first.hyperparameters.n_epochs, first.hyperparameters.batch_size) == (
        "support-tone",
        3,
        None,
    )
    assert first.validation_uri == "s3://styles/support/valid.jsonl"
    assert (second.name, second.suffix) == ("legal", None)
    assert settings.retrain.registry == "s3://models/registry.json"
    assert [d.name for d in select_datasets(settings, "legal")] == ["legal"]


def test_datasets_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch):
    datasets = [{"name": "tone", "uri": "/data/tone.jsonl", "base_model": "gpt-4o-mini-2024-07-18"}]
    monkeypatch.setenv("RAGKEEPER_RETRAIN__DATASETS", json.dumps(datasets))
    assert load_settings().retrain.datasets[0].uri == "/data/tone.jsonl"


@pytest.mark.parametrize(
    ("datasets", "expected"),
    [
        ([{"name": "a", "uri": "x", "base_model": "m", "epochs": 3}], "retrain.datasets.0.epochs"),
        ([{"name": "a", "uri": "x", "base_model": "m"}] * 2, "dataset names must be unique; repeated: a"),
        ([{"name": "a b", "uri": "x", "base_model": "m"}], "retrain.datasets.0.name"),
        ([{"name": "a", "uri": "x", "base_model": "m", "hyperparameters": {"n_epochs": 0}}], "n_epochs"),
    ],
)
def test_invalid_datasets_are_one_line(monkeypatch: pytest.MonkeyPatch, datasets, expected):
    monkeypatch.setenv("RAGKEEPER_RETRAIN__DATASETS", json.dumps(datasets))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_selecting_datasets_names_what_is_configured(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ConfigError, match=r"no style datasets configured"):
        select_datasets(load_settings(), None)
    monkeypatch.setenv(
        "RAGKEEPER_RETRAIN__DATASETS", json.dumps([{"name": "a", "uri": "x", "base_model": "m"}])
    )
    with pytest.raises(ConfigError, match=r"no dataset named 'b' in retrain.datasets \(configured: a\)"):
        select_datasets(load_settings(), "b")
