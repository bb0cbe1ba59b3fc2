"""Combining quality reports of several batches and choosing what to show."""

from __future__ import annotations

from collections.abc import Sequence

from ragkeeper.models import QualityReport


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
        expectation_results=tuple(totals.values()),
        data_docs_path=docs_path,
    )


def worst_offenders(report: QualityReport, limit: int = 10) -> list[tuple[str, str]]:
    """The documents with the most failed checks, with their reasons joined, most failures first."""
    ranked = sorted(report.failures.items(), key=lambda item: (-len(item[1]), item[0]))
    return [(uri, "; ".join(reasons)) for uri, reasons in ranked[:limit]]


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
