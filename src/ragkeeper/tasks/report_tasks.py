"""Publishing run results as Prefect artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper import runtime
from ragkeeper.core.quality.report import worst_offenders
from ragkeeper.core.sync.plan import IndexedState
from ragkeeper.core.sync.report import artifact_key, summary_rows
from ragkeeper.models import QualityReport, RunRecord, RunSummary
from ragkeeper.settings import Settings


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: RunSummary) -> None:
    """A table artifact with the run's figures, and the quality artifacts when the run validated."""
    create_table_artifact(
        key=artifact_key("ingest-summary", summary.collection),
        table=[{"metric": metric, "value": value} for metric, value in summary_rows(summary)],
        description=f"ingest of {summary.source} into {summary.collection}",
    )
    if summary.quality is not None:
        publish_quality(summary.quality, summary.collection)


@task(name="publish-quarantine", cache_policy=NO_CACHE)
def publish_quarantine(collection: str, quarantined: Sequence[IndexedState]) -> None:
    """A markdown report of every object quarantined now (not only by this run), with its reason."""
    lines = [
        f"| `{q.uri}` | {q.reason.replace('|', '/')} |" for q in sorted(quarantined, key=lambda q: q.uri)
    ]
    create_markdown_artifact(
        key=artifact_key("ingest-quarantine", collection),
        markdown=f"**{len(lines)} quarantined objects**\n\n| object | reason |\n|---|---|\n"
        + "\n".join(lines),
        description="objects kept out of the index, with reasons; each is retried when it changes",
    )


def publish_quality(report: QualityReport, collection: str) -> None:
    """Quality-gate results: per-check counts (table) and the worst offending documents (markdown)."""
    create_table_artifact(
        key=artifact_key("quality-checks", collection),
        table=[
            {k: result.get(k) for k in ("suite", "check", "success", "unexpected_count", "element_count")}
            for result in report.expectation_results
        ],
        description=(
            f"{len(report.failures)} of {report.documents_checked} documents failed quality checks "
            f"({report.chunks_checked} chunks checked); data docs: {report.data_docs_path or 'none'}"
        ),
    )
    offenders = worst_offenders(report)
    lines = [f"| `{uri}` | {reasons.replace('|', '/')} |" for uri, reasons in offenders] or ["| (none) | |"]
    create_markdown_artifact(
        key=artifact_key("quality-offenders", collection),
        markdown="| document | failed checks |\n|---|---|\n" + "\n".join(lines),
        description="documents that failed the quality gate in the last run, most failures first",
    )


@task(name="publish-freshness", cache_policy=NO_CACHE)
def publish_freshness(summary: RunSummary, last_full_sync: datetime | None) -> None:
    """A table artifact (stable key) a dashboard charts over time: how fresh the index is after this run."""
    age = (datetime.now(UTC) - last_full_sync).total_seconds() if last_full_sync else None
    create_table_artifact(
        key=artifact_key("freshness", summary.collection),
        table=[
            {"metric": "run", "value": summary.flow},
            {"metric": "index lag, worst (s)", "value": round(summary.lag_seconds_max, 1)},
            {"metric": "index lag, median (s)", "value": round(summary.lag_seconds_median, 1)},
            {"metric": "objects changed or new", "value": summary.objects_new + summary.objects_changed},
            {"metric": "objects deleted", "value": summary.objects_deleted},
            {"metric": "objects quarantined", "value": len(summary.quarantined)},
            {"metric": "last full sync", "value": last_full_sync.isoformat() if last_full_sync else "never"},
            {"metric": "seconds since last full sync", "value": None if age is None else round(age, 1)},
        ],
        description=(
            "index lag: seconds between an object's last change in the source and this run indexing it"
        ),
    )


@task(name="record-run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def record_run(settings: Settings, record: RunRecord) -> None:
    """Add the run to the collection's run log (read by `ragkeeper status`)."""
    runtime.run_log(settings).add(record)
