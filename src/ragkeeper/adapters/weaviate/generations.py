"""Blue/green generations of a chunk collection behind a Weaviate alias.

Readers use the configured collection name, which is an alias. Each embedding model gets its own
physical collection, `<alias>_<hash of model id>` (with its `...State` beside it), because vectors of
two models cannot share one. A run with a new model builds the new generation while readers stay
on the old one, and the alias is switched only when that run completes. A name that is already a
real collection (created before aliases were used) is written in place and keeps one model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ragkeeper.adapters.weaviate.client import translate_weaviate_error
from ragkeeper.adapters.weaviate.state import state_collection_name


def generation_collection(alias: str, model_id: str) -> str:
    """The physical collection holding `alias`'s chunks embedded by `model_id`."""
    return f"{alias}_{hashlib.sha256(model_id.encode()).hexdigest()[:10]}"


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


def resolve_generation(client: Any, alias: str, model_id: str) -> Generation:
    """The generation a run with `model_id` writes to, and the one the alias serves now."""
    try:
        target = client.alias.get(alias_name=alias)
        if target is None and client.collections.exists(alias):
            return Generation(alias, alias, alias)
    except Exception as error:
        raise translate_weaviate_error(error, f"resolving collection alias {alias}") from None
    return Generation(alias, generation_collection(alias, model_id), target.collection if target else None)


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


def drop_old_generations(client: Any, alias: str, keep: set[str]) -> list[str]:
    """Delete the generations of `alias` not in `keep` (and their state); return their names."""
    try:
        names = [
            name
            for name in client.collections.list_all(simple=True)
            if re.fullmatch(re.escape(alias) + r"_[0-9a-f]{10}", name) and name not in keep
        ]
        for name in names:
            client.collections.delete([name, state_collection_name(name)])
    except Exception as error:
        raise translate_weaviate_error(error, f"dropping old generations of {alias}") from None
    return sorted(names)
