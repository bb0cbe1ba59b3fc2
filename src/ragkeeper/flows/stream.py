"""Parse -> gate -> embed -> write as one stream: the stages overlap and memory stays bounded.

Parse tasks (reading and parsing a batch of objects in the parse pool) are submitted to the task
runner, at most `ingest.parse_concurrency` at a time, and taken back in order. Parsed documents are
gated in groups of `quality.documents_per_validation`; the accepted ones go out as write tasks (embed
and write), at most `ingest.write_concurrency` at a time, while the next batches are still parsing.
So at any moment the run holds a bounded number of documents, whatever the size of the corpus.

The failure-share guard (`core.sync.guard`) watches every parse and gate outcome; once it trips,
nothing more is submitted, the writes already in flight finish (they hold gated, good data), and
the stream ends with `stopped` set. The same stream, with the estimate task as its sink, serves the
first pass of a dry run or of a run with a cost limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from ragkeeper import progress
from ragkeeper.core.batching import batched
from ragkeeper.core.quality.report import merge_quality_reports
from ragkeeper.core.quality.verdicts import judge
from ragkeeper.core.sync.guard import FailureGuard
from ragkeeper.core.timing import timed
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
from ragkeeper.tasks.parse_tasks import ParsedBatch, parse_batch, validate_batch
from ragkeeper.tasks.write_tasks import estimate_batch, write_batch


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
        self._parsing: deque[PrefectFuture[ParsedBatch]] = deque()
        self._writing: deque[PrefectFuture[Any]] = deque()

    def run(self, objects: Sequence[SourceObject]) -> StreamResult:
        ingest = self._settings.ingest
        progress.start("parse", len(objects))
        for batch in batched(objects, ingest.objects_per_task):
            if self._guard.stopping:
                break
            self._parsing.append(
                self._runner.submit(parse_batch, {"settings": self._settings, "batch": batch})
            )
            while len(self._parsing) >= ingest.parse_concurrency:
                self._take_parsed()
        while self._parsing:
            self._take_parsed()
        self._gate()
        while self._writing:
            self._take_written()
        self._result.stopped = self._guard.tripped
        return self._result

    def _take_parsed(self) -> None:
        parsed = self._parsing.popleft().result()
        self._result.parse_seconds += parsed.seconds
        progress.advance("parse", len(parsed.documents) + len(parsed.quarantined))
        self._result.quarantined += parsed.quarantined  # facts even after a stop: recorded as retryable
        if self._guard.observe(len(parsed.quarantined), parsed.quarantined):
            return  # documents parsed after the run stopped are not written: the next run plans them again
        self._result.parsed += len(parsed.documents)
        self._to_gate += parsed.documents
        if len(self._to_gate) >= self._settings.quality.documents_per_validation:
            self._gate()

    def _gate(self) -> None:
        group, self._to_gate = self._to_gate, []
        if not group or self._guard.stopping:
            return
        report, seconds = timed(lambda: validate_batch(self._settings, group))
        self._result.validate_seconds += seconds
        verdicts = judge(group, report, self._settings.quality.max_excluded_chunk_share)
        self._result.reports.append(report)
        self._result.quarantined += verdicts.quarantined
        self._result.excluded += verdicts.excluded
        if self._guard.observe(len(group), verdicts.quarantined):
            return
        for batch in batched(verdicts.accepted, self._settings.ingest.objects_per_task):
            self._submit_write(batch)

    def _submit_write(self, batch: Sequence[ParsedDocument]) -> None:
        while len(self._writing) >= self._settings.ingest.write_concurrency:
            self._take_written()
        self._before_write()
        chunks = sum(len(doc.chunks) for doc in batch)
        progress.start("embed", chunks)
        progress.start("write", chunks)
        parameters: dict[str, Any] = {"settings": self._settings, "batch": batch}
        if self._config_hash is None:
            self._writing.append(self._runner.submit(estimate_batch, parameters))
        else:
            self._writing.append(
                self._runner.submit(write_batch, {**parameters, "config_hash": self._config_hash})
            )

    def _take_written(self) -> None:
        outcome = self._writing.popleft().result()
        if isinstance(outcome, EmbeddingEstimate):
            self._result.estimate = EmbeddingEstimate(
                self._result.estimate.chunks_to_embed + outcome.chunks_to_embed,
                self._result.estimate.tokens + outcome.tokens,
            )
        else:
            self._result.written += outcome
