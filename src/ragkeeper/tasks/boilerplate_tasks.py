"""Counting boilerplate (chunk texts repeated across many documents) in the generation a run wrote."""

from __future__ import annotations

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.quality.boilerplate import BoilerplateReport, boilerplate_report
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


@task(name="find-boilerplate", **RETRYING)
def find_boilerplate(settings: Settings) -> BoilerplateReport:
    """The texts repeated in at least `quality.boilerplate_min_documents` documents, and their share."""
    total, candidates = runtime.generation_store(settings).repeated_texts()
    return boilerplate_report(settings.quality.boilerplate_min_documents, total, candidates)
