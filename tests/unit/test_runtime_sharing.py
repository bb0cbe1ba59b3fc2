import threading
import time

from ragkeeper import runtime
from ragkeeper.settings import load_settings


def test_a_slow_build_holds_up_neither_other_kinds_nor_a_second_build():
    settings = load_settings()
    started, release = threading.Event(), threading.Event()
    builds: list[str] = []

    def slow(_settings):
        builds.append("slow")
        started.set()
        release.wait(10)
        return "slow"

    askers = [threading.Thread(target=runtime._shared, args=("slow-kind", settings, slow)) for _ in range(2)]
    try:
        askers[0].start()
        assert started.wait(5)
        askers[1].start()
        began = time.monotonic()
        # Importing Great Expectations for the gate must not stop a parse task getting its parser.
        assert runtime._shared("fast-kind", settings, lambda _settings: "fast") == "fast"
        assert time.monotonic() - began < 1
        release.set()
        for asker in askers:
            asker.join(5)
        assert runtime._shared("slow-kind", settings, slow) == "slow"
        assert builds == ["slow"]  # the second asker waited for the first build instead of building again
    finally:
        release.set()
        runtime.close_all()
