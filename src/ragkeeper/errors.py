"""Error taxonomy: every failure a user can see is a RagkeeperError with one clear line.

Adapters translate vendor exceptions into these two families so that tasks can decide
whether to retry without knowing which SDK raised.
"""

from __future__ import annotations


class RagkeeperError(Exception):
    """Base of every error ragkeeper raises on purpose; `str()` is a one-line message for users."""


class TransientError(RagkeeperError):
    """A failure that may succeed when retried: timeouts, throttling, 5xx, a service still starting."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TerminalError(RagkeeperError):
    """A failure that retrying cannot fix: bad credentials, bad request, unsupported or corrupt input."""


class ConfigError(TerminalError):
    """Settings are missing, malformed or contradictory."""


class ServiceUnavailable(TransientError):
    """A service (Weaviate, S3, Prefect, an embedding API) cannot be reached right now."""


class UnsupportedDocument(TerminalError):
    """A source object cannot be parsed: unknown type, corrupt, empty, encrypted or too large."""


class ParseStalled(TerminalError):
    """A parse worker stalled on a document or ran out of wall time; the next run tries it again."""


class ObjectChanged(TerminalError):
    """A source object changed between its listing and its read; the next run takes the new version."""


class ModelMissing(TerminalError):
    """A model that parsing or embedding needs is not installed and cannot be fetched."""


class DeleteGuardTripped(TerminalError):
    """A run would delete a larger share of the index than allowed."""


class TooManyFailures(TerminalError):
    """More documents failed than `quality.max_failure_share` allows; nothing was written."""


class QualityCheckFailed(TerminalError):
    """A quality check whose failure means the pipeline itself is broken failed; the run stops."""


class WriteNotConfirmed(TransientError):
    """Weaviate did not confirm every chunk a write sent (retried; the run fails if it persists)."""


class LeaseLost(TerminalError):
    """The run no longer holds its collection's write lease; it stopped before writing more."""


class BudgetExceeded(TerminalError):
    """The estimated cost of a run is above the limit the caller set."""


class ModelMismatch(ConfigError):
    """The collection holds vectors of another embedding model than the configured one."""


class EmbedderUnavailable(TerminalError):
    """The embedder a generation was built with cannot be built from the current settings."""


class ShardAborted(RagkeeperError):
    """A shard stopped before writing because another shard of the same run failed."""


class InputRejected(TerminalError):
    """The API refused the request's content (400/413/422): possibly one text, possibly the request."""


class ServerFailed(TransientError):
    """The API kept answering 5xx after the client's retries."""


class RegistryCorrupt(TerminalError):
    """The registry exists but cannot be read as a registry document."""


class MalformedEvent(TerminalError):
    """The body is not an S3 event notification this receiver understands."""


class BodyTooLarge(TerminalError):
    """The request body is over the limit."""


def first_line(error: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an error's message (its type name if it has none), cut at `limit`."""
    line = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return line[:limit]


def is_transient(error: BaseException) -> bool:
    """Whether a task should retry after `error`."""
    return isinstance(error, TransientError)
