"""Publishing run results as Prefect artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper import runtime
from ragkeeper.core.quality.boilerplate import BoilerplateReport, snippet, summary_line
from ragkeeper.core.quality.report import excluded_by_check, excluded_offenders, gate_quarantines
from ragkeeper.core.sync.report import artifact_key, summary_rows
from ragkeeper.models import IndexedState
from ragkeeper.run_models import RunSummary
from ragkeeper.settings import Settings

BOILERPLATE_ROWS = 10  # most repeated texts shown
# Runs that list the whole source: a successful one makes the whole index fresh.
FULL_SYNC_FLOWS = ("ingest", "reconcile")


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: RunSummary) -> None:
    """A table artifact with the run's figures, and the quality artifacts when the run validated."""
    create_table_artifact(
        key=artifact_key("ingest-summary", summary.collection),
        table=[{"metric": metric, "value": value} for metric, value in summary_rows(summary)],
        description=f"ingest of {summary.source} into {summary.collection}",
    )
    publish_quality(summary)
    publish_excluded(summary)


def publish_excluded(summary: RunSummary) -> None:
    """Chunks this run left out of indexed documents: counts by check, and the documents that lost most."""
    total = summary.chunks_planned + len(summary.excluded)
    rows = [f"| {check} | {count} |" for check, count in excluded_by_check(summary.excluded)]
    offenders = [
        f"| `{uri}` | {count} | {reason.replace('|', '/')} |"
        for uri, count, reason in excluded_offenders(summary.excluded)
    ]
    create_markdown_artifact(
        key=artifact_key("excluded-chunks", summary.collection),
        markdown=f"**{len(summary.excluded)} chunks excluded** of {total} "
        "in the documents this run indexed\n\n| check | chunks |\n|---|---|\n"
        + "\n".join(rows or ["| (none) | 0 |"])
        + "\n\n| document | chunks excluded | first reason |\n|---|---|---|\n"
        + "\n".join(offenders or ["| (none) | | |"])
        + _boilerplate_markdown(summary.boilerplate),
        description="chunks left out of the index while their documents were indexed, by excluding check",
    )


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


def publish_quality(summary: RunSummary) -> None:
    """Quality-gate results: per-check counts (table) and the documents it quarantined (markdown)."""
    report = summary.quality
    if report is None:
        return
    create_table_artifact(
        key=artifact_key("quality-checks", summary.collection),
        table=[
            {
                k: result.get(k)
                for k in ("suite", "check", "action", "success", "unexpected_count", "element_count")
            }
            for result in report.expectation_results
        ],
        description=(
            f"{report.documents_checked} documents and {report.chunks_checked} chunks checked; "
            f"data docs: {report.data_docs_path or 'none'}"
        ),
    )
    offenders = gate_quarantines(summary.quarantined)
    lines = [f"| `{q.uri}` | {q.reason.replace('|', '/')} |" for q in offenders] or ["| (none) | |"]
    create_markdown_artifact(
        key=artifact_key("quality-offenders", summary.collection),
        markdown="| document | why the gate quarantined it |\n|---|---|\n" + "\n".join(lines),
        description="documents the quality gate kept out of the index in the last run",
    )


def publish_state_reports(settings: Settings, summary: RunSummary) -> None:
    """The quarantine report and the freshness figure, reading only the quarantined states."""
    publish_quarantine(settings.weaviate.collection, runtime.state_store(settings).with_status("quarantined"))
    last_full = runtime.run_log(settings).latest(FULL_SYNC_FLOWS, "succeeded")
    publish_freshness(summary, last_full.finished_at if last_full else None)


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


def _boilerplate_markdown(report: BoilerplateReport | None) -> str:
    """The boilerplate section: how many chunks repeat texts found in many documents, the worst ones."""
    if report is None:
        return ""
    rows = [
        f"| {r.documents} | {r.chunks} | `{r.content_hash[:12]}` | {snippet(r.sample).replace('|', '/')} |"
        for r in report.repeated[:BOILERPLATE_ROWS]
    ]
    return (
        f"\n\n**Boilerplate**: {summary_line(report)} (reported only; exclude with "
        "`quality.boilerplate_patterns`)\n\n| documents | chunks | content hash | text |\n|---|---|---|---|\n"
        + "\n".join(rows or ["| (none) | | | |"])
    )
