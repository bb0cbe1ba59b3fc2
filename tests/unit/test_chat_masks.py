import pytest

from ragkeeper.core.retrain.chat_masks import (
    IGNORED,
    labels,
    prompt_and_answer,
    token_mask,
    trained_spans,
)
from ragkeeper.errors import TerminalError


def chatml(messages, generation_prompt):
    """ChatML the way real templates render it (no generation markers)."""
    text = "<s>" + "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if generation_prompt else "")


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi?"},
    {"role": "assistant", "content": "SKIPPED", "weight": 0},
    {"role": "user", "content": "Again?"},
    {"role": "assistant", "content": "Hello."},
]


def test_spans_cover_trained_assistant_content_and_end_of_turn_only():
    text, spans = trained_spans(chatml, CONVERSATION)
    assert [text[a:b] for a, b in spans] == ["Hello.<|im_end|>\n"]
    assert "SKIPPED" in text  # a weight-0 answer stays in the context, untrained


def test_every_assistant_turn_is_trained_without_weights():
    messages = [{k: v for k, v in m.items() if k != "weight"} for m in CONVERSATION]
    text, spans = trained_spans(chatml, messages)
    assert [text[a:b] for a, b in spans] == ["SKIPPED<|im_end|>\n", "Hello.<|im_end|>\n"]


def test_a_template_that_does_not_render_prefix_by_prefix_is_refused():
    def reorders(messages, generation_prompt):
        return chatml(list(reversed(messages)), generation_prompt)

    with pytest.raises(TerminalError, match="prefix by prefix"):
        trained_spans(reorders, CONVERSATION)


def test_token_mask_marks_tokens_inside_spans_and_never_empty_special_offsets():
    offsets = [(0, 3), (3, 8), (8, 10), (10, 10), (10, 14)]
    assert token_mask(offsets, [(3, 10)]) == [0, 1, 1, 0, 0]
    # " Hello" folded into one token that starts before the span (SentencePiece-style) is trained
    assert token_mask(offsets, [(4, 9)]) == [0, 1, 1, 0, 0]
    assert token_mask(offsets, [(10, 10)]) == [0, 0, 0, 0, 0]


def test_labels_ignore_masked_tokens():
    assert labels([5, 6, 7], [0, 1, 1]) == [IGNORED, 6, 7]


def test_prompt_and_answer_is_the_conversation_before_the_last_answer():
    prompt, answer = prompt_and_answer(CONVERSATION) or ([], "")
    assert answer == "Hello."
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} for m in prompt)
    assert prompt_and_answer([{"role": "user", "content": "x"}]) is None
