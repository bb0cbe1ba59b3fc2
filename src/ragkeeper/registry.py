"""Which fine-tuned model is current: the public read side of the model registry, for any flow or tool.

    from ragkeeper.registry import current_model
    record = current_model(load_settings(), "support-tone")   # ModelRecord | None

The registry lives at `retrain.registry` (a local JSON file by default, or an s3:// object) and holds
every model a retrain run recorded; the current model of a dataset is the one recorded last (its
latest success, or an earlier one made current again when the dataset went back to its version). A
failed or cancelled job never changes it.
"""

from __future__ import annotations

from ragkeeper import runtime
from ragkeeper.core.retrain.registry import current_models as _current_per_dataset
from ragkeeper.retrain_models import ModelRecord
from ragkeeper.settings import Settings


def current_model(settings: Settings, dataset: str) -> ModelRecord | None:
    """The current model of `dataset`, or None if it has none."""
    return current_models(settings).get(dataset)


def current_models(settings: Settings) -> dict[str, ModelRecord]:
    """The current model of every dataset that has one, by dataset name."""
    return _current_per_dataset(runtime.model_registry(settings).models())


def all_models(settings: Settings) -> list[ModelRecord]:
    """Every recorded model, in recording order (the current one of each dataset last)."""
    return runtime.model_registry(settings).models()
