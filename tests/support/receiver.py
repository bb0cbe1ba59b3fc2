"""Running the S3 event receiver on a real port in a background thread, with an emitter that records."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from ragkeeper.adapters.event_receiver import ReceiverConfig, build_app


class RecordingEmitter:
    """Stands in for the Prefect events client: keeps the events, can refuse the first N, or hang
    on the first one (a server that stopped answering) until the receiver cancels it."""

    def __init__(self, fail_first: int = 0, hang_first: bool = False) -> None:
        self.events: list[Any] = []
        self.attempts = 0
        self._fail_first = fail_first
        self._hang_first = hang_first

    async def emit(self, event: Any) -> None:
        """Record the event, or fail (or hang) while failures are still due."""
        self.attempts += 1
        if self._hang_first and self.attempts == 1:
            await asyncio.sleep(3600)
        if self.attempts <= self._fail_first:
            raise ConnectionError("Prefect server unreachable (test)")
        self.events.append(event)

    async def close(self) -> None:
        """Nothing to close."""


@contextmanager
def running_receiver(config: ReceiverConfig, emitter: Any, port: int) -> Iterator[Any]:
    """The receiver app served on 127.0.0.1:`port` until the block ends; yields the app."""
    app = build_app(config, emitter)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the receiver did not start")
        time.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)
