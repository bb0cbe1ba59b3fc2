"""Which task runner the heavy steps use: a thread pool here, or a Dask cluster.

`runner.kind = "dask"` sends parse and embed-and-write tasks to a Dask cluster: the one at
`runner.dask_address`, or a local cluster of `runner.dask_workers` processes started for the run.
Tasks take settings, not clients, so each worker process builds its own adapters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from ragkeeper.settings import Settings


@contextmanager
def task_runner(settings: Settings) -> Iterator[tuple[TaskRunner[Any], Settings]]:
    """A started task runner, and the settings its tasks (and any shard runs) should use.

    For a local Dask cluster the returned settings carry the cluster's address, so that shard runs
    submit to the same cluster instead of starting their own.
    """
    if settings.runner.kind == "threads":
        workers = max(settings.ingest.parse_concurrency, settings.ingest.write_concurrency)
        with ThreadPoolTaskRunner(max_workers=workers) as runner:
            yield runner, settings
        return
    from prefect_dask.task_runners import DaskTaskRunner

    with ExitStack() as stack:
        address = settings.runner.dask_address or stack.enter_context(_local_cluster(settings))
        settings = settings.model_copy(
            update={"runner": settings.runner.model_copy(update={"dask_address": address})}
        )
        runner = stack.enter_context(DaskTaskRunner(address=address))
        yield runner, settings


@contextmanager
def _local_cluster(settings: Settings) -> Iterator[str]:
    """A Dask cluster of worker processes on this machine, closed afterwards; yields its address."""
    from distributed import LocalCluster

    cluster: Any = LocalCluster(
        n_workers=settings.runner.dask_workers,
        threads_per_worker=settings.runner.dask_threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,  # type: ignore[arg-type]  # None turns the dashboard off
    )
    with cluster:
        yield cluster.scheduler_address
