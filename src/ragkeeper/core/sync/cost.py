"""Embedding cost estimates and the budget guard."""

from __future__ import annotations

from ragkeeper.errors import BudgetExceeded


def estimate_cost(tokens: int, price_per_million_tokens: float) -> float:
    """USD for embedding `tokens` at the configured price."""
    return tokens * price_per_million_tokens / 1_000_000


def check_budget(cost: float, tokens: int, max_cost: float | None) -> None:
    """Refuse a run whose estimate is above `max_cost` (None means no limit)."""
    if max_cost is not None and cost > max_cost:
        raise BudgetExceeded(
            f"estimated embedding cost ${cost:.4f} for {tokens} tokens is above --max-cost ${max_cost:.4f}; "
            "nothing was written"
        )
