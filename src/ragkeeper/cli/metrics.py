"""`ragkeeper metrics`: serve Prometheus metrics of the index, its runs and the style models."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from ragkeeper.cli.app import app, console
from ragkeeper.settings import load_settings


@app.command(rich_help_panel="Operations")
def metrics(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: metrics.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: metrics.port).")] = None,
) -> None:
    """Serve /metrics for Prometheus: freshness, totals, last runs, pending changes, models."""
    from ragkeeper.adapters.metrics_exporter import serve_metrics

    settings = load_settings()
    bind_host = host or settings.metrics.host
    bind_port = port if port is not None else settings.metrics.port
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"metrics of {settings.weaviate.collection} on http://{bind_host}:{bind_port}/metrics")
    serve_metrics(settings, bind_host, bind_port, stop)
