import itertools

import pytest

from ragkeeper.core.backoff import poll_delays
from ragkeeper.core.retrain.cost import budget_refusal, default_epochs, estimate_training


@pytest.mark.parametrize(
    ("examples", "epochs"), [(10, 10), (20, 5), (34, 3), (1000, 3), (9000, 2), (30000, 1), (3, 25)]
)
def test_auto_epochs_follow_the_data_preparation_guide(examples, epochs):
    assert default_epochs(examples) == epochs


def test_billed_tokens_are_tokens_times_epochs():
    estimate = estimate_training(10_000, examples=50, n_epochs=None, price_per_million_tokens=3.0)
    assert (estimate.n_epochs, estimate.billed_tokens) == (3, 30_000)
    assert estimate.cost_usd == pytest.approx(0.09)
    assert estimate_training(10_000, 50, 7, 3.0).billed_tokens == 70_000


def test_budget_refuses_above_either_limit_and_says_which():
    estimate = estimate_training(1_000_000, examples=100, n_epochs=3, price_per_million_tokens=3.0)  # $9
    assert budget_refusal(estimate, None, None) is None
    assert budget_refusal(estimate, 3_000_000, 9.0) is None
    tokens = budget_refusal(estimate, 2_999_999, None)
    assert (
        tokens is not None and "3,000,000 billed tokens" in tokens and "retrain.max_billed_tokens" in tokens
    )
    cost = budget_refusal(estimate, None, 8.99)
    assert cost is not None and "$9.00" in cost and "retrain.max_cost_usd" in cost


def test_poll_delays_back_off_geometrically_up_to_the_cap():
    delays = list(itertools.islice(poll_delays(first=10, maximum=60), 8))
    assert delays == [10, 15, 22.5, 33.75, 50.625, 60, 60, 60]
    assert list(itertools.islice(poll_delays(1, 1), 3)) == [1, 1, 1]
    assert list(itertools.islice(poll_delays(1, 5, factor=2), 5)) == [1, 2, 4, 5, 5]
