"""How many parsed documents the quality gate takes at once.

One Great Expectations validation costs about half a second whatever its size, so the gate takes
documents in groups of `quality.documents_per_validation`. Waiting for a whole group while the
writers have nothing to do leaves the embedding API and Weaviate idle, and their work then piles up
for the end of the run: on the 424-file Debian-docs bench nothing was written for the first 50 s
and Weaviate indexed alone for the last 35 s (150.5 s cold); gating what is waiting whenever the
writers are idle took it to 131-136 s, while whole groups after a ramp-up of small ones took
156-160 s. Smaller groups cost more validations, so the stream allows them only while validating
has taken at most `EARLY_GATE_SHARE` of the run's time so far (fast writers would otherwise make
every parse batch a validation), and never with an override suite (`quality.suite_override_file`):
an override expectation may judge a group as a whole (a row count), which must not depend on timing.
"""

from __future__ import annotations

EARLY_GATE_SHARE = 0.1


def may_gate_early(validate_seconds: float, elapsed_seconds: float, *, override_suite: bool) -> bool:
    """Whether the gate may take a smaller group: validating so far is within its share of the run."""
    return not override_suite and validate_seconds <= EARLY_GATE_SHARE * elapsed_seconds


def gate_group_size(waiting: int, *, per_group: int, writers_idle: bool, early: bool, final: bool) -> int:
    """How many of the `waiting` parsed documents to gate now; 0 means wait for more.

    A whole group always goes; what is waiting goes when nothing is left to parse (`final`), or
    when the writers are idle and a smaller group is allowed (`early`, see `may_gate_early`).
    """
    if waiting >= per_group:
        return per_group
    if final or (writers_idle and early):
        return waiting
    return 0
