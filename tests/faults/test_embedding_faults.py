"""The embedding API misbehaves: a 429 storm with Retry-After, a 5xx burst, a 30 s stall, one poisoned text.

The API is our stand-in (tests/support/openai_server.py) driven through the real `openai` client.
"""

import time

import pytest

from tests.conftest import OPENAI_TEST_KEY
from tests.support.corpus import markdown, runbooks

pytestmark = pytest.mark.faults


@pytest.fixture
def api_case(fault_case, openai_server):
    """A case of six documents embedded through the stand-in (reset: no faults, counters at zero)."""
    openai_server.reset()
    case = fault_case(
        "embedding",
        RAGKEEPER_EMBED__BACKEND="openai",
        RAGKEEPER_EMBED__MODEL="text-embedding-3-small",
        RAGKEEPER_EMBED__DIMENSIONS="64",
        RAGKEEPER_OPENAI__BASE_URL=openai_server.base_url,
        RAGKEEPER_OPENAI__API_KEY=OPENAI_TEST_KEY,
        RAGKEEPER_OPENAI__MAX_RETRIES="2",
    )
    case.put(runbooks(6))
    yield case, openai_server
    openai_server.faults.clear()


def test_a_429_storm_with_retry_after_is_waited_out(api_case, measured):
    case, api = api_case
    api.faults.fail_next(8, 429, retry_after=0.5)
    outcome = case.run()
    api.faults.clear()

    outcome.assert_completed()
    assert api.stats.statuses[429] == 8
    case.assert_matches_reference()
    measured(outcome="completed", run_seconds=round(outcome.seconds, 1), answered_429=8)


def test_a_5xx_burst_is_retried(api_case, measured):
    case, api = api_case
    api.faults.fail_next(7, 503)
    outcome = case.run()
    api.faults.clear()

    outcome.assert_completed()
    assert api.stats.statuses[503] == 7
    case.assert_matches_reference()
    measured(outcome="completed", run_seconds=round(outcome.seconds, 1), answered_503=7)


def test_a_stalled_request_times_out_and_is_retried(api_case, measured):
    case, api = api_case
    api.faults.stall_next(1, 30.0)
    started = time.monotonic()
    outcome = case.run(RAGKEEPER_OPENAI__TIMEOUT_SECONDS="3")
    api.faults.clear()

    outcome.assert_completed()
    assert time.monotonic() - started < 30  # the run did not wait for the stalled answer
    case.assert_matches_reference()
    measured(outcome="completed", run_seconds=round(outcome.seconds, 1), stalled_request_seconds=30)


def test_one_poisoned_text_quarantines_its_document_only(api_case, measured):
    case, api = api_case
    case.put({"doc3.md": markdown(3) + b"\n\nThis paragraph carries the POISON-7f3a marker.\n"})
    api.faults.fail_inputs_containing("POISON-7f3a", status=400)
    outcome = case.run()

    outcome.assert_completed()
    actual = case.assert_matches_reference()  # the same source and API, ingested afresh
    api.faults.clear()
    poisoned = f"{case.source}doc3.md"
    assert actual.states[poisoned]["status"] == "quarantined"
    assert "refused" in actual.states[poisoned]["reason"]
    assert not any(uri == poisoned for uri, _, _ in actual.chunks)
    indexed = {uri for uri, _, _ in actual.chunks}
    assert indexed == {f"{case.source}doc{n}.md" for n in (0, 1, 2, 4, 5)}
    measured(
        outcome="completed", run_seconds=round(outcome.seconds, 1), quarantined=poisoned.rsplit("/", 1)[1]
    )
