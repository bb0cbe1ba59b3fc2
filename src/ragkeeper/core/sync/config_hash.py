"""A fingerprint of everything that decides what an object becomes in the index.

A change of parsing, chunking, embedding model, size limit or quality rules re-processes every
object: chunks and vectors are rebuilt, and quarantined objects get another chance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ragkeeper.settings import Settings

# Bump when the parsing/chunking code changes what it produces for the same settings.
PIPELINE_VERSION = 1


def pipeline_config_hash(settings: Settings, embedding_model_id: str) -> str:
    """SHA-256 (hex, 16 chars) of the settings and model that shape chunks, vectors and quarantines."""
    override = settings.quality.suite_override_file
    payload = {
        "pipeline": PIPELINE_VERSION,
        "parse": settings.parse.model_dump(mode="json"),
        "model": embedding_model_id,
        "collection": settings.weaviate.collection,
        "max_object_bytes": settings.source.max_object_bytes,
        "quality": settings.quality.model_dump(
            mode="json", exclude={"data_docs_dir", "documents_per_validation"}
        ),
        "quality_override": _file_digest(override) if override else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
