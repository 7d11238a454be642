"""BetaBandit: Bernoulli Thompson sampling over one family of named arms.

Each arm keeps its *evidence* (discounted successes ``alpha``, discounted failures ``beta``, raw
update count ``pulls``); the posterior is ``Beta(prior_a + alpha, prior_b + beta)``. Decisions
are real Beta draws from a seeded :class:`numpy.random.Generator`; ties (draws can underflow to
exactly 0 at engagement-like rates) are broken uniformly at random, never toward the first arm
(:func:`_argmax_random`). The shared rules are listed in :mod:`xbot.policies`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
from scipy import stats

from xbot.drift import ChangeDetector
from xbot.errors import ValidationError
from xbot.policies.base import (
    DEFAULT_PROPENSITY_DRAWS,
    Hyperparameters,
    _arm_name,
    _Evidence,
    _mass,
    _prior_pair,
    _reward,
    _seed,
    _Tuned,
)

__all__ = ["BetaBandit"]

Prior: TypeAlias = tuple[float, float] | Literal["pooled"] | Mapping[str, tuple[float, float]]


def _argmax_random(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax with ties broken uniformly at random (never toward the first column)."""
    top = x.max(axis=1, keepdims=True)
    tied = x == top
    if int(tied.sum()) == x.shape[0]:
        return x.argmax(axis=1)
    keys = rng.random(x.shape)
    keys[~tied] = -1.0
    return keys.argmax(axis=1)


# -- one family -------------------------------------------------------------------------------

_FAMILY = "arms"  # the change detector's family name for a BetaBandit's single family


class BetaBandit(_Tuned):
    """Bernoulli Thompson sampling over named arms, with an epsilon floor and discounting.

    ``prior``: ``"pooled"`` (default, see :func:`pooled_prior`), a fixed pair ``(a, b)`` for
    every arm (``(1, 1)`` is textbook Thompson sampling), or a mapping ``{arm: (a, b)}`` (e.g.
    seeded from the PyMC model) in which arms left out get the pooled prior.

    ``drift_check`` (default 0 = off): alarm threshold, in nats, of the change detector
    (:class:`xbot.drift.ChangeDetector`): each new outcome is tested against the arm's posterior
    mean before the cycle, and when an arm's outcomes disagree with it, that arm keeps only the
    outcomes since the change and the other arms keep ``RESTART_KEEP`` of their evidence (a
    family restart). 6-8 measured best (benchmark (d)). It composes with ``decay`` and
    ``epsilon``. The detector's statistics are :attr:`detector` (``state()`` is JSON), kept
    apart from the evidence, so :meth:`state` and the Redis store look the same with it on.
    """

    def __init__(
        self,
        arms: Sequence[str],
        epsilon: float = 0.0,
        decay: float = 1.0,
        prior: Prior = "pooled",
        seed: int | None = None,
        propensity_draws: int = DEFAULT_PROPENSITY_DRAWS,
        drift_check: float = 0.0,
    ) -> None:
        self.hyper = Hyperparameters(epsilon, decay, propensity_draws, drift_check)
        self.detector = ChangeDetector(self.hyper.drift_check)
        if isinstance(arms, str) or not isinstance(arms, Sequence) or len(arms) == 0:
            raise ValidationError("arms", arms, "a non-empty sequence of distinct arm names")
        names = [_arm_name("arms", a) for a in arms]
        if len(set(names)) != len(names):
            raise ValidationError("arms", list(arms), "distinct arm names")
        self._ev = _Evidence(names)
        self._fixed_a = np.full(len(names), np.nan)
        self._fixed_b = np.full(len(names), np.nan)
        if isinstance(prior, str):
            if prior != "pooled":
                raise ValidationError("prior", prior, "'pooled', a pair (a, b) or {arm: (a, b)}")
        elif isinstance(prior, Mapping):
            for arm, pair in prior.items():
                if arm not in self._ev.index:
                    raise ValidationError("prior", arm, "arms of this bandit: " + ", ".join(names))
                i = self._ev.index[arm]
                self._fixed_a[i], self._fixed_b[i] = _prior_pair(f"prior[{arm!r}]", pair)
        else:
            a, b = _prior_pair("prior", prior)
            self._fixed_a[:], self._fixed_b[:] = a, b
        self.prior = prior
        self.seed = _seed(seed)
        self._rng = np.random.default_rng(self.seed)

    @property
    def arms(self) -> list[str]:
        return self._ev.arms

    # -- posterior ----------------------------------------------------------------------------
    def _prior(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._fixed_a.copy(), self._fixed_b.copy()
        free = np.isnan(a)
        if free.any():
            a[free], b[free] = self._ev.pooled()
        return a, b

    def posterior(self) -> dict[str, tuple[float, float]]:
        """Posterior Beta parameters per arm: prior + evidence."""
        a, b = self._posterior_arrays()
        return {arm: (float(a[i]), float(b[i])) for i, arm in enumerate(self.arms)}

    def _posterior_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        pa, pb = self._prior()
        return pa + self._ev.alpha, pb + self._ev.beta

    def expectations(self) -> dict[str, float]:
        """Posterior mean per arm."""
        a, b = self._posterior_arrays()
        return {arm: float(a[i] / (a[i] + b[i])) for i, arm in enumerate(self.arms)}

    def credible_interval(self, mass: float = 0.94) -> dict[str, tuple[float, float]]:
        """Equal-tailed posterior interval per arm (94 % by default, as the reports show)."""
        m = _mass(mass)
        a, b = self._posterior_arrays()
        lo = stats.beta.ppf((1.0 - m) / 2.0, a, b)
        hi = stats.beta.ppf((1.0 + m) / 2.0, a, b)
        return {arm: (float(lo[i]), float(hi[i])) for i, arm in enumerate(self.arms)}

    def sample(self, size: int = 1) -> dict[str, np.ndarray]:
        """``size`` posterior draws per arm (real Beta draws, the ones decisions are made of)."""
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValidationError("size", size, "an integer of at least 1")
        a, b = self._posterior_arrays()
        draws = self._rng.beta(a, b, size=(int(size), a.size))
        return {arm: draws[:, i] for i, arm in enumerate(self.arms)}

    # -- decisions ----------------------------------------------------------------------------
    def _eligible(self, eligible: Sequence[str] | None) -> np.ndarray:
        if eligible is None:
            return np.arange(len(self._ev.index))
        if isinstance(eligible, str) or not isinstance(eligible, Sequence) or not eligible:
            raise ValidationError("eligible", eligible, "a non-empty sequence of arm names")
        out = []
        for arm in dict.fromkeys(eligible):
            if arm not in self._ev.index:
                raise ValidationError("arm", arm, "one of " + ", ".join(self.arms))
            out.append(self._ev.index[arm])
        return np.asarray(out)

    def choose(self, eligible: Sequence[str] | None = None) -> tuple[str, float]:
        """Pick one arm among ``eligible`` (default all); return (arm, propensity)."""
        arms, props = self.choose_many(1, eligible)
        return arms[0], float(props[0])

    def choose_many(
        self, n: int, eligible: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """``n`` independent decisions from the current posterior, with their propensities.

        Equivalent to calling :meth:`choose` ``n`` times without learning in between (the
        situation of every slot scheduled between two learning cycles), in one vectorised pass.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValidationError("n", n, "an integer of at least 1")
        idx = self._eligible(eligible)
        k = idx.size
        eps = self.hyper.epsilon
        explore = self._rng.random(n) < eps
        picks = self._rng.integers(k, size=n)
        ts_prob = np.zeros(k)
        if eps < 1.0 and k > 1:
            a, b = self._posterior_arrays()
            rows = max(n, self.hyper.propensity_draws)
            draws = self._rng.beta(a[idx], b[idx], size=(rows, k))
            winners = _argmax_random(draws, self._rng)
            picks = np.where(explore, picks, winners[:n])
            ts_prob = np.bincount(winners, minlength=k) / rows
        elif k == 1:
            ts_prob[:] = 1.0
        props = eps / k + (1.0 - eps) * ts_prob[picks]
        names = self.arms
        return [names[i] for i in idx[picks]], props

    # -- learning -----------------------------------------------------------------------------
    def update(self, arm: str, reward: float) -> None:
        """Add one outcome: ``reward`` successes and ``1 - reward`` failures to ``arm``."""
        self.update_many([arm], [reward])

    def update_many(self, arms: Sequence[str], rewards: Sequence[float]) -> None:
        """Add many outcomes at once (a learning cycle); all are validated before any is added."""
        if len(arms) != len(rewards):
            raise ValidationError("rewards", len(rewards), f"one reward per arm ({len(arms)})")
        idx = np.empty(len(arms), dtype=np.int64)
        for j, arm in enumerate(arms):
            if arm not in self._ev.index:
                raise ValidationError("arm", arm, "one of " + ", ".join(self.arms))
            idx[j] = self._ev.index[arm]
        r = np.fromiter((_reward(x) for x in rewards), dtype=float, count=len(rewards))
        restart = None
        if self.hyper.drift_check > 0.0:
            a, b = self._posterior_arrays()
            names = self.arms
            restart = self.detector.observe(
                _FAMILY,
                [names[i] for i in idx],
                r,
                dict(zip(names, (a / (a + b)).tolist(), strict=True)),
                self._ev.pairs(),
            )
        self._ev.learn(idx, r)
        if restart is not None:
            self._ev.restart(restart)

    @property
    def drift_restarts(self) -> int:
        """How many times the change detector has restarted this bandit (in this object)."""
        return self.detector.restarts.get(_FAMILY, 0)

    def decay_step(self) -> None:
        """Discount all evidence by ``decay`` (call once per learning cycle)."""
        self._ev.decay(self.hyper.decay)

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> dict[str, dict[str, float]]:
        """Evidence per arm, without the prior: {arm: {"alpha", "beta", "pulls"}}."""
        return self._ev.state()

    @classmethod
    def from_state(cls, state: Mapping[str, Mapping[str, float]], **hyper: Any) -> BetaBandit:
        """Rebuild from :meth:`state`; ``hyper`` are the constructor's keyword arguments.

        ``arms`` defaults to the arms of ``state``; arms given in ``hyper`` but absent from the
        state start with no evidence.
        """
        if not isinstance(state, Mapping):
            raise ValidationError("state", state, "a mapping {arm: {alpha, beta, pulls}}")
        arms = list(hyper.pop("arms", state.keys()))
        arms += [a for a in state if a not in arms]
        bandit = cls(arms, **hyper)
        bandit._ev.load("state", state)
        return bandit
