"""The self-hosted trainer's hyperparameters: the dataset entry's values over the trainer's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "n_epochs": 3,
    "batch_size": 4,
    "learning_rate": 2e-4,
    "lora_r": 16,
    "lora_dropout": 0.05,
    "lora_target_modules": ["all-linear"],
    "max_seq_length": 1024,
    "seed": 42,
}


def resolve(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Every trainer hyperparameter: set ones as given, the rest from DEFAULTS.

    `learning_rate_multiplier` (the OpenAI name) scales the default learning rate when no
    `learning_rate` is set; `lora_alpha` defaults to twice the rank.
    """
    given = {key: value for key, value in hyperparameters.items() if value is not None}
    resolved = {**DEFAULTS, **{key: value for key, value in given.items() if key in DEFAULTS}}
    if "learning_rate" not in given and "learning_rate_multiplier" in given:
        resolved["learning_rate"] = DEFAULTS["learning_rate"] * float(given["learning_rate_multiplier"])
    resolved["lora_alpha"] = given.get("lora_alpha", 2 * resolved["lora_r"])
    return resolved


def target_modules(names: list[str]) -> str | list[str]:
    """PEFT's `target_modules`: the string "all-linear" stands alone, other names are a list."""
    return "all-linear" if names == ["all-linear"] else list(names)
