"""Retraining command: retrain (fine-tune changed style datasets; `ragkeeper models` is in cli/models)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ragkeeper.cli.app import app, console, errors
from ragkeeper.settings import load_settings

_PROBLEMS_SHOWN = 50
_OUTCOME_STYLES = {
    "unchanged": "dim",
    "succeeded": "green",
    "would_start": "green",
    "running": "yellow",
    "invalid": "red",
    "over_budget": "red",
    "failed": "red",
    "cancelled": "red",
    "not_retried": "red",
    "error": "red",
}


@app.command(rich_help_panel="Retraining")
def retrain(
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Only this dataset (default: every configured one).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fingerprint, check and estimate only; upload nothing.")
    ] = False,
) -> None:
    """Fine-tune the style model of each changed dataset, follow the job, record the new model.

    Exit code 0 when every dataset is fine (unchanged, succeeded, still running, or valid in a dry
    run), 1 when any was refused or its job failed, 2 on an error before anything ran.
    """
    from rich.markup import escape

    from ragkeeper.core.retrain.report import outcome_row, outcome_words
    from ragkeeper.core.sync.report import artifact_key
    from ragkeeper.flows.retrain import retrain as retrain_flow
    from ragkeeper.flows.retrain import select_datasets

    select_datasets(load_settings(), dataset)  # bad settings or an unknown name fail before a flow run
    with console.status("retrain: reading and checking datasets, following jobs ..."):
        summary = retrain_flow(dataset=dataset, dry_run=dry_run)
    columns = ("dataset", "outcome", "job", "model", "billed tokens (est.)", "cost USD (est.)", "detail")
    table = Table(title="retrain" + (" (dry run: nothing uploaded)" if dry_run else ""))
    for column in columns:  # ids must be shown whole, so long ones fold onto a second line
        table.add_column(column, overflow="fold" if column in ("job", "model") else "ellipsis")
    for outcome in summary.outcomes:
        row = outcome_row(outcome)
        style = _OUTCOME_STYLES.get(outcome.status, "")
        words = escape(outcome_words(outcome))
        cells = [escape(row[c]) for c in columns]
        cells[1] = f"[{style}]{words}[/{style}]" if style else words
        table.add_row(*cells)
    console.print(table)
    for outcome in summary.outcomes:
        if outcome.status == "error":  # the table may cut a detail short: the whole line here
            message = f"dataset {outcome.dataset}: {outcome.detail}"
            errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    for outcome in summary.outcomes:
        if not outcome.problems:
            continue
        shown = outcome.problems[:_PROBLEMS_SHOWN]
        error_count = len([p for p in outcome.problems if p.severity == "error"])
        title = f"{outcome.dataset}: {error_count} error(s), {len(outcome.problems) - error_count} warning(s)"
        problems = Table("file", "line", "severity", "check", "problem", title=escape(title))
        for problem in shown:
            problems.add_row(
                problem.file,
                str(problem.line) if problem.line else "(file)",
                problem.severity,
                problem.check,
                escape(problem.message),
            )
        console.print(problems)
        if len(outcome.problems) > len(shown):
            console.print(
                f"... and {len(outcome.problems) - len(shown)} more; all of them are in the Prefect artifact "
                f"{artifact_key('retrain-validation', outcome.dataset)}"
            )
    raise typer.Exit(0 if summary.ok else 1)
