"""In-memory implementations of ragkeeper's own ports, for fast tests of flow logic.

They implement the Protocols in `ragkeeper.ports` with dictionaries, so a flow's decisions (what is
parsed, embedded, written, quarantined, deleted, and when a run stops) can be tested in a second.
They never stand in for the external systems in the tests of those systems: MinIO, Weaviate,
unstructured and Great Expectations are tested for real elsewhere.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragkeeper.core.quality.boilerplate import RepeatedText
from ragkeeper.core.retrieval.query import SearchRequest
from ragkeeper.core.sync.chunk_writes import StoredChunk, chunk_properties
from ragkeeper.core.sync.ids import chunk_uuid, content_hash, occurrences
from ragkeeper.errors import UnsupportedDocument
from ragkeeper.models import (
    Chunk,
    EmbeddedChunk,
    ExcludedChunk,
    IndexedState,
    ParsedDocument,
    QualityReport,
    SearchHit,
    SourceObject,
)
from ragkeeper.run_models import RunRecord


@dataclass
class MemorySource:
    """An ObjectSource over a dict of key -> content under `root_uri`."""

    root_uri: str = "mem://docs/"
    files: dict[str, bytes] = field(default_factory=dict)
    reads: int = 0

    def list(self) -> Iterator[SourceObject]:
        for key in sorted(self.files):
            yield self._object(key)

    def read(self, obj: SourceObject) -> bytes:
        self.reads += 1
        return self.files[obj.key]

    def stat(self, uri: str) -> SourceObject | None:
        key = uri.removeprefix(self.root_uri)
        return self._object(key) if key in self.files else None

    def check(self) -> str:
        return "memory"

    def _object(self, key: str) -> SourceObject:
        data = self.files[key]
        return SourceObject(f"{self.root_uri}{key}", key, len(data), hashlib.sha256(data).hexdigest()[:16])


class ParagraphParser:
    """A Parser that makes one chunk per paragraph (blank-line separated); empty content is unusable.

    `alive` counts documents handed out and not yet released by a test, to check the stream's bound.
    """

    def __init__(self) -> None:
        self.parsed = 0

    def parse(self, obj: SourceObject, data: bytes, collection: str) -> ParsedDocument:
        text = data.decode()
        if not text.strip():
            raise UnsupportedDocument(f"{obj.uri}: empty file")
        self.parsed += 1
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        hashes = [content_hash(p) for p in paragraphs]
        chunks = tuple(
            Chunk(
                id=chunk_uuid(collection, obj.uri, digest, occurrence),
                text=paragraph,
                source_uri=obj.uri,
                source_etag=obj.etag,
                content_hash=digest,
                chunk_index=index,
                occurrence=occurrence,
                file_type="text/plain",
                title=obj.key,
            )
            for index, (paragraph, digest, occurrence) in enumerate(
                zip(paragraphs, hashes, occurrences(hashes), strict=True)
            )
        )
        return ParsedDocument(obj, chunks, text, len(paragraphs))


class JunkGate:
    """A QualityGate that excludes chunks containing "JUNK" and quarantines documents containing "BAD"."""

    def validate(self, documents: Sequence[ParsedDocument]) -> QualityReport:
        failures = {d.obj.uri: ("quality: marked BAD",) for d in documents if "BAD" in d.text}
        excluded = tuple(
            ExcludedChunk(c.source_uri, c.id, c.chunk_index, "junk", "marked JUNK")
            for d in documents
            for c in d.chunks
            if "JUNK" in c.text
        )
        return QualityReport(len(documents), sum(len(d.chunks) for d in documents), failures, excluded)

    def publish(self) -> str | None:
        return None


class CountingEmbedder:
    """An Embedder of deterministic 8-dimensional vectors that counts the texts it embedded."""

    model_id = "memory-8"
    dimensions = 8

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += texts
        return [[b / 255 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in texts]


@dataclass
class MemoryStore:
    """A VectorStore in a dict; chunks whose text contains `loses` are silently lost (a lossy sink).

    Write tasks run in threads side by side, and a test may read while they write: every method holds
    one lock (iterating over a copy is not enough: a garbage collection mid-copy can switch threads).
    """

    objects: dict[str, tuple[dict[str, Any], tuple[float, ...]]] = field(default_factory=dict)
    upserts: int = 0
    loses: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def ensure_collection(self, dimensions: int) -> None:
        pass

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        with self._lock:
            for chunk in chunks:
                self.upserts += 1
                if self.loses is not None and self.loses in chunk.chunk.text:
                    continue
                self.objects[chunk.chunk.id] = (
                    chunk_properties(chunk.chunk, chunk.model_id, chunk.embedded_hash),
                    tuple(chunk.vector),  # a copy, as Weaviate keeps its own
                )
        return len(chunks)

    def search(self, request: SearchRequest, vector: Sequence[float] | None = None) -> list[SearchHit]:
        return []

    def count(self) -> int:
        with self._lock:
            return len(self.objects)

    def ids_for_source(self, source_uri: str) -> set[str]:
        with self._lock:
            return {i for i, (p, _) in self.objects.items() if p["source_uri"] == source_uri}

    def chunk_ids_by_source(self) -> dict[str, set[str]]:
        grouped: dict[str, set[str]] = {}
        with self._lock:
            for i, (p, _) in self.objects.items():
                grouped.setdefault(p["source_uri"], set()).add(i)
        return grouped

    def embedding_model(self) -> str | None:
        with self._lock:
            return next((p["embedding_model"] for p, _ in self.objects.values()), None)

    def fetch_stored(self, ids: Collection[str]) -> dict[str, StoredChunk]:
        with self._lock:
            return {
                i: StoredChunk(vector, p["embedding_model"], {**p})
                for i, (p, vector) in self.objects.items()
                if i in ids
            }

    def count_ids(self, ids: Collection[str]) -> int:
        with self._lock:
            return sum(1 for i in ids if i in self.objects)

    def delete_source(self, source_uri: str, keep_ids: Collection[str] = ()) -> int:
        with self._lock:
            return self.delete_ids(self.ids_for_source(source_uri) - set(keep_ids))

    def delete_ids(self, ids: Collection[str]) -> int:
        with self._lock:
            doomed = [i for i in ids if i in self.objects]
            for i in doomed:
                del self.objects[i]
        return len(doomed)

    def repeated_texts(self, limit: int = 100) -> tuple[int, list[RepeatedText]]:
        documents: dict[str, set[str]] = {}
        chunks: dict[str, int] = {}
        texts: dict[str, str] = {}
        with self._lock:
            for p, _ in self.objects.values():
                documents.setdefault(p["content_hash"], set()).add(p["source_uri"])
                chunks[p["content_hash"]] = chunks.get(p["content_hash"], 0) + 1
                texts[p["content_hash"]] = p["text"]
            total = len(self.objects)
        ranked = sorted(documents, key=lambda h: -len(documents[h]))[:limit]
        found = [
            RepeatedText(h, len(documents[h]), chunks[h], texts[h]) for h in ranked if len(documents[h]) > 1
        ]
        return total, found

    def version(self) -> str:
        return "memory"

    def close(self) -> None:
        pass


@dataclass
class MemoryStates:
    """A StateStore in a dict, behind one lock (write tasks record states from several threads)."""

    states: dict[str, IndexedState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def ensure(self) -> None:
        pass

    def load(self) -> list[IndexedState]:
        with self._lock:
            return list(self.states.values())

    def get(self, uris: Iterable[str]) -> dict[str, IndexedState]:
        with self._lock:
            return {uri: self.states[uri] for uri in uris if uri in self.states}

    def with_status(self, status: str) -> list[IndexedState]:
        with self._lock:
            return [state for state in self.states.values() if state.status == status]

    def put(self, states: Sequence[IndexedState]) -> None:
        with self._lock:
            self.states.update((s.uri, s) for s in states)

    def delete(self, uris: Iterable[str]) -> None:
        with self._lock:
            for uri in uris:
                self.states.pop(uri, None)


@dataclass
class MemoryRunLog:
    """A RunLog in a list."""

    records: list[RunRecord] = field(default_factory=list)

    def add(self, record: RunRecord) -> None:
        self.records.append(record)

    def latest(self, flows: Sequence[str] = (), outcome: str | None = None) -> RunRecord | None:
        found = self.recent(1, flows, outcome)
        return found[0] if found else None

    def recent(self, limit: int, flows: Sequence[str] = (), outcome: str | None = None) -> list[RunRecord]:
        chosen = [
            r
            for r in reversed(self.records)
            if (not flows or r.flow in flows) and (not outcome or r.outcome == outcome)
        ]
        return chosen[:limit]
