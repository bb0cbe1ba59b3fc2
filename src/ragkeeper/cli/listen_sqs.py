"""`ragkeeper listen --sqs`: build the SQS listener from the settings and serve /healthz beside it."""

from __future__ import annotations

from functools import partial

from ragkeeper import factory
from ragkeeper.adapters.storage.filters import under_root
from ragkeeper.cli.app import console
from ragkeeper.core.events.debounce import MAX_WAIT_FACTOR
from ragkeeper.errors import ConfigError
from ragkeeper.settings import Settings


def listen_sqs(settings: Settings, queue_url: str, host: str, port: int) -> None:
    """Long-poll `queue_url` until interrupted; /healthz on host:port."""
    import logging

    import uvicorn

    from ragkeeper.adapters.event_receiver import server_config
    from ragkeeper.adapters.reindex_requests import DeploymentReindexRequester
    from ragkeeper.adapters.sqs_listener import SqsListener, SqsListenerConfig, build_sqs_app
    from ragkeeper.adapters.sqs_queue import SqsQueue

    listen = settings.listen
    longest_wait = MAX_WAIT_FACTOR * listen.debounce_seconds
    if listen.sqs_visibility_timeout_seconds <= longest_wait:
        raise ConfigError(
            f"listen.sqs_visibility_timeout_seconds ({listen.sqs_visibility_timeout_seconds}) must be longer "
            f"than the longest debounce wait ({longest_wait:g}s = 5 x listen.debounce_seconds)"
        )
    root = factory.make_source(settings).root_uri
    config = SqsListenerConfig(
        wanted=partial(under_root, root=root),
        debounce_seconds=listen.debounce_seconds,
        max_keys=listen.max_keys_per_run,
        max_pending_keys=listen.max_pending_keys,
        wait_seconds=listen.sqs_wait_seconds,
        visibility_timeout=listen.sqs_visibility_timeout_seconds,
        max_receives=listen.sqs_max_receives,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    queue = SqsQueue(settings, queue_url)
    queue.dead_letter_queue_url()  # fail now, with one line, when the queue or its DLQ is missing
    listener = SqsListener(queue, DeploymentReindexRequester(listen.reindex_deployment), config)
    console.print(
        f"reading {queue_url} for changes under {root}; reindex runs of {listen.reindex_deployment}; "
        f"health on http://{host}:{port}/healthz"
    )
    uvicorn.Server(server_config(build_sqs_app(listener), host, port, listen.max_connections)).run()
