"""Sharding a large sync across parallel child runs (`ingest.shards`).

When a run has at least `ingest.shard_min_objects` objects to process, they are split by a stable
hash of their URI into `ingest.shards` groups, and each group is streamed (parsed, gated, embedded
and written) by its own child flow run (`ingest-shard`), all at once. The shards share the run's
failure-share guard, so the guard judges the whole run: once it trips, every shard stops writing.
When one shard fails, the guard is halted, the other shards stop submitting work, and the run fails
with that shard's error; no shard waits for another. Planning, quarantine records, deletions and the
generation switch stay with the parent run.

Shard runs are threads of the parent's process (their tasks go to the configured task runner), which
is what lets them share the guard.
"""

from __future__ import annotations

import contextvars
import hashlib
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import flow
from prefect.task_runners import TaskRunner

from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.guard import FailureGuard
from ragkeeper.flows.runner import task_runner
from ragkeeper.flows.stream import StreamResult, stream_documents
from ragkeeper.models import SourceObject
from ragkeeper.settings import Settings
from ragkeeper.tasks.write_lease import Lease


def parse_gate_embed_write(
    runner: TaskRunner[Any],
    settings: Settings,
    objects: Sequence[SourceObject],
    *,
    guard: FailureGuard,
    config_hash: str,
    lease: Lease,
) -> StreamResult:
    """Stream the objects through parse, gate, embed and write: in this run, or in parallel shard runs.

    The write lease is checked before every write batch.
    """
    count = shard_count(settings, len(objects))
    if count == 1:
        return stream_documents(
            runner, settings, objects, guard, config_hash=config_hash, before_write=lease.check
        )
    return run_shards(settings, objects, count, guard=guard, config_hash=config_hash, lease=lease)


def shard_count(settings: Settings, objects: int) -> int:
    """How many child runs a sync of `objects` objects is split into (1: not sharded)."""
    if objects < settings.ingest.shard_min_objects:
        return 1
    return max(1, min(settings.ingest.shards, objects))


def split(objects: Sequence[SourceObject], count: int) -> list[list[SourceObject]]:
    """Objects grouped by a stable hash of their URI, so a re-run gives every object the same shard."""
    groups: list[list[SourceObject]] = [[] for _ in range(count)]
    for obj in objects:
        groups[int(hashlib.sha256(obj.uri.encode()).hexdigest()[:8], 16) % count].append(obj)
    return groups


_runs: dict[str, tuple[FailureGuard, Lease]] = {}


def run_named(name: str) -> tuple[FailureGuard, Lease]:
    """The guard and write lease of a running sharded run.

    A function, not a direct lookup in the flow: Dask serialises the flow's function by value, and
    it must not drag the guards (and their locks) along.
    """
    return _runs[name]


@flow(name="ingest-shard", validate_parameters=False)
def ingest_shard(settings: Settings, objects: list[SourceObject], config_hash: str, run: str) -> StreamResult:
    """Stream one shard of a sync; a failure halts the run's other shards."""
    guard, lease = run_named(run)
    try:
        checkpoint("shard-start")
        with task_runner(settings) as (runner, runner_settings):
            return stream_documents(
                runner, runner_settings, objects, guard, config_hash=config_hash, before_write=lease.check
            )
    except BaseException:
        guard.halt()
        raise


def run_shards(
    settings: Settings,
    objects: Sequence[SourceObject],
    count: int,
    *,
    guard: FailureGuard,
    config_hash: str,
    lease: Lease,
) -> StreamResult:
    """Run the shards as parallel child runs and merge their results; the first error if one failed."""
    groups = [group for group in split(objects, count) if group]
    name = uuid.uuid4().hex
    _runs[name] = (guard, lease)
    try:
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="shard") as pool:
            futures = [
                # A copied context keeps each child linked to the parent flow run.
                pool.submit(
                    contextvars.copy_context().run,
                    ingest_shard.with_options(flow_run_name=f"ingest-shard-{n}-of-{len(groups)}"),
                    settings,
                    group,
                    config_hash,
                    name,
                )
                for n, group in enumerate(groups, 1)
            ]
            results: list[StreamResult] = []
            errors: list[BaseException] = []
            for future in futures:
                try:
                    results.append(future.result())
                except Exception as error:
                    errors.append(error)
    finally:
        del _runs[name]
    if errors:
        raise errors[0]
    return merge_streams(results)


def merge_streams(results: Sequence[StreamResult]) -> StreamResult:
    """The shards' results as one; busy seconds add up, as they do for tasks of one stream."""
    merged = StreamResult()
    for result in results:
        merged.parsed += result.parsed
        merged.quarantined += result.quarantined
        merged.excluded += result.excluded
        merged.reports += result.reports
        merged.written += result.written
        merged.parse_seconds += result.parse_seconds
        merged.validate_seconds += result.validate_seconds
        merged.stopped = merged.stopped or result.stopped
    return merged
