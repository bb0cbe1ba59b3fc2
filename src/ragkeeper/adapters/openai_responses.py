"""Reading `openai` client error responses: the message, the wait asked for, one line with no secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai


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
    """`text` on one line, with the secret (an API key) masked wherever it appears."""
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())
