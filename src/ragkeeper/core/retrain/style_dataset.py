"""Style datasets: reading JSONL lines, normalising them, and the fingerprint of a dataset version.

A dataset file is JSONL: one chat example per line. Normalising makes the content independent of how
it was written: line endings, a UTF-8 byte-order mark, blank lines, whitespace and key order inside
each JSON object do not change it. The normalised text (canonical JSON, one example per line) is what
is fingerprinted and what is uploaded, so the provider trains on exactly what was checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

FINGERPRINT_FORMAT = 1  # bump when normalisation changes, so every dataset counts as changed once


@dataclass(frozen=True, slots=True)
class DatasetLine:
    """One non-blank line: its 1-based number in the stored file, its value, or why it did not parse."""

    number: int
    canonical: str  # canonical JSON when it parsed, else the line as stored (stripped)
    value: object = None
    error: str | None = None  # invalid UTF-8, invalid JSON


@dataclass(frozen=True, slots=True)
class DatasetFile:
    """A parsed dataset file: its non-blank lines in order."""

    lines: tuple[DatasetLine, ...]

    @property
    def normalised(self) -> bytes:
        """The canonical content: one canonical JSON line per example, newline-terminated."""
        return "".join(line.canonical + "\n" for line in self.lines).encode("utf-8")

    @property
    def digest(self) -> str:
        """SHA-256 of the normalised content."""
        return hashlib.sha256(self.normalised).hexdigest()


def canonical_json(value: object) -> str:
    """Compact JSON with sorted keys and unescaped non-ASCII: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_dataset(data: bytes) -> DatasetFile:
    """Split JSONL bytes into lines and parse each one; blank lines are skipped, errors kept per line."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines: list[DatasetLine] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        stripped = raw.strip()
        if stripped:
            lines.append(_parse_line(number, stripped))
    return DatasetFile(tuple(lines))


def _parse_line(number: int, stripped: bytes) -> DatasetLine:
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as error:
        shown = stripped.decode("utf-8", errors="replace")
        return DatasetLine(number, shown, error=f"not valid UTF-8 (byte {error.start + 1} of the line)")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        return DatasetLine(number, text, error=f"not valid JSON: {error.msg} (column {error.colno})")
    except ValueError as error:
        return DatasetLine(number, text, error=f"not valid JSON: {error}")
    # What is fingerprinted and uploaded must be JSON the provider can read back, in UTF-8.
    try:
        canonical = canonical_json(value)
        canonical.encode("utf-8")
    except UnicodeEncodeError:  # a ValueError too: caught first
        return DatasetLine(number, text, error="not valid UTF-8: a \\u escape is an unpaired surrogate")
    except ValueError:
        return DatasetLine(number, text, error="not valid JSON: a number is out of range")
    return DatasetLine(number, canonical, value=value)


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; JSON (and the fine-tuning API) does not.
    raise ValueError(f"{name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # A repeated key would silently lose one of its values in the normalised (uploaded) text.
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def dataset_fingerprint(
    training: DatasetFile, validation: DatasetFile | None, training_config: Mapping[str, object]
) -> str:
    """SHA-256 identifying one version of a dataset: its normalised files and how it is trained.

    The training configuration (base model, hyperparameters, suffix) is part of the version: the same
    examples on another base model are another model, and another job.
    """
    document = {
        "format": FINGERPRINT_FORMAT,
        "training": training.digest,
        "validation": validation.digest if validation is not None else None,
        "config": dict(training_config),
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """A dataset as read now: its fingerprint and its parsed files."""

    fingerprint: str
    training: DatasetFile
    validation: DatasetFile | None = None
