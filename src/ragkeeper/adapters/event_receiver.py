"""The HTTP receiver behind `ragkeeper listen`: S3 event notifications in, `ragkeeper.source.changed` out.

`POST <path>` takes one delivery (S3 / MinIO webhook, SNS, EventBridge; see core/s3_events.py):

- 413 when the body is larger than `listen.max_body_bytes` (read no further than that),
- 401 unless it carries the bearer token (checked before the body is read) or a valid HMAC signature
  with a fresh timestamp that was not seen before (core/events/webhook_auth.py),
- 400 when it is not an S3 event notification, 405 for another method, 404 for another path,
- 503 with Retry-After when `listen.max_pending_keys` objects already wait (the sender retries),
- 202 with `{"accepted": n, "ignored": m}` otherwise; changes outside the source root are ignored.

Accepted changes are debounced (core/events/debounce.py) and each batch becomes one Prefect event,
sent by a background task within `listen.emit_timeout_seconds`; a batch the Prefect server did not
take is kept and sent again. `GET /healthz` answers with counters and nothing secret.
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

from ragkeeper.adapters.metrics_exporter import exposition
from ragkeeper.adapters.source_events import SourceEventEmitter, source_changed_event
from ragkeeper.adapters.storage.filters import under_root
from ragkeeper.core.events.debounce import ChangeBatcher
from ragkeeper.core.events.s3_events import parse_notification
from ragkeeper.core.events.webhook_auth import (
    SIGNATURE_HEADER,
    ReplayGuard,
    check_signature,
    token_authenticated,
)
from ragkeeper.core.metrics.families import ListenFigures, listen_samples
from ragkeeper.errors import BodyTooLarge, MalformedEvent, first_line

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
    max_pending_keys: int = 100_000
    emit_timeout_seconds: float = 30.0
    max_connections: int = 64


@dataclass
class ReceiverStats:
    """Counters for /healthz and the tests."""

    deliveries: int = 0
    changes_accepted: int = 0
    changes_ignored: int = 0
    events_emitted: int = 0
    emit_failures: int = 0
    shed_deliveries: int = 0
    rejected: Counter[int] = field(default_factory=Counter)


_CHALLENGE = 'Bearer realm="ragkeeper", Basic realm="ragkeeper"'
_REJECTION_REASONS = {400: "malformed", 401: "unauthenticated", 413: "too_large", 503: "shedding"}


class Receiver:
    """Checks, parses and batches deliveries; a background task turns batches into events."""

    def __init__(
        self,
        config: ReceiverConfig,
        emitter: Any,
        clock: Callable[[], float],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.stats = ReceiverStats()
        self.shedding = False
        self._events = emitter
        self._clock = clock
        self._wall_clock = wall_clock
        self._replays = ReplayGuard()
        self._batcher = ChangeBatcher(config.debounce_seconds, config.max_keys, config.max_pending_keys)

    async def receive(self, request: Any) -> Any:
        """`POST <path>`: one delivery."""
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return self._reject(413, f"body over {limit} bytes")
        by_token = token_authenticated(request.headers, self.config.token)
        if not by_token and not self.config.hmac_secret:  # nothing in the body could change the answer
            return self._unauthenticated("not authenticated")
        try:
            body = await _read_limited(request, limit)
        except BodyTooLarge:
            return self._reject(413, f"body over {limit} bytes")
        if not by_token:
            refusal = self._signature_refusal(request.headers, body)
            if refusal:
                return self._unauthenticated(refusal)
        try:
            notification = parse_notification(body)
        except MalformedEvent as error:
            return self._reject(400, str(error))
        wanted = [c for c in notification.changes if under_root(c.uri, self.config.source_root)]
        ignored = len(notification.changes) - len(wanted)
        if not self._batcher.has_room_for(wanted):
            self.stats.shed_deliveries += 1
            self.shedding = True
            retry = str(max(1, round(self.config.debounce_seconds * 5)))
            return self._reject(503, "too many changes waiting; retry later", {"Retry-After": retry})
        if self._batcher.adds_new(wanted):
            self.shedding = False
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
                "max_pending_keys": self.config.max_pending_keys,
                "shedding": self.shedding,
                "shed_deliveries": stats.shed_deliveries,
                "events_emitted": stats.events_emitted,
                "emit_failures": stats.emit_failures,
                "rejected": {str(k): v for k, v in stats.rejected.items()},
            }
        )

    def figures(self) -> ListenFigures:
        """The counters `/metrics` exports."""
        stats = self.stats
        rejected = {_REJECTION_REASONS.get(code, str(code)): n for code, n in stats.rejected.items()}
        return ListenFigures(
            mode="webhook",
            received=stats.deliveries + sum(stats.rejected.values()),
            changes_accepted=stats.changes_accepted,
            ignored={"outside_source_root": stats.changes_ignored},
            rejected=rejected,
            waiting=self._batcher.waiting,
            requests_sent=stats.events_emitted,
            sends_failed=stats.emit_failures,
            shedding=self.shedding,
        )

    async def metrics(self, request: Any) -> Any:
        """`GET /metrics`: the receiver's counters in Prometheus' text format."""
        from starlette.responses import Response

        body = exposition(lambda: listen_samples(self.figures()))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def send_due(self, final: bool = False) -> bool:
        """Send every due batch (all of them when `final`); False when one could not be sent (kept)."""
        while (batch := self._batcher.take_due(float("inf") if final else self._clock())) is not None:
            event = source_changed_event(self.config.collection, self.config.source_root, batch)
            try:
                await asyncio.wait_for(self._events.emit(event), self.config.emit_timeout_seconds)
            except asyncio.CancelledError:  # shutdown while sending: the final send retries it
                self._batcher.put_back(batch, self._clock())
                raise
            except Exception as error:
                self.stats.emit_failures += 1
                self._batcher.put_back(batch, self._clock())
                reason = (
                    f"no answer within {self.config.emit_timeout_seconds:g}s"
                    if isinstance(error, TimeoutError)
                    else first_line(error)
                )
                logger.warning("could not send %d changes to Prefect (%s); will retry", len(batch), reason)
                return False
            self.stats.events_emitted += 1
            self.shedding = False
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

    def _signature_refusal(self, headers: Any, body: bytes) -> str:
        """Why a delivery's HMAC signature is refused, or "" when it is valid and new."""
        secret = self.config.hmac_secret
        verdict = check_signature(headers, body, secret, self._wall_clock()) if secret else "missing"
        if verdict == "missing":
            return "not authenticated"
        if verdict == "stale":
            return "signature timestamp missing or outside the allowed window"
        if verdict == "invalid":
            return "not authenticated"
        if not self._replays.first_time(headers.get(SIGNATURE_HEADER, ""), self._wall_clock()):
            return "replayed signature"
        return ""

    def _unauthenticated(self, message: str) -> Any:
        return self._reject(401, message, {"WWW-Authenticate": _CHALLENGE})

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
            Route("/metrics", receiver.metrics, methods=["GET"]),
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

    uvicorn.Server(server_config(build_app(config), host, port, config.max_connections)).run()


def server_config(app: Any, host: str, port: int, max_connections: int | None = None) -> Any:
    """Uvicorn's configuration for the receiver: connections over `max_connections` get 503."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", limit_concurrency=max_connections)
