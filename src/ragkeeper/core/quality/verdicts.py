"""What the quality gate's findings do to a group of documents. Pure.

- A document whose document-level checks failed is quarantined with the reasons.
- A chunk that failed a chunk-level check is left out and reported; its document stays indexed with
  the other chunks, unless more than `max_excluded_share` of its chunks were left out, in which case
  the whole document is quarantined (a page that is mostly junk is junk).
- A finding of a check whose action is `fail_run` fails the run: nothing of the group is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ragkeeper.errors import QualityCheckFailed
from ragkeeper.models import ExcludedChunk, ParsedDocument, QualityReport, QuarantinedObject


@dataclass(frozen=True, slots=True)
class Verdicts:
    """Documents to write (failing chunks removed, full text dropped), quarantines, excluded chunks."""

    accepted: tuple[ParsedDocument, ...] = ()
    quarantined: tuple[QuarantinedObject, ...] = ()
    excluded: tuple[ExcludedChunk, ...] = ()


def judge(documents: Sequence[ParsedDocument], report: QualityReport, max_excluded_share: float) -> Verdicts:
    """Apply the report to the documents it checked; QualityCheckFailed when a run-level check failed."""
    if report.run_failures:
        first, *others = report.run_failures
        more = f" (and {len(others)} more)" if others else ""
        raise QualityCheckFailed(f"a quality check that guards the pipeline itself failed: {first}{more}")
    excluded_by_document: dict[str, dict[str, ExcludedChunk]] = {}
    for chunk in report.excluded:  # a chunk failing several checks is excluded once, by the first
        excluded_by_document.setdefault(chunk.uri, {}).setdefault(chunk.chunk_id, chunk)
    accepted: list[ParsedDocument] = []
    quarantined: list[QuarantinedObject] = []
    excluded: list[ExcludedChunk] = []
    for doc in documents:
        uri = doc.obj.uri
        if uri in report.failures:
            quarantined.append(QuarantinedObject(uri, "quality: " + "; ".join(report.failures[uri])))
            continue
        dropped = list(excluded_by_document.get(uri, {}).values())
        dropped_ids = {chunk.chunk_id for chunk in dropped}
        if doc.chunks and len(dropped_ids) / len(doc.chunks) > max_excluded_share:
            quarantined.append(
                QuarantinedObject(
                    uri,
                    f"quality: {len(dropped_ids)} of {len(doc.chunks)} chunks failed chunk checks (more than "
                    f"quality.max_excluded_chunk_share {max_excluded_share:.0%}); first: {dropped[0].reason}",
                )
            )
            continue
        kept = tuple(chunk for chunk in doc.chunks if chunk.id not in dropped_ids)
        # The full text was only needed by the document checks; the chunks carry what is written.
        accepted.append(replace(doc, chunks=kept, text=""))
        excluded += dropped
    return Verdicts(tuple(accepted), tuple(quarantined), tuple(excluded))
