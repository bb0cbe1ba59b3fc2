"""Retrieval commands: `query` (hybrid, vector or BM25 search with filters) and `eval` (scores per mode)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ragkeeper.cli.app import Collection, app, console
from ragkeeper.settings import settings_for_run


class Mode(StrEnum):
    """How hits are ranked."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    BM25 = "bm25"


class Fusion(StrEnum):
    """How hybrid search merges its BM25 and vector rankings."""

    RELATIVE_SCORE = "relative_score"
    RANKED = "ranked"


@app.command(rich_help_panel="Index")
def query(
    text: Annotated[str, typer.Argument(help="The question or phrase to search for.")],
    *,
    mode: Annotated[Mode | None, typer.Option(help="hybrid, vector or bm25 (default: search.mode).")] = None,
    alpha: Annotated[
        float | None, typer.Option(min=0, max=1, help="Hybrid: 0 is pure BM25, 1 pure vector (search.alpha).")
    ] = None,
    fusion: Annotated[Fusion | None, typer.Option(help="Hybrid fusion type (search.fusion).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=1000, help="How many hits (search.limit).")] = None,
    source_prefix: Annotated[
        str | None, typer.Option("--source-prefix", help="Only sources under this URI prefix or folder.")
    ] = None,
    file_type: Annotated[
        list[str] | None, typer.Option("--file-type", help="Only these types (pdf, html, md, ... or MIME).")
    ] = None,
    pages: Annotated[str | None, typer.Option(help="Only chunks on these pages: 3, 3-7, 3- or -7.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON (stable schema).")] = False,
    collection: Collection = None,
) -> None:
    """Search the index and print the top hits, each with its source.

    The question is embedded with the model of the generation readers search, which differs from
    the configured one while a new generation is being built.
    """
    from ragkeeper.core.retrieval.query import build_request, hits_json, make_filters
    from ragkeeper.errors import RagkeeperError
    from ragkeeper.retrieval import serving_reader, source_prefix_uri

    settings = settings_for_run(collection=collection)
    request = build_request(
        text,
        settings.search,
        mode=mode.value if mode else None,
        alpha=alpha,
        fusion=fusion.value if fusion else None,
        limit=limit,
        filters=make_filters(source_prefix_uri(source_prefix), file_type or (), pages),
    )
    with serving_reader(settings) as reader:
        if reader.store.count() == 0:
            raise RagkeeperError(
                f"collection {settings.weaviate.collection} is empty; run `ragkeeper ingest` first"
            )
        hits = reader.search(request)
    if as_json:
        document = hits_json(request, hits, settings.weaviate.collection, reader.collection)
        console.print_json(json.dumps(document))
        return
    table = Table(
        "#",
        "score",
        "source",
        "page",
        "section",
        "text",
        title=f"top {len(hits)} ({request.mode}) for: {text}",
    )
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(hit.text.split())
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            escape(hit.source_uri.rsplit("/", 1)[-1]),
            "" if hit.page_number is None else str(hit.page_number),
            escape(hit.section[:40]),
            escape(snippet[:160] + ("…" if len(snippet) > 160 else "")),
        )
    console.print(table)


@app.command(name="eval", rich_help_panel="Index")
def eval_command(
    *,
    mode: Annotated[
        list[Mode] | None, typer.Option("--mode", help="Modes to score (repeatable; default: eval.modes).")
    ] = None,
    questions: Annotated[
        str | None, typer.Option("--questions", help="Question file (default: eval.questions_uri).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores and misses as JSON.")] = False,
    collection: Collection = None,
) -> None:
    """Score retrieval on the labelled questions: recall@k, MRR and nDCG@10 per mode, and the misses.

    Exits with 1 when the gate mode's recall@k is below eval.min_recall (and emits the Prefect
    event ragkeeper.retrieval.degraded).
    """
    from ragkeeper.flows.evaluate import evaluate

    report = evaluate(
        collection=collection, modes=[m.value for m in mode] if mode else None, questions_uri=questions
    )
    settings = settings_for_run(collection=collection)
    watched = settings.eval.gate_mode or settings.search.mode
    degraded = any(s.mode == watched and s.recall < settings.eval.min_recall for s in report.scores)
    if as_json:
        console.print_json(json.dumps(report.to_json()))
    else:
        table = Table(
            "mode",
            "questions",
            f"recall@{report.k}",
            "MRR",
            "nDCG@10",
            "misses",
            title=f"retrieval eval of {report.generation} ({report.model_id})",
        )
        for s in report.scores:
            missed = sum(1 for m in report.misses if m.mode == s.mode)
            table.add_row(
                s.mode, str(s.questions), f"{s.recall:.3f}", f"{s.mrr:.3f}", f"{s.ndcg:.3f}", str(missed)
            )
        console.print(table)
        if report.misses:
            misses = Table("question", "mode", "expected", f"top {report.k} sources", title="misses")
            for m in report.misses:
                got = ", ".join(dict.fromkeys(uri.rsplit("/", 1)[-1] for uri in m.got)) or "(no hits)"
                misses.add_row(escape(m.question), m.mode, escape(", ".join(m.expected)), escape(got))
            console.print(misses)
    if degraded:
        raise typer.Exit(1)
