"""Credentials out of every URL a user, a log or a record may show.

A URL can carry secrets in two places: its userinfo (`https://user:password@host`) and its query or
fragment (`?api_key=...`, `&sig=...`, `#access_token=...`). Everything that shows a URL (errors,
doctor, logs, run records) passes it through `redact_url`, or text that may quote one through
`redact_urls`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# A scheme, `://`, then anything up to whitespace or a quoting character.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
# Parameter names that carry credentials: api_key, token, X-Amz-Signature, X-Amz-Credential,
# X-Amz-Security-Token, sig (Azure SAS), password, client_secret, auth, session, code (Azure Functions).
_SECRET_PARAMETER = re.compile(r"key|token|secret|pass|pwd|sig|credential|auth|session|^code$", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` with its userinfo replaced by `***` and the values of secret-looking parameters masked.

    Scheme, host, port, path and the other parameters stay, so the URL still says where it points.
    Text that is not a `scheme://` URL is returned unchanged.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    ends = [index for index in (rest.find(c) for c in "/?#") if index >= 0]
    end = min(ends, default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    return f"{scheme}://{authority}{_redact_tail(tail)}"


def redact_urls(text: str) -> str:
    """`text` with every `scheme://` URL in it passed through `redact_url`."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group()), text)


def _redact_tail(tail: str) -> str:
    """Path, query and fragment, with the secret-looking parameters of query and fragment masked."""
    before_fragment, hash_sign, fragment = tail.partition("#")
    path, question_mark, query = before_fragment.partition("?")
    redacted = path + question_mark + _redact_parameters(query) if question_mark else path
    return redacted + hash_sign + _redact_parameters(fragment) if hash_sign else redacted


def _redact_parameters(parameters: str) -> str:
    pairs = []
    for pair in parameters.split("&"):
        name, equals, value = pair.partition("=")
        secret = equals and value and _SECRET_PARAMETER.search(unquote(name))
        pairs.append(f"{name}={MASK}" if secret else pair)
    return "&".join(pairs)
