"""MinIO killed mid-listing and mid-read; S3 SlowDown answers that botocore's adaptive retries ride out."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.faults.conftest import index_then_change, kill
from tests.support.index import assert_same_index
from tests.support.s3_fault_proxy import S3FaultProxy

pytestmark = pytest.mark.faults

FILLERS = 1_000  # with the documents, the listing spans two pages (1,000 keys each)
SKIP_FILLERS = {"RAGKEEPER_SOURCE__EXCLUDE": '["filler/*"]'}


def _is_listing(method: str, path: str) -> bool:
    return method == "GET" and "list-type=2" in path


def _is_object_read(bucket: str):
    return lambda method, path: method == "GET" and path.startswith(f"/{bucket}/docs/") and "?" not in path


def _proxy(case, **options) -> S3FaultProxy:
    return S3FaultProxy(case.minio.url, **options).start()


def test_minio_killed_mid_listing_fails_the_run_and_deletes_nothing(fault_case, own_minio, measured):
    case = fault_case("minio-killed-listing", minio_service=own_minio, **SKIP_FILLERS)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: case.put({f"filler/{n:04}.bin": b"x"}), range(FILLERS)))
    index_then_change(case, new=(6,))
    before = case.snapshot()

    def kill_on_second_page(method: str, path: str) -> None:
        if _is_listing(method, path) and "continuation-token=" in path and own_minio.process.poll() is None:
            kill(own_minio)

    proxy = _proxy(case, before_forward=kill_on_second_page)
    try:
        outcome = case.run(RAGKEEPER_S3__ENDPOINT_URL=proxy.url, RAGKEEPER_S3__MAX_ATTEMPTS="2")
    finally:
        proxy.stop()
        own_minio.restart()

    error = outcome.assert_one_clear_line()
    assert "listing s3://" in error
    assert_same_index(case.snapshot(), before)  # a listing cut short deletes and writes nothing
    case.in_process().assert_completed()  # MinIO is back: the next run catches up
    case.assert_matches_reference()
    listings = [r for r in proxy.requests if _is_listing(*r.split(" ", 1))]
    measured(outcome=error, run_seconds=round(outcome.seconds, 1), listing_requests=len(listings))


def test_minio_killed_mid_read_and_restarted(fault_case, own_minio, measured):
    case = fault_case("minio-killed-read", minio_service=own_minio)
    index_then_change(case, new=(6,))
    killed, restarted = threading.Lock(), threading.Event()

    def restart_later() -> None:
        own_minio.restart()
        restarted.set()

    def kill_on_first_read(method: str, path: str) -> None:
        if _is_object_read(case.bucket)(method, path) and killed.acquire(blocking=False):
            kill(own_minio)  # the lock stays taken: one kill per test
            threading.Timer(2.0, restart_later).start()

    proxy = _proxy(case, before_forward=kill_on_first_read)
    try:
        outcome = case.run(RAGKEEPER_S3__ENDPOINT_URL=proxy.url)
    finally:
        proxy.stop()
    restarted.wait(120)

    error = outcome.assert_completed_or_one_clear_line()
    if error:
        case.in_process().assert_completed()
    case.assert_matches_reference()
    reads = [r for r in proxy.requests if _is_object_read(case.bucket)(*r.split(" ", 1))]
    measured(
        outcome=error or "completed",
        run_seconds=round(outcome.seconds, 1),
        object_reads=len(reads),
        objects=len({r.split("?")[0] for r in reads}),
    )


def test_s3_slowdown_is_ridden_out_by_adaptive_retries(fault_case, measured):
    case = fault_case("s3-slowdown")
    index_then_change(case, new=(6,))
    answered: dict[str, int] = {}
    lock = threading.Lock()

    def throttled(method: str, path: str) -> bool:
        """The first two requests for every listing page and object answer 503 SlowDown."""
        if method != "GET":
            return False
        key = urlsplit(path).path + ("?list" if "list-type=2" in path else "")
        with lock:
            answered[key] = answered.get(key, 0) + 1
            return answered[key] <= 2

    proxy = _proxy(case, fail_when=throttled, status=503, code="SlowDown")
    try:
        outcome = case.run(RAGKEEPER_S3__ENDPOINT_URL=proxy.url)
    finally:
        proxy.stop()

    outcome.assert_completed()
    case.assert_matches_reference()
    retried = {key: count for key, count in answered.items() if count > 2}
    assert len(proxy.failed) >= 2 * len(retried) > 0
    assert all(count == 3 for count in retried.values()), answered  # each retried until it got through
    measured(
        outcome="completed",
        run_seconds=round(outcome.seconds, 1),
        slowdown_answers=len(proxy.failed),
        requests_retried=len(retried),
        proxy_requests=len(proxy.requests),
    )
