"""SIGKILL at every crash point of a sync; the next run repairs the index exactly.

Each kill has its own bucket and collection, seeded to the same indexed state and changed the same way
for its scenario, so the killed runs go side by side (their write leases then lapse together: Prefect's
60 s minimum is waited out once). The repairing runs follow, and each collection is compared with one
reference ingest per scenario (URIs mapped from the reference's bucket to the case's).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.conftest import FaultCase, weaviate_client
from tests.support.corpus import markdown, runbooks
from tests.support.fault_runs import RunOutcome
from tests.support.index import IndexSnapshot, assert_same_index, identity_mapper

pytestmark = pytest.mark.faults

SRC = Path(__file__).resolve().parents[2] / "src" / "ragkeeper"
SHARDED = {"RAGKEEPER_INGEST__SHARDS": "2", "RAGKEEPER_INGEST__SHARD_MIN_OBJECTS": "2"}
NEW_MODEL = {"RAGKEEPER_EMBED__DIMENSIONS": "256"}
# One document in flight at a time, in plan order (new objects first): which batch comes second is then
# known however busy the machine is.
ONE_AT_A_TIME = {"RAGKEEPER_INGEST__PARSE_CONCURRENCY": "1", "RAGKEEPER_INGEST__WRITE_CONCURRENCY": "1"}


@dataclass(frozen=True)
class Kill:
    """Where a run dies (`point[:n]`, the n-th pass) and in which scenario."""

    point: str
    scenario: str  # sync | sharded | model-change | pending | reconcile
    ordered: bool = False  # documents one at a time (ONE_AT_A_TIME), for kills inside a given document

    @property
    def command(self) -> str:
        return "reconcile" if self.scenario == "reconcile" else "ingest"

    @property
    def settings(self) -> dict[str, str]:
        by_scenario = {"sharded": SHARDED, "model-change": NEW_MODEL, "pending": NEW_MODEL}
        return {**by_scenario.get(self.scenario, {}), **(ONE_AT_A_TIME if self.ordered else {})}

    @property
    def reference(self) -> str:
        """The scenario whose reference ingest this kill is compared with (same final source and model)."""
        return {"sharded": "sync", "pending": "model-change"}.get(self.scenario, self.scenario)


KILLS = [
    Kill("lease-held", "sync"),
    Kill("after-pending-state:2", "sync"),
    Kill("after-upsert:2", "sync", ordered=True),  # the second write batch: doc1, mid-update
    Kill("after-stale-delete:2", "sync"),
    Kill("after-state:1", "sync"),
    Kill("after-quarantine-records", "sync"),
    Kill("after-object-delete", "sync"),
    Kill("after-deletions", "sync"),
    Kill("shard-start", "sharded"),
    Kill("after-plan", "model-change"),  # the new generation exists, empty
    Kill("after-state:2", "model-change"),
    Kill("after-alias-switch", "model-change"),  # readers switched, old generation not yet dropped
    # A new generation is pending (a model-change run was killed): deletions and updates also reach
    # the generation readers use.
    Kill("after-serving-delete", "pending"),
    Kill("after-serving-upsert", "pending"),
    Kill("reconcile-after-orphan-delete", "reconcile"),
    Kill("reconcile-after-invalidate", "reconcile"),
]
# Crash points tested elsewhere: the retrain flow's (tests/e2e/test_retrain_cli.py).
TESTED_ELSEWHERE = {"retrain-after-upload", "retrain-after-create"}


def _prepare(case: FaultCase, kill: Kill) -> None:
    """Index the first state of the source in the case's collection, then change it for the scenario."""
    case.put(runbooks(6))
    case.in_process().assert_completed()
    if kill.scenario == "reconcile":
        _drift(case)
        return
    if kill.scenario == "pending":  # the new model's generation is planned, and left unfinished
        pending = case.spawn(RAGKEEPER_FAULT_KILL_AT="after-plan", **NEW_MODEL).wait()
        assert pending.code == -9, pending.stderr[-2000:]
    # One changed, one new, one removed, one that is quarantined (an empty file).
    case.put({"doc1.md": markdown(1, "-edited"), "doc6.md": markdown(6), "empty.md": b""})
    case.delete("doc5.md")


def _drift(case: FaultCase) -> None:
    """What reconcile repairs: records lost behind its back, and chunks deleted behind its back."""
    from weaviate.classes.query import Filter

    from tests.support.index import serving_collection

    client = weaviate_client(case.weaviate)
    try:
        serving = serving_collection(client, case.collection)
        states = client.collections.get(f"{serving}State")
        # doc5 gone from the source and its record lost: its chunks are orphans (1 of 6 objects, within
        # the delete guard's 30%); doc4's record lost while it is still in the source: indexed again.
        case.delete("doc5.md")
        for n in (4, 5):
            states.data.delete_many(where=Filter.by_property("source_uri").equal(f"{case.source}doc{n}.md"))
        chunks = client.collections.get(serving)
        doc2 = chunks.query.fetch_objects(
            filters=Filter.by_property("source_uri").equal(f"{case.source}doc2.md"), limit=1
        )
        chunks.data.delete_by_id(doc2.objects[0].uuid)  # doc2's record now names a missing chunk
    finally:
        client.close()


@dataclass
class Killed:
    """What happened to one kill: the killed run, the repairing run, the collection afterwards."""

    case: FaultCase
    before: IndexSnapshot | None = None  # ordered kills: the index before the killed run, and at its death
    at_kill: IndexSnapshot | None = None
    killed: RunOutcome | None = None
    repaired: RunOutcome | None = None
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def killed(weaviate_server, minio, prefect_server, tmp_path_factory) -> dict[Kill, Killed]:
    """Every kill of KILLS: prepared, killed (side by side), then repaired, one after another."""
    results: dict[Kill, Killed] = {}
    for kill in KILLS:
        name = re.sub(r"\W", "-", f"{kill.scenario}-{kill.point}")
        case = FaultCase(name, weaviate_server, minio, prefect_server, tmp_path_factory.mktemp(name))
        results[kill] = Killed(case)
        _prepare(case, kill)
        if kill.ordered:
            results[kill].before = case.snapshot()

    def kill_run(kill: Kill) -> None:
        result = results[kill]
        result.killed = result.case.spawn(
            kill.command,
            result.case.source,
            RAGKEEPER_FAULT_KILL_AT=kill.point,
            **kill.settings,
        ).wait()
        if kill.ordered:
            result.at_kill = result.case.snapshot()

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(kill_run, KILLS))
    for kill, result in results.items():
        if result.killed is not None and result.killed.code == -9:
            # The killed run's lease lapses after 60 s; the repairing run waits for it.
            result.repaired = result.case.in_process(kill.command, result.case.source, **kill.settings)
    return results


@pytest.fixture(scope="module")
def references(killed: dict[Kill, Killed]) -> dict[str, IndexSnapshot]:
    """One fresh ingest per scenario, of the first case's final source, into a new collection."""
    found: dict[str, IndexSnapshot] = {}
    for kill, result in killed.items():
        if kill.reference not in found:
            found[kill.reference] = result.case.reference(**kill.settings)
    return found


@pytest.mark.parametrize("kill", KILLS, ids=[f"{k.scenario}:{k.point}" for k in KILLS])
def test_killed_at_a_crash_point_then_repaired(kill, killed, references, measured):
    result = killed[kill]
    assert result.killed is not None
    assert result.killed.code == -9, f"the run was not killed at {kill.point}: {result.killed.stderr[-2000:]}"
    assert result.repaired is not None
    result.repaired.assert_completed()
    if kill.ordered:
        # Killed between doc1's new chunks landing and its stale ones going: readers still find doc1
        # whole (old chunks and new), never missing.
        assert result.before is not None and result.at_kill is not None
        old, mid = (_chunks_of(s, "doc1.md") for s in (result.before, result.at_kill))
        assert old < mid, (old, mid)
    reference = references[kill.reference]
    reference_root = next(iter(reference.states)).rsplit("/docs/", 1)[0] + "/docs/"
    actual = result.case.snapshot()
    assert_same_index(actual, reference, identity_mapper(result.case.source, reference_root))
    if kill.reference == "model-change":
        # Readers use the new model's generation; the old one is kept for rollback, nothing else.
        assert len(actual.generations) == 2, actual.generations
    else:
        assert len(actual.generations) == 1, actual.generations
    measured(
        killed_after_seconds=round(result.killed.seconds, 1),
        repair_seconds=round(result.repaired.seconds, 1),
    )


def _chunks_of(index: IndexSnapshot, name: str) -> set[tuple[str, str, int]]:
    return {identity for identity in index.identities() if identity[0].endswith("/" + name)}


def test_every_crash_point_in_the_source_is_killed_somewhere():
    named = set(re.findall(r'checkpoint\("([\w-]+)"\)', _source_text()))
    constants = dict(re.findall(r'^(AFTER_\w+) = "([\w-]+)"', _source_text(), re.MULTILINE))
    named |= {constants[c] for c in re.findall(r"checkpoint\((AFTER_\w+)\)", _source_text())}
    killed_here = {kill.point.split(":")[0] for kill in KILLS}
    covered = killed_here | TESTED_ELSEWHERE
    assert named == covered, sorted(named ^ covered)


def _source_text() -> str:
    return "\n".join(path.read_text() for path in sorted(SRC.rglob("*.py")))
