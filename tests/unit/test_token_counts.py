from ragkeeper.adapters import tokens
from ragkeeper.adapters.tokens import count_tokens, count_tokens_batch


def test_batch_counts_are_each_texts_own_count_in_order_repeats_included():
    texts = ["one two", "a longer sentence, with punctuation.", "one two", "日本語のテキスト"]
    assert count_tokens_batch(texts) == [count_tokens(t) for t in texts]
    assert count_tokens_batch(list(reversed(texts))) == [count_tokens(t) for t in reversed(texts)]


def test_counts_stay_right_after_the_remembered_texts_are_forgotten(monkeypatch):
    monkeypatch.setattr(tokens, "_REMEMBERED", 3)
    texts = [f"text number {n} " * n for n in range(10)]
    assert count_tokens_batch(texts) == [count_tokens(t) for t in texts]
    assert len(tokens._counted) == 3
    assert count_tokens_batch(texts[:2]) == [count_tokens(t) for t in texts[:2]]
