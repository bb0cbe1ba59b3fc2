import threading

from ragkeeper.core.sync.guard import FailureGuard
from ragkeeper.models import QuarantinedObject


def _failed(n: int) -> list[QuarantinedObject]:
    return [QuarantinedObject(f"s3://b/bad{i}.md", "empty file") for i in range(n)]


def test_a_small_run_never_trips_whatever_its_share():
    guard = FailureGuard(min_objects=20, max_share=0.2)
    assert guard.observe(1, _failed(1)) is False
    assert not guard.tripped and not guard.stopping


def test_trips_once_the_sample_is_big_enough_and_the_share_too_high():
    guard = FailureGuard(min_objects=10, max_share=0.2)
    assert guard.observe(8, _failed(1)) is False  # 1 of 8: the sample is still too small
    assert guard.observe(2, _failed(2)) is True  # 3 of 10 = 30% > 20%
    assert guard.tripped and guard.stopping
    assert "3 of 10 documents failed" in str(guard.error())
    assert str(guard.error()).endswith("First: empty file")


def test_the_share_at_the_threshold_does_not_trip():
    guard = FailureGuard(min_objects=5, max_share=0.2)
    assert guard.observe(10, _failed(2)) is False


def test_halting_stops_streams_without_counting_as_a_trip():
    guard = FailureGuard(min_objects=1, max_share=0.5)
    guard.halt()
    assert guard.stopping and not guard.tripped
    assert guard.observe(1, []) is True  # streams learn to stop from any observation


def test_counts_from_many_threads_add_up():
    guard = FailureGuard(min_objects=1_000_000, max_share=0.5)
    threads = [
        threading.Thread(target=lambda: [guard.observe(1, _failed(1)) for _ in range(500)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "2000 of 2000" in str(guard.error())
