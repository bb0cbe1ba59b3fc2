"""Tasks that read and parse source objects, and gate what was parsed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.sync.quarantine import parse_failure
from ragkeeper.core.timing import timed
from ragkeeper.errors import ConfigError, TerminalError, UnsupportedDocument
from ragkeeper.models import ParsedDocument, QualityReport, QuarantinedObject, SourceObject
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """What parsing a batch of objects gave: documents, quarantines, and the seconds it took."""

    documents: tuple[ParsedDocument, ...]
    quarantined: tuple[QuarantinedObject, ...]
    seconds: float


@task(name="parse-batch", **RETRYING)
def parse_batch(settings: Settings, batch: Sequence[SourceObject]) -> ParsedBatch:
    """Read and parse a batch of objects (in the parse pool); unusable ones come back quarantined."""
    started = time.perf_counter()
    source = runtime.source(settings)
    parser = runtime.parser(settings)
    limit = settings.source.max_object_bytes
    documents: list[ParsedDocument] = []
    quarantined: list[QuarantinedObject] = []
    for obj in batch:
        try:
            if obj.size > limit:
                raise UnsupportedDocument(f"{obj.uri}: {obj.size} bytes is over the {limit}-byte limit")
            documents.append(parser.parse(obj, source.read(obj), settings.weaviate.collection))
        except ConfigError:
            raise  # a setting no document can meet fails the run: no document is to blame
        except TerminalError as error:  # transient errors retry the task
            quarantined.append(parse_failure(obj.uri, error))
    return ParsedBatch(tuple(documents), tuple(quarantined), time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class ValidatedGroup:
    """The quality gate's report on a group of parsed documents, and the seconds it took."""

    documents: tuple[ParsedDocument, ...]
    report: QualityReport
    seconds: float


@task(name="validate-batch", **RETRYING)
def validate_batch(settings: Settings, documents: Sequence[ParsedDocument]) -> ValidatedGroup:
    """Run the quality gate (Great Expectations) over parsed documents and their chunks."""
    report, seconds = timed(lambda: runtime.quality_gate(settings).validate(documents))
    return ValidatedGroup(tuple(documents), report, seconds)


@task(name="publish-quality-report")
def publish_quality_report(settings: Settings) -> None:
    """Bring the quality gate's Data Docs index up to date with the run's validations."""
    runtime.quality_gate(settings).publish()
