"""The sync flow's logic, run on in-memory fakes of ragkeeper's own ports (tests/fakes) in seconds.

The real services (MinIO, Weaviate, unstructured, Great Expectations) are tested elsewhere; here the
flow itself is the subject: what it parses, embeds, writes, quarantines and deletes, how it stops,
and how many documents it holds at once. Prefect is real (its test harness).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from ragkeeper import runtime
from ragkeeper.adapters.weaviate.generations import Generation
from ragkeeper.errors import TooManyFailures, WriteNotConfirmed
from ragkeeper.flows.ingest import ingest
from ragkeeper.settings import load_settings
from tests.fakes.ports import (
    CountingEmbedder,
    JunkGate,
    MemoryRunLog,
    MemorySource,
    MemoryStates,
    MemoryStore,
    ParagraphParser,
)

COLLECTION = "Fake"


@dataclass
class MemoryIndex:
    """The fakes of one index, kept across runs (a run's end forgets what was provided)."""

    source: MemorySource = field(default_factory=MemorySource)
    parser: ParagraphParser = field(default_factory=ParagraphParser)
    embedder: CountingEmbedder = field(default_factory=CountingEmbedder)
    store: MemoryStore = field(default_factory=MemoryStore)
    states: MemoryStates = field(default_factory=MemoryStates)
    runs: MemoryRunLog = field(default_factory=MemoryRunLog)
    gate: JunkGate = field(default_factory=JunkGate)

    def ingest(self, **options):
        runtime.provide(
            load_settings(),
            source=self.source,
            parser=self.parser,
            embedder=self.embedder,
            alias_store=self.store,
            generation=Generation(COLLECTION, COLLECTION, COLLECTION),
            generation_store=self.store,
            state_store=self.states,
            run_log=self.runs,
            quality_gate=self.gate,
        )
        return ingest(**options)


@pytest.fixture
def index(prefect_harness, monkeypatch) -> MemoryIndex:
    monkeypatch.setenv("RAGKEEPER_SOURCE__URI", MemorySource.root_uri)
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__COLLECTION", COLLECTION)
    monkeypatch.setenv("RAGKEEPER_INGEST__PARSE_WORKERS", "0")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "2")
    return MemoryIndex()


def _docs(count: int, prefix: str = "doc") -> dict[str, bytes]:
    return {
        f"{prefix}{n:03d}.txt": f"Title {n}\n\nBody of {n}.\n\nShared closing line.".encode()
        for n in range(count)
    }


def test_an_unchanged_rerun_reads_embeds_and_writes_nothing(index):
    index.source.files.update(_docs(5))
    first = index.ingest()
    assert (first.objects_new, first.chunks_planned, first.chunks_confirmed) == (5, 15, 15)
    reads, upserts, embedded = index.source.reads, index.store.upserts, len(index.embedder.embedded)

    again = index.ingest()

    assert (again.objects_unchanged, again.objects_parsed, again.chunks_written) == (5, 0, 0)
    assert (index.source.reads, index.store.upserts, len(index.embedder.embedded)) == (
        reads,
        upserts,
        embedded,
    )


def test_an_edit_embeds_only_new_text_and_rewrites_moved_chunks_without_embedding(index):
    index.source.files["a.txt"] = b"Intro\n\nMiddle part\n\nEnd"
    index.ingest()
    before = len(index.embedder.embedded)

    index.source.files["a.txt"] = b"Intro\n\nA new paragraph\n\nMiddle part\n\nEnd"
    edited = index.ingest()

    assert index.embedder.embedded[before:] == ["a.txt\n\nA new paragraph"]  # the title header, then the text
    assert (edited.embeddings_computed, edited.embeddings_reused) == (1, 3)
    # Every chunk carries the new ETag, so the three kept ones are rewritten (with their old vectors).
    assert (edited.chunks_written, edited.chunks_unchanged, edited.chunks_planned) == (4, 0, 4)
    assert sorted(p["chunk_index"] for p, _ in index.store.objects.values()) == [0, 1, 2, 3]


def test_a_rerun_after_a_config_change_rewrites_nothing_that_is_already_right(index, monkeypatch):
    index.source.files.update(_docs(2))
    index.ingest()
    upserts = index.store.upserts
    monkeypatch.setenv("RAGKEEPER_QUALITY__MIN_CHUNK_CHARS", "2")  # the config hash changes: all re-planned

    rerun = index.ingest()

    assert (rerun.objects_changed, rerun.chunks_unchanged, rerun.chunks_written) == (2, 6, 0)
    assert index.store.upserts == upserts


def test_excluded_chunks_are_reported_and_their_document_stays_indexed(index):
    index.source.files["page.txt"] = b"Real content\n\nJUNK navigation\n\nMore real content"
    summary = index.ingest()
    assert [(e.chunk_index, e.check) for e in summary.excluded] == [(1, "junk")]
    assert summary.quarantined == () and summary.chunks_confirmed == 2
    assert index.states.states[f"{MemorySource.root_uri}page.txt"].status == "indexed"


def test_a_lossy_store_fails_the_run_instead_of_recording_chunks_it_lost(index, monkeypatch):
    index.source.files.update(_docs(4))
    index.store.loses = "Body of 1."

    with pytest.raises(WriteNotConfirmed, match=r"Weaviate holds 5 of the 6 chunks written for 2 documents"):
        index.ingest()
    states = index.states.states
    assert states[f"{MemorySource.root_uri}doc001.txt"].status == "pending"  # its chunk was lost
    # Other write batches may have been confirmed before the run failed: those documents are indexed
    # only if every chunk recorded for them is in the store.
    for state in states.values():
        assert state.status == "pending" or set(state.chunk_ids) <= set(index.store.objects), state


def test_the_guard_stops_the_stream_before_the_rest_is_parsed(index, monkeypatch):
    monkeypatch.setenv("RAGKEEPER_QUALITY__MIN_OBJECTS_FOR_FAILURE_SHARE", "6")
    monkeypatch.setenv("RAGKEEPER_INGEST__PARSE_CONCURRENCY", "1")
    index.source.files.update({f"a{n}.txt": b"" for n in range(8)})  # listed first: a broken upload
    index.source.files.update(_docs(40, prefix="z"))

    with pytest.raises(TooManyFailures, match=r"\d+ of \d+ documents failed"):
        index.ingest()

    assert index.parser.parsed < 10  # the 40 good documents after the burst were never parsed
    quarantined = [s for s in index.states.states.values() if s.status == "quarantined"]
    assert quarantined and all(s.etag == "" for s in quarantined)  # retried next run, not sticky


def test_the_stream_holds_a_bounded_number_of_documents_whatever_the_corpus(index, monkeypatch):
    monkeypatch.setenv("RAGKEEPER_QUALITY__DOCUMENTS_PER_VALIDATION", "10")
    index.source.files.update(_docs(300))
    held: list[int] = []
    parse = index.parser.parse

    def parse_and_measure(obj, data, collection):
        written = len(index.store.chunk_ids_by_source())
        held.append(index.parser.parsed - written)
        return parse(obj, data, collection)

    index.parser.parse = parse_and_measure  # type: ignore[method-assign]
    summary = index.ingest()

    assert summary.chunks_confirmed == 900
    settings = load_settings()
    ingest_settings = settings.ingest
    bound = (
        ingest_settings.parse_concurrency + ingest_settings.write_concurrency
    ) * ingest_settings.objects_per_task + 2 * settings.quality.documents_per_validation
    assert max(held) <= bound, (max(held), bound)


@pytest.mark.parametrize("override_suite", [False, True])
def test_writing_starts_before_a_whole_validation_group_is_parsed(
    index, monkeypatch, tmp_path, override_suite
):
    if override_suite:  # its expectations may judge a whole group: groups stay whole
        (tmp_path / "suite.json").write_text('{"document": [], "chunk": []}')
        monkeypatch.setenv("RAGKEEPER_QUALITY__SUITE_OVERRIDE_FILE", str(tmp_path / "suite.json"))
    index.source.files.update(_docs(60))  # fewer than one group (documents_per_validation, 100)
    parsed_at_first_write: list[int] = []
    parse, upsert = index.parser.parse, index.store.upsert

    def slow_parse(obj, data, collection):
        time.sleep(0.05)  # parsing is the slow stage, as it is on real documents
        return parse(obj, data, collection)

    def upsert_and_note(chunks):
        if not parsed_at_first_write:
            parsed_at_first_write.append(index.parser.parsed)
        return upsert(chunks)

    index.parser.parse = slow_parse  # type: ignore[method-assign]
    index.store.upsert = upsert_and_note  # type: ignore[method-assign]
    summary = index.ingest()

    assert summary.chunks_confirmed == 180
    if override_suite:
        assert parsed_at_first_write == [60]
    else:  # the embedding API and Weaviate get work while the rest is parsing, not after it
        assert parsed_at_first_write[0] < 60, parsed_at_first_write
