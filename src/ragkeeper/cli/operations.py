"""Operations commands: status, doctor, serve, listen, deployments."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ragkeeper.cli.app import Collection, app, console, print_report
from ragkeeper.errors import ConfigError
from ragkeeper.settings import load_settings, settings_for_run


@app.command(rich_help_panel="Operations")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    collection: Collection = None,
) -> None:
    """Freshness and health: last runs, objects and chunks, quarantine, pending changes, current models."""
    from ragkeeper.status import collect_status

    settings = settings_for_run(collection=collection)
    state = collect_status(settings)
    if as_json:
        print(json.dumps(state.to_json(), indent=2))
        return
    print_report(
        f"ragkeeper status: {state.collection}",
        _status_rows(state),
        state.quarantined,
        f"{len(state.quarantined)} quarantined",
    )


def _status_rows(state: Any) -> list[tuple[str, str]]:
    last, success = state.last_run, state.last_success
    pending = state.pending
    rows = [
        ("source", state.source),
        (
            "generation (readers)",
            f"{state.generation} ({_model(state.generation_model, state.generation_schema)})"
            if state.generation
            else "none yet: run `ragkeeper ingest`",
        ),
    ]
    if state.building:
        built = _model(state.building_model, state.building_schema)
        rows.append(
            (
                "generation being built",
                f"{state.building} ({built}; readers switch when a full sync completes)",
            )
        )
    if state.building or state.objects_stale:
        rows.append(
            (
                "objects stale for readers",
                f"{state.objects_stale} (older version served until the new generation serves: "
                f"{state.stale_reason})"
                if state.objects_stale
                else "0",
            )
        )
    when = f"{success.finished_at:%Y-%m-%d %H:%M:%S} UTC" if success else ""
    rows += [
        (
            "last successful run",
            f"{success.flow} at {when}, {_age(state.last_success_age_seconds)} ago" if success else "never",
        ),
        ("last run", f"{last.flow}: {last.outcome} {last.message}".strip() if last else "never"),
        ("objects indexed", str(state.objects_indexed)),
        ("objects quarantined", str(len(state.quarantined))),
        ("objects interrupted (retried next run)", str(state.objects_pending)),
        ("chunks", str(state.chunks)),
        (
            "pending changes",
            f"cannot list the source: {pending.error}"
            if pending.error
            else f"{pending.new} new, {pending.changed} changed, {pending.deleted} deleted",
        ),
    ]
    for dataset, model in state.models.items():
        rows.append((f"model: {dataset}", str(model.get("model_id") or model.get("message") or "none yet")))
    return rows


def _model(model_id: str, schema: int | None) -> str:
    return f"{model_id or 'unknown model'}, schema {schema if schema is not None else '?'}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@app.command(rich_help_panel="Operations")
def serve(
    limit: Annotated[int | None, typer.Option(min=1, help="Flow runs at once (default: no limit).")] = None,
    take_over: Annotated[
        bool,
        typer.Option("--take-over", help="Replace deployments of the same names that `prefect deploy` made."),
    ] = False,
) -> None:
    """Serve the ingest, reindex, reconcile and retrain deployments from this process (no work pool)."""
    from ragkeeper.deployments import deployment_specs, serve_deployments, take_over_deployments

    settings = load_settings()
    _require_prefect_server("serve")
    taken = take_over_deployments(settings, take_over)
    if taken:
        console.print(f"took over {', '.join(taken)} from their work pool")
    table = Table("deployment", "schedule", "triggered by", title="serving (Ctrl-C stops)")
    for spec in deployment_specs(settings):
        events = ", ".join(e for t in spec.triggers for e in t["expect"]) or "-"
        table.add_row(f"{spec.flow_name}/{spec.name}", spec.cron or "-", events)
    console.print(table)
    serve_deployments(settings, limit)


@app.command(rich_help_panel="Operations")
def listen(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: listen.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: listen.port).")] = None,
    sqs: Annotated[
        str | None,
        typer.Option("--sqs", help="Read S3 notifications from this SQS queue URL (listen.sqs_queue_url)."),
    ] = None,
) -> None:
    """Receive S3 event notifications and ask for reindex runs of exactly the changed keys."""
    from ragkeeper import factory
    from ragkeeper.adapters.event_receiver import ReceiverConfig
    from ragkeeper.adapters.event_receiver import serve as serve_receiver

    settings = load_settings()
    listen_settings = settings.listen
    if not settings.source.uri.startswith("s3://"):
        raise ConfigError(f"listen receives S3 events, but source.uri is {settings.source.uri}")
    bind_host, bind_port = host or listen_settings.host, port if port is not None else listen_settings.port
    queue_url = sqs or listen_settings.sqs_queue_url
    if queue_url:
        from ragkeeper.cli.listen_sqs import listen_sqs

        _require_prefect_server("listen")
        listen_sqs(settings, queue_url, bind_host, bind_port)
        return
    token = listen_settings.token.get_secret_value() if listen_settings.token else None
    hmac_secret = listen_settings.hmac_secret.get_secret_value() if listen_settings.hmac_secret else None
    if not token and not hmac_secret:  # an empty value would start a receiver that refuses everything
        raise ConfigError(
            "listen authenticates every request: set RAGKEEPER_LISTEN__TOKEN (bearer) or "
            "RAGKEEPER_LISTEN__HMAC_SECRET"
        )
    _require_prefect_server("listen")
    config = ReceiverConfig(
        path=listen_settings.path,
        token=token or None,
        hmac_secret=hmac_secret or None,
        max_body_bytes=listen_settings.max_body_bytes,
        debounce_seconds=listen_settings.debounce_seconds,
        max_keys=listen_settings.max_keys_per_run,
        max_pending_keys=listen_settings.max_pending_keys,
        emit_timeout_seconds=listen_settings.emit_timeout_seconds,
        max_connections=listen_settings.max_connections,
        source_root=factory.make_source(settings).root_uri,
        collection=settings.weaviate.collection,
    )
    console.print(
        f"listening on http://{bind_host}:{bind_port}{config.path} for changes under {config.source_root}"
    )
    serve_receiver(config, bind_host, bind_port)


@app.command(rich_help_panel="Operations")
def deployments() -> None:
    """Print prefect.yaml for these settings (`ragkeeper deployments > prefect.yaml`)."""
    from ragkeeper.deployments import render_prefect_yaml

    print(render_prefect_yaml(load_settings()), end="")


def _require_prefect_server(command: str) -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ConfigError(
            f"{command} needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api "
            "after `prefect server start` or `make services-up`)"
        )


@app.command(rich_help_panel="Operations")
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check every configured service; print what is down and how to start it."""
    import dataclasses

    from ragkeeper.doctor import run_checks

    checks = run_checks(load_settings())
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
