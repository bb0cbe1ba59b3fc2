import math

from ragkeeper.adapters.embedders.hashing import HashingEmbedder


def _cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_deterministic_normalised_and_sized():
    embedder = HashingEmbedder(64)
    first, again = embedder.embed(["rotate the API keys"]), embedder.embed(["rotate the API keys"])
    assert first == again
    assert len(first[0]) == 64
    assert math.isclose(math.sqrt(sum(v * v for v in first[0])), 1.0)
    assert embedder.model_id == "hashing-v2-64"


def test_related_texts_are_closer_than_unrelated_ones():
    embedder = HashingEmbedder(384)
    query, related, unrelated = embedder.embed(
        [
            "how do I rotate API keys",
            "API keys are rotated every 90 days; rotating a key takes one hour",
            "the nightly reindex starts at two in the morning",
        ]
    )
    assert _cosine(query, related) > _cosine(query, unrelated) + 0.1


def test_text_without_words_gives_zero_vector():
    assert HashingEmbedder(16).embed(["... !!!"]) == [[0.0] * 16]
