"""How many parsed documents the quality gate takes at once.

One Great Expectations validation costs about half a second whatever its size, so the gate takes
documents in groups of `quality.documents_per_validation`. Waiting for a full group while the
writers have nothing to do would leave the embedding API and Weaviate idle at the start of a run
(on the 424-file Debian-docs bench nothing was written for the first 50 s, and Weaviate then
indexed alone for the last 35 s): so while no write is waiting, the gate takes what there is.
"""

from __future__ import annotations


def gate_group_size(waiting: int, *, per_group: int, writers_idle: bool, final: bool) -> int:
    """How many of the `waiting` parsed documents to gate now; 0 means wait for more.

    A full group always goes; what is waiting goes when the writers are idle or nothing is left to
    parse (`final`).
    """
    if waiting >= per_group:
        return per_group
    if final or writers_idle:
        return waiting
    return 0
