"""What to do with each SQS message, and when it may be deleted. Pure: no queue, no clock.

A message is deleted only once every change it carries (below the source root) is part of a
reindex flow run that exists on the Prefect server. Messages with nothing to do (a test event, an
SNS subscription note, keys outside the root) are deleted at once; one that cannot be read is left
for another receive, and moved to the dead-letter queue on its `max_receives`-th receive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ragkeeper.core.events.s3_events import ObjectChange, parse_notification
from ragkeeper.errors import MalformedEvent

Action = Literal["hold", "ack", "retry", "dead_letter"]


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """What to do with one message, and why.

    `hold` it until its `changes` reach a run; `ack` (delete) it now; leave it to `retry`; or move it
    to the `dead_letter` queue. `reason` says why for everything but `hold`.
    """

    action: Action
    changes: tuple[ObjectChange, ...] = ()
    reason: str = ""


def classify_message(
    body: str, receive_count: int, max_receives: int, wanted: Callable[[str], bool]
) -> MessageVerdict:
    """The verdict for one message body (S3 JSON, raw or wrapped by SNS or EventBridge)."""
    try:
        notification = parse_notification(body)
    except MalformedEvent as error:
        action: Action = "dead_letter" if receive_count >= max_receives else "retry"
        return MessageVerdict(action, reason=str(error))
    changes = tuple(change for change in notification.changes if wanted(change.uri))
    if changes:
        return MessageVerdict("hold", changes)
    return MessageVerdict("ack", reason=notification.note or "no change below the source root")


Taken = dict[str, frozenset[str]]  # URI -> ids of the messages that asked for it


class AckTracker:
    """Which held messages still wait for which URIs to reach a reindex run."""

    def __init__(self) -> None:
        self._missing: dict[str, set[str]] = {}  # message id -> URIs not yet in a run
        self._askers: dict[str, set[str]] = {}  # URI -> message ids waiting for it

    def hold(self, message_id: str, uris: Iterable[str]) -> None:
        """Hold a message until each of `uris` is in a run."""
        uris = set(uris)
        self._missing.setdefault(message_id, set()).update(uris)
        for uri in uris:
            self._askers.setdefault(uri, set()).add(message_id)

    def take(self, uris: Iterable[str]) -> Taken:
        """The messages waiting for `uris`, handed over with the batch about to be sent."""
        return {uri: frozenset(self._askers.pop(uri, ())) for uri in uris}

    def settle(self, taken: Taken) -> list[str]:
        """The batch reached a run: the ids of the messages that now wait for nothing (delete them)."""
        done = []
        for uri, ids in taken.items():
            for message_id in ids:
                missing = self._missing.get(message_id)
                if missing is None:
                    continue
                missing.discard(uri)
                if not missing:
                    del self._missing[message_id]
                    done.append(message_id)
        return sorted(done)

    def put_back(self, taken: Taken) -> None:
        """The batch did not reach a run: its messages wait for its URIs again."""
        for uri, ids in taken.items():
            self._askers.setdefault(uri, set()).update(ids)

    @property
    def held(self) -> frozenset[str]:
        """Ids of the messages still held."""
        return frozenset(self._missing)


def request_key(taken: Taken) -> str:
    """An idempotency key for the run of one batch.

    The same messages and URIs give the same key, so a batch re-sent after a crash between creating
    its run and deleting its messages makes no second run.
    """
    parts = sorted(f"{uri}\x1f{','.join(sorted(ids))}" for uri, ids in taken.items())
    return "ragkeeper-sqs-" + hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:32]
