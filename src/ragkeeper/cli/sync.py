"""Sync commands: ingest, reindex, reconcile (each a flow run with progress bars), and query."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ragkeeper.cli.app import (
    BusyPolicy,
    Collection,
    ForceDelete,
    JsonSummary,
    OnBusy,
    app,
    busy_policy,
    check_source,
    console,
    print_summary,
    with_progress,
)
from ragkeeper.errors import RagkeeperError
from ragkeeper.settings import settings_for_run


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


@app.command(rich_help_panel="Index")
def query(
    text: Annotated[str, typer.Argument(help="The question or phrase to search for.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many hits to show.")] = 5,
    collection: Collection = None,
) -> None:
    """Search the index and print the top hits with their source file.

    The question is embedded with the model of the generation readers search, which differs from
    the configured one while a new generation is being built.
    """
    from ragkeeper import factory

    settings = settings_for_run(collection=collection)
    store = factory.make_vector_store(settings)
    try:
        if store.count() == 0:
            raise RagkeeperError(
                f"collection {settings.weaviate.collection} is empty; run `ragkeeper ingest` first"
            )
        hits = store.search(factory.make_reader_embedder(store, settings).embed([text])[0], limit)
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
