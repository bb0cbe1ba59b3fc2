"""Turning a run summary into rows for tables (CLI and Prefect artifacts)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ragkeeper.core.quality.boilerplate import summary_line
from ragkeeper.core.quality.report import excluded_by_check
from ragkeeper.run_models import RunSummary


def summary_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """(metric, value) pairs in display order."""
    rows = [
        ("source", summary.source),
        ("collection", summary.collection),
        ("generation", _generation(summary)),
        ("run", f"{summary.flow}, dry run (nothing written)" if summary.dry_run else summary.flow),
        ("objects seen", str(summary.objects_seen)),
        ("objects new", str(summary.objects_new)),
        ("objects changed", str(summary.objects_changed)),
        ("objects unchanged", str(summary.objects_unchanged)),
        ("objects deleted", str(summary.objects_deleted)),
        ("objects parsed", str(summary.objects_parsed)),
        ("objects quarantined", str(len(summary.quarantined))),
        ("chunks planned / confirmed in Weaviate", f"{summary.chunks_planned} / {summary.chunks_confirmed}"),
        ("chunks written", str(summary.chunks_written)),
        ("chunks unchanged (not rewritten)", str(summary.chunks_unchanged)),
        ("chunks excluded", _excluded(summary)),
        *([("boilerplate", summary_line(summary.boilerplate))] if summary.boilerplate else []),
        ("chunks deleted", str(summary.chunks_deleted)),
        ("embeddings computed", str(summary.embeddings_computed)),
        ("embeddings reused", str(summary.embeddings_reused)),
        ("tokens embedded", str(summary.tokens_embedded)),
        ("estimated chunks to embed", str(summary.chunks_to_embed)),
        ("estimated tokens", str(summary.estimated_tokens)),
        ("estimated cost (USD)", f"{summary.estimated_cost_usd:.4f}"),
    ]
    if summary.quality is not None:
        rows.append(
            (
                "quality: documents failing",
                f"{len(summary.quality.failures)} of {summary.quality.documents_checked}",
            )
        )
        if summary.quality.data_docs_path:
            rows.append(("quality: data docs", summary.quality.data_docs_path))
    pending = summary.readers_on_other_generation and not summary.switched_from and not summary.dry_run
    if pending or summary.serving_updated or summary.serving_deleted or summary.serving_stale:
        rows += [
            (
                "readers' generation: objects updated (embeddings)",
                f"{summary.serving_updated} ({summary.serving_embeddings})",
            ),
            ("readers' generation: objects deleted", str(summary.serving_deleted)),
            ("readers' generation: objects stale (older version served)", str(summary.serving_stale)),
        ]
    rows += [(f"repaired: {what}", str(count)) for what, count in summary.repairs.items()]
    if summary.lease:
        rows.append(("write lease", summary.lease))
    if summary.lag_seconds_max:
        rows.append(
            (
                "index lag, worst / median (s)",
                f"{summary.lag_seconds_max:.1f} / {summary.lag_seconds_median:.1f}",
            )
        )
    rows += [(f"{stage} seconds", f"{seconds:.2f}") for stage, seconds in summary.stage_seconds.items()]
    return rows


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """The summary as JSON-ready data: every field of RunSummary, nested values as objects and lists."""
    return json.loads(json.dumps(asdict(summary), default=str))


def artifact_key(prefix: str, collection: str) -> str:
    """A stable Prefect artifact key (lowercase letters, digits and dashes) for charting runs over time."""
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in collection.lower())
    return f"{prefix}-{cleaned}".strip("-")


def _excluded(summary: RunSummary) -> str:
    """How many chunks were left out of indexed documents, by check."""
    counts = excluded_by_check(summary.excluded)
    if not counts:
        return "0"
    return f"{len(summary.excluded)} (" + ", ".join(f"{check}: {n}" for check, n in counts) + ")"


def _generation(summary: RunSummary) -> str:
    """The physical collection written, and whether readers were switched to it."""
    if summary.switch_refused:
        return f"{summary.generation} (built, not switched in; readers stay: {summary.switch_refused})"
    if summary.switched_from:
        dropped = f"; dropped {', '.join(summary.generations_dropped)}" if summary.generations_dropped else ""
        return f"{summary.generation} (readers switched from {summary.switched_from}{dropped})"
    if summary.new_generation:
        when = "when a run completes" if summary.dry_run else "from now on"
        return f"{summary.generation} (new for this embedding model or schema; readers use it {when})"
    return summary.generation
