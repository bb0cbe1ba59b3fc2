"""Sharding a large sync across parallel child runs (`ingest.shards`).

When a run has at least `ingest.shard_min_objects` objects to process, they are split by a stable
hash of their URI into `ingest.shards` groups, and each group is parsed, gated, embedded and written
by its own child flow run (`ingest-shard`), all at once. The shards meet at a gate after parsing:
the failure share is checked over all of them, so a run with too many failures still writes
nothing. Planning, quarantine records, deletions and the generation switch stay with the parent run.
Dry runs and runs with a cost limit are never sharded: their estimate must cover every object first.

Shard runs are threads of the parent's process (their tasks go to the configured task runner), which
is what lets them share the gate.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from prefect import flow

from ragkeeper.core.quality.report import merge_quality_reports
from ragkeeper.core.sync.plan import check_failure_share
from ragkeeper.errors import ShardAborted
from ragkeeper.flows import processing
from ragkeeper.flows.runner import task_runner
from ragkeeper.models import QualityReport, QuarantinedObject, SourceObject, WriteResult
from ragkeeper.settings import Settings


@dataclass(frozen=True)
class ShardResult:
    """What one shard (or all of them, merged) parsed, quarantined and wrote."""

    parsed: int = 0
    quarantined: list[QuarantinedObject] = field(default_factory=list)
    quality: QualityReport | None = None
    total: WriteResult = field(default_factory=WriteResult)
    seconds: dict[str, float] = field(default_factory=dict)


def shard_count(settings: Settings, objects: int, needs_global_estimate: bool) -> int:
    """How many child runs a sync of `objects` objects is split into (1: not sharded)."""
    if needs_global_estimate or objects < settings.ingest.shard_min_objects:
        return 1
    return max(1, min(settings.ingest.shards, objects))


def split(objects: Sequence[SourceObject], count: int) -> list[list[SourceObject]]:
    """Objects grouped by a stable hash of their URI, so a re-run gives every object the same shard."""
    groups: list[list[SourceObject]] = [[] for _ in range(count)]
    for obj in objects:
        groups[int(hashlib.sha256(obj.uri.encode()).hexdigest()[:8], 16) % count].append(obj)
    return groups


class ShardGate:
    """Where the shards of one run wait for each other after parsing, before anything is written."""

    def __init__(self, shards: int, objects: int, max_failure_share: float) -> None:
        self._barrier = threading.Barrier(shards)
        self._lock = threading.Lock()
        self._failed: list[QuarantinedObject] = []
        self._objects = objects
        self._max_share = max_failure_share

    def pass_through(self, failed: Sequence[QuarantinedObject]) -> None:
        """Report a shard's failures and wait for the others; raise if the run's share is too high."""
        with self._lock:
            self._failed += failed
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            raise ShardAborted(
                "another shard of this run failed; nothing of this shard was written"
            ) from None
        check_failure_share(self._failed, self._objects, self._max_share)

    def abort(self) -> None:
        """A shard failed before the gate: release the others (they stop without writing)."""
        self._barrier.abort()


_gates: dict[str, ShardGate] = {}


def gate_named(name: str) -> ShardGate:
    """The gate of a running sharded run.

    A function, not a direct lookup in the flow: Dask serialises the flow's function by value, and
    it must not drag the gates (and their locks) along.
    """
    return _gates[name]


@flow(name="ingest-shard", validate_parameters=False)
def ingest_shard(settings: Settings, objects: list[SourceObject], config_hash: str, gate: str) -> ShardResult:
    """Parse and gate one shard of a sync, wait for the others at the gate, then embed and write it."""
    seconds: dict[str, float] = defaultdict(float)
    meeting = gate_named(gate)
    try:
        with task_runner(settings) as (runner, runner_settings):
            documents, quarantined, quality = processing.parse_and_validate(
                runner, runner_settings, objects, seconds
            )
            meeting.pass_through(quarantined)
            total = processing.write_documents(runner, runner_settings, documents, config_hash)
    except BaseException:
        meeting.abort()
        raise
    return ShardResult(len(documents), quarantined, quality, total, dict(seconds))


def run_shards(
    settings: Settings, objects: Sequence[SourceObject], count: int, config_hash: str
) -> ShardResult:
    """Run the shards as parallel child runs and merge their results."""
    groups = [group for group in split(objects, count) if group]
    gate = uuid.uuid4().hex
    _gates[gate] = ShardGate(len(groups), len(objects), settings.quality.max_failure_share)
    try:
        results = _run_children(settings, groups, config_hash, gate)
    finally:
        del _gates[gate]
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        for stage, value in result.seconds.items():
            seconds[stage] = max(seconds[stage], value)  # shards run side by side: wall time is the longest
    reports = [r.quality for r in results if r.quality is not None]
    return ShardResult(
        parsed=sum(r.parsed for r in results),
        quarantined=[q for r in results for q in r.quarantined],
        quality=merge_quality_reports(reports) if reports else None,
        total=processing.sum_results([r.total for r in results]),
        seconds=dict(seconds),
    )


def _run_children(
    settings: Settings, groups: Sequence[list[SourceObject]], config_hash: str, gate: str
) -> list[ShardResult]:
    """Every shard's result; when shards fail, the first real error (not a shard stopped by it)."""
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="shard") as pool:
        futures = [
            # A copied context keeps each child linked to the parent flow run.
            pool.submit(
                contextvars.copy_context().run,
                ingest_shard.with_options(flow_run_name=f"ingest-shard-{n}-of-{len(groups)}"),
                settings,
                group,
                config_hash,
                gate,
            )
            for n, group in enumerate(groups, 1)
        ]
        results: list[ShardResult] = []
        errors: list[BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as error:
                errors.append(error)
    if errors:
        raise next((e for e in errors if not isinstance(e, ShardAborted)), errors[0])
    return results
