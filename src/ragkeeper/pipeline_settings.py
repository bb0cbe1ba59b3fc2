"""Settings of a sync run: the quality gate, the sync rules (leases, guards), and ingest concurrency.

Sections of the one settings root (`Settings.quality`, `.sync`, `.ingest`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ragkeeper.settings_section import Section


class QualitySettings(Section):
    """Great Expectations quality gate."""

    max_failure_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="A run stops writing and fails once more than this share of its documents failed.",
    )
    min_objects_for_failure_share: int = Field(
        default=20,
        ge=1,
        description="The failure share is judged only once a run has processed this many documents.",
    )
    max_excluded_chunk_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A document with a larger share of its chunks failing chunk checks is quarantined.",
    )
    max_markup_share: float = Field(
        default=0.5, ge=0, le=1, description="Leaked markup: share of a chunk's characters in tags/entities."
    )
    min_printable_share: float = Field(default=0.9, ge=0, le=1)
    min_pages_with_text_share: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="PDFs: share of pages that must yield text (books have blank pages; scans have none).",
    )
    min_chunk_chars: int = Field(default=1, ge=0)
    max_chunk_chars: int = Field(default=8000, ge=1)
    min_compressed_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Runaway repetition: a chunk whose zlib-compressed size is below this share is left out.",
    )
    documents_per_validation: int = Field(
        default=100, ge=1, description="Documents per Great Expectations validation (one call costs ~0.5 s)."
    )
    suite_override_file: Path | None = Field(default=None, description="JSON file with extra expectations.")
    boilerplate_patterns: list[str] = Field(
        default=[], description="Regexes: a chunk whose text one matches is left out (check `boilerplate`)."
    )
    boilerplate_min_documents: int = Field(
        default=5,
        ge=2,
        description="A chunk text repeated in this many documents is reported as boilerplate.",
    )

    @model_validator(mode="after")
    def _boilerplate_patterns_compile(self) -> QualitySettings:
        for pattern in self.boilerplate_patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"boilerplate_patterns: {pattern!r} is not a regular expression ({error})"
                ) from None
        return self

    data_docs_dir: Path = Field(default=Path("gx/data_docs"), description="Where GX Data Docs are written.")


class SyncSettings(Section):
    """Incremental sync guards, and how runs that write one collection take turns."""

    max_delete_share: float = Field(
        default=0.3, ge=0, le=1, description="Refuse a run deleting more than this share of indexed objects."
    )
    on_busy: Literal["wait", "skip"] = Field(
        default="wait", description="When another run is writing the collection: wait for it, or skip."
    )
    max_wait_seconds: float = Field(
        default=3600, gt=0, description="How long a waiting run waits for the collection before it skips."
    )
    lease_seconds: float = Field(
        default=300,
        ge=60,
        description="Write lease (Prefect's minimum is 60 s); a killed run frees it when it expires.",
    )
    lease_renew_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Seconds between renewals of the write lease; unset: a quarter of lease_seconds.",
    )

    @model_validator(mode="after")
    def _renewed_well_before_expiry(self) -> SyncSettings:
        if self.lease_renew_seconds is not None and self.lease_renew_seconds > self.lease_seconds / 3:
            raise ValueError("lease_renew_seconds must be at most a third of lease_seconds")
        return self

    @property
    def lease_renewal_interval(self) -> float:
        """Seconds between two renewals of the write lease."""
        return self.lease_renew_seconds or self.lease_seconds / 4


class IngestSettings(Section):
    """How an ingest run is cut into Prefect tasks."""

    objects_per_task: int = Field(
        default=16, ge=1, description="Source objects per parse/validate/write task."
    )
    parse_concurrency: int = Field(
        default_factory=lambda: 2 * (os.cpu_count() or 1),
        ge=1,
        description="Parse tasks in flight (default: two per core, so reading overlaps parsing).",
    )
    parse_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Parse worker processes (default: one per core); 0 parses in the run's own process.",
    )
    parse_timeout_seconds: float = Field(
        default=300,
        gt=0,
        description=(
            "CPU seconds: a document whose parsing costs more is stopped and quarantined; a worker "
            "stalled that long, or parsing ten times that in wall time, is stopped and retried next run."
        ),
    )
    parse_memory_mb: int = Field(
        default=2048,
        ge=256,
        description="A parse worker growing past this is stopped; its document quarantined.",
    )
    upsert_batch_size: int = Field(default=200, ge=1)
    write_concurrency: int = Field(
        default=2,
        ge=1,
        description="Embed-and-write tasks in flight at once (each works on its own objects).",
    )
    shards: int = Field(default=1, ge=1, le=64, description="Parallel child runs for a large ingest.")
    shard_min_objects: int = Field(
        default=1000, ge=1, description="Objects to process before an ingest is split into shards."
    )
