"""Authenticating webhook deliveries: a bearer token, or an HMAC-SHA256 of the body. Pure."""

from __future__ import annotations

import base64
import binascii
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
    """Whether the delivery carries the configured token or a valid body signature.

    The token is accepted as a bearer token, or as the password of HTTP Basic auth (any user name):
    senders that cannot set headers, such as SNS HTTPS subscriptions, put it in the endpoint URL.
    `headers` looks names up in lower case. Comparisons take constant time. With neither secret
    configured nothing is authenticated: the receiver refuses to start in that case.
    """
    if token:
        presented = _presented_token(headers.get("authorization", ""))
        if presented is not None and hmac.compare_digest(presented.encode(), token.encode()):
            return True
    if hmac_secret:
        presented = headers.get(SIGNATURE_HEADER, "")
        if hmac.compare_digest(presented.encode(), body_signature(hmac_secret, body).encode()):
            return True
    return False


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
