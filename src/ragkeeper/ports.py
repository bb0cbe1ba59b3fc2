"""Ports: the interfaces the pipeline needs from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from ragkeeper.core.sync_plan import IndexedState
from ragkeeper.models import EmbeddedChunk, ParsedDocument, QualityReport, SearchHit, SourceObject


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

    def search(self, vector: Sequence[float], limit: int) -> list[SearchHit]:
        """The nearest chunks to a vector."""
        ...

    def count(self) -> int:
        """How many chunks the collection holds (0 if it does not exist)."""
        ...

    def ids_for_source(self, source_uri: str) -> set[str]:
        """Ids of every chunk stored for one source object."""
        ...

    def embedding_model(self) -> str | None:
        """The embedding model id of the stored vectors, None when the collection is empty or absent."""
        ...

    def fetch_vectors(self, ids: Collection[str]) -> dict[str, tuple[tuple[float, ...], str]]:
        """Stored vectors and their embedding model id, for those of `ids` that exist."""
        ...

    def delete_source(self, source_uri: str, keep_ids: Collection[str] = ()) -> int:
        """Delete every chunk of one source object except `keep_ids`; return how many went."""
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

    def put(self, states: Sequence[IndexedState]) -> None:
        """Record states, replacing earlier ones for the same URIs."""
        ...

    def delete(self, uris: Iterable[str]) -> None:
        """Forget these URIs."""
        ...
