"""Publishing run results as Prefect artifacts."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper.core.report import artifact_key, summary_rows
from ragkeeper.models import RunSummary


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: RunSummary) -> None:
    """A table artifact with the run's figures and, when any, a markdown list of quarantined objects."""
    create_table_artifact(
        key=artifact_key("ingest-summary", summary.collection),
        table=[{"metric": metric, "value": value} for metric, value in summary_rows(summary)],
        description=f"ingest of {summary.source} into {summary.collection}",
    )
    if summary.quarantined:
        lines = [f"| `{q.uri}` | {q.reason.replace('|', '/')} |" for q in summary.quarantined]
        create_markdown_artifact(
            key=artifact_key("ingest-quarantine", summary.collection),
            markdown="| object | reason |\n|---|---|\n" + "\n".join(lines),
            description="objects left out of the last ingest, with reasons",
        )
