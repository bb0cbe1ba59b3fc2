"""The HTTP receiver behind `ragkeeper listen`: S3 event notifications in, `ragkeeper.source.changed` out.

`POST <path>` takes one delivery (S3 / MinIO webhook, SNS, EventBridge; see core/s3_events.py):

- 413 when the body is larger than `listen.max_body_bytes` (read no further than that),
- 401 unless it carries the bearer token or a valid HMAC signature (core/webhook_auth.py),
- 400 when it is not an S3 event notification, 405 for another method, 404 for another path,
- 202 with `{"accepted": n, "ignored": m}` otherwise; changes outside the source root are ignored.

Accepted changes are debounced (core/debounce.py) and each batch becomes one Prefect event, sent by
a background task; a batch the Prefect server did not take is kept and sent again. `GET /healthz`
answers with counters and nothing secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ragkeeper.adapters.source_events import SourceEventEmitter, source_changed_event
from ragkeeper.adapters.storage.filters import under_root
from ragkeeper.core.events.debounce import ChangeBatcher
from ragkeeper.core.events.s3_events import parse_notification
from ragkeeper.core.events.webhook_auth import authenticated
from ragkeeper.errors import BodyTooLarge, MalformedEvent

logger = logging.getLogger("ragkeeper.listen")
TICK_SECONDS = 0.2
RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver checks and where its events go."""

    path: str
    token: str | None
    hmac_secret: str | None
    max_body_bytes: int
    debounce_seconds: float
    max_keys: int
    source_root: str
    collection: str


@dataclass
class ReceiverStats:
    """Counters for /healthz and the tests."""

    deliveries: int = 0
    changes_accepted: int = 0
    changes_ignored: int = 0
    events_emitted: int = 0
    emit_failures: int = 0
    rejected: Counter[int] = field(default_factory=Counter)


_CHALLENGE = 'Bearer realm="ragkeeper", Basic realm="ragkeeper"'


class Receiver:
    """Checks, parses and batches deliveries; a background task turns batches into events."""

    def __init__(self, config: ReceiverConfig, emitter: Any, clock: Callable[[], float]) -> None:
        self.config = config
        self.stats = ReceiverStats()
        self._events = emitter
        self._clock = clock
        self._batcher = ChangeBatcher(config.debounce_seconds, config.max_keys)

    async def receive(self, request: Any) -> Any:
        """`POST <path>`: one delivery."""
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return self._reject(413, f"body over {limit} bytes")
        try:
            body = await _read_limited(request, limit)
        except BodyTooLarge:
            return self._reject(413, f"body over {limit} bytes")
        if not authenticated(request.headers, body, self.config.token, self.config.hmac_secret):
            return self._reject(401, "not authenticated", {"WWW-Authenticate": _CHALLENGE})
        try:
            notification = parse_notification(body)
        except MalformedEvent as error:
            return self._reject(400, str(error))
        wanted = [c for c in notification.changes if under_root(c.uri, self.config.source_root)]
        ignored = len(notification.changes) - len(wanted)
        self.stats.deliveries += 1
        self.stats.changes_accepted += len(wanted)
        self.stats.changes_ignored += ignored
        self._batcher.add(wanted, self._clock())
        if notification.note:
            logger.info("delivery without changes: %s", notification.note)
        return _json({"accepted": len(wanted), "ignored": ignored}, 202)

    async def healthz(self, request: Any) -> Any:
        """`GET /healthz`: counters, nothing secret."""
        stats = self.stats
        return _json(
            {
                "deliveries": stats.deliveries,
                "changes_accepted": stats.changes_accepted,
                "changes_ignored": stats.changes_ignored,
                "waiting": self._batcher.waiting,
                "events_emitted": stats.events_emitted,
                "emit_failures": stats.emit_failures,
                "rejected": {str(k): v for k, v in stats.rejected.items()},
            }
        )

    async def send_due(self, final: bool = False) -> bool:
        """Send every due batch (all of them when `final`); False when one could not be sent (kept)."""
        while (batch := self._batcher.take_due(float("inf") if final else self._clock())) is not None:
            event = source_changed_event(self.config.collection, self.config.source_root, batch)
            try:
                await self._events.emit(event)
            except asyncio.CancelledError:  # shutdown while sending: the final send retries it
                self._batcher.put_back(batch, self._clock())
                raise
            except Exception as error:
                self.stats.emit_failures += 1
                self._batcher.put_back(batch, self._clock())
                logger.warning("could not send %d changes to Prefect (%s); will retry", len(batch), error)
                return False
            self.stats.events_emitted += 1
            logger.info("asked for a reindex of %d objects", len(batch))
        return True

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Run the sender while the server runs; on shutdown, send what is still waiting."""
        sender = asyncio.create_task(self._send_forever())
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if not await self.send_due(final=True):
                logger.error(
                    "%d changes were not sent; the next full sync picks them up", self._batcher.waiting
                )
            await self._events.close()

    async def _send_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS if await self.send_due() else RETRY_SECONDS)

    def _reject(self, status: int, message: str, headers: dict[str, str] | None = None) -> Any:
        self.stats.rejected[status] += 1
        return _json({"error": message}, status, headers)


def build_app(
    config: ReceiverConfig, emitter: Any = None, clock: Callable[[], float] = time.monotonic
) -> Any:
    """The Starlette application; `app.state.receiver` is the Receiver (counters in `.stats`)."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    receiver = Receiver(config, emitter or SourceEventEmitter(), clock)
    app = Starlette(
        routes=[
            Route(config.path, receiver.receive, methods=["POST"]),
            Route("/healthz", receiver.healthz, methods=["GET"]),
        ],
        lifespan=receiver.lifespan,
    )
    app.state.receiver = receiver
    return app


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers)


async def _read_limited(request: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def serve(config: ReceiverConfig, host: str, port: int) -> None:
    """Run the receiver until interrupted (SIGINT / SIGTERM), then send what is still waiting."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(build_app(config), host=host, port=port, log_level="warning")).run()
