"""Ports: the interfaces the pipeline needs from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from ragkeeper.core.quality.boilerplate import RepeatedText
from ragkeeper.core.retrain.style_dataset import DatasetFile
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
from ragkeeper.retrain_models import (
    DatasetCheckReport,
    FailedJobRecord,
    FineTuneJob,
    JobEvent,
    JobRecord,
    JobSpec,
    ModelRecord,
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


# --- retraining -------------------------------------------------------------------------------------


class DatasetChecker(Protocol):
    """Checks a chat fine-tuning dataset before anything is uploaded."""

    def check(
        self, training: DatasetFile, validation: DatasetFile | None, max_tokens_per_example: int
    ) -> DatasetCheckReport:
        """Every problem of both files, each naming its file and line, and the training token count."""
        ...


class FineTuner(Protocol):
    """A fine-tuning backend: takes training files, runs jobs, reports their progress.

    The OpenAI adapter serves any provider of the same API; a self-hosted trainer can implement the
    same calls (its "upload" may store the file where its trainer reads it).
    """

    @property
    def where(self) -> str:
        """Which backend this is, for messages and the registry (never a secret)."""
        ...

    def find_file(self, filename: str, size: int) -> str | None:
        """The id of an uploaded training file with this name and size, if one exists."""
        ...

    def upload(self, filename: str, data: bytes) -> str:
        """Upload a training or validation file; return its id."""
        ...

    def find_jobs(self, metadata: Mapping[str, str]) -> list[FineTuneJob]:
        """Every job whose metadata holds all of `metadata`, oldest first."""
        ...

    def create_job(self, spec: JobSpec, training_file: str, validation_file: str | None) -> FineTuneJob:
        """Start a job; its metadata carries the dataset name and fingerprint of `spec`."""
        ...

    def get_job(self, job_id: str) -> FineTuneJob:
        """The job's current state."""
        ...

    def events_since(self, job_id: str, last_event_id: str | None) -> list[JobEvent]:
        """The job's events newer than `last_event_id` (all of them for None), oldest first."""
        ...

    def cancel_job(self, job_id: str) -> FineTuneJob:
        """Ask the backend to stop the job."""
        ...


class ModelRegistry(Protocol):
    """Where fine-tuned models, failed jobs and job bookkeeping are recorded, for every flow and worker."""

    @property
    def location(self) -> str:
        """The registry's URI."""
        ...

    def models(self) -> list[ModelRecord]:
        """Every recorded model, in the order they were recorded."""
        ...

    def failed_jobs(self) -> list[FailedJobRecord]:
        """Every recorded failed or cancelled job."""
        ...

    def jobs(self) -> list[JobRecord]:
        """The bookkeeping of every job a run started or followed."""
        ...

    def add_model(self, record: ModelRecord) -> bool:
        """Make the model its dataset's current one (the last recorded); False when it already is."""
        ...

    def add_failed_job(self, record: FailedJobRecord) -> bool:
        """Record a failed job; False when it was already recorded."""
        ...

    def note_job(self, record: JobRecord) -> bool:
        """Update a job's bookkeeping (`announced` is never unset); False when nothing changes."""
        ...

    def set_status(self, job_id: str, status: str, note: str) -> bool:
        """Give a recorded model a status (promoted: current again); whether it changed."""
        ...
