"""Style datasets for tests: valid chat examples, and broken ones of every kind the checks refuse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BASE_MODEL = "gpt-4o-mini-2024-07-18"


def example(n: int, *, system: bool = True, answer: str | None = None) -> dict[str, Any]:
    """A valid chat example; `n` makes it unique."""
    messages = [{"role": "user", "content": f"How do I rotate key number {n}?"}]
    if system:
        messages.insert(0, {"role": "system", "content": "Answer in one short, friendly sentence."})
    messages.append({"role": "assistant", "content": answer or f"Open the vault and rotate key {n}."})
    return {"messages": messages}


def jsonl(examples: list[Any]) -> bytes:
    """Examples (objects, or raw strings taken as lines) as JSONL bytes."""
    lines = [item if isinstance(item, str) else json.dumps(item) for item in examples]
    return ("\n".join(lines) + "\n").encode()


def valid_dataset(count: int = 12, start: int = 0, **kwargs: Any) -> bytes:
    """`count` valid, distinct examples."""
    return jsonl([example(n, **kwargs) for n in range(start, start + count)])


@dataclass(frozen=True)
class Broken:
    """A broken dataset: its files, and where the problem is reported and what it says."""

    training: bytes
    file: str
    line: int  # 0: the file as a whole
    says: str
    validation: bytes | None = None
    also_at: tuple[int, ...] = ()  # other lines of the same file the problem is reported at


def _with_line(line: int, replacement: Any, count: int = 12) -> bytes:
    items: list[Any] = [example(n) for n in range(count)]
    items[line - 1] = replacement
    return jsonl(items)


def _message(**fields: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}, fields]
    }


LONG_TEXT = "word " * 300

BROKEN: dict[str, Broken] = {
    "invalid JSON": Broken(_with_line(3, '{"messages": [{"role": "user"'), "training", 3, "not valid JSON"),
    "invalid UTF-8": Broken(
        valid_dataset(5) + b'{"messages": "\xff\xfe"}\n' + valid_dataset(6, start=5),
        "training",
        6,
        "not valid UTF-8",
    ),
    "line is not an object": Broken(_with_line(4, "[1, 2, 3]"), "training", 4, "JSON array, not an object"),
    "no messages key": Broken(_with_line(5, {"conversation": []}), "training", 5, 'no "messages" key'),
    "messages not a list": Broken(
        _with_line(6, {"messages": "hello"}), "training", 6, '"messages" is a JSON string, not a list'
    ),
    "messages empty": Broken(_with_line(7, {"messages": []}), "training", 7, '"messages" is empty'),
    "unknown top-level key": Broken(
        _with_line(2, {**example(99), "label": "x"}), "training", 2, "unknown key 'label'"
    ),
    "message not an object": Broken(
        _with_line(8, {"messages": ["hello", {"role": "assistant", "content": "hi"}]}),
        "training",
        8,
        "message 1 is a JSON string, not an object",
    ),
    "missing role": Broken(_with_line(9, _message(content="x")), "training", 9, 'message 3 has no "role"'),
    "invalid role": Broken(
        _with_line(10, _message(role="bot", content="x")), "training", 10, "message 3 has role 'bot'"
    ),
    "missing content": Broken(
        _with_line(11, _message(role="assistant")), "training", 11, 'message 3 has no "content"'
    ),
    "content not a string": Broken(
        _with_line(12, _message(role="assistant", content=["a", "b"])),
        "training",
        12,
        "message 3 content is a JSON array, not a string",
    ),
    "empty content": Broken(
        _with_line(1, _message(role="assistant", content="  ")), "training", 1, "content is empty"
    ),
    "unknown message key": Broken(
        _with_line(3, _message(role="assistant", content="x", tool="y")), "training", 3, "unknown key 'tool'"
    ),
    "weight on a user message": Broken(
        _with_line(4, _message(role="user", content="x", weight=1)), "training", 4, "only assistant messages"
    ),
    "no assistant message": Broken(
        _with_line(5, {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}),
        "training",
        5,
        "no assistant message",
    ),
    "example too long": Broken(
        _with_line(6, example(6, answer=LONG_TEXT)), "training", 6, "above the limit of 200 tokens"
    ),
    "too few examples": Broken(valid_dataset(7), "training", 0, "7 examples; at least 10 are needed"),
    "duplicate examples": Broken(
        _with_line(9, example(2)), "training", 9, "duplicate example: identical to line 3", also_at=(3,)
    ),
    "validation overlaps training": Broken(
        valid_dataset(12),
        "validation",
        2,
        "also in the training file at line 5",
        validation=jsonl([example(20), example(4)]),
    ),
}
TOKEN_LIMIT_FOR_BROKEN = 200  # max_tokens_per_example used with BROKEN
