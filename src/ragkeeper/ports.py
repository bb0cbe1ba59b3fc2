"""Ports: the interfaces the pipeline needs from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from ragkeeper.core.quality.boilerplate import RepeatedText
from ragkeeper.core.retrieval.query import SearchRequest
from ragkeeper.core.sync.chunk_writes import StoredChunk
from ragkeeper.models import (
    EmbeddedChunk,
    IndexedState,
    ParsedDocument,
    QualityReport,
    SearchHit,
    SourceObject,
)
from ragkeeper.run_models import RunRecord


class ObjectSource(Protocol):
    """Lists and reads documents under one root (a folder or an S3 prefix)."""

    @property
    def root_uri(self) -> str:
        """The URI this source lists, as the user gave it (normalised)."""
        ...

    def list(self) -> Iterator[SourceObject]:
        """Every object under the root that passes the include/exclude filters, in key order."""
        ...

    def read(self, obj: SourceObject) -> bytes:
        """The full content of one object."""
        ...

    def stat(self, uri: str) -> SourceObject | None:
        """One object by URI, as `list` shows it; None if absent, outside the root or filtered out."""
        ...

    def check(self) -> str:
        """Verify the source is reachable; return a short description, raise RagkeeperError if not."""
        ...


class Parser(Protocol):
    """Turns one document's bytes into chunks."""

    def parse(self, obj: SourceObject, data: bytes, collection: str) -> ParsedDocument:
        """Partition and chunk a document; raise UnsupportedDocument when it cannot be parsed."""
        ...


class QualityGate(Protocol):
    """Validates parsed documents and their chunks before anything is embedded or written."""

    def validate(self, documents: Sequence[ParsedDocument]) -> QualityReport:
        """Check every document and chunk; report failing documents (by URI) with the failed checks."""
        ...

    def publish(self) -> str | None:
        """Bring the report of every validation so far up to date (Data Docs); its path, if any."""
        ...


class Embedder(Protocol):
    """Turns texts into vectors."""

    @property
    def model_id(self) -> str:
        """A stable id of the model and its settings, stored with every vector."""
        ...

    @property
    def dimensions(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


class TextFailureLike(Protocol):
    """One text an embedder could not embed: its position and why."""

    @property
    def index(self) -> int:
        """Position of the text in the request."""
        ...

    @property
    def reason(self) -> str:
        """Why it failed, in one line."""
        ...

    @property
    def transient(self) -> bool:
        """Whether a later retry may succeed (the next run then tries the document again)."""
        ...


class EmbedReportLike(Protocol):
    """Vectors (None where a text failed) and the failures."""

    @property
    def vectors(self) -> Sequence[Sequence[float] | None]:
        """One entry per text."""
        ...

    @property
    def failures(self) -> Sequence[TextFailureLike]:
        """The texts that failed."""
        ...


@runtime_checkable
class ReportingEmbedder(Protocol):
    """An embedder that can report per-text failures instead of failing the whole request."""

    def embed_with_report(self, texts: Sequence[str]) -> EmbedReportLike:
        """Embed what can be embedded; say which texts could not."""
        ...


class VectorStore(Protocol):
    """Stores chunks with their vectors and answers similarity queries."""

    def ensure_collection(self, dimensions: int) -> None:
        """Create the collection with its explicit schema if it does not exist."""
        ...

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        """Insert or replace chunks by id; return how many were written."""
        ...

    def search(self, request: SearchRequest, vector: Sequence[float] | None = None) -> list[SearchHit]:
        """The hits of a search request (hybrid, vector or BM25, filtered); `vector`: the embedded query."""
        ...

    def count(self) -> int:
        """How many chunks the collection holds (0 if it does not exist)."""
        ...

    def ids_for_source(self, source_uri: str) -> set[str]:
        """Ids of every chunk stored for one source object."""
        ...

    def chunk_ids_by_source(self) -> dict[str, set[str]]:
        """Every stored chunk id, grouped by source URI."""
        ...

    def embedding_model(self) -> str | None:
        """The embedding model id of the stored vectors, None when the collection is empty or absent."""
        ...

    def fetch_stored(self, ids: Collection[str]) -> dict[str, StoredChunk]:
        """What is stored under those of `ids` that exist: vector, embedding model, properties."""
        ...

    def count_ids(self, ids: Collection[str]) -> int:
        """How many of `ids` the collection holds."""
        ...

    def delete_source(self, source_uri: str, keep_ids: Collection[str] = ()) -> int:
        """Delete every chunk of exactly this source URI except `keep_ids`; return how many went."""
        ...

    def delete_ids(self, ids: Collection[str]) -> int:
        """Delete chunks by id; return how many went."""
        ...

    def repeated_texts(self, limit: int = 100) -> tuple[int, list[RepeatedText]]:
        """The chunk count, and the `limit` chunk texts found in the most documents (at least two)."""
        ...

    def version(self) -> str:
        """The server version."""
        ...

    def close(self) -> None:
        """Release connections (and stop an embedded server)."""
        ...


class StateStore(Protocol):
    """Where the index state of every source object is recorded, readable by every worker."""

    def ensure(self) -> None:
        """Create the storage if needed."""
        ...

    def load(self) -> list[IndexedState]:
        """Every recorded state."""
        ...

    def get(self, uris: Iterable[str]) -> dict[str, IndexedState]:
        """The recorded states of these URIs (absent ones are left out)."""
        ...

    def with_status(self, status: str) -> list[IndexedState]:
        """The states with this status, without reading the others."""
        ...

    def put(self, states: Sequence[IndexedState]) -> None:
        """Record states, replacing earlier ones for the same URIs."""
        ...

    def delete(self, uris: Iterable[str]) -> None:
        """Forget these URIs."""
        ...


class RunLog(Protocol):
    """Where every run that writes a collection is recorded, for status and dashboards."""

    def add(self, record: RunRecord) -> None:
        """Record a run."""
        ...

    def latest(self, flows: Sequence[str] = (), outcome: str | None = None) -> RunRecord | None:
        """The most recently finished run, optionally of some flows and with an outcome."""
        ...

    def recent(self, limit: int, flows: Sequence[str] = (), outcome: str | None = None) -> list[RunRecord]:
        """Up to `limit` runs, newest first."""
        ...
