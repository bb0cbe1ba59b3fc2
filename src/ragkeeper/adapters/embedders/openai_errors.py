"""Translate `openai` client errors into ragkeeper's TransientError / TerminalError, one line, no secret.

The client has already retried what it retries (429, 408, 409, 5xx, timeouts, connection errors)
when one of these reaches us, so a transient error here means "retries exhausted".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkeeper.adapters.openai_responses import one_line, retry_after, server_message
from ragkeeper.errors import RagkeeperError, ServiceUnavailable, TerminalError, TransientError
from ragkeeper.settings import OpenAISettings

if TYPE_CHECKING:
    import openai


class InputRejected(TerminalError):
    """The API refused the request's content (400/413/422): possibly one text, possibly the request."""


class ServerFailed(TransientError):
    """The API kept answering 5xx after the client's retries."""


def translate(
    error: openai.APIError, model: str, where: str, api: OpenAISettings, secret: str | None
) -> RagkeeperError:
    """The ragkeeper error for an `openai` error; the API key never appears in its message."""
    import openai

    retries = f"after {api.max_retries} retries"
    if isinstance(error, openai.APITimeoutError):
        return TransientError(f"{where}: embedding request timed out ({api.timeout_seconds:g} s, {retries})")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        detail = type(cause).__name__ if cause else "connection failed"
        return ServiceUnavailable(f"cannot reach {where} for embeddings ({detail}, {retries})")
    if not isinstance(error, openai.APIStatusError):
        return TerminalError(one_line(f"{where}: unexpected response for embeddings: {error}", secret))
    status = error.status_code
    code = f", {error.code}" if error.code else ""
    if status in (401, 403):
        # The API's message echoes part of the key: never pass it on.
        return TerminalError(
            f"{where} rejected the API key for embeddings (HTTP {status}{code}); "
            "check openai.api_key (RAGKEEPER_OPENAI__API_KEY)"
        )
    message = one_line(server_message(error), secret)
    if status == 404:
        return TerminalError(f"{where}: embedding model {model!r} not found (HTTP 404{code}): {message}")
    if status == 429 and error.code == "insufficient_quota":
        return TerminalError(f"{where}: quota exhausted (HTTP 429 insufficient_quota): {message}")
    if status == 429:
        return TransientError(
            f"{where} is still throttling embedding requests {retries} (HTTP 429): {message}",
            retry_after=retry_after(error),
        )
    if status >= 500:
        return ServerFailed(
            f"{where} failed embedding requests {retries} (HTTP {status}): {message}",
            retry_after=retry_after(error),
        )
    if status in (408, 409):
        return TransientError(f"{where}: embedding request failed {retries} (HTTP {status}): {message}")
    if status in (400, 413, 422):
        return InputRejected(f"{where} rejected the embedding request (HTTP {status}{code}): {message}")
    return TerminalError(f"{where}: embedding request failed (HTTP {status}{code}): {message}")
