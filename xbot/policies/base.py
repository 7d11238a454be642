"""What both policies share: hyperparameters, input validation, evidence and the pooled prior.

Each family of arms keeps its *evidence* (:class:`_Evidence`: discounted successes, discounted
failures, raw pull counts) apart from its prior, so the stored state never depends on the prior.
The default prior is *pooled* across the family (empirical Bayes, :func:`pooled_prior`):
Beta(1, 1) puts the prior mean at 0.5 and wastes hundreds of pulls when true rates are 1-10 %.
The rules themselves are listed in :mod:`xbot.policies`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from xbot.drift import Restart, check_threshold
from xbot.errors import ValidationError

__all__ = ["DEFAULT_PROPENSITY_DRAWS", "Hyperparameters", "pooled_prior"]

# the pooled prior's maximum-likelihood search: a _GRID x _GRID grid (log concentration x
# logit mean), zoomed in around its best cell _ZOOM_PASSES times
_GRID = 15
_ZOOM_PASSES = 3
# Monte Carlo rows behind a propensity: standard error sqrt(p (1 - p) / 256) of the sampling
# part, at most 0.031 (p = 0.5), 0.019 at p = 0.1; chosen so that a decision over 500
# candidates stays under 2 ms (benchmarks/bench_decision.py). The epsilon part is exact.
DEFAULT_PROPENSITY_DRAWS = 256


# -- hyperparameters --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyperparameters:
    """Small immutable, validated settings shared by both policies.

    ``epsilon`` in [0, 1]: probability of a uniform pick among the eligible.
    ``decay`` in (0, 1]: factor applied to the evidence by :meth:`BetaBandit.decay_step`.
    ``propensity_draws`` >= 1: Monte Carlo rows used to estimate the sampling propensity.
    ``drift_check`` >= 0: alarm threshold (nats) of the change detector
    (:class:`xbot.drift.ChangeDetector`); 0 switches it off.
    """

    epsilon: float = 0.0
    decay: float = 1.0
    propensity_draws: int = DEFAULT_PROPENSITY_DRAWS
    drift_check: float = 0.0

    def __post_init__(self) -> None:
        eps = _real("epsilon", self.epsilon, "a number from 0.0 to 1.0")
        if not 0.0 <= eps <= 1.0:
            raise ValidationError("epsilon", self.epsilon, "a number from 0.0 to 1.0")
        dec = _real("decay", self.decay, "a number greater than 0.0 and at most 1.0")
        if not 0.0 < dec <= 1.0:
            raise ValidationError("decay", self.decay, "a number greater than 0.0 and at most 1.0")
        draws = self.propensity_draws
        if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
            raise ValidationError("propensity_draws", draws, "an integer of at least 1")
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "decay", dec)
        object.__setattr__(self, "propensity_draws", int(draws))
        object.__setattr__(self, "drift_check", check_threshold(self.drift_check))


class _Tuned:
    """The read-only view both policies give of their :class:`Hyperparameters`."""

    hyper: Hyperparameters

    @property
    def epsilon(self) -> float:
        return self.hyper.epsilon

    @property
    def decay(self) -> float:
        return self.hyper.decay

    @property
    def drift_check(self) -> float:
        return self.hyper.drift_check


def _real(field: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(field, value, allowed)
    out = float(value)
    if not math.isfinite(out):
        raise ValidationError(field, value, allowed)
    return out


def _reward(value: Any) -> float:
    allowed = "a finite number from 0.0 to 1.0 (fractional rewards allowed)"
    r = _real("reward", value, allowed)
    if not 0.0 <= r <= 1.0:
        raise ValidationError("reward", value, allowed)
    return r


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValidationError("seed", seed, "None or a non-negative integer")
    return int(seed)


def _prior_pair(field: str, value: Any) -> tuple[float, float]:
    allowed = "a pair (a, b) of finite numbers greater than 0"
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValidationError(field, value, allowed)
    a = _real(field, value[0], allowed)
    b = _real(field, value[1], allowed)
    if a <= 0 or b <= 0:
        raise ValidationError(field, value, allowed)
    return a, b


def _mass(mass: Any) -> float:
    m = _real("mass", mass, "a number strictly between 0 and 1")
    if not 0.0 < m < 1.0:
        raise ValidationError("mass", mass, "a number strictly between 0 and 1")
    return m


# -- the pooled (empirical Bayes) prior -------------------------------------------------------


def pooled_prior(
    alpha: np.ndarray, beta: np.ndarray, n_arms: int | None = None
) -> tuple[float, float]:
    """Beta prior shared by the arms of one family, estimated from their evidence.

    Empirical Bayes on the beta-binomial model (arm rates ~ Beta(m kappa, (1 - m) kappa)):
    ``(m, kappa)`` maximise the beta-binomial marginal likelihood of every arm's (successes,
    failures), with kappa in ``[2, max(2, N / K)]`` (N total evidence, K arms).

    * The likelihood is the right tool under adaptive sampling: a bandit's own choices do not
      bias it, whereas the pooled rate of its pulls is biased toward the arms it favours (a
      strong prior centred there makes every arm look as good as the best and over-explores).
    * The upper bound keeps the prior from ever weighing more than the average arm's own
      evidence, so a family that looks homogeneous early cannot freeze exploration.
    * The maximum is found precisely (a grid over log kappa x logit m, zoomed in
      ``_ZOOM_PASSES`` times around its best cell): a coarse grid snaps m to steps of ~12 %,
      which cost ~10 % regret at engagement-like rates (benchmark (b)).

    With no data (or fewer than two arms seen) the prior is Beta(2 m, 2 (1 - m)) around the
    Laplace-smoothed pooled rate ``m = (sum alpha + 1) / (N + 2)``, i.e. Beta(1, 1) at the start.
    Returns ``(m * kappa, (1 - m) * kappa)``.
    """
    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    k = max(int(n_arms if n_arms is not None else a.size), 1)
    total_a = float(a.sum())
    total = total_a + float(b.sum())
    m = (total_a + 1.0) / (total + 2.0)
    cap = max(2.0, total / k)
    seen = (a + b) > 0
    if cap <= 2.0 or seen.sum() < 2:
        return 2.0 * m, 2.0 * (1.0 - m)
    a, b = a[seen, None, None], b[seen, None, None]
    top = math.log(cap / 2.0)
    centre = math.log(m / (1.0 - m))
    k_lo, k_hi, m_lo, m_hi = 0.0, top, centre - 2.5, centre + 2.5
    for _ in range(_ZOOM_PASSES):
        log_k = np.linspace(k_lo, k_hi, _GRID)
        logit_m = np.linspace(m_lo, m_hi, _GRID)
        kappa = 2.0 * np.exp(log_k)[:, None]
        mean = 1.0 / (1.0 + np.exp(-logit_m))[None, :]
        pa, pb = mean * kappa, (1.0 - mean) * kappa
        loglik = (special.betaln(a + pa, b + pb) - special.betaln(pa, pb)).sum(axis=0)
        i, j = np.unravel_index(int(np.argmax(loglik)), loglik.shape)
        best = float(pa[i, j]), float(pb[i, j])
        step_k, step_m = (k_hi - k_lo) / (_GRID - 1), (m_hi - m_lo) / (_GRID - 1)
        k_lo, k_hi = max(0.0, log_k[i] - step_k), min(top, log_k[i] + step_k)
        m_lo, m_hi = logit_m[j] - step_m, logit_m[j] + step_m
    return best


# -- evidence ------------------------------------------------------------------------------


class _Evidence:
    """Growable arrays of discounted successes/failures and pull counts for one family."""

    def __init__(self, arms: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        self.alpha = np.zeros(0)
        self.beta = np.zeros(0)
        self.pulls = np.zeros(0, dtype=np.int64)
        self._pooled: tuple[float, float] | None = None
        #: bumped by every change, so caches of posteriors built from this evidence know when
        #: they are stale
        self.version = 0
        self.add(arms)

    def _changed(self) -> None:
        self._pooled = None
        self.version += 1

    def pooled(self) -> tuple[float, float]:
        """:func:`pooled_prior` of this family, cached until the evidence changes."""
        if self._pooled is None:
            self._pooled = pooled_prior(self.alpha, self.beta)
        return self._pooled

    @property
    def arms(self) -> list[str]:
        return list(self.index)

    def add(self, arms: Iterable[str]) -> None:
        new = [a for a in dict.fromkeys(arms) if a not in self.index]
        if not new:
            return
        for a in new:
            self.index[a] = len(self.index)
        pad = len(new)
        self._changed()
        self.alpha = np.concatenate([self.alpha, np.zeros(pad)])
        self.beta = np.concatenate([self.beta, np.zeros(pad)])
        self.pulls = np.concatenate([self.pulls, np.zeros(pad, dtype=np.int64)])

    def learn(self, idx: np.ndarray, rewards: np.ndarray) -> None:
        self._changed()
        np.add.at(self.alpha, idx, rewards)
        np.add.at(self.beta, idx, 1.0 - rewards)
        np.add.at(self.pulls, idx, 1)

    def pairs(self) -> dict[str, tuple[float, float]]:
        """{arm: (successes, failures)}: the change detector's view of the evidence."""
        pairs = zip(self.alpha.tolist(), self.beta.tolist(), strict=True)
        return dict(zip(self.arms, pairs, strict=True))

    def restart(self, restart: Restart) -> None:
        self._changed()
        restart.apply(self.arms, self.alpha, self.beta)

    def decay(self, factor: float) -> None:
        if factor != 1.0:
            self._changed()
            self.alpha *= factor
            self.beta *= factor

    def state(self) -> dict[str, dict[str, float]]:
        return {
            arm: {
                "alpha": float(self.alpha[i]),
                "beta": float(self.beta[i]),
                "pulls": int(self.pulls[i]),
            }
            for arm, i in self.index.items()
        }

    def load(self, family: str, state: Mapping[str, Mapping[str, Any]]) -> None:
        self.add(_arm_name(family, a) for a in state)
        self._changed()
        for arm, row in state.items():
            if not isinstance(row, Mapping) or not {"alpha", "beta"} <= set(row):
                raise ValidationError(
                    f"state[{arm!r}]", row, "a mapping with alpha, beta (and pulls) >= 0"
                )
            i = self.index[arm]
            allowed = "a finite number >= 0"
            for key, target in (("alpha", self.alpha), ("beta", self.beta)):
                v = _real(f"state[{arm!r}].{key}", row[key], allowed)
                if v < 0:
                    raise ValidationError(f"state[{arm!r}].{key}", row[key], allowed)
                target[i] = v
            pulls = _real(f"state[{arm!r}].pulls", row.get("pulls", 0), allowed)
            if pulls < 0:
                raise ValidationError(f"state[{arm!r}].pulls", row.get("pulls"), allowed)
            self.pulls[i] = round(pulls)


def _arm_name(field: str, arm: Any) -> str:
    if not isinstance(arm, str) or not arm:
        raise ValidationError(field, arm, "a non-empty string arm name")
    return arm
