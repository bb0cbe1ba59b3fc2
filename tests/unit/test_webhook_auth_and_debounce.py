import base64

from ragkeeper.core.events.debounce import MAX_WAIT_FACTOR, ChangeBatcher
from ragkeeper.core.events.s3_events import Kind, ObjectChange
from ragkeeper.core.events.webhook_auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WINDOW_SECONDS,
    ReplayGuard,
    body_signature,
    check_signature,
    token_authenticated,
)

BODY = b'{"Records": []}'


def test_bearer_token_must_match_exactly():
    assert token_authenticated({"authorization": "Bearer s3cret"}, "s3cret")
    assert token_authenticated({"authorization": "bearer s3cret"}, "s3cret")
    assert not token_authenticated({"authorization": "Bearer s3cret-not"}, "s3cret")
    assert not token_authenticated({"authorization": "Basic s3cret"}, "s3cret")
    assert not token_authenticated({}, "s3cret")


def test_basic_auth_carries_the_token_as_password_for_senders_without_headers():
    def basic(credentials: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    assert token_authenticated(basic("sns:s3cret"), "s3cret")
    assert token_authenticated(basic(":s3cret"), "s3cret")
    assert not token_authenticated(basic("sns:wrong"), "s3cret")
    assert not token_authenticated(basic("s3cret"), "s3cret")  # no password part
    assert not token_authenticated({"authorization": "Basic !!not-base64!!"}, "s3cret")


def _signed(secret: str, body: bytes, stamp: int) -> dict[str, str]:
    return {SIGNATURE_HEADER: body_signature(secret, body, str(stamp)), TIMESTAMP_HEADER: str(stamp)}


def test_hmac_signature_covers_the_timestamp_and_the_body():
    now = 1_800_000_000
    assert check_signature(_signed("key", BODY, now), BODY, "key", now) == "valid"
    assert check_signature(_signed("key", BODY, now), BODY + b" ", "key", now) == "invalid"
    assert check_signature(_signed("key", BODY, now), BODY, "other-key", now) == "invalid"
    moved = {**_signed("key", BODY, now), TIMESTAMP_HEADER: str(now + 1)}
    assert check_signature(moved, BODY, "key", now) == "invalid"
    assert check_signature({SIGNATURE_HEADER: "sha256=00"}, BODY, "key", now) == "missing"


def test_a_signature_is_accepted_only_within_the_window_around_the_receiver_clock():
    now = 1_800_000_000
    for offset, verdict in [
        (WINDOW_SECONDS, "valid"),
        (-WINDOW_SECONDS, "valid"),
        (WINDOW_SECONDS + 1, "stale"),
    ]:
        assert check_signature(_signed("key", BODY, now + offset), BODY, "key", now) == verdict
    assert check_signature(_signed("key", BODY, now - WINDOW_SECONDS - 1), BODY, "key", now) == "stale"
    for junk in ("", "12.5", "-5", "١٢٣"):  # not plain ASCII digits
        headers = {SIGNATURE_HEADER: "sha256=00", TIMESTAMP_HEADER: junk}
        assert check_signature(headers, BODY, "key", now) in ("missing", "stale")


def test_a_signature_seen_within_the_window_is_a_replay_and_is_forgotten_after_it():
    guard = ReplayGuard(window=300)
    assert guard.first_time("sha256=aa", now=1000.0)
    assert not guard.first_time("sha256=aa", now=1599.0)  # its timestamp may still be inside the window
    assert guard.first_time("sha256=bb", now=1599.0)
    for n in range(2000):  # many distinct signatures later, the old ones are pruned, recent ones kept
        guard.first_time(f"sha256={n}", now=5000.0)
    assert not guard.first_time("sha256=1999", now=5001.0)
    assert guard.first_time("sha256=aa", now=5002.0)


def test_nothing_is_authenticated_without_a_token():
    assert not token_authenticated({"authorization": "Bearer "}, None)
    assert not token_authenticated({"authorization": "Bearer "}, "")


def _changes(*uris: str, kind: Kind = "created"):
    return [ObjectChange(uri, kind) for uri in uris]


def test_a_burst_becomes_one_batch_once_it_goes_quiet_with_the_latest_kinds():
    batcher = ChangeBatcher(quiet=2.0, max_keys=100)
    batcher.add(_changes("s3://b/a", "s3://b/b"), now=10.0)
    batcher.add(_changes("s3://b/a", kind="removed"), now=11.0)
    assert batcher.take_due(now=12.9) is None  # the last change was 1.9 s ago
    assert batcher.take_due(now=13.0) == {"s3://b/b": "created", "s3://b/a": "removed"}
    assert batcher.take_due(now=20.0) is None and batcher.waiting == 0


def test_a_source_that_never_goes_quiet_still_gets_batches():
    batcher = ChangeBatcher(quiet=1.0, max_keys=100)
    for tick in range(12):
        batcher.add(_changes(f"s3://b/{tick}"), now=float(tick))
        batch = batcher.take_due(now=float(tick))
        if batch:
            assert tick == MAX_WAIT_FACTOR and len(batch) == MAX_WAIT_FACTOR + 1
            break
    else:
        raise AssertionError("no batch while changes kept coming")


def test_a_full_batch_goes_at_once_and_the_rest_follows():
    batcher = ChangeBatcher(quiet=60.0, max_keys=2)
    batcher.add(_changes("s3://b/1", "s3://b/2", "s3://b/3"), now=0.0)
    assert batcher.take_due(now=0.1) == {"s3://b/1": "created", "s3://b/2": "created"}
    assert batcher.waiting == 1 and batcher.take_due(now=0.2) is None
    assert batcher.take_due(now=1.0) is None
    assert batcher.take_due(now=60.0) == {"s3://b/3": "created"}


def test_a_batch_that_could_not_be_sent_is_put_back_without_hiding_newer_changes():
    batcher = ChangeBatcher(quiet=1.0, max_keys=10)
    batcher.add(_changes("s3://b/a"), now=0.0)
    batch = batcher.take_due(now=1.0)
    assert batch is not None
    batcher.add(_changes("s3://b/a", kind="removed"), now=1.5)
    batcher.put_back(batch, now=1.6)
    assert batcher.take_due(now=2.5) == {"s3://b/a": "removed"}


def test_the_buffer_is_bounded_and_objects_already_waiting_take_no_room():
    batcher = ChangeBatcher(quiet=1.0, max_keys=10, max_pending=3)
    batcher.add(_changes("s3://b/1", "s3://b/2"), now=0.0)
    assert batcher.has_room_for(_changes("s3://b/1", "s3://b/3"))
    assert not batcher.has_room_for(_changes("s3://b/3", "s3://b/4"))
    batcher.add(_changes("s3://b/3"), now=0.1)
    assert not batcher.has_room_for(_changes("s3://b/4"))
    assert batcher.has_room_for(_changes("s3://b/2", kind="removed"))
    assert batcher.adds_new(_changes("s3://b/4")) and not batcher.adds_new(_changes("s3://b/1"))
    assert batcher.take_due(now=2.0) is not None
    assert batcher.has_room_for(_changes("s3://b/4", "s3://b/5", "s3://b/6"))
