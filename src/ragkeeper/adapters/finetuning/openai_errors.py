"""Translate `openai` client errors of the files and fine-tuning APIs into ragkeeper errors.

Same rules as `adapters/embedders/openai_errors.py`: one line, the API key never in it, transient
(timeouts, throttling, 5xx) versus terminal (credentials, bad request, unknown model or file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkeeper.adapters.openai_responses import one_line, retry_after, server_message
from ragkeeper.errors import RagkeeperError, ServiceUnavailable, TerminalError, TransientError
from ragkeeper.settings import OpenAISettings

if TYPE_CHECKING:
    import openai


def translate(
    error: openai.APIError, action: str, where: str, api: OpenAISettings, secret: str | None
) -> RagkeeperError:
    """The ragkeeper error for an `openai` error raised while doing `action` (e.g. "creating the job")."""
    import openai

    retries = f"after {api.max_retries} retries"
    if isinstance(error, openai.APITimeoutError):
        return TransientError(f"{where}: {action} timed out ({api.timeout_seconds:g} s, {retries})")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        detail = type(cause).__name__ if cause else "connection failed"
        return ServiceUnavailable(f"cannot reach {where} for {action} ({detail}, {retries})")
    if not isinstance(error, openai.APIStatusError):
        return TerminalError(one_line(f"{where}: unexpected response while {action}: {error}", secret))
    status = error.status_code
    code = f", {error.code}" if error.code else ""
    if status in (401, 403):
        # The API's message echoes part of the key: never pass it on.
        return TerminalError(
            f"{where} rejected the API key while {action} (HTTP {status}{code}); "
            "check openai.api_key (RAGKEEPER_OPENAI__API_KEY)"
        )
    message = one_line(server_message(error), secret)
    if status == 429 and error.code == "insufficient_quota":
        return TerminalError(
            f"{where}: quota exhausted while {action} (HTTP 429 insufficient_quota): {message}"
        )
    if status == 429:
        return TransientError(
            f"{where} is still throttling {retries} while {action} (HTTP 429): {message}",
            retry_after=retry_after(error),
        )
    if status >= 500:
        return TransientError(
            f"{where} failed {retries} while {action} (HTTP {status}): {message}",
            retry_after=retry_after(error),
        )
    if status in (408, 409):
        return TransientError(f"{where}: {action} failed {retries} (HTTP {status}): {message}")
    return TerminalError(f"{where} refused {action} (HTTP {status}{code}): {message}")
