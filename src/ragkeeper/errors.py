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


class ModelMissing(TerminalError):
    """A model that parsing or embedding needs is not installed and cannot be fetched."""


def first_line(error: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an error's message (its type name if it has none), cut at `limit`."""
    line = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return line[:limit]


def is_transient(error: BaseException) -> bool:
    """Whether a task should retry after `error`."""
    return isinstance(error, TransientError)
