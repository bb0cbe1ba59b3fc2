"""What runs inside a parse worker process: unstructured, warmed once, answering parse requests on a pipe.

The pool's forkserver imports this module before it forks any worker, so every worker starts with
unstructured's partitioners, the chunkers and spaCy's model already loaded, sharing those pages
copy-on-write instead of each loading its own copy. Nothing here touches Weaviate, Prefect or the
network: a worker receives bytes and returns a ParsedDocument.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ragkeeper.adapters import libc
from ragkeeper.adapters.parsing import UnstructuredParser, preload_partitioners
from ragkeeper.errors import UnsupportedDocument, first_line
from ragkeeper.settings import ParseSettings

# A worker that exits with this code went over its memory limit (the pool names it in the reason).
MEMORY_EXIT_CODE = 86
# Parsing is the bulk of a cold run's CPU and can wait; writing, validating and a local Weaviate
# indexing what was written cannot without holding up the run's end. Workers yield the CPU to them
# (on 2 cores the cold Debian-docs bench went from 173-175 s to 155 s).
PARSE_NICENESS = 5
_WATCH_INTERVAL_SECONDS = 0.05

warmed = False


def warm() -> None:
    """Import every partitioner and load the models once, before the forkserver forks workers."""
    global warmed  # noqa: PLW0603 - once per process by design
    preload_partitioners()
    gc.freeze()  # objects made so far are never collected: forked workers do not touch their pages
    warmed = True


def serve(connection: Connection, memory_limit_bytes: int) -> None:
    """Answer `(settings, obj, data, collection)` requests until the pipe closes.

    Replies are `("ok", ParsedDocument)`, `("unsupported", reason)` for a document that cannot be
    used, or `("error", reason)` for anything unforeseen (the pool quarantines the document).
    """
    resting = _resident_bytes()
    if resting > memory_limit_bytes:  # the limit is a setting no worker can meet: no document is to blame
        connection.send(("too-big", resting))
        return
    _watch_memory(memory_limit_bytes)
    os.nice(PARSE_NICENESS)
    connection.send(("ready", os.getpid()))
    parsers: dict[str, UnstructuredParser] = {}
    while True:
        try:
            settings_json, obj, data, collection = connection.recv()
        except (EOFError, OSError):
            return
        parser = parsers.get(settings_json)
        if parser is None:
            parser = parsers[settings_json] = UnstructuredParser(
                ParseSettings.model_validate_json(settings_json)
            )
        reply: tuple[str, Any]
        try:
            reply = ("ok", parser.parse(obj, data, collection))
        except UnsupportedDocument as error:
            reply = ("unsupported", str(error))
        except Exception as error:  # a parser bug on one document must not end the worker
            reply = ("error", f"{obj.uri}: cannot parse ({type(error).__name__}: {first_line(error, 200)})")
        del data
        connection.send(reply)
        del reply
        _return_freed_memory()


def _return_freed_memory() -> None:
    """Give the heap that parsing a document freed back to the system (glibc keeps it otherwise).

    A worker that once parsed a large document would else stay that large for the rest of its life,
    and the run's memory would be the sum of the workers' largest documents.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


_malloc_trim = libc.function("malloc_trim")  # glibc only (not musl, not macOS): else nothing to trim


def _resident_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _watch_memory(limit_bytes: int) -> None:
    """Exit the process (code MEMORY_EXIT_CODE) as soon as its resident memory passes the limit."""
    import psutil

    process = psutil.Process()

    def watch() -> None:
        while True:
            if process.memory_info().rss > limit_bytes:
                os._exit(MEMORY_EXIT_CODE)
            time.sleep(_WATCH_INTERVAL_SECONDS)

    threading.Thread(target=watch, name="memory-watch", daemon=True).start()
