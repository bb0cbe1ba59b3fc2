"""Quality gate adapter: Great Expectations 1.x suites, built in code, over a group of parsed documents.

Two suites run once per call to `validate`, each over one pandas DataFrame:

- `ragkeeper-documents`, one row per document (columns in `core.quality.metrics.DOCUMENT_COLUMNS`);
- `ragkeeper-chunks`, one row per chunk (columns in `core.quality.metrics.CHUNK_COLUMNS`).

Results are read with `result_format="COMPLETE"`, whose `unexpected_index_list` holds the DataFrame
index (row position) of every failing row; rows map back to documents and chunks by position. What a
failing row does is its check's action (see `adapters.quality_checks`); the report only says what
failed, and `core.quality.verdicts.judge` decides. Data Docs are built into `quality.data_docs_dir`:
each validation's pages when it runs, the index page at most once a minute and on `publish`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ragkeeper.adapters.gx import add_validation, check_key, ephemeral_context, raised_message
from ragkeeper.adapters.quality_checks import (
    COLUMNS,
    SUITES,
    Check,
    Row,
    Suite,
    builtin_checks,
    columns_of,
    load_override_checks,
)
from ragkeeper.core.quality.metrics import chunk_rows, document_rows, shorten
from ragkeeper.errors import ConfigError
from ragkeeper.models import ExcludedChunk, ParsedDocument, QualityReport
from ragkeeper.pipeline_settings import QualitySettings

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

log = logging.getLogger(__name__)

DETAILED_ROWS_PER_CHECK = 3  # per document; further failing chunks of one check are counted, not listed
_DOCS_SITE = "local_site"
# Rendering the index reads back every result the gate holds, so its cost grows with the run.
_INDEX_INTERVAL_SECONDS = 60.0


class _Findings:
    """What the failing rows of one validation said, sorted by action."""

    def __init__(self) -> None:
        self.failures: dict[str, list[str]] = {}
        self.excluded: list[ExcludedChunk] = []
        self.run_failures: list[str] = []

    def quarantine(self, uri: str, reason: str) -> None:
        self.failures.setdefault(uri, []).append(reason)


class GreatExpectationsGate:
    """QualityGate on Great Expectations 1.x: an ephemeral context, suites built in code."""

    def __init__(self, settings: QualitySettings) -> None:
        checks = builtin_checks(settings)
        if settings.suite_override_file is not None:
            checks += load_override_checks(settings.suite_override_file)
        self._checks = {f"{check.suite}-{number}": check for number, check in enumerate(checks)}
        self._docs_dir = settings.data_docs_dir.expanduser().resolve()
        self._lock = threading.Lock()
        self._last_rendered: list[Any] = []
        self._indexed_at: float | None = None

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
        """Run both suites once over `documents`; report failing documents, chunks and run-level findings."""
        import pandas as pd
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        rows: dict[Suite, list[Row]] = {"document": document_rows(documents), "chunk": chunk_rows(documents)}
        findings = _Findings()
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
                    if not item.success:
                        self._record(findings, check, item, rows[suite], documents)
            docs_path = self._build_docs(built, build_index=self._index_due())
        return QualityReport(
            documents_checked=len(documents),
            chunks_checked=len(rows["chunk"]),
            failures={
                doc.obj.uri: tuple(findings.failures[doc.obj.uri])
                for doc in documents
                if doc.obj.uri in findings.failures
            },
            excluded=tuple(findings.excluded),
            run_failures=tuple(findings.run_failures),
            expectation_results=tuple(summaries),
            data_docs_path=docs_path,
        )

    def publish(self) -> str | None:
        """Bring the Data Docs index up to date with every validation so far; its path (None if unwritten)."""
        with self._lock:
            if not self._last_rendered:
                return None
            return self._build_docs(self._last_rendered, build_index=True)

    def _index_due(self) -> bool:
        return self._indexed_at is None or time.monotonic() - self._indexed_at >= _INDEX_INTERVAL_SECONDS

    def _order(self, item: ExpectationValidationResult) -> int:
        return list(self._checks).index(check_key(item))

    def _check_of(self, item: ExpectationValidationResult) -> Check:
        check = self._checks[check_key(item)]
        message = raised_message(item.exception_info)
        if message is not None:
            raise ConfigError(f"quality expectation {check.name} could not run: {message}")
        return check

    def _record(
        self,
        findings: _Findings,
        check: Check,
        item: ExpectationValidationResult,
        rows: list[Row],
        documents: Sequence[ParsedDocument],
    ) -> None:
        indexes: list[int] | None = item.result.get("unexpected_index_list")
        if indexes is None:  # an aggregate expectation: it judges the group, not a row
            reason = f"{check.label} failed for the whole batch [{check.name}]"
            if check.action == "fail_run":
                findings.run_failures.append(reason)
            for doc in documents if check.action != "fail_run" else ():
                findings.quarantine(doc.obj.uri, reason)
            return
        if check.action == "fail_run":
            for i in indexes[:DETAILED_ROWS_PER_CHECK]:
                row = rows[i]
                where = (
                    row["uri"]
                    if check.suite == "document"
                    else f"{row['document_uri']} chunk {row['chunk_index']}"
                )
                findings.run_failures.append(f"{where}: {self._row_reason(check, row, '')}")
            return
        if check.suite == "document":
            for i in indexes:
                findings.quarantine(rows[i]["uri"], self._row_reason(check, rows[i], ""))
            return
        if check.action == "drop_chunk":
            findings.excluded += [
                ExcludedChunk(
                    uri=rows[i]["document_uri"],
                    chunk_id=rows[i]["chunk_id"],
                    chunk_index=rows[i]["chunk_index"],
                    check=check.label,
                    reason=self._row_reason(check, rows[i], ""),
                )
                for i in indexes
            ]
            return
        per_document: dict[str, list[int]] = {}
        for index in indexes:
            per_document.setdefault(rows[index]["document_uri"], []).append(index)
        for uri, found in per_document.items():
            shown = found[:DETAILED_ROWS_PER_CHECK]
            for i in shown:
                findings.quarantine(
                    uri, self._row_reason(check, rows[i], f"chunk {rows[i]['chunk_index']}: ")
                )
            if len(found) > len(shown):
                findings.quarantine(uri, f"{check.name} failed for {len(found) - len(shown)} more chunks")

    @staticmethod
    def _row_reason(check: Check, row: Row, subject: str) -> str:
        if check.explain is not None:
            return f"{subject}{check.label} failed: {check.explain(row)} [{check.name}]"
        values = ", ".join(f"{name}={shorten(row.get(name))}" for name in columns_of(check.expectation))
        return f"{subject}{check.label} failed: {values or 'row'} [{check.name}]"

    def _build_docs(self, resources: list[Any], *, build_index: bool) -> str | None:
        """Render these suites and results; with `build_index`, the index of every result this gate holds.

        GX's index builder removes pages of results it does not hold, so the site shows this gate's
        validations only.
        """
        try:
            urls = self._context.build_data_docs(
                site_names=[_DOCS_SITE], resource_identifiers=resources, build_index=build_index
            )
        except OSError as error:
            log.warning("could not write Great Expectations Data Docs to %s: %s", self._docs_dir, error)
            return None
        self._last_rendered = resources
        if build_index:
            self._indexed_at = time.monotonic()
        url = urls.get(_DOCS_SITE)
        return unquote(urlparse(url).path) if url else None


def _summary(check: Check, item: ExpectationValidationResult) -> dict[str, object]:
    result = item.result or {}
    return {
        "suite": check.suite,
        "check": check.label,
        "action": check.action,
        "expectation_type": check.expectation.expectation_type,
        "column": ", ".join(columns_of(check.expectation)) or None,
        "success": bool(item.success),
        "unexpected_count": _int_or_none(result.get("unexpected_count")),
        "element_count": _int_or_none(result.get("element_count")),
    }


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
