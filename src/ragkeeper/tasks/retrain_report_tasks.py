"""Publishing retrain results as Prefect artifacts (stable keys, so runs can be compared over time)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper.core.retrain.report import outcome_row, problems_markdown
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.retrain_models import RetrainSummary


@task(name="publish-retrain-report", cache_policy=NO_CACHE)
def publish_retrain_report(summary: RetrainSummary) -> None:
    """A table of every dataset's outcome, and a markdown report per dataset whose checks found problems."""
    create_table_artifact(
        key=artifact_key("retrain-outcomes", "all-datasets"),
        table=[outcome_row(outcome) for outcome in summary.outcomes],
        description="retrain run" + (" (dry run: nothing uploaded)" if summary.dry_run else ""),
    )
    for outcome in summary.outcomes:
        if outcome.problems:
            create_markdown_artifact(
                key=artifact_key("retrain-validation", outcome.dataset),
                markdown=problems_markdown(outcome.dataset, outcome.problems),
                description=f"dataset checks of {outcome.dataset}",
            )
