"""Authenticating webhook deliveries: a bearer token, or an HMAC-SHA256 of the body. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-ragkeeper-signature"


def body_signature(secret: str, body: bytes) -> str:
    """The signature header value a sender computes: `sha256=<hex HMAC of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def authenticated(
    headers: Mapping[str, str], body: bytes, token: str | None, hmac_secret: str | None
) -> bool:
    """Whether the delivery carries the configured bearer token or a valid body signature.

    `headers` has lower-case names. Comparisons take constant time. With neither secret configured
    nothing is authenticated: the receiver refuses to start in that case.
    """
    if token:
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
    if hmac_secret:
        presented = headers.get(SIGNATURE_HEADER, "")
        if hmac.compare_digest(presented.encode(), body_signature(hmac_secret, body).encode()):
            return True
    return False
