"""Combining quality reports of several batches and choosing what to show."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ragkeeper.models import ExcludedChunk, QualityReport, QuarantinedObject


def merge_quality_reports(reports: Sequence[QualityReport]) -> QualityReport:
    """One report for the run: counts added, failures merged, per-check counts summed."""
    failures: dict[str, tuple[str, ...]] = {}
    totals: dict[tuple[object, object], dict[str, object]] = {}
    for report in reports:
        failures.update(report.failures)
        for result in report.expectation_results:
            key = (result.get("suite"), result.get("check"))
            entry = totals.setdefault(
                key, {**result, "unexpected_count": 0, "element_count": 0, "success": True}
            )
            entry["unexpected_count"] = _int(entry["unexpected_count"]) + _int(result.get("unexpected_count"))
            entry["element_count"] = _int(entry["element_count"]) + _int(result.get("element_count"))
            entry["success"] = bool(entry["success"]) and bool(result.get("success"))
    docs_path = next((r.data_docs_path for r in reversed(reports) if r.data_docs_path), None)
    return QualityReport(
        documents_checked=sum(r.documents_checked for r in reports),
        chunks_checked=sum(r.chunks_checked for r in reports),
        failures=failures,
        excluded=tuple(chunk for r in reports for chunk in r.excluded),
        run_failures=tuple(finding for r in reports for finding in r.run_failures),
        expectation_results=tuple(totals.values()),
        data_docs_path=docs_path,
    )


def gate_quarantines(quarantined: Sequence[QuarantinedObject]) -> list[QuarantinedObject]:
    """The quarantines the quality gate decided (their reasons start with `quality:`), by URI."""
    return sorted((q for q in quarantined if q.reason.startswith("quality: ")), key=lambda q: q.uri)


def excluded_by_check(excluded: Sequence[ExcludedChunk]) -> list[tuple[str, int]]:
    """How many chunks each check (or rule) excluded, most first."""
    counts = Counter(chunk.check for chunk in excluded)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def excluded_offenders(excluded: Sequence[ExcludedChunk], limit: int = 10) -> list[tuple[str, int, str]]:
    """The documents that lost the most chunks: URI, how many, and the first reason."""
    by_document: dict[str, list[ExcludedChunk]] = {}
    for chunk in excluded:
        by_document.setdefault(chunk.uri, []).append(chunk)
    ranked = sorted(by_document.items(), key=lambda item: (-len(item[1]), item[0]))
    return [(uri, len(chunks), chunks[0].reason) for uri, chunks in ranked[:limit]]


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
