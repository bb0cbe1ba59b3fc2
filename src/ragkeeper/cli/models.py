"""`ragkeeper models`: the model registry, and promoting or rolling back a dataset's model by hand."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from ragkeeper.cli.app import app, console
from ragkeeper.errors import ConfigError
from ragkeeper.settings import load_settings

models_app = typer.Typer(no_args_is_help=False, help="The model registry (fine-tuned style models).")
app.add_typer(models_app, name="models", rich_help_panel="Retraining")


def _by_hand(action: str) -> str:
    return f"{action} by {getpass.getuser()} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


@models_app.callback(invoke_without_command=True)
def models(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only this dataset's models.")] = None,
) -> None:
    """Show the model registry: every fine-tuned model, the current one of each dataset marked."""
    if context.invoked_subcommand is not None:
        return
    import dataclasses
    import json

    from rich.markup import escape

    from ragkeeper import runtime
    from ragkeeper.core.retrain.registry import current_models

    registry = runtime.model_registry(load_settings())
    records = [r for r in registry.models() if dataset is None or r.dataset == dataset]
    failed = [f for f in registry.failed_jobs() if dataset is None or f.dataset == dataset]
    current = {record.job_id for record in current_models(records).values()}
    if as_json:
        body = {
            "registry": registry.location,
            "models": [
                {
                    **dataclasses.asdict(r),
                    "created_at": r.created_at.isoformat(),
                    "current": r.job_id in current,
                }
                for r in records
            ],
            "failed_jobs": [
                {**dataclasses.asdict(f), "finished_at": f.finished_at.isoformat()} for f in failed
            ],
        }
        print(json.dumps(body, indent=2))
        return
    if not records:
        console.print(f"no fine-tuned models recorded yet in {escape(registry.location)}")
    else:
        table = Table(title=escape(f"models in {registry.location}"))
        columns = (
            "dataset",
            "current",
            "model",
            "status",
            "job",
            "created",
            "fingerprint",
            "metrics",
            "evaluation",
        )
        for column in columns:
            table.add_column(column, overflow="fold" if column in ("model", "job") else "ellipsis")
        for r in sorted(records, key=lambda r: (r.dataset, r.created_at)):
            metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(r.metrics.items()))
            table.add_row(
                r.dataset,
                "[green]current[/green]" if r.job_id in current else "",
                escape(r.model_id),
                r.status,
                r.job_id,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.fingerprint[:12],
                escape(metrics),
                escape(r.evaluation),
            )
        console.print(table)
    if failed:
        ended = Table(
            "dataset", "job", "status", "finished", "reason", title="jobs that ended without a model"
        )
        for f in failed[-10:]:
            ended.add_row(
                f.dataset, f.job_id, f.status, f.finished_at.strftime("%Y-%m-%d %H:%M"), escape(f.reason)
            )
        console.print(ended)


@models_app.command()
def promote(
    model: Annotated[str, typer.Argument(help="Model id or job id, as `ragkeeper models` shows it.")],
) -> None:
    """Make a recorded model its dataset's current one (also one the evaluation gate rejected)."""
    from ragkeeper import runtime
    from ragkeeper.core.retrain.registry import PROMOTED, current_models, find_model

    registry = runtime.model_registry(load_settings())
    record = find_model(registry.models(), model)
    if record is None:
        raise ConfigError(f"no model {model!r} in {registry.location}")
    registry.set_status(record.job_id, PROMOTED, _by_hand("promoted"))
    current = current_models(registry.models()).get(record.dataset)
    console.print(f"dataset {record.dataset}: current model {current.model_id if current else '(none)'}")


@models_app.command()
def rollback(dataset: Annotated[str, typer.Argument(help="The dataset whose current model goes.")]) -> None:
    """Mark the dataset's current model rolled back: the model promoted before it is current again."""
    from ragkeeper import runtime
    from ragkeeper.core.retrain.registry import ROLLED_BACK, rollback_step

    registry = runtime.model_registry(load_settings())
    step = rollback_step(registry.models(), dataset)
    if step is None:
        raise ConfigError(f"dataset {dataset} has no earlier model to roll back to in {registry.location}")
    current, previous = step
    registry.set_status(current.job_id, ROLLED_BACK, _by_hand("rolled back"))
    console.print(f"dataset {dataset}: {current.model_id} rolled back; current model {previous.model_id}")
