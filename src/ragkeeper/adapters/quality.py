"""Quality gate adapter: Great Expectations 1.x suites, built in code, over a batch of parsed documents.

Two suites run once per call to `validate`, each over one pandas DataFrame:

- `ragkeeper-documents`, one row per document (columns in `core.quality.metrics.DOCUMENT_COLUMNS`);
- `ragkeeper-chunks`, one row per chunk (columns in `core.quality.metrics.CHUNK_COLUMNS`).

Results are read with `result_format="COMPLETE"`, whose `unexpected_index_list` holds the DataFrame
index (row position) of every failing row; rows map back to documents by position. Extra expectations
may come from `quality.suite_override_file`. Data Docs are built into `quality.data_docs_dir`.
"""

# great_expectations/expectations/__init__.py re-exports its classes without `__all__`, so pyright
# flags the documented `gx.expectations.ExpectColumn...` spelling as a private import.
# pyright: reportPrivateImportUsage=false

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

from ragkeeper.core.quality.metrics import (
    CHUNK_COLUMNS,
    DOCUMENT_COLUMNS,
    REQUIRED_CHUNK_METADATA,
    chunk_rows,
    document_rows,
    shorten,
)
from ragkeeper.errors import ConfigError, first_line
from ragkeeper.models import ParsedDocument, QualityReport
from ragkeeper.settings import QualitySettings

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.data_context import AbstractDataContext, EphemeralDataContext
    from great_expectations.datasource.fluent import PandasDatasource
    from great_expectations.expectations.expectation import Expectation

# Great Expectations sends usage statistics unless told not to.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

log = logging.getLogger(__name__)

Suite = Literal["document", "chunk"]
Row = dict[str, Any]
SUITES: tuple[Suite, ...] = ("document", "chunk")
COLUMNS: dict[Suite, tuple[str, ...]] = {"document": DOCUMENT_COLUMNS, "chunk": CHUNK_COLUMNS}
CHECK_KEY = "ragkeeper_check"  # meta key that ties a GX result back to its check
DETAILED_ROWS_PER_CHECK = 3  # per document; further failing chunks of one check are counted, not listed
_DOCS_SITE = "local_site"


@dataclass(frozen=True)
class Check:
    """One expectation with the words that explain a failing row to a person."""

    suite: Suite
    label: str
    expectation: Expectation
    explain: Callable[[Row], str] | None = None  # None: show the checked value (override expectations)

    @property
    def name(self) -> str:
        """`expectation_type(column, ...)` (no parentheses without columns), as reasons name it."""
        columns = _columns(self.expectation)
        kind = self.expectation.expectation_type
        return f"{kind}({', '.join(columns)})" if columns else kind


def _columns(expectation: Expectation) -> list[str]:
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

    checks = [
        Check(
            "document",
            "text present",
            e.ExpectColumnValuesToBeBetween(column="text_chars", min_value=1),
            lambda r: "no text was extracted",
        ),
        Check(
            "document",
            "printable text",
            e.ExpectColumnValuesToBeBetween(column="printable_share", min_value=s.min_printable_share),
            lambda r: (
                f"printable share {r['printable_share']:.2f} < min_printable_share {s.min_printable_share}"
            ),
        ),
        Check(
            "document",
            "every page has text",
            e.ExpectColumnPairValuesToBeEqual(
                column_A="pages_with_text", column_B="page_count", ignore_row_if="either_value_is_missing"
            ),
            lambda r: f"{int(r['pages_with_text'])} of {int(r['page_count'])} pages produced elements",
        ),
        Check(
            "document",
            "at least one chunk",
            e.ExpectColumnValuesToBeBetween(column="chunk_count", min_value=1),
            lambda r: "the document produced no chunks",
        ),
        Check(
            "chunk",
            "non-empty text",
            e.ExpectColumnValuesToMatchRegex(column="text", regex=r"\S"),
            lambda r: "text is empty or blank",
        ),
        Check(
            "chunk",
            "chunk length",
            e.ExpectColumnValueLengthsToBeBetween(
                column="text", min_value=s.min_chunk_chars, max_value=s.max_chunk_chars
            ),
            length_detail,
        ),
        Check(
            "chunk",
            "unique chunk id",
            e.ExpectColumnValuesToBeUnique(column="chunk_id"),
            lambda r: f"chunk id {r['chunk_id']} is not unique in the batch",
        ),
        *(
            Check(
                "chunk",
                "required metadata",
                e.ExpectColumnValuesToNotBeNull(column=name),
                lambda r, name=name: f"{name} is missing or empty",
            )
            for name in REQUIRED_CHUNK_METADATA
        ),
        Check(
            "chunk",
            "no runaway repetition",
            e.ExpectColumnValuesToBeBetween(
                column="repeated_line_share", max_value=s.max_repeated_line_share
            ),
            lambda r: (
                f"repeated-line share {r['repeated_line_share']:.3f}"
                f" > max_repeated_line_share {s.max_repeated_line_share}"
            ),
        ),
    ]
    return checks


def load_override_checks(path: Path) -> list[Check]:
    """Extra expectations from a JSON override file; ConfigError (one line) when it is malformed.

    Format: `{"document": [...], "chunk": [...]}`, both optional, each a list of
    `{"type": "expect_...", "kwargs": {...}}` naming a Great Expectations 1.x expectation and its
    arguments; columns must be among the suite's columns.
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
    if not isinstance(item, dict) or not isinstance(kind, str) or not set(item) <= {"type", "kwargs"}:
        raise ConfigError(f'{where}: expected {{"type": "expect_...", "kwargs": {{...}}}}')
    kwargs = item.get("kwargs", {})
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
    return Check(suite, "override expectation", expectation)


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    details = errors() if callable(errors) else None
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first: dict[str, Any] = details[0]
        location = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
        return f"{location}: {first.get('msg')}" if location else str(first.get("msg"))
    return first_line(error)


def ephemeral_context() -> EphemeralDataContext:
    """A Great Expectations context held in memory (no files written), without progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def add_validation(
    context: AbstractDataContext,
    source: PandasDatasource,
    name: str,
    expectations: Mapping[str, Expectation],
) -> ValidationDefinition:
    """A validation of a whole DataFrame by a suite of `expectations`, each tagged with its key.

    `check_key` reads the key back from the expectation's result.
    """
    import great_expectations as gx

    for key, expectation in expectations.items():
        expectation.meta = {**(expectation.meta or {}), CHECK_KEY: key}
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=list(expectations.values())))
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def check_key(item: ExpectationValidationResult) -> str:
    """The key `add_validation` tagged the result's expectation with."""
    config = item.expectation_config
    return str((config.meta or {}).get(CHECK_KEY)) if config is not None else ""


class GreatExpectationsGate:
    """QualityGate on Great Expectations 1.x: an ephemeral context, suites built in code."""

    def __init__(self, settings: QualitySettings) -> None:
        checks = builtin_checks(settings)
        if settings.suite_override_file is not None:
            checks += load_override_checks(settings.suite_override_file)
        self._checks = {f"{check.suite}-{number}": check for number, check in enumerate(checks)}
        self._docs_dir = settings.data_docs_dir.expanduser().resolve()
        self._lock = threading.Lock()

        context = ephemeral_context()
        context.update_data_docs_site(
            _DOCS_SITE,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self._docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        source = context.data_sources.add_pandas("ragkeeper")
        self._context = context
        self._validations = {
            suite: add_validation(
                context,
                source,
                f"ragkeeper-{suite}s",
                {key: check.expectation for key, check in self._checks.items() if check.suite == suite},
            )
            for suite in SUITES
        }

    def validate(self, documents: Sequence[ParsedDocument]) -> QualityReport:
        """Run both suites once over all `documents`; failing documents (by URI) come with their reasons."""
        import pandas as pd
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        rows: dict[Suite, list[Row]] = {"document": document_rows(documents), "chunk": chunk_rows(documents)}
        failures: dict[str, list[str]] = {}
        summaries: list[dict[str, object]] = []
        with self._lock:
            run_id = RunIdentifier(run_name="ragkeeper", run_time=datetime.now(UTC))
            built: list[Any] = []
            for suite in SUITES:
                frame = pd.DataFrame(rows[suite], columns=pd.Index(COLUMNS[suite]))
                validation = self._validations[suite]
                result = validation.run(
                    batch_parameters={"dataframe": frame}, result_format="COMPLETE", run_id=run_id
                )
                suite_id = ExpectationSuiteIdentifier(name=validation.suite.name)
                built += [suite_id, ValidationResultIdentifier(suite_id, run_id, result.batch_id)]
                for item in sorted(result.results, key=self._order):
                    check = self._check_of(item)
                    summaries.append(_summary(check, item))
                    for uri, reason in self._reasons(check, item, rows[suite], documents):
                        failures.setdefault(uri, []).append(reason)
            docs_path = self._build_docs(built)
        return QualityReport(
            documents_checked=len(documents),
            chunks_checked=len(rows["chunk"]),
            failures={
                doc.obj.uri: tuple(failures[doc.obj.uri]) for doc in documents if doc.obj.uri in failures
            },
            expectation_results=tuple(summaries),
            data_docs_path=docs_path,
        )

    def _order(self, item: ExpectationValidationResult) -> int:
        return list(self._checks).index(check_key(item))

    def _check_of(self, item: ExpectationValidationResult) -> Check:
        check = self._checks[check_key(item)]
        message = raised_message(item.exception_info)
        if message is not None:
            raise ConfigError(f"quality expectation {check.name} could not run: {message}")
        return check

    def _reasons(
        self,
        check: Check,
        item: ExpectationValidationResult,
        rows: list[Row],
        documents: Sequence[ParsedDocument],
    ) -> list[tuple[str, str]]:
        if item.success:
            return []
        indexes = item.result.get("unexpected_index_list")
        if indexes is None:  # an aggregate expectation: it judges the batch, not a row
            reason = f"{check.label} failed for the whole batch [{check.name}]"
            return [(doc.obj.uri, reason) for doc in documents]
        if check.suite == "document":
            return [(rows[i]["uri"], self._row_reason(check, rows[i], "")) for i in indexes]
        per_document: dict[str, list[int]] = {}
        for index in indexes:
            per_document.setdefault(rows[index]["document_uri"], []).append(index)
        reasons = []
        for uri, found in per_document.items():
            shown = found[:DETAILED_ROWS_PER_CHECK]
            reasons += [
                (uri, self._row_reason(check, rows[i], f"chunk {rows[i]['chunk_index']}: ")) for i in shown
            ]
            if len(found) > len(shown):
                reasons.append((uri, f"{check.name} failed for {len(found) - len(shown)} more chunks"))
        return reasons

    @staticmethod
    def _row_reason(check: Check, row: Row, subject: str) -> str:
        if check.explain is not None:
            return f"{subject}{check.label} failed: {check.explain(row)} [{check.name}]"
        values = ", ".join(f"{name}={shorten(row.get(name))}" for name in _columns(check.expectation))
        return f"{subject}{check.label} failed: {values or 'row'} [{check.name}]"

    def _build_docs(self, resources: list[Any]) -> str | None:
        """Render this call's suites and results, and the index of every result this gate holds.

        GX's index builder removes pages of results it does not hold, so the site shows this gate's
        (this run's) validations only.
        """
        try:
            urls = self._context.build_data_docs(site_names=[_DOCS_SITE], resource_identifiers=resources)
        except OSError as error:
            log.warning("could not write Great Expectations Data Docs to %s: %s", self._docs_dir, error)
            return None
        url = urls.get(_DOCS_SITE)
        return unquote(urlparse(url).path) if url else None


def raised_message(exception_info: dict[str, Any] | None) -> str | None:
    """The exception message of an expectation that could not run (GX nests it per metric), or None."""
    if not exception_info:
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message") or "unknown error").splitlines()[0]
    for value in exception_info.values():
        if isinstance(value, dict):
            nested = raised_message(value)
            if nested is not None:
                return nested
    return None


def _summary(check: Check, item: ExpectationValidationResult) -> dict[str, object]:
    result = item.result or {}
    return {
        "suite": check.suite,
        "check": check.label,
        "expectation_type": check.expectation.expectation_type,
        "column": ", ".join(_columns(check.expectation)) or None,
        "success": bool(item.success),
        "unexpected_count": _int_or_none(result.get("unexpected_count")),
        "element_count": _int_or_none(result.get("element_count")),
    }


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
