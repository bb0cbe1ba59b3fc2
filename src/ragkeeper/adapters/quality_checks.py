"""The quality gate's checks: expectations, the words that explain a failure, and what a failure does.

Each check says its action:

- `quarantine_document`: the document is kept out of the index (every document-level check);
- `drop_chunk`: only the failing chunk is left out and reported; its document stays indexed unless
  more than `quality.max_excluded_chunk_share` of its chunks are left out;
- `fail_run`: the finding means the pipeline itself is broken (duplicate ids, missing metadata), so
  the run fails before anything of the batch is written.

Extra expectations may come from `quality.suite_override_file`.
"""

# great_expectations/expectations/__init__.py re-exports its classes without `__all__`, so pyright
# flags the documented `gx.expectations.ExpectColumn...` spelling as a private import.
# pyright: reportPrivateImportUsage=false

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ragkeeper.core.quality.metrics import CHUNK_COLUMNS, DOCUMENT_COLUMNS, REQUIRED_CHUNK_METADATA
from ragkeeper.errors import ConfigError, first_line
from ragkeeper.pipeline_settings import QualitySettings

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

Suite = Literal["document", "chunk"]
Action = Literal["quarantine_document", "drop_chunk", "fail_run"]
Row = dict[str, Any]
SUITES: tuple[Suite, ...] = ("document", "chunk")
COLUMNS: dict[Suite, tuple[str, ...]] = {"document": DOCUMENT_COLUMNS, "chunk": CHUNK_COLUMNS}
DEFAULT_ACTION: dict[Suite, Action] = {"document": "quarantine_document", "chunk": "drop_chunk"}


@dataclass(frozen=True)
class Check:
    """One expectation, what its failure does, and the words that explain a failing row to a person."""

    suite: Suite
    label: str
    expectation: Expectation
    action: Action
    explain: Callable[[Row], str] | None = None  # None: show the checked value (override expectations)

    @property
    def name(self) -> str:
        """`expectation_type(column, ...)` (no parentheses without columns), as reasons name it."""
        columns = columns_of(self.expectation)
        kind = self.expectation.expectation_type
        return f"{kind}({', '.join(columns)})" if columns else kind


def columns_of(expectation: Expectation) -> list[str]:
    """The columns an expectation looks at."""
    fields = vars(expectation)
    names = [fields[key] for key in ("column", "column_A", "column_B") if isinstance(fields.get(key), str)]
    return names + [str(name) for name in fields.get("column_list") or []]


def builtin_checks(s: QualitySettings) -> list[Check]:
    """The document- and chunk-level checks every run applies, configured from settings."""
    import great_expectations as gx

    e = gx.expectations

    def length_detail(row: Row) -> str:
        n = row["text_chars"]
        if n > s.max_chunk_chars:
            return f"text length {n} > max_chunk_chars {s.max_chunk_chars}"
        return f"text length {n} < min_chunk_chars {s.min_chunk_chars}"

    document: Action = "quarantine_document"
    return [
        Check(
            "document",
            "text present",
            e.ExpectColumnValuesToBeBetween(column="text_chars", min_value=1),
            document,
            lambda r: "no text was extracted",
        ),
        Check(
            "document",
            "printable text",
            e.ExpectColumnValuesToBeBetween(column="printable_share", min_value=s.min_printable_share),
            document,
            lambda r: (
                f"printable share {r['printable_share']:.2f} < min_printable_share {s.min_printable_share}"
            ),
        ),
        Check(
            "document",
            "pages have text",
            e.ExpectColumnValuesToBeBetween(
                column="pages_with_text_share", min_value=s.min_pages_with_text_share
            ),
            document,
            lambda r: (
                f"{int(r['pages_with_text'])} of {int(r['page_count'])} pages produced elements"
                f" (< min_pages_with_text_share {s.min_pages_with_text_share})"
            ),
        ),
        Check(
            "document",
            "at least one chunk",
            e.ExpectColumnValuesToBeBetween(column="chunk_count", min_value=1),
            document,
            lambda r: "the document produced no chunks",
        ),
        Check(
            "chunk",
            "non-empty text",
            e.ExpectColumnValuesToMatchRegex(column="text", regex=r"\S"),
            "drop_chunk",
            lambda r: "text is empty or blank",
        ),
        Check(
            "chunk",
            "chunk length",
            e.ExpectColumnValueLengthsToBeBetween(
                column="text", min_value=s.min_chunk_chars, max_value=s.max_chunk_chars
            ),
            "drop_chunk",
            length_detail,
        ),
        Check(
            "chunk",
            "unique chunk id",
            e.ExpectColumnValuesToBeUnique(column="chunk_id"),
            "fail_run",
            lambda r: f"chunk id {r['chunk_id']} is not unique in the batch",
        ),
        *(
            Check(
                "chunk",
                "required metadata",
                e.ExpectColumnValuesToNotBeNull(column=name),
                "fail_run",
                lambda r, name=name: f"{name} is missing or empty",
            )
            for name in REQUIRED_CHUNK_METADATA
        ),
        Check(
            "chunk",
            "no runaway repetition",
            e.ExpectColumnValuesToBeBetween(column="compressed_share", min_value=s.min_compressed_share),
            "drop_chunk",
            lambda r: (
                f"compressed share {r['compressed_share']:.3f} < min_compressed_share"
                f" {s.min_compressed_share} (the text repeats itself)"
            ),
        ),
        Check(
            "chunk",
            "no leaked markup",
            e.ExpectColumnValuesToBeBetween(column="markup_share", max_value=s.max_markup_share),
            "drop_chunk",
            lambda r: f"markup share {r['markup_share']:.2f} > max_markup_share {s.max_markup_share}",
        ),
        *(
            [
                Check(
                    "chunk",
                    "boilerplate",
                    e.ExpectColumnValuesToNotMatchRegexList(column="text", regex_list=s.boilerplate_patterns),
                    "drop_chunk",
                    lambda r: "matches one of quality.boilerplate_patterns",
                )
            ]
            if s.boilerplate_patterns
            else []
        ),
    ]


def load_override_checks(path: Path) -> list[Check]:
    """Extra expectations from a JSON override file; ConfigError (one line) when it is malformed.

    Format: `{"document": [...], "chunk": [...]}`, both optional, each a list of
    `{"type": "expect_...", "kwargs": {...}, "action": "..."}` naming a Great Expectations 1.x
    expectation, its arguments and (optionally) what a failure does: `quarantine_document` (the
    default in "document"), `drop_chunk` (the default in "chunk") or `fail_run`. Columns must be among
    the suite's columns.
    """
    where = f"quality.suite_override_file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except json.JSONDecodeError as error:
        position = f"line {error.lineno} column {error.colno}"
        raise ConfigError(f"{where}: invalid JSON at {position}: {error.msg}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: cannot be read ({error})") from None
    if not isinstance(data, dict) or not set(data) <= set(SUITES):
        raise ConfigError(f'{where}: expected a JSON object with "document" and/or "chunk" lists')
    checks = []
    for suite in SUITES:
        items = data.get(suite, [])
        if not isinstance(items, list):
            raise ConfigError(f'{where}: "{suite}" must be a list of expectations')
        for number, item in enumerate(items):
            checks.append(_override_check(suite, item, f"{where}: {suite}[{number}]"))
    return checks


def _expectation_classes() -> dict[str, type[Expectation]]:
    import great_expectations as gx
    from great_expectations.expectations.expectation import Expectation

    classes = {}
    for value in vars(gx.expectations).values():
        if isinstance(value, type) and issubclass(value, Expectation) and value.expectation_type:
            classes[value.expectation_type] = value
    return classes


def _override_check(suite: Suite, item: object, where: str) -> Check:
    kind = item.get("type") if isinstance(item, dict) else None
    if (
        not isinstance(item, dict)
        or not isinstance(kind, str)
        or not set(item) <= {"type", "kwargs", "action"}
    ):
        raise ConfigError(f'{where}: expected {{"type": "expect_...", "kwargs": {{...}}, "action": "..."}}')
    kwargs = item.get("kwargs", {})
    action = item.get("action", DEFAULT_ACTION[suite])
    if action not in get_args(Action) or (suite == "document" and action == "drop_chunk"):
        allowed = "quarantine_document or fail_run" if suite == "document" else ", ".join(get_args(Action))
        raise ConfigError(f"{where}: action must be {allowed} (got {action!r})")
    cls = _expectation_classes().get(kind)
    if cls is None:
        raise ConfigError(f"{where}: unknown expectation type {kind!r}")
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{where}: kwargs of {kind} must be a JSON object")
    named = [kwargs.get(key) for key in ("column", "column_A", "column_B")]
    listed = kwargs.get("column_list")
    named += listed if isinstance(listed, list) else []
    unknown = [str(name) for name in named if name is not None and name not in COLUMNS[suite]]
    if unknown:
        raise ConfigError(
            f"{where}: {kind} names unknown column {unknown[0]!r};"
            f" {suite} columns: {', '.join(COLUMNS[suite])}"
        )
    try:
        expectation = cls(**kwargs)
    except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"{where}: invalid {kind}: {_first_error(error)}") from None
    return Check(suite, "override expectation", expectation, action)


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    details = errors() if callable(errors) else None
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first: dict[str, Any] = details[0]
        location = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
        return f"{location}: {first.get('msg')}" if location else str(first.get("msg"))
    return first_line(error)
