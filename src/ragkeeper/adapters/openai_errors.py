"""Translate `openai` client errors (embeddings, files, fine-tuning) into ragkeeper errors: one table.

One line each, the API key never in it. The client has already retried what it retries (429, 408,
409, 5xx, timeouts, connection errors) when one of these reaches us, so a transient error here means
"retries exhausted". `ServerFailed` (5xx) is transient; the embedder also uses it to isolate one text
that makes the server fail. `InputRejected` (400/413/422) is terminal: the request's content was refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkeeper.core.redaction import redact_url, redact_urls
from ragkeeper.errors import (
    InputRejected,
    RagkeeperError,
    ServerFailed,
    ServiceUnavailable,
    TerminalError,
    TransientError,
)
from ragkeeper.settings import OpenAISettings

if TYPE_CHECKING:
    import openai


def endpoint(api: OpenAISettings) -> str:
    """The API's endpoint as errors and records name it: `openai.base_url` without its credentials."""
    return redact_url(str(api.base_url)).rstrip("/") if api.base_url else "api.openai.com"


def translate(
    error: openai.APIError,
    action: str,
    *,
    where: str,
    api: OpenAISettings,
    secret: str | None,
    model: str | None = None,
) -> RagkeeperError:
    """The ragkeeper error for an `openai` error raised while doing `action` (e.g. "creating the job").

    `model`, when given, is named in a 404 (the model is unknown to the API).
    """
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
    if status == 404 and model is not None:
        return TerminalError(f"{where}: model {model!r} not found (HTTP 404{code}): {message}")
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
        return ServerFailed(
            f"{where} failed {retries} while {action} (HTTP {status}): {message}",
            retry_after=retry_after(error),
        )
    if status in (408, 409):
        return TransientError(f"{where}: {action} failed {retries} (HTTP {status}): {message}")
    if status in (400, 413, 422):
        return InputRejected(f"{where} refused {action} (HTTP {status}{code}): {message}")
    return TerminalError(f"{where}: {action} failed (HTTP {status}{code}): {message}")


def server_message(error: openai.APIStatusError) -> str:
    """The API's own error message, or the HTTP reason when the body has none."""
    body = error.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    return error.response.reason_phrase or "no details"


def retry_after(error: openai.APIStatusError) -> float | None:
    """Seconds the API asked to wait (`retry-after-ms` or `Retry-After`), if it said."""
    headers = error.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return float(headers[name]) / divisor
        except (KeyError, ValueError):
            continue
    return None


def one_line(text: str, secret: str | None) -> str:
    """`text` on one line, with the secret (an API key) and the credentials of any URL masked."""
    if secret:
        text = text.replace(secret, "***")
    return " ".join(redact_urls(text).split())
