"""Authenticating webhook deliveries: a bearer token, or a timestamped HMAC-SHA256 of the body. Pure.

A signed delivery carries `X-Ragkeeper-Timestamp: <unix seconds>` and
`X-Ragkeeper-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. The receiver accepts it
only within `WINDOW_SECONDS` of its own clock, and only once: a signature seen inside the window
is a replay (`ReplayGuard`). The token needs no body, so it is checked before the body is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

SIGNATURE_HEADER = "x-ragkeeper-signature"
TIMESTAMP_HEADER = "x-ragkeeper-timestamp"
WINDOW_SECONDS = 300

SignatureVerdict = Literal["valid", "missing", "stale", "invalid"]


def body_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The signature header value a sender computes: `sha256=<hex HMAC of "<timestamp>.<body>">`."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def token_authenticated(headers: Mapping[str, str], token: str | None) -> bool:
    """Whether the delivery carries the configured token (the body is not needed for this).

    The token is accepted as a bearer token, or as the password of HTTP Basic auth (any user name):
    senders that cannot set headers, such as SNS HTTPS subscriptions, put it in the endpoint URL.
    `headers` looks names up in lower case. The comparison takes constant time; no token, no match.
    """
    if not token:
        return False
    presented = _presented_token(headers.get("authorization", ""))
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def check_signature(headers: Mapping[str, str], body: bytes, secret: str, now: float) -> SignatureVerdict:
    """`valid` when the delivery is signed with `secret` at a timestamp within WINDOW_SECONDS of `now`."""
    presented, stamp = headers.get(SIGNATURE_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
    if not presented or not stamp:
        return "missing"
    if not stamp.isascii() or not stamp.isdigit() or abs(int(stamp) - now) > WINDOW_SECONDS:
        return "stale"
    expected = body_signature(secret, body, stamp)
    return "valid" if hmac.compare_digest(presented.encode(), expected.encode()) else "invalid"


class ReplayGuard:
    """Remembers the signatures accepted within the window; the same one again is a replay.

    Only signatures that verified are remembered, so its size is bounded by legitimate traffic
    within WINDOW_SECONDS (a stale timestamp is refused before it gets here).
    """

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self._window = window
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str, now: float) -> bool:
        """Record `signature` at `now`; False when it was already seen within the window."""
        if len(self._seen) > 1024:
            self._seen = {s: at for s, at in self._seen.items() if now - at <= 2 * self._window}
        seen_at = self._seen.get(signature)
        if seen_at is not None and now - seen_at <= 2 * self._window:
            return False
        self._seen[signature] = now
        return True


def _presented_token(authorization: str) -> str | None:
    """The token in a `Bearer <token>` or `Basic <base64 user:token>` header value, else None."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, separator, password = decoded.partition(":")
        return password if separator else None
    return None
