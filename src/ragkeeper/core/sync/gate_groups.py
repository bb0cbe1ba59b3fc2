"""How many parsed documents the quality gate takes at once.

One Great Expectations validation costs about half a second whatever its size, so the gate takes
documents in groups of `quality.documents_per_validation`. Waiting for a whole group before the
first validation would leave the embedding API and Weaviate idle at the start of a run (on the
424-file Debian-docs bench nothing was written for the first 50 s), so the first groups of a run
ramp up: at least 1, 2, 4, ... documents, whatever is waiting up to a whole group. That costs at
most log2(documents_per_validation) extra validations, however large the corpus or fast the writers.
With an override suite (`quality.suite_override_file`) every group is whole from the start: an
override expectation may judge a group as a whole (a row count), which must not depend on timing.
"""

from __future__ import annotations


def gate_group_size(waiting: int, *, groups_gated: int, per_group: int, ramp: bool, final: bool) -> int:
    """How many of the `waiting` parsed documents to gate now; 0 means wait for more.

    `groups_gated`: validations so far in this run; `ramp`: whether the first groups may be smaller;
    `final`: nothing is left to parse, so what is waiting goes.
    """
    least = min(per_group, 1 << min(groups_gated, per_group.bit_length())) if ramp else per_group
    if waiting >= least or final:
        return min(waiting, per_group)
    return 0
