"""The `ragkeeper` command: the Typer app, output consoles, shared options and helpers, the entry point.

Commands live in one module per group (sync, operations, retrain) and register themselves on `app`
when `main` imports them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragkeeper import __version__
from ragkeeper.core.redaction import redact_urls
from ragkeeper.errors import RagkeeperError, first_line
from ragkeeper.settings import settings_for_run

if TYPE_CHECKING:
    from ragkeeper.run_models import RunSummary

app = typer.Typer(
    name="ragkeeper",
    help="Keep a Weaviate RAG index in step with documents in S3 or a local folder.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

COMMAND_GROUPS = ("sync", "retrieval", "operations", "metrics", "retrain", "models")

# Quiet defaults for a person at a terminal; any of these can be overridden from the environment.
_QUIET_ENVIRONMENT = {
    # Without PREFECT_API_URL a command starts a temporary Prefect server; Prefect's 20 s wait for it
    # is overrun on a busy two-core machine (seen with `make demo` beside a test run).
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Run logs still reach the Prefect API; only the console copy is silenced (see --verbose).
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "SCARF_NO_ANALYTICS": "true",
}


class RichProgress:
    """A ProgressSink drawing one bar per stage."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[str, int] = {}

    def start(self, stage: str, total: int) -> None:
        """Add a bar for the stage; a stage started again (by another shard) grows its bar instead."""
        self._totals[stage] = self._totals.get(stage, 0) + total
        if stage in self._tasks:
            self._bars.update(self._tasks[stage], total=self._totals[stage])
            return
        self._tasks[stage] = self._bars.add_task(stage, total=total)

    def advance(self, stage: str, amount: int = 1) -> None:
        """Move the stage's bar."""
        if stage in self._tasks:
            self._bars.advance(self._tasks[stage], amount)


def _version(value: bool) -> None:
    if value:
        console.print(f"ragkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect and library logs.")] = False,
) -> None:
    """Keep a Weaviate RAG index in step with documents in S3 or a local folder."""
    if verbose:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "INFO"


class BusyPolicy(StrEnum):
    """What a run does when another run is writing the collection."""

    WAIT = "wait"
    SKIP = "skip"


OnBusy = Annotated[
    BusyPolicy | None,
    typer.Option(
        "--on-busy",
        help="When another run is writing the collection: wait for it or skip (default: sync.on_busy).",
    ),
]
ForceDelete = Annotated[
    bool,
    typer.Option("--force-delete", help="Allow deleting more than sync.max_delete_share of the index."),
]
Collection = Annotated[str | None, typer.Option(help="Weaviate collection (default: settings).")]
JsonSummary = Annotated[
    bool, typer.Option("--json", help="Print the run summary as JSON (no progress bars) instead of tables.")
]


def busy_policy(value: BusyPolicy | None) -> Literal["wait", "skip"] | None:
    """The flow parameter for an `--on-busy` option (None: the setting decides)."""
    return None if value is None else "wait" if value is BusyPolicy.WAIT else "skip"


def check_source(source: str | None, collection: str | None) -> None:
    """Fail on bad settings or an unreachable source before a flow run is started."""
    from ragkeeper import factory

    factory.make_source(settings_for_run(source, collection)).check()


def with_progress(run: Callable[[], RunSummary], quiet: bool = False) -> RunSummary:
    """Run a sync flow with a progress bar per stage (none when `quiet`)."""
    from ragkeeper import progress

    if quiet:
        return run()

    bars = Progress(
        TextColumn("{task.description:>6}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Redrawing costs the run's process CPU: 4 times a second is smooth enough, and output that
        # is not a terminal (a log file) only ever shows the final bars.
        auto_refresh=console.is_terminal,
        refresh_per_second=4,
    )
    progress.set_sink(RichProgress(bars))
    try:
        with bars:
            return run()
    finally:
        progress.set_sink(None)


def print_summary(summary: RunSummary, as_json: bool = False) -> None:
    """The run's summary table and quarantined objects (or the one line saying the run skipped).

    With `as_json`, the whole summary as one JSON object on stdout (`core.sync.report.summary_json`).
    """
    from ragkeeper.core.sync.report import summary_json, summary_rows

    if as_json:
        print(json.dumps(summary_json(summary), indent=2))
        return
    if summary.skipped:
        console.print(f"[yellow]{escape(f'{summary.flow} {summary.lease}')}[/yellow]; nothing was done")
        return
    print_report(
        f"{summary.flow} summary",
        summary_rows(summary),
        [(item.uri, item.reason) for item in summary.quarantined],
        "quarantined",
    )


def print_report(
    title: str, rows: Iterable[tuple[str, str]], quarantined: Sequence[tuple[str, str]], quarantine_title: str
) -> None:
    """A two-column table of figures, then a table of quarantined objects and reasons when any."""
    table = Table(title=title, show_header=False)
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)
    if quarantined:
        quarantine = Table("quarantined object", "reason", title=quarantine_title)
        for uri, reason in quarantined:
            quarantine.add_row(escape(uri), escape(reason))
        console.print(quarantine)


def main() -> None:
    """Entry point: run the CLI; ragkeeper errors become one line and exit code 2 (3 if unforeseen)."""
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for group in COMMAND_GROUPS:  # importing a group registers its commands, in --help order
        importlib.import_module(f"ragkeeper.cli.{group}")

    try:
        app()
    except RagkeeperError as error:
        errors.print(f"[red]error:[/red] {escape(redact_urls(str(error)))}", highlight=False, markup=True)
        sys.exit(2)
    except Exception as error:  # anything unforeseen: still one line (details with --verbose logs)
        errors.print(
            f"[red]error:[/red] {type(error).__name__}: {escape(redact_urls(first_line(error)))}",
            highlight=False,
            markup=True,
        )
        sys.exit(3)
