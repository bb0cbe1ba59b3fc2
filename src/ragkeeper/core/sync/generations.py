"""Generations of a collection: what identifies one, what it records, and their lifecycle. Pure.

A generation is one physical collection behind the alias readers use, identified by the embedding
model and the schema version of its chunk collection: vectors of two models cannot share one, and
Weaviate cannot change an existing property's tokenization, so either change is built blue/green.
Every generation ragkeeper creates is recorded with a secret-free description of its embedder, so
any worker can embed queries and updates for it later (the secrets come from the current settings).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ragkeeper.errors import EmbedderUnavailable
from ragkeeper.settings import OpenAISettings, Settings

# 1: the chunk schema before generation records (no exact source key, default tokenization).
# 2: `source_key` (exact source filter) and the BM25 tuning (explicit tokenization and stopwords).
SCHEMA_VERSION = 2

Lifecycle = Literal["building", "serving", "retired"]


def generation_name(alias: str, model_id: str, schema_version: int) -> str:
    """The physical collection of `alias` for a model and schema version.

    Schema version 1 keeps the name it had before versions existed (a hash of the model id alone),
    so generations built by earlier releases are recognised.
    """
    identity = model_id if schema_version == 1 else f"{model_id}\x1fschema-{schema_version}"
    return f"{alias}_{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def public_url(url: object) -> str:
    """A URL without user info, query or fragment (where credentials hide); empty for None."""
    if url is None or not str(url):
        return ""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True, slots=True)
class EmbedderDescription:
    """How a generation's vectors were made, without any secret.

    `base_url` is empty for the public OpenAI API and for backends without one. `inferred` marks a
    description rebuilt from the stored model id for a generation created before records existed.
    """

    backend: str
    model: str
    dimensions: int
    model_id: str
    base_url: str = ""
    api_version: str = ""
    inferred: bool = False

    def to_json(self) -> str:
        """The description as a JSON object."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EmbedderDescription | None:
        """The description stored by `to_json`; None when absent or unreadable."""
        try:
            values = json.loads(text) if text else None
            return cls(**values) if isinstance(values, dict) else None
        except (TypeError, ValueError):
            return None


def describe_embedder(
    model_id: str, api: OpenAISettings, inferred: bool = False
) -> EmbedderDescription | None:
    """The description of the embedder that stores vectors as `model_id`; None for an unknown form.

    The model id names backend, model and dimensions (`hashing-v2-<d>`, `openai:<model>:<d>`,
    `local:<model>:<d>`); the endpoint of an OpenAI-compatible model comes from `api`.
    """
    hashing = re.fullmatch(r"hashing-v\d+-(\d+)", model_id)
    if hashing:
        return EmbedderDescription("hashing", "", int(hashing.group(1)), model_id, inferred=inferred)
    backend, _, rest = model_id.partition(":")
    model, _, dimensions = rest.rpartition(":")
    if backend not in ("openai", "local") or not model or not dimensions.isdigit():
        return None
    if backend == "local":
        return EmbedderDescription("local", model, int(dimensions), model_id, inferred=inferred)
    return EmbedderDescription(
        "openai",
        model,
        int(dimensions),
        model_id,
        base_url=public_url(api.base_url),
        api_version=api.api_version or "",
        inferred=inferred,
    )


def settings_for_embedder(settings: Settings, description: EmbedderDescription) -> Settings:
    """`settings` with the embedder of `description`, secrets and limits kept from `settings`.

    Raises EmbedderUnavailable when the settings cannot serve it: the API key configured now is
    only ever sent to the endpoint configured now.
    """
    if description.backend == "openai" and public_url(settings.openai.base_url) != description.base_url:
        where = description.base_url or "api.openai.com"
        now = public_url(settings.openai.base_url) or "api.openai.com"
        raise EmbedderUnavailable(
            f"{description.model_id} was embedded through {where}, but openai.base_url is {now} "
            "(its key is not sent to another endpoint)"
        )
    embed = settings.embed.model_copy(
        update={
            "backend": description.backend,
            "model": description.model or settings.embed.model,
            "dimensions": description.dimensions,
        }
    )
    api = settings.openai.model_copy(update={"api_version": description.api_version or None})
    return settings.model_copy(update={"embed": embed, "openai": api})


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """One generation ragkeeper created (or adopted from an earlier release) and where it is in its life."""

    collection: str
    model_id: str
    schema_version: int
    embedder: EmbedderDescription | None
    status: Lifecycle = "building"
    adopted: bool = False


def adoptable(alias: str, collection: str, stored_model: str | None) -> bool:
    """Whether an unrecorded collection is a generation an earlier release built.

    Those named their generations by a hash of the model id their vectors carry, so a collection
    whose name is that hash of its own stored model is one; anything else is left alone.
    """
    return bool(stored_model) and collection == generation_name(alias, str(stored_model), 1)


def lifecycle_updates(records: Iterable[GenerationRecord], serving: str | None) -> list[GenerationRecord]:
    """Records whose status disagrees with the alias: its target serves, other former servers retire."""
    changed = []
    for record in records:
        if record.collection == serving and record.status != "serving":
            changed.append(replace(record, status="serving"))
        elif record.collection != serving and record.status == "serving":
            changed.append(replace(record, status="retired"))
    return changed


def to_drop(records: Iterable[GenerationRecord], keep: Iterable[str]) -> list[str]:
    """Recorded generations not in `keep`, to delete; collections never recorded are never listed."""
    kept = set(keep)
    return sorted(record.collection for record in records if record.collection not in kept)
