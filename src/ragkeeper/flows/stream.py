"""Parse -> gate -> embed -> write as one stream: the stages overlap and memory stays bounded.

Parse tasks (reading and parsing a batch of objects in the parse pool) and write tasks (embed and
write a batch of accepted documents) are submitted to the task runner; the gate (Great Expectations
over a group of `quality.documents_per_validation` parsed documents) runs in a thread of the run's
own process, where the quality settings and Data Docs live; while the writers are idle it takes
what is waiting (within a budget of validations, `core.sync.gate_groups`), and the first parse
batches are small, so that writing starts with the first parsed documents and keeps pace. The
stream takes each one back as soon as it finishes, whichever it is, so a slow batch, a validation
or a write never stops parsing: at most `ingest.parse_concurrency` parse tasks, one validation and
`ingest.write_concurrency` write tasks are in flight. Parsing pauses while two groups' worth of
documents wait to be gated or written, so at any moment the run holds a bounded number of
documents, whatever the size of the corpus.

The failure-share guard (`core.sync.guard`) watches every parse and gate outcome; once it trips,
nothing more is submitted, the writes already in flight finish (they hold gated, good data), and
the stream ends with `stopped` set. The same stream, with the estimate task as its sink, serves the
first pass of a dry run or of a run with a cost limit.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from ragkeeper import progress, runtime
from ragkeeper.core.batching import batched, ramped
from ragkeeper.core.quality.report import merge_quality_reports
from ragkeeper.core.quality.verdicts import judge
from ragkeeper.core.sync.gate_groups import gate_group_size, may_gate_early
from ragkeeper.core.sync.guard import FailureGuard
from ragkeeper.errors import first_line
from ragkeeper.models import (
    EmbeddingEstimate,
    ExcludedChunk,
    ParsedDocument,
    QualityReport,
    QuarantinedObject,
    SourceObject,
    WriteResult,
)
from ragkeeper.settings import Settings
from ragkeeper.tasks.parse_tasks import (
    ParsedBatch,
    ValidatedGroup,
    parse_batch,
    publish_quality_report,
    validate_batch,
)
from ragkeeper.tasks.write_tasks import estimate_batch, write_batch

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class StreamResult:
    """What one pass over a run's objects did."""

    parsed: int = 0
    quarantined: list[QuarantinedObject] = field(default_factory=list)
    excluded: list[ExcludedChunk] = field(default_factory=list)
    reports: list[QualityReport] = field(default_factory=list)
    written: WriteResult = field(default_factory=WriteResult)
    estimate: EmbeddingEstimate = field(default_factory=EmbeddingEstimate)
    parse_seconds: float = 0.0
    validate_seconds: float = 0.0
    stopped: bool = False

    @property
    def quality(self) -> QualityReport | None:
        """The gate's findings over the whole pass (None when nothing was gated)."""
        return merge_quality_reports(self.reports) if self.reports else None


def stream_documents(
    runner: TaskRunner[Any],
    settings: Settings,
    objects: Sequence[SourceObject],
    guard: FailureGuard,
    *,
    config_hash: str | None,
    before_write: Callable[[], None] = lambda: None,
) -> StreamResult:
    """Parse, gate, embed and write `objects`; with `config_hash` None, only estimate what writing costs.

    `before_write` runs before every write batch is submitted (the write lease's check).
    """
    return _Stream(runner, settings, guard, config_hash, before_write).run(objects)


class _Stream:
    def __init__(
        self,
        runner: TaskRunner[Any],
        settings: Settings,
        guard: FailureGuard,
        config_hash: str | None,
        before_write: Callable[[], None],
    ) -> None:
        self._runner = runner
        self._before_write = before_write
        self._settings = settings
        self._guard = guard
        self._config_hash = config_hash
        self._result = StreamResult()
        self._to_gate: list[ParsedDocument] = []
        self._to_write: deque[Sequence[ParsedDocument]] = deque()
        self._parsing: list[PrefectFuture[ParsedBatch]] = []
        self._gating: list[Future[ValidatedGroup]] = []
        self._gating_documents = 0
        self._writing: list[PrefectFuture[Any]] = []
        self._finished: queue.Queue[Any] = queue.Queue()  # futures, in the order they finish
        self._gate_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-gate")
        self._started = time.monotonic()

    def run(self, objects: Sequence[SourceObject]) -> StreamResult:
        progress.start("parse", len(objects))
        batches = deque(ramped(objects, self._settings.ingest.objects_per_task))
        with self._gate_thread:
            if batches:  # Great Expectations takes seconds to import: meanwhile the first batches parse
                self._gate_thread.submit(runtime.quality_gate, self._settings)
            try:
                while True:
                    self._submit_writes()
                    self._submit_gate(final=not batches and not self._parsing)
                    self._submit_parses(batches)
                    if not (self._parsing or self._gating or self._writing):
                        break
                    self._take(self._finished.get())
            finally:
                if self._result.reports:
                    self._publish_quality_report()
        self._result.stopped = self._guard.tripped
        return self._result

    def _track(self, future: Any) -> Any:
        """Have the future reported to the stream when it finishes; return it."""
        future.add_done_callback(self._finished.put)
        return future

    def _submit_parses(self, batches: deque[Sequence[SourceObject]]) -> None:
        ingest = self._settings.ingest
        while batches and len(self._parsing) < ingest.parse_concurrency and not self._backed_up():
            if self._guard.stopping:
                batches.clear()
                return
            batch = batches.popleft()
            self._parsing.append(self._track(self._runner.submit(parse_batch, self._parameters(batch))))

    def _backed_up(self) -> bool:
        """Whether two groups' worth of parsed documents wait for the gate or for a write.

        One group is gated while the next one fills, so parsing goes on during a validation.
        """
        waiting = len(self._to_gate) + self._gating_documents + sum(len(b) for b in self._to_write)
        return waiting >= 2 * self._settings.quality.documents_per_validation

    def _submit_gate(self, *, final: bool) -> None:
        """Gate the next group (one validation at a time); `final`: the last, smaller group too."""
        if self._gating or not self._to_gate or self._guard.stopping:
            return
        quality = self._settings.quality
        size = gate_group_size(
            len(self._to_gate),
            per_group=quality.documents_per_validation,
            writers_idle=not self._to_write and self._write_slot_free(),
            early=may_gate_early(
                self._result.validate_seconds,
                time.monotonic() - self._started,
                override_suite=quality.suite_override_file is not None,
            ),
            final=final,
        )
        if not size:
            return
        group, self._to_gate = self._to_gate[:size], self._to_gate[size:]
        self._gating_documents = len(group)
        gate = self._in_gate_thread(validate_batch, quote(self._settings), quote(group))
        self._gating.append(self._track(gate))

    def _publish_quality_report(self) -> None:
        try:
            self._in_gate_thread(publish_quality_report, self._settings).result()
        except Exception as error:  # a report page, not data: the run's outcome stands
            log.warning("could not bring the Data Docs index up to date: %s", first_line(error, 200))

    def _in_gate_thread(self, gate_task: Callable[..., T], *args: Any) -> Future[T]:
        """Run a task of the gate in its thread: a task of this flow run, so the context goes along."""
        return self._gate_thread.submit(contextvars.copy_context().run, gate_task, *args)

    def _write_slot_free(self) -> bool:
        return len(self._writing) < self._settings.ingest.write_concurrency

    def _submit_writes(self) -> None:
        while self._to_write and self._write_slot_free():
            if self._guard.stopping:
                self._to_write.clear()  # not written, not recorded: the next run plans them again
                return
            self._before_write()
            batch = self._to_write.popleft()
            chunks = sum(len(doc.chunks) for doc in batch)
            progress.start("embed", chunks)
            progress.start("write", chunks)
            if self._config_hash is None:
                future = self._runner.submit(estimate_batch, self._parameters(batch))
            else:
                future = self._runner.submit(
                    write_batch, self._parameters(batch, config_hash=self._config_hash)
                )
            self._writing.append(self._track(future))

    def _parameters(self, batch: Sequence[Any], **more: Any) -> dict[str, Any]:
        """A batch task's parameters, which Prefect passes as they are when the task runs in a thread.

        Prefect otherwise walks every parameter, object by object, looking for futures to wait on:
        a batch of parsed documents and the settings are thousands of objects, walked twice per
        task. Dask turns the annotation (a named tuple) into a plain tuple, so there it is left out.
        """
        parameters = {"settings": self._settings, "batch": batch, **more}
        if not isinstance(self._runner, ThreadPoolTaskRunner):
            return parameters
        return {name: quote(value) for name, value in parameters.items()}

    def _take(self, future: Any) -> None:
        if future in self._parsing:
            self._parsing.remove(future)
            self._take_parsed(future.result())
        elif future in self._gating:
            self._gating.remove(future)
            self._gating_documents = 0
            self._take_gated(future.result())
        else:
            self._writing.remove(future)
            self._take_written(future.result())

    def _take_parsed(self, parsed: ParsedBatch) -> None:
        self._result.parse_seconds += parsed.seconds
        progress.advance("parse", len(parsed.documents) + len(parsed.quarantined))
        self._result.quarantined += parsed.quarantined  # facts even after a stop: recorded as retryable
        if self._guard.observe(len(parsed.quarantined), parsed.quarantined):
            return  # documents parsed after the run stopped are not written: the next run plans them again
        self._result.parsed += len(parsed.documents)
        self._to_gate += parsed.documents

    def _take_gated(self, gated: ValidatedGroup) -> None:
        self._result.validate_seconds += gated.seconds
        verdicts = judge(gated.documents, gated.report, self._settings.quality.max_excluded_chunk_share)
        self._result.reports.append(gated.report)
        self._result.quarantined += verdicts.quarantined
        self._result.excluded += verdicts.excluded
        if self._guard.observe(len(gated.documents), verdicts.quarantined):
            return
        self._to_write.extend(batched(verdicts.accepted, self._settings.ingest.objects_per_task))

    def _take_written(self, outcome: WriteResult | EmbeddingEstimate) -> None:
        if isinstance(outcome, EmbeddingEstimate):
            self._result.estimate = EmbeddingEstimate(
                self._result.estimate.chunks_to_embed + outcome.chunks_to_embed,
                self._result.estimate.tokens + outcome.tokens,
            )
        else:
            self._result.written += outcome
