"""`ragkeeper` command line: ingest, query, doctor."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragkeeper import __version__
from ragkeeper.errors import RagkeeperError
from ragkeeper.settings import Settings, load_settings

app = typer.Typer(
    name="ragkeeper",
    help="Keep a Weaviate RAG index in step with documents in S3 or a local folder.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

# Quiet defaults for a person at a terminal; any of these can be overridden from the environment.
_QUIET_ENVIRONMENT = {
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

    def start(self, stage: str, total: int) -> None:
        """Add a bar for the stage."""
        self._tasks[stage] = self._bars.add_task(stage, total=total)

    def advance(self, stage: str, amount: int = 1) -> None:
        """Move the stage's bar."""
        if stage in self._tasks:
            self._bars.advance(self._tasks[stage], amount)


def _settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


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


@app.command()
def ingest(
    source: Annotated[
        str | None, typer.Argument(help="Folder, file:// or s3://bucket/prefix (default: settings).")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="Weaviate collection (default: settings).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and parse, but embed and write nothing.")
    ] = False,
    force_delete: Annotated[
        bool,
        typer.Option("--force-delete", help="Allow deleting more than sync.max_delete_share of the index."),
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", min=0, help="Refuse a run whose embedding estimate (USD) is higher."),
    ] = None,
) -> None:
    """Sync SOURCE into the index: new and changed documents are indexed, removed ones deleted."""
    from ragkeeper import factory, progress
    from ragkeeper.core.report import summary_rows
    from ragkeeper.flows.ingest import ingest as ingest_flow
    from ragkeeper.flows.ingest import settings_for_run

    # Fail on bad settings or an unreachable source before a flow run is started.
    factory.make_source(settings_for_run(source, collection)).check()
    bars = Progress(
        TextColumn("{task.description:>6}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    progress.set_sink(RichProgress(bars))
    try:
        with bars:
            summary = ingest_flow(
                source=source,
                collection=collection,
                dry_run=dry_run,
                force_delete=force_delete,
                max_cost=max_cost,
            )
    finally:
        progress.set_sink(None)
    table = Table(title="ingest summary", show_header=False)
    for metric, value in summary_rows(summary):
        table.add_row(metric, value)
    console.print(table)
    if summary.quarantined:
        quarantine = Table("quarantined object", "reason", title="quarantined")
        for item in summary.quarantined:
            quarantine.add_row(item.uri, item.reason)
        console.print(quarantine)


@app.command()
def query(
    text: Annotated[str, typer.Argument(help="The question or phrase to search for.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many hits to show.")] = 5,
    collection: Annotated[str | None, typer.Option(help="Weaviate collection (default: settings).")] = None,
) -> None:
    """Search the index and print the top hits with their source file."""
    from ragkeeper import factory

    settings = _settings(**({"weaviate": {"collection": collection}} if collection else {}))
    store = factory.make_vector_store(settings)
    try:
        if store.count() == 0:
            raise RagkeeperError(
                f"collection {settings.weaviate.collection} is empty; run `ragkeeper ingest` first"
            )
        hits = store.search(factory.make_embedder(settings).embed([text])[0], limit)
    finally:
        store.close()
    table = Table("#", "score", "source", "page", "text", title=f"top {len(hits)} for: {text}")
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(hit.text.split())
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            hit.source_uri.rsplit("/", 1)[-1],
            "" if hit.page_number is None else str(hit.page_number),
            snippet[:160] + ("…" if len(snippet) > 160 else ""),
        )
    console.print(table)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check every configured service; print what is down and how to start it."""
    import dataclasses
    import json

    from ragkeeper.doctor import run_checks

    checks = run_checks(_settings())
    if as_json:
        print(json.dumps([dataclasses.asdict(check) for check in checks], indent=2))
        raise typer.Exit(0 if all(check.ok for check in checks) else 1)
    table = Table("check", "status", "detail", "fix", title="ragkeeper doctor")
    for check in checks:
        status = "[green]ok[/green]" if check.ok else "[red]down[/red]"
        table.add_row(check.name, status, check.detail, "" if check.ok else check.fix)
    console.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def main() -> None:
    """Entry point: run the CLI; ragkeeper errors become one line and exit code 2 (3 if unforeseen)."""
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        app()
    except RagkeeperError as error:
        errors.print(f"[red]error:[/red] {error}", highlight=False, markup=True)
        sys.exit(2)
    except Exception as error:  # anything unforeseen: still one line (details with --verbose logs)
        first_line = next((line for line in str(error).splitlines() if line.strip()), "")
        errors.print(
            f"[red]error:[/red] {type(error).__name__}: {first_line[:300]}", highlight=False, markup=True
        )
        sys.exit(3)
