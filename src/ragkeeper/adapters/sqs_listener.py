"""`ragkeeper listen --sqs`: S3 change notifications from an SQS queue, at least once.

A loop long-polls the queue, reads each message (core/events/sqs_messages.py), debounces the changes
(core/events/debounce.py) and, for each due batch, creates a run of the reindex deployment
(adapters/reindex_requests.py). A message is deleted only after the runs for all its keys exist on
the Prefect server; until then it stays invisible (its visibility is extended while it waits). A
receiver that dies loses nothing: its messages become visible again and are received anew, and
reindex is idempotent. Unreadable messages go to the dead-letter queue on their `max_receives`-th
receive; test events and changes outside the source root are deleted at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ragkeeper.adapters.metrics_exporter import exposition
from ragkeeper.adapters.sqs_queue import QueueMessage, SqsQueue
from ragkeeper.core.events.debounce import ChangeBatcher
from ragkeeper.core.events.sqs_messages import AckTracker, classify_message, request_key
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.metrics.families import ListenFigures, listen_samples
from ragkeeper.errors import RagkeeperError

logger = logging.getLogger("ragkeeper.listen")
RETRY_SECONDS = 2.0
BUSY_WAIT_SECONDS = 1  # long-poll wait while changes wait for their batch


class ReindexRequester(Protocol):
    """Creates the reindex run for some URIs and returns its id once the server has it."""

    def request(self, uris: list[str], idempotency_key: str) -> str:
        """Create (or find, by key) the run."""
        ...


@dataclass(frozen=True)
class SqsListenerConfig:
    """How the listener reads the queue and batches what it finds."""

    wanted: Callable[[str], bool]
    debounce_seconds: float
    max_keys: int
    max_pending_keys: int
    wait_seconds: int = 20
    visibility_timeout: int = 60
    max_receives: int = 5


@dataclass
class SqsStats:
    """Counters for /healthz, /metrics and the tests."""

    messages_received: int = 0
    messages_deleted: int = 0
    messages_dead_lettered: int = 0
    changes_accepted: int = 0
    runs_created: int = 0
    request_failures: int = 0
    receive_failures: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)


class SqsListener:
    """The receive -> debounce -> create run -> delete loop. Not thread-safe: one thread drives it."""

    def __init__(
        self,
        queue: SqsQueue,
        requester: ReindexRequester,
        config: SqsListenerConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.stats = SqsStats()
        self._queue = queue
        self._requester = requester
        self._clock = clock
        self._batcher = ChangeBatcher(config.debounce_seconds, config.max_keys)
        self._acks = AckTracker()
        self._handles: dict[str, str] = {}  # held message id -> latest receipt handle
        self._hidden_at: dict[str, float] = {}  # held message id -> when its visibility last started

    @property
    def waiting(self) -> int:
        """Objects waiting for their batch."""
        return self._batcher.waiting

    @property
    def held(self) -> int:
        """Messages received and not yet deleted."""
        return len(self._acks.held)

    def poll_once(self) -> None:
        """One receive (unless the buffer is full), then send what is due and keep held messages hidden."""
        if self._batcher.waiting < self.config.max_pending_keys:
            wait = BUSY_WAIT_SECONDS if self._batcher.waiting else self.config.wait_seconds
            for message in self._queue.receive(wait, self.config.visibility_timeout):
                self._take(message)
        else:
            time.sleep(BUSY_WAIT_SECONDS)
        self.send_due()
        self._keep_hidden()

    def send_due(self, final: bool = False) -> bool:
        """Create a run for every due batch (all of them when `final`) and delete the messages it settles."""
        now = float("inf") if final else self._clock()
        while (batch := self._batcher.take_due(now)) is not None:
            taken = self._acks.take(batch)
            checkpoint("listen.before-request")  # crash tests: a batch formed, no run asked for yet
            try:
                run_id = self._requester.request(sorted(batch), request_key(taken))
            except RagkeeperError as error:
                self.stats.request_failures += 1
                self._batcher.put_back(batch, self._clock())
                self._acks.put_back(taken)
                logger.warning("could not ask for a reindex of %d objects: %s; will retry", len(batch), error)
                return False
            self.stats.runs_created += 1
            logger.info("reindex run %s created for %d objects", run_id, len(batch))
            checkpoint("listen.run-created")  # crash tests: the run exists, its messages are not deleted
            self._delete(self._acks.settle(taken))
        return True

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; errors are logged and retried. At the end, send what is waiting."""
        while not stop.is_set():
            try:
                self.poll_once()
            except RagkeeperError as error:
                self.stats.receive_failures += 1
                logger.warning("SQS listener: %s; retrying in %.0fs", error, RETRY_SECONDS)
                stop.wait(RETRY_SECONDS)
        try:
            self.send_due(final=True)
        except RagkeeperError as error:  # the messages stay in the queue and come back
            logger.warning("SQS listener stopping: %s", error)

    def _take(self, message: QueueMessage) -> None:
        self.stats.messages_received += 1
        verdict = classify_message(
            message.body, message.receive_count, self.config.max_receives, self.config.wanted
        )
        if verdict.action == "hold":
            self.stats.changes_accepted += len(verdict.changes)
            self._handles[message.message_id] = message.receipt_handle
            self._hidden_at[message.message_id] = self._clock()
            self._acks.hold(message.message_id, [c.uri for c in verdict.changes])
            self._batcher.add(verdict.changes, self._clock())
        elif verdict.action == "ack":
            self.stats.ignored[_reason_class(verdict.reason)] += 1
            logger.info("message %s needs no reindex (%s); deleting it", message.message_id, verdict.reason)
            self.stats.messages_deleted += self._queue.delete([message.receipt_handle])
        elif verdict.action == "retry":
            self.stats.rejected["unreadable"] += 1
            logger.warning(
                "message %s is unreadable (receive %d of %d before the dead-letter queue): %s",
                message.message_id,
                message.receive_count,
                self.config.max_receives,
                verdict.reason,
            )
        else:
            self.stats.rejected["dead_lettered"] += 1
            dlq = self._queue.dead_letter(message, verdict.reason)
            self.stats.messages_dead_lettered += 1
            logger.error("message %s moved to %s: %s", message.message_id, dlq, verdict.reason)

    def _delete(self, message_ids: list[str]) -> None:
        handles = [self._handles.pop(i) for i in message_ids if i in self._handles]
        for message_id in message_ids:
            self._hidden_at.pop(message_id, None)
        if handles:
            try:
                self.stats.messages_deleted += self._queue.delete(handles)
            except RagkeeperError as error:  # the run exists: a re-delivery finds it by its key
                logger.warning("could not delete %d messages (%s); they will come back", len(handles), error)

    def _keep_hidden(self) -> None:
        """Extend the visibility of messages held for half their timeout (e.g. while Prefect is down)."""
        now = self._clock()
        due = [i for i, at in self._hidden_at.items() if now - at >= self.config.visibility_timeout / 2]
        if not due:
            return
        self._queue.keep_invisible([self._handles[i] for i in due], self.config.visibility_timeout)
        for message_id in due:
            self._hidden_at[message_id] = now


def _reason_class(reason: str) -> str:
    if "test event" in reason:
        return "test_event"
    if "SNS subscription" in reason:
        return "sns_subscription"
    return "outside_source_root"


def figures(listener: SqsListener) -> ListenFigures:
    """The counters `/metrics` exports in SQS mode."""
    stats = listener.stats
    return ListenFigures(
        mode="sqs",
        received=stats.messages_received,
        changes_accepted=stats.changes_accepted,
        ignored=dict(stats.ignored),
        rejected=dict(stats.rejected),
        waiting=listener.waiting,
        requests_sent=stats.runs_created,
        sends_failed=stats.request_failures,
    )


def healthz(listener: SqsListener) -> dict[str, Any]:
    """What `GET /healthz` shows in SQS mode: counters, nothing secret."""
    stats = listener.stats
    return {
        "mode": "sqs",
        "messages_received": stats.messages_received,
        "messages_deleted": stats.messages_deleted,
        "messages_dead_lettered": stats.messages_dead_lettered,
        "messages_held": listener.held,
        "changes_accepted": stats.changes_accepted,
        "waiting": listener.waiting,
        "runs_created": stats.runs_created,
        "request_failures": stats.request_failures,
        "receive_failures": stats.receive_failures,
        "ignored": dict(stats.ignored),
        "rejected": dict(stats.rejected),
    }


def build_sqs_app(listener: SqsListener) -> Any:
    """A Starlette app serving `/healthz` while a thread runs the listener (stopped with the server)."""
    import asyncio
    import contextlib
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        thread = threading.Thread(target=listener.run, args=(stop,), name="sqs-listener", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()  # the current long poll ends within wait_seconds
            await asyncio.to_thread(thread.join, listener.config.wait_seconds + 15)

    async def health(request: Any) -> Any:
        return JSONResponse(healthz(listener))

    async def metrics(request: Any) -> Any:
        body = exposition(lambda: listen_samples(figures(listener)))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [Route("/healthz", health, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.listener = listener
    return app
