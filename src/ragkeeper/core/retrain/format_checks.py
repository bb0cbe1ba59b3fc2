"""Format checks on generated answers: valid JSON, JSON matching a schema, or a regex matching the whole."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class FormatCheck:
    """One check, as a dataset entry's `format_check` declares it."""

    kind: Literal["json", "json_schema", "regex"]
    json_schema: Mapping[str, Any] | None = None
    pattern: str | None = None


def passes(answer: str, check: FormatCheck) -> bool:
    """Whether one answer passes the check."""
    if check.kind == "regex":
        return re.fullmatch(check.pattern or "", answer.strip(), flags=re.DOTALL) is not None
    try:
        value: Any = json.loads(answer)
    except ValueError:
        return False
    if check.kind == "json":
        return True
    import jsonschema

    return jsonschema.Draft202012Validator(dict(check.json_schema or {})).is_valid(value)


def pass_rate(answers: Sequence[str], check: FormatCheck) -> float | None:
    """The share of answers that pass (None when there are no answers)."""
    if not answers:
        return None
    return sum(passes(answer, check) for answer in answers) / len(answers)
