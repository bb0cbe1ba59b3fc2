from ragkeeper.core.sync.parse_clock import ParseClock, ParseVerdict


def _run(clock: ParseClock, samples: list[tuple[float, float]]) -> list[ParseVerdict]:
    return [clock.verdict(wall, cpu) for wall, cpu in samples]


def test_a_parse_is_over_its_limit_when_its_cpu_is_not_when_its_wall_time_is():
    clock = ParseClock(3)
    # A busy machine: 10% of a core, 29 s of wall time for 2.9 s of CPU.
    assert set(_run(clock, [(t, t / 10) for t in range(1, 30)])) == {ParseVerdict.RUNNING}
    assert clock.verdict(29.5, 3.1) is ParseVerdict.OVER_LIMIT


def test_a_parse_with_almost_no_cpu_for_a_whole_limit_is_stalled():
    clock = ParseClock(3)
    verdicts = _run(clock, [(0.5, 0.4), (1.0, 0.9), (2.0, 0.9), (3.0, 0.9), (3.5, 0.905), (4.0, 0.91)])
    assert verdicts[:4] == [ParseVerdict.RUNNING] * 4  # less than a limit since the CPU stopped
    assert verdicts[-1] is ParseVerdict.STALLED  # 3 s from 1.0 to 4.0 with 0.01 s of CPU


def test_a_blocked_parser_is_stalled_although_its_worker_still_ticks():
    # A worker blocked in its parser still uses about 1% of a core watching its memory.
    clock = ParseClock(20)
    verdicts = _run(clock, [(t, t * 0.01) for t in range(1, 22)])
    assert verdicts[-1] is ParseVerdict.STALLED
    assert set(verdicts[:19]) == {ParseVerdict.RUNNING}


def test_a_slow_trickle_of_cpu_is_progress_and_a_short_pause_is_not_a_stall():
    trickle = ParseClock(3)  # 5% of a core
    assert set(_run(trickle, [(t / 2, t * 0.025) for t in range(1, 60)])) == {ParseVerdict.RUNNING}
    paused = ParseClock(3)
    samples = [(0.5, 0.5), (1.0, 1.0), (3.5, 1.0), (4.0, 1.5)]  # 2.5 s paused, then working again
    assert set(_run(paused, samples)) == {ParseVerdict.RUNNING}


def test_a_parse_still_running_after_ten_limits_of_wall_time_is_out_of_time():
    clock = ParseClock(3)
    starved = [(t / 2, t * 0.02) for t in range(1, 61)]  # 4% of a core for 30 s: progress, under the limit
    assert set(_run(clock, starved)) == {ParseVerdict.RUNNING}
    assert clock.verdict(30.5, 1.25) is ParseVerdict.OUT_OF_TIME
