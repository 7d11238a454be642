"""The shared base of the policies: the pooled (empirical Bayes) prior and the hyperparameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from xbot.policies import (
    DEFAULT_PROPENSITY_DRAWS,
    Hyperparameters,
    pooled_prior,
)


def test_pooled_prior_is_uniform_without_data_and_centres_on_the_pooled_rate() -> None:
    assert pooled_prior(np.zeros(5), np.zeros(5)) == (1.0, 1.0)
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.01, 0.10, 20)
    n = np.full(20, 400.0)
    s = rng.binomial(400, rates).astype(float)
    a, b = pooled_prior(s, n - s)
    assert a / (a + b) == pytest.approx(s.sum() / n.sum(), rel=0.05)
    # true spread of U(0.01, 0.10) is a Beta with concentration ~76; estimate is in range
    assert 20 < a + b < 200
    # the prior never outweighs the average arm's evidence
    a, b = pooled_prior(np.array([1.0, 1.0]), np.array([9.0, 9.0]))
    assert a + b <= 10.0


def test_pooled_prior_is_the_beta_binomial_maximum_likelihood() -> None:
    # a fine brute-force grid over the same (bounded) domain agrees with the zoomed search
    rng = np.random.default_rng(3)
    n = rng.integers(20, 300, 15).astype(float)
    s = rng.binomial(n.astype(int), rng.uniform(0.02, 0.12, 15)).astype(float)
    a, b = pooled_prior(s, n - s)
    kappa = np.geomspace(2.0, n.sum() / 15, 400)[:, None, None]
    mean = np.linspace(0.01, 0.3, 400)[None, :, None]
    pa, pb = mean * kappa, (1 - mean) * kappa
    ll = (special.betaln(s + pa, n - s + pb) - special.betaln(pa, pb)).sum(axis=2)

    def loglik(x: float, y: float) -> float:
        return float((special.betaln(s + x, n - s + y) - special.betaln(x, y)).sum())

    assert loglik(a, b) >= ll.max() - 1e-3
    _, j = np.unravel_index(int(ll.argmax()), ll.shape)
    assert a / (a + b) == pytest.approx(float(mean[0, j, 0]), rel=0.03)


def test_default_propensity_draws_is_documented() -> None:
    assert Hyperparameters().propensity_draws == DEFAULT_PROPENSITY_DRAWS == 256
