"""Publishing run results as Prefect artifacts."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper.core.quality_report import worst_offenders
from ragkeeper.core.report import artifact_key, summary_rows
from ragkeeper.models import QualityReport, RunSummary


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: RunSummary) -> None:
    """A table artifact with the run's figures and, when any, a markdown list of quarantined objects."""
    create_table_artifact(
        key=artifact_key("ingest-summary", summary.collection),
        table=[{"metric": metric, "value": value} for metric, value in summary_rows(summary)],
        description=f"ingest of {summary.source} into {summary.collection}",
    )
    if summary.quality is not None:
        publish_quality(summary.quality, summary.collection)
    if summary.quarantined:
        lines = [f"| `{q.uri}` | {q.reason.replace('|', '/')} |" for q in summary.quarantined]
        create_markdown_artifact(
            key=artifact_key("ingest-quarantine", summary.collection),
            markdown="| object | reason |\n|---|---|\n" + "\n".join(lines),
            description="objects left out of the last ingest, with reasons",
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
