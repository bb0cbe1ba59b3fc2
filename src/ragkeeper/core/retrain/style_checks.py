"""Per-example figures of a chat fine-tuning dataset, the columns the dataset checks run over.

The checks follow OpenAI's chat fine-tuning data-preparation guide: each line a JSON object with a
`messages` list; each message an object with a known role, string content and no unknown keys; at
least one assistant message per example; warnings when the system or user message is missing; the
token count of an example against the model's limit. This module turns each line into one row of
plain figures (no judgement beyond describing what is wrong); the Great Expectations suite in
`adapters/dataset_quality.py` judges the rows. Token counting is passed in, so this stays pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ragkeeper.core.retrain.style_dataset import DatasetLine

ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
EXAMPLE_KEYS = frozenset({"messages"})
TOKENS_PER_MESSAGE = 3  # the chat format's framing of each message, as the guide counts it
TOKENS_PER_NAME = 1
TOKENS_PER_REPLY = 3

# Longest training example (tokens) per base model, by name prefix; the first match wins.
MODEL_TOKEN_LIMITS: tuple[tuple[str, int], ...] = (
    ("gpt-4.1", 65_536),
    ("gpt-4o", 65_536),
    ("gpt-3.5-turbo-0125", 16_385),
    ("gpt-3.5-turbo-1106", 16_385),
    ("gpt-3.5-turbo", 4_096),
)
DEFAULT_TOKEN_LIMIT = 16_385

COLUMNS = (
    "file",
    "line",
    "json_error",
    "messages_error",
    "message_error",
    "system_messages",
    "user_messages",
    "assistant_messages",
    "tokens",
    "example_hash",
)

Row = dict[str, Any]


def token_limit(base_model: str, configured: int | None = None) -> int:
    """The per-example token limit: the configured one, else the base model's known limit."""
    if configured is not None:
        return configured
    model = base_model.removeprefix("ft:")
    return next(
        (limit for prefix, limit in MODEL_TOKEN_LIMITS if model.startswith(prefix)), DEFAULT_TOKEN_LIMIT
    )


def example_rows(file: str, lines: Sequence[DatasetLine], count_tokens: Callable[[str], int]) -> list[Row]:
    """One row per line, with the columns in `COLUMNS` (None where a figure cannot be computed)."""
    return [_row(file, line, count_tokens) for line in lines]


def _row(file: str, line: DatasetLine, count_tokens: Callable[[str], int]) -> Row:
    row: Row = dict.fromkeys(COLUMNS)
    row.update(file=file, line=line.number)
    if line.error is not None:
        row["json_error"] = line.error
        return row
    value = line.value
    if not isinstance(value, dict):
        row["json_error"] = f"the line is a JSON {_json_type(value)}, not an object"
        return row
    row["example_hash"] = hashlib.sha256(line.canonical.encode("utf-8")).hexdigest()
    messages = value.get("messages")
    row["messages_error"] = _messages_error(value, messages)
    if not isinstance(messages, list):
        return row
    row["message_error"] = "; ".join(_message_errors(messages)) or None
    dicts = [m for m in messages if isinstance(m, dict)]
    for role in ROLES:
        row[f"{role}_messages"] = sum(1 for m in dicts if m.get("role") == role)
    row["tokens"] = example_tokens(dicts, count_tokens)
    return row


def _messages_error(example: dict[str, Any], messages: object) -> str | None:
    unknown = sorted(set(example) - EXAMPLE_KEYS)
    problems = []
    if "messages" not in example:
        problems.append('no "messages" key')
    elif not isinstance(messages, list):
        problems.append(f'"messages" is a JSON {_json_type(messages)}, not a list')
    elif not messages:
        problems.append('"messages" is empty')
    if unknown:
        problems.append(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    return "; ".join(problems) or None


def _message_errors(messages: list[Any]) -> list[str]:
    problems: list[str] = []
    for position, message in enumerate(messages, start=1):
        where = f"message {position}"
        if not isinstance(message, dict):
            problems.append(f"{where} is a JSON {_json_type(message)}, not an object")
            continue
        role = message.get("role")
        if "role" not in message:
            problems.append(f'{where} has no "role"')
        elif role not in ROLES:
            problems.append(f"{where} has role {role!r}, not one of {', '.join(ROLES)}")
        content = message.get("content")
        if "content" not in message:
            problems.append(f'{where} has no "content"')
        elif not isinstance(content, str):
            problems.append(f"{where} content is a JSON {_json_type(content)}, not a string")
        elif not content.strip():
            problems.append(f"{where} content is empty")
        unknown = sorted(set(message) - MESSAGE_KEYS)
        if unknown:
            problems.append(
                f"{where} has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            )
        if "name" in message and not isinstance(message["name"], str):
            problems.append(f'{where} "name" is not a string')
        if "weight" in message:
            if role != "assistant":
                problems.append(f'{where} has "weight", which only assistant messages may have')
            elif message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
                problems.append(f'{where} "weight" is {message["weight"]!r}, not 0 or 1')
    return problems


def example_tokens(messages: Sequence[dict[str, Any]], count_tokens: Callable[[str], int]) -> int:
    """Tokens of one example as the guide counts them: framing per message, each string value, a reply."""
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key in ("role", "content", "name"):
            value = message.get(key)
            if isinstance(value, str):
                total += count_tokens(value)
                if key == "name":
                    total += TOKENS_PER_NAME
    return total


def first_lines_by_hash(rows: Sequence[Row]) -> dict[str, list[int]]:
    """Line numbers of each example hash, in file order (to name the other copy of a duplicate)."""
    lines: dict[str, list[int]] = {}
    for row in rows:
        if row["example_hash"] is not None:
            lines.setdefault(row["example_hash"], []).append(row["line"])
    return lines


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
