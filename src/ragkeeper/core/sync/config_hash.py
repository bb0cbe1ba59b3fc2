"""A fingerprint of everything that decides what an object becomes in the index.

A change of parsing, chunking, embedding model, size limit or quality rules re-processes every
object: chunks and vectors are rebuilt, and quarantined objects get another chance. Settings that
only steer a run (its failure-share threshold, where reports go, how validation is batched) and file
paths (the override file counts by its content) do not: raising a threshold re-processes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ragkeeper.settings import Settings

# Bump when the parsing/chunking/gating code changes what it produces for the same settings.
# 2: chunk-level checks drop the chunk instead of quarantining its document.
PIPELINE_VERSION = 2

# Every quality setting is in exactly one of these (a unit test checks it, so a new one must choose).
HASHED_QUALITY_FIELDS = frozenset(
    {
        "min_printable_share",
        "min_pages_with_text_share",
        "min_chunk_chars",
        "max_chunk_chars",
        "min_compressed_share",
        "max_markup_share",
        "max_excluded_chunk_share",
    }
)
# Hashed only once set: indexes built before they existed keep their hash while they are unset.
HASHED_WHEN_SET_QUALITY_FIELDS = frozenset({"boilerplate_patterns"})
RUN_LEVEL_QUALITY_FIELDS = frozenset(
    {
        "boilerplate_min_documents",
        "max_failure_share",
        "min_objects_for_failure_share",
        "documents_per_validation",
        "suite_override_file",
        "data_docs_dir",
    }
)


def pipeline_config_hash(settings: Settings, embedding_model_id: str) -> str:
    """SHA-256 (hex, 16 chars) of the settings and model that shape chunks, vectors and quarantines."""
    override = settings.quality.suite_override_file
    payload = {
        "pipeline": PIPELINE_VERSION,
        "parse": settings.parse.model_dump(mode="json"),
        "model": embedding_model_id,
        "collection": settings.weaviate.collection,
        "max_object_bytes": settings.source.max_object_bytes,
        "quality": settings.quality.model_dump(mode="json", include=set(HASHED_QUALITY_FIELDS)),
        "quality_override": _file_digest(override) if override else None,
    }
    # Added later, and in the payload only when they change what is indexed, so that an index built
    # before them keeps its hash (and is not re-processed) while they stay off.
    if settings.embed.chunk_header != "none":
        payload["chunk_header"] = settings.embed.chunk_header
    if settings.quality.boilerplate_patterns:
        payload["boilerplate_patterns"] = list(settings.quality.boilerplate_patterns)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
