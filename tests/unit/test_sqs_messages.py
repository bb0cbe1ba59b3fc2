import json

from ragkeeper.core.events.s3_events import ObjectChange
from ragkeeper.core.events.sqs_messages import AckTracker, classify_message, request_key


def _s3(*keys: str, name: str = "s3:ObjectCreated:Put") -> str:
    records = [{"eventName": name, "s3": {"bucket": {"name": "docs"}, "object": {"key": k}}} for k in keys]
    return json.dumps({"Records": records})


def _wanted(uri: str) -> bool:
    return uri.startswith("s3://docs/handbook/")


def test_messages_with_changes_are_held_for_exactly_the_wanted_changes():
    verdict = classify_message(_s3("handbook/a.md", "other/b.md"), 1, 5, _wanted)
    assert verdict.action == "hold"
    assert verdict.changes == (ObjectChange("s3://docs/handbook/a.md", "created"),)


def test_sns_and_eventbridge_wrapped_messages_are_read_too():
    sns = json.dumps({"Type": "Notification", "Message": _s3("handbook/a.md")})
    bridge = json.dumps(
        {
            "source": "aws.s3",
            "detail-type": "Object Deleted",
            "detail": {"bucket": {"name": "docs"}, "object": {"key": "handbook/b.md"}},
        }
    )
    assert classify_message(sns, 1, 5, _wanted).changes == (
        ObjectChange("s3://docs/handbook/a.md", "created"),
    )
    assert classify_message(bridge, 1, 5, _wanted).changes == (
        ObjectChange("s3://docs/handbook/b.md", "removed"),
    )


def test_test_events_and_messages_outside_the_root_are_acknowledged():
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "docs"})
    assert classify_message(test_event, 1, 5, _wanted).action == "ack"
    assert classify_message(_s3("other/x.md"), 1, 5, _wanted).action == "ack"


def test_unreadable_messages_are_retried_then_dead_lettered_on_the_nth_receive():
    assert classify_message("not json", 1, 3, _wanted).action == "retry"
    assert classify_message("not json", 2, 3, _wanted).action == "retry"
    verdict = classify_message("not json", 3, 3, _wanted)
    assert verdict.action == "dead_letter" and "not JSON" in verdict.reason
    assert classify_message("[" * 100_000, 9, 3, _wanted).action == "dead_letter"


def test_a_message_is_settled_only_when_all_its_uris_reached_a_run():
    acks = AckTracker()
    acks.hold("m1", ["a", "b"])
    acks.hold("m2", ["a"])
    first = acks.take(["a"])
    assert acks.settle(first) == ["m2"]  # m1 still waits for b
    assert acks.held == {"m1"}
    second = acks.take(["b"])
    assert acks.settle(second) == ["m1"] and acks.held == frozenset()


def test_a_batch_that_failed_keeps_its_messages_waiting():
    acks = AckTracker()
    acks.hold("m1", ["a"])
    taken = acks.take(["a"])
    acks.hold("m2", ["a"])  # arrived while the batch was being sent
    acks.put_back(taken)
    assert acks.settle(acks.take(["a"])) == ["m1", "m2"]


def test_the_request_key_depends_on_messages_and_uris_not_on_their_order():
    assert request_key({"a": frozenset({"m1", "m2"}), "b": frozenset({"m3"})}) == request_key(
        {"b": frozenset({"m3"}), "a": frozenset({"m2", "m1"})}
    )
    assert request_key({"a": frozenset({"m1"})}) != request_key({"a": frozenset({"m9"})})
