"""What the fine-tuning API accepts, as our stand-in checks it. A stand-in, NOT the OpenAI API.

Uploads with purpose `fine-tune` must be JSONL whose every line is a JSON object with a `messages`
list; a job's training file needs at least 10 well-formed examples (checked while the job validates
its files, as the API does); hyperparameters, metadata and suffix stay within the documented limits.
Each check raises `ApiError` with a message close to, not a copy of, the API's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.support.openai_server import ApiError

MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
ROLES = ("system", "user", "assistant")


def check_fine_tune_upload(filename: str, content: bytes) -> None:
    """What the API checks when a fine-tune file is uploaded (the examples are checked by the job)."""
    if not filename.endswith(".jsonl"):
        raise ApiError(
            400, f"Invalid file format for Fine-Tuning API. Must be .jsonl (got {filename}).", param="file"
        )
    if len(content) > MAX_FILE_BYTES:
        raise ApiError(400, "File is too large: fine-tuning files can be at most 512 MB.", param="file")
    if not content.strip():
        raise ApiError(400, "File is empty.", param="file")
    for number, line in enumerate(content.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(
                400, f"Invalid file format. Line {number} is not valid JSON.", param="file"
            ) from None
        if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
            raise ApiError(
                400,
                f"Invalid file format. Line {number}: each line must be a JSON object with a "
                "'messages' list.",
                param="file",
            )


def example_problem(content: bytes, minimum: int) -> str | None:
    """The first problem the job's file validation finds, or None."""
    examples = [json.loads(line) for line in content.split(b"\n") if line.strip()]
    if len(examples) < minimum:
        return f"it has {len(examples)} example(s), but must have at least {minimum}"
    for number, example in enumerate(examples, start=1):
        messages = example["messages"]
        for position, message in enumerate(messages, start=1):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return f"example {number}, message {position}: invalid or missing role"
            if not isinstance(message.get("content"), str):
                return f"example {number}, message {position}: content must be a string"
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            return f"example {number}: no assistant message"
    return None


def hyperparameters(body: Mapping[str, Any]) -> dict[str, Any]:
    method = body.get("method")
    given: object = body.get("hyperparameters") or {}
    if method is not None:
        if not isinstance(method, dict) or method.get("type") != "supervised":
            raise ApiError(400, "This stand-in serves supervised fine-tuning only.", param="method")
        given = (method.get("supervised") or {}).get("hyperparameters") or {}
    if not isinstance(given, dict):
        raise ApiError(400, "hyperparameters must be an object", param="hyperparameters")
    bounds = {
        "n_epochs": (1, 50, int),
        "batch_size": (1, 256, int),
        "learning_rate_multiplier": (0, 10, float),
    }
    unknown = sorted(set(given) - set(bounds))
    if unknown:
        raise ApiError(400, f"Unknown hyperparameter: {unknown[0]}", param="hyperparameters")
    resolved: dict[str, Any] = {}
    for name, (low, high, kind) in bounds.items():
        value = given.get(name, "auto")
        if value == "auto":
            resolved[name] = "auto"
            continue
        ok_type = isinstance(value, int | float) if kind is float else isinstance(value, int)
        if (
            isinstance(value, bool)
            or not ok_type
            or not (low < value <= high if kind is float else low <= value <= high)
        ):
            raise ApiError(
                400, f"Invalid value for hyperparameter {name}: {value!r}", param=f"hyperparameters.{name}"
            )
        resolved[name] = value
    return resolved


def metadata(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "metadata must be an object", param="metadata")
    if len(value) > 16:
        raise ApiError(400, f"metadata has {len(value)} pairs; at most 16 are allowed", param="metadata")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise ApiError(
                400,
                f"metadata {key!r}: keys are strings of at most 64 characters, values of at most 512",
                param="metadata",
            )
    return dict(value)
