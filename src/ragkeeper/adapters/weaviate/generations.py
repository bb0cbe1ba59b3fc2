"""Blue/green generations of a chunk collection behind a Weaviate alias.

Readers use the configured collection name, which is an alias. Each (embedding model, schema
version) gets its own physical collection, `<alias>_<hash>` (with its `...State` beside it),
because vectors of two models cannot share one and Weaviate cannot change an existing property's
index settings. A run with a new model or schema builds the new generation while readers stay on
the old one, and the alias is switched only when a full sync completes. Generations are recorded
(`generation_records`); only recorded ones are ever dropped. A name that is already a real
collection (created before aliases were used) is written in place and keeps one model and schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ragkeeper.adapters.weaviate.client import translate_weaviate_error
from ragkeeper.adapters.weaviate.generation_records import WeaviateGenerationRecords
from ragkeeper.adapters.weaviate.state import state_collection_name
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.generations import generation_name, lifecycle_updates, to_drop


@dataclass(frozen=True, slots=True)
class Generation:
    """Where a run writes (`collection`) and what readers see now (`serving`, None before the first run)."""

    alias: str
    collection: str
    serving: str | None

    @property
    def legacy(self) -> bool:
        """The name is a plain collection, not an alias: written in place, no blue/green."""
        return self.collection == self.alias

    @property
    def is_new(self) -> bool:
        """Whether the run builds a generation that readers do not see yet."""
        return self.serving != self.collection

    @property
    def pending(self) -> bool:
        """Whether readers are on another generation that the run must keep truthful meanwhile."""
        return self.serving is not None and self.is_new and not self.legacy


def resolve_generation(client: Any, alias: str, model_id: str, schema_version: int) -> Generation:
    """The generation a run with `model_id` and `schema_version` writes, and the one the alias serves now."""
    try:
        target = client.alias.get(alias_name=alias)
        if target is None and client.collections.exists(alias):
            return Generation(alias, alias, alias)
    except Exception as error:
        raise translate_weaviate_error(error, f"resolving collection alias {alias}") from None
    collection = generation_name(alias, model_id, schema_version)
    return Generation(alias, collection, target.collection if target else None)


def serving_collection(client: Any, alias: str) -> str | None:
    """The collection readers of `alias` search: the alias target, the name itself if it is a plain one."""
    try:
        target = client.alias.get(alias_name=alias)
        if target is not None:
            return str(target.collection)
        return alias if client.collections.exists(alias) else None
    except Exception as error:
        raise translate_weaviate_error(error, f"resolving collection alias {alias}") from None


def point_alias(client: Any, generation: Generation) -> None:
    """Make the alias serve `generation.collection` (create it, or switch it atomically)."""
    if not generation.is_new:  # also true of a legacy collection, which is its own "alias"
        return
    try:
        if generation.serving is None:
            client.alias.create(alias_name=generation.alias, target_collection=generation.collection)
        else:
            client.alias.update(alias_name=generation.alias, new_target_collection=generation.collection)
    except Exception as error:
        raise translate_weaviate_error(error, f"switching alias {generation.alias}") from None


def switch_to(client: Any, generation: Generation, keep: set[str]) -> list[str]:
    """Point the alias at `generation.collection`, update the records, drop recorded generations not kept."""
    point_alias(client, generation)
    checkpoint("after-alias-switch")
    records = WeaviateGenerationRecords(client, generation.alias)
    records.put(lifecycle_updates(records.all(), generation.collection))
    names = to_drop(records.all(), keep | {generation.collection})
    drop(client, names)
    records.delete(names)
    return names


def drop(client: Any, names: Iterable[str]) -> None:
    """Delete these generations and their state collections."""
    try:
        for name in names:
            client.collections.delete([name, state_collection_name(name)])
    except Exception as error:
        raise translate_weaviate_error(error, "dropping old generations") from None


def generation_like(client: Any, alias: str) -> list[str]:
    """Collections named like generations of `alias` (`<alias>_<10 hex>`), recorded or not."""
    try:
        names = client.collections.list_all(simple=True)
    except Exception as error:
        raise translate_weaviate_error(error, f"listing collections of {alias}") from None
    return sorted(name for name in names if re.fullmatch(re.escape(alias) + r"_[0-9a-f]{10}", name))
