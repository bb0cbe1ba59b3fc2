"""Cutting texts into embedding requests bounded by input count and by tokens. Pure: no I/O.

Embedding APIs cap each request twice: a number of inputs (OpenAI: 2048) and a sum of tokens
(OpenAI: 300,000), and each input alone has a token limit (OpenAI: 8192). The planner keeps the
texts' order, fills each request greedily up to both caps, and reports a text that cannot fit in any
request instead of failing the texts around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenBatch:
    """One request: the positions of its texts (ascending) and their token sum."""

    indexes: tuple[int, ...]
    tokens: int


@dataclass(frozen=True)
class OversizedText:
    """A text that no request can carry: its position, its tokens and the limit it breaks."""

    index: int
    tokens: int
    limit: int

    def describe(self) -> str:
        """One line for a report."""
        return f"text has {self.tokens} tokens, over the {self.limit}-token limit for one input"


@dataclass(frozen=True)
class BatchPlan:
    """Requests in input order, and the texts left out of every request."""

    batches: tuple[TokenBatch, ...]
    oversized: tuple[OversizedText, ...]


def plan_token_batches(
    token_counts: Sequence[int],
    max_inputs: int,
    max_tokens_per_request: int,
    max_tokens_per_input: int | None = None,
) -> BatchPlan:
    """Cut texts (given by their token counts) into order-preserving requests within both caps.

    A text over `max_tokens_per_input` (or over `max_tokens_per_request`, whichever is lower) is
    reported in `oversized` and skipped; the texts around it are batched as usual.
    """
    if max_inputs < 1 or max_tokens_per_request < 1:
        raise ValueError("max_inputs and max_tokens_per_request must be at least 1")
    if max_tokens_per_input is not None and max_tokens_per_input < 1:
        raise ValueError("max_tokens_per_input must be at least 1")
    if any(count < 0 for count in token_counts):
        raise ValueError("token counts cannot be negative")
    per_input = min(max_tokens_per_request, max_tokens_per_input or max_tokens_per_request)

    batches: list[TokenBatch] = []
    oversized: list[OversizedText] = []
    current: list[int] = []
    current_tokens = 0
    for index, tokens in enumerate(token_counts):
        if tokens > per_input:
            oversized.append(OversizedText(index, tokens, per_input))
            continue
        if current and (len(current) >= max_inputs or current_tokens + tokens > max_tokens_per_request):
            batches.append(TokenBatch(tuple(current), current_tokens))
            current, current_tokens = [], 0
        current.append(index)
        current_tokens += tokens
    if current:
        batches.append(TokenBatch(tuple(current), current_tokens))
    return BatchPlan(tuple(batches), tuple(oversized))
