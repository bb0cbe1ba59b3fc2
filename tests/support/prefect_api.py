"""Tests' REST calls to a real Prefect server, retried the way Prefect's own client retries them.

A SQLite-backed Prefect server answers 503 while its database is busy (`SQLITE_BUSY_SNAPSHOT` does not
wait for the busy timeout), which happens under `make test`'s load; Prefect's client, which our code
uses, retries 429/502/503 and so must the tests' plain HTTP calls, or they fail on a healthy server.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

RETRIED_STATUSES = frozenset({429, 502, 503})
RETRY_SECONDS = 60.0


def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """`httpx.request`, repeated with backoff for up to a minute while the server answers 429/502/503."""
    kwargs.setdefault("timeout", 10)
    deadline = time.monotonic() + RETRY_SECONDS
    delay = 0.2
    while True:
        response = httpx.request(method, url, **kwargs)
        if response.status_code not in RETRIED_STATUSES or time.monotonic() + delay > deadline:
            return response
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """GET through `call`."""
    return call("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """POST through `call`."""
    return call("POST", url, **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    """DELETE through `call`."""
    return call("DELETE", url, **kwargs)
