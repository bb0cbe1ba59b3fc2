"""Boilerplate: chunk texts repeated verbatim across many documents (navigation, footers, banners). Pure.

Counted over the whole generation after every full sync, from the chunks' content hashes (a chunk's
first occurrence in a document counts that document once), and reported beside the chunks the
quality gate dropped. Reporting changes nothing; `quality.boilerplate_patterns` excludes chunks by a
rule that depends only on each chunk's own text, so edits and deletes stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SNIPPET_CHARS = 80


@dataclass(frozen=True, slots=True)
class RepeatedText:
    """One chunk text found in `documents` documents, `chunks` times in all."""

    content_hash: str
    documents: int
    chunks: int
    sample: str


@dataclass(frozen=True, slots=True)
class BoilerplateReport:
    """The texts repeated in at least `min_documents` documents, most repeated first, and their weight."""

    min_documents: int
    chunks_total: int
    repeated: tuple[RepeatedText, ...] = ()

    @property
    def chunks(self) -> int:
        """Chunks holding one of the repeated texts."""
        return sum(r.chunks for r in self.repeated)

    @property
    def share(self) -> float:
        """Their share of the generation's chunks."""
        return self.chunks / self.chunks_total if self.chunks_total else 0.0


def boilerplate_report(
    min_documents: int, chunks_total: int, candidates: Sequence[RepeatedText]
) -> BoilerplateReport:
    """The report from the most repeated texts (any order); those in fewer documents are left out."""
    kept = sorted(
        (c for c in candidates if c.documents >= min_documents), key=lambda c: (-c.documents, c.content_hash)
    )
    return BoilerplateReport(min_documents, chunks_total, tuple(kept))


def snippet(text: str) -> str:
    """A chunk text on one line, cut for a report."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def summary_line(report: BoilerplateReport) -> str:
    """`N chunks (x.x% of the index) repeat one of M texts found in >= K documents`."""
    return (
        f"{report.chunks} chunks ({report.share:.1%} of the index) repeat one of {len(report.repeated)} "
        f"texts found in >= {report.min_documents} documents"
    )
