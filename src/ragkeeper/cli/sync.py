"""Sync commands: ingest, reindex, reconcile (each a flow run with progress bars)."""

from __future__ import annotations

from typing import Annotated

import typer

from ragkeeper.cli.app import (
    BusyPolicy,
    Collection,
    ForceDelete,
    JsonSummary,
    OnBusy,
    app,
    busy_policy,
    check_source,
    print_summary,
    with_progress,
)


@app.command(rich_help_panel="Index")
def ingest(
    source: Annotated[
        str | None, typer.Argument(help="Folder, file:// or s3://bucket/prefix (default: settings).")
    ] = None,
    *,
    collection: Collection = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and parse, but embed and write nothing.")
    ] = False,
    force_delete: ForceDelete = False,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", min=0, help="Refuse a run whose embedding estimate (USD) is higher."),
    ] = None,
    on_busy: OnBusy = None,
    as_json: JsonSummary = False,
) -> None:
    """Sync SOURCE into the index: new and changed documents are indexed, removed ones deleted."""
    from ragkeeper.flows.ingest import ingest as ingest_flow

    check_source(source, collection)
    summary = with_progress(
        lambda: ingest_flow(
            source=source,
            collection=collection,
            dry_run=dry_run,
            force_delete=force_delete,
            max_cost=max_cost,
            on_busy=busy_policy(on_busy),
        ),
        quiet=as_json,
    )
    print_summary(summary, as_json)


@app.command(rich_help_panel="Index")
def reindex(
    uris: Annotated[
        list[str] | None,
        typer.Argument(
            help="Objects to bring in step (s3://bucket/key or file:///path); none: retry failed ones."
        ),
    ] = None,
    source: Annotated[str | None, typer.Option(help="The source these objects belong to.")] = None,
    collection: Collection = None,
    on_busy: Annotated[
        BusyPolicy,
        typer.Option("--on-busy", help="When another run is writing the collection: wait for it or skip."),
    ] = BusyPolicy.WAIT,
    as_json: JsonSummary = False,
) -> None:
    """Re-index named objects: written if new or changed, deleted if gone from the source."""
    from ragkeeper.flows.reindex import reindex as reindex_flow

    check_source(source, collection)
    summary = with_progress(
        lambda: reindex_flow(
            uris=list(uris) if uris else None,
            source=source,
            collection=collection,
            on_busy=busy_policy(on_busy),
        ),
        quiet=as_json,
    )
    print_summary(summary, as_json)


@app.command(rich_help_panel="Index")
def reconcile(
    source: Annotated[str | None, typer.Argument(help="Folder, file:// or s3://bucket/prefix.")] = None,
    collection: Collection = None,
    force_delete: ForceDelete = False,
    on_busy: OnBusy = None,
    as_json: JsonSummary = False,
) -> None:
    """Repair drift (orphan and missing chunks, lost records), then sync; the summary lists the repairs."""
    from ragkeeper.flows.reconcile import reconcile as reconcile_flow

    check_source(source, collection)
    summary = with_progress(
        lambda: reconcile_flow(
            source=source, collection=collection, force_delete=force_delete, on_busy=busy_policy(on_busy)
        ),
        quiet=as_json,
    )
    print_summary(summary, as_json)
