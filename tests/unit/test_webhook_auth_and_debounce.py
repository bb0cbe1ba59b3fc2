import base64

from ragkeeper.core.events.debounce import MAX_WAIT_FACTOR, ChangeBatcher
from ragkeeper.core.events.s3_events import Kind, ObjectChange
from ragkeeper.core.events.webhook_auth import SIGNATURE_HEADER, authenticated, body_signature

BODY = b'{"Records": []}'


def test_bearer_token_must_match_exactly():
    assert authenticated({"authorization": "Bearer s3cret"}, BODY, "s3cret", None)
    assert authenticated({"authorization": "bearer s3cret"}, BODY, "s3cret", None)
    assert not authenticated({"authorization": "Bearer s3cret-not"}, BODY, "s3cret", None)
    assert not authenticated({"authorization": "Basic s3cret"}, BODY, "s3cret", None)
    assert not authenticated({}, BODY, "s3cret", None)


def test_basic_auth_carries_the_token_as_password_for_senders_without_headers():
    def basic(credentials: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    assert authenticated(basic("sns:s3cret"), BODY, "s3cret", None)
    assert authenticated(basic(":s3cret"), BODY, "s3cret", None)
    assert not authenticated(basic("sns:wrong"), BODY, "s3cret", None)
    assert not authenticated(basic("s3cret"), BODY, "s3cret", None)  # no password part
    assert not authenticated({"authorization": "Basic !!not-base64!!"}, BODY, "s3cret", None)


def test_hmac_signature_covers_the_body():
    signed = {SIGNATURE_HEADER: body_signature("key", BODY)}
    assert authenticated(signed, BODY, None, "key")
    assert not authenticated(signed, BODY + b" ", None, "key")
    assert not authenticated(signed, BODY, None, "other-key")
    assert authenticated(signed, BODY, "token", "key")  # either configured method will do


def test_nothing_is_authenticated_without_a_secret():
    assert not authenticated({"authorization": "Bearer "}, BODY, None, None)


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
