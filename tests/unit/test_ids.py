import hashlib
import uuid

from ragkeeper.core.sync.ids import chunk_uuid, content_hash, occurrences


def test_chunk_uuid_is_a_stable_uuid5():
    first = chunk_uuid("Docs", "s3://b/a.md", content_hash("hello"), 0)
    assert first == chunk_uuid("Docs", "s3://b/a.md", content_hash("hello"), 0)
    assert uuid.UUID(first).version == 5


def test_chunk_uuid_changes_with_each_part_of_its_identity():
    base = ("Docs", "s3://b/a.md", content_hash("hello"), 0)
    variants = [
        ("Other", *base[1:]),
        (base[0], "s3://b/b.md", *base[2:]),
        (*base[:2], content_hash("hello!"), 0),
        (*base[:3], 1),
    ]
    ids = {chunk_uuid(*base)} | {chunk_uuid(*v) for v in variants}
    assert len(ids) == 5


def test_occurrences_count_earlier_repeats():
    assert occurrences(["a", "b", "a", "a", "c", "b"]) == [0, 0, 1, 2, 0, 1]


def test_content_hash_is_sha256_of_utf8():
    assert content_hash("é") == hashlib.sha256("é".encode()).hexdigest()
