"""Billed-token estimates for fine-tuning jobs and the budget guard.

Billing counts every training token once per epoch. With `n_epochs` left to the provider ("auto"),
the estimate uses the rule of OpenAI's data-preparation guide: 3 epochs, raised for small datasets
so that about 100 examples are seen, lowered for large ones to about 25,000, within 1..25.
"""

from __future__ import annotations

from ragkeeper.retrain_models import TrainingEstimate

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(examples: int) -> int:
    """The epochs an `auto` job is expected to run for `examples` training examples."""
    if examples <= 0:
        return TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


def estimate_training(
    training_tokens: int, examples: int, n_epochs: int | None, price_per_million_tokens: float
) -> TrainingEstimate:
    """Billed tokens (training tokens x epochs) and their cost in USD."""
    epochs = n_epochs if n_epochs is not None else default_epochs(examples)
    billed = training_tokens * epochs
    return TrainingEstimate(
        training_tokens=training_tokens,
        n_epochs=epochs,
        billed_tokens=billed,
        cost_usd=billed * price_per_million_tokens / 1_000_000,
    )


def budget_refusal(
    estimate: TrainingEstimate, max_billed_tokens: int | None, max_cost_usd: float | None
) -> str | None:
    """Why the estimate is over budget, or None when it is within every configured limit."""
    if max_billed_tokens is not None and estimate.billed_tokens > max_billed_tokens:
        return (
            f"estimated {estimate.billed_tokens:,} billed tokens ({estimate.training_tokens:,} x "
            f"{estimate.n_epochs} epochs) is above retrain.max_billed_tokens {max_billed_tokens:,}"
        )
    if max_cost_usd is not None and estimate.cost_usd > max_cost_usd:
        return (
            f"estimated cost ${estimate.cost_usd:.2f} ({estimate.billed_tokens:,} billed tokens) is above "
            f"retrain.max_cost_usd ${max_cost_usd:.2f}"
        )
    return None
