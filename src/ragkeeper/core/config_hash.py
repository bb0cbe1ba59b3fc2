"""A fingerprint of everything that shapes a chunk or its vector, so a settings change re-processes."""

from __future__ import annotations

import hashlib
import json

from ragkeeper.settings import ParseSettings

# Bump when the parsing/chunking code changes what it produces for the same settings.
PIPELINE_VERSION = 1


def pipeline_config_hash(parse: ParseSettings, embedding_model_id: str, collection: str) -> str:
    """SHA-256 (hex, 16 chars) of the parse settings, the embedding model id and the collection."""
    payload = {
        "pipeline": PIPELINE_VERSION,
        "parse": parse.model_dump(mode="json"),
        "model": embedding_model_id,
        "collection": collection,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
