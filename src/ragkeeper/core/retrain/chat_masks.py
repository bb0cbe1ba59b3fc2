"""Which tokens of a chat example are trained: the assistant turns, found without template markers.

TRL's `assistant_only_loss` needs `{% generation %}` markers in the chat template, and most real
templates have none. So the span of each trained assistant message is found by rendering: it is the
text between the rendering of the messages before it (with the generation prompt) and the rendering
through it, which is its content and the template's end-of-turn. That needs a template that renders
a conversation prefix by prefix (each rendering a prefix of the next), as chat templates do; one that
does not is refused with one line. Assistant messages with `weight: 0` are not trained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ragkeeper.errors import TerminalError

Message = Mapping[str, Any]
Render = Callable[[list[dict[str, str]], bool], str]  # (messages, add_generation_prompt) -> text
IGNORED = -100  # the label of a token that is not trained (PyTorch's cross-entropy ignore index)


def plain(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The messages as chat templates take them: role and content only."""
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]


def trained(message: Message) -> bool:
    """Whether a message is trained on: an assistant message without `weight: 0`."""
    return message["role"] == "assistant" and message.get("weight", 1) != 0


def trained_spans(render: Render, messages: Sequence[Message]) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering of `messages` and the character spans of their trained assistant turns."""
    chat = plain(messages)
    full = render(chat, False)
    spans = []
    for index, message in enumerate(messages):
        if not trained(message):
            continue
        before = render(chat[:index], True)
        through = render(chat[: index + 1], False)
        if not (through.startswith(before) and full.startswith(through)):
            raise TerminalError(
                "the chat template does not render a conversation prefix by prefix, so the assistant "
                "turns cannot be found; use a base model whose chat template does"
            )
        spans.append((len(before), len(through)))
    return full, spans


def token_mask(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[int]:
    """1 for each token (by its character offsets) that overlaps a trained span, else 0.

    Overlap rather than containment, as transformers' own assistant masks do: a tokenizer that folds
    the space before an answer into its first token still trains that token.
    """
    return [
        int(end > start and any(start < high and end > low for low, high in spans)) for start, end in offsets
    ]


def labels(input_ids: Sequence[int], mask: Sequence[int]) -> list[int]:
    """The training labels: the token where the mask is 1, IGNORED elsewhere."""
    return [token if bit else IGNORED for token, bit in zip(input_ids, mask, strict=True)]


def prompt_and_answer(messages: Sequence[Message]) -> tuple[list[dict[str, str]], str] | None:
    """The conversation up to its last assistant message, and that message's content (None: no answer)."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return None
    return plain(messages[:last]), str(messages[last]["content"])
