"""Thompson sampling with an epsilon floor, discounting and logged propensities.

Two policies share one set of rules:

* :class:`BetaBandit` — one family of Bernoulli arms (e.g. topics). Each arm keeps its *evidence*
  (discounted successes ``alpha``, discounted failures ``beta``, raw update count ``pulls``);
  the posterior is ``Beta(prior_a + alpha, prior_b + beta)``. Evidence and prior are kept apart
  so that the stored state (Redis ``bandit:<family>:<arm>``) never depends on the prior, and a
  pooled prior can be re-estimated from the evidence at every decision.
* :class:`FeatureBandit` — the factored engine the scheduler calls: one :class:`BetaBandit`-style
  family per feature (topic, hour, format, tag) and a candidate score that adds the sampled
  log-odds of the candidate's own features.

Why each rule exists (see ``docs/learning.md`` for the maths):

* Real Beta draws from a seeded :class:`numpy.random.Generator`; ties (draws can underflow to
  exactly 0 at engagement-like rates) are broken uniformly at random, never toward the first arm.
* With probability ``epsilon`` the pick is uniform among the eligible arms, so every eligible arm
  has propensity >= ``epsilon / n_eligible`` and off-policy evaluation stays possible.
* ``decay`` multiplies the evidence once per learning cycle (discounted Thompson sampling), so
  old evidence fades at rate ``decay`` and drifting tastes are followed.
* ``drift_check`` (opt-in) runs a per-arm change detector (:mod:`xbot.drift`): when an arm's
  recent outcomes contradict its posterior, its family restarts, instead of every arm forgetting
  at the same rate all the time as with ``decay``.
* The propensity of the chosen arm is ``epsilon / n + (1 - epsilon) * P_TS(arm)``: exact for the
  uniform part, Monte Carlo for the sampling part. The decision's own draw is one of the
  ``propensity_draws`` Monte Carlo rows, so the estimate is never 0 for an arm that was chosen.
* The default prior is *pooled* across the family (empirical Bayes, :func:`pooled_prior`):
  Beta(1, 1) puts the prior mean at 0.5 and wastes hundreds of pulls when true rates are 1-10 %.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal, TypeAlias

import numpy as np
from scipy import special, stats

from xbot.drift import ChangeDetector, Restart, check_threshold
from xbot.errors import ValidationError

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_PROPENSITY_DRAWS",
    "BetaBandit",
    "Choice",
    "FeatureBandit",
    "Hyperparameters",
    "pooled_prior",
]

Prior: TypeAlias = tuple[float, float] | Literal["pooled"] | Mapping[str, tuple[float, float]]
DEFAULT_FAMILIES = ("topic", "hour", "format", "tag")
# the pooled prior's maximum-likelihood search: a _GRID x _GRID grid (log concentration x
# logit mean), zoomed in around its best cell _ZOOM_PASSES times
_GRID = 15
_ZOOM_PASSES = 3
# Monte Carlo rows behind a propensity: standard error sqrt(p (1 - p) / 256) of the sampling
# part, at most 0.031 (p = 0.5), 0.019 at p = 0.1; chosen so that a decision over 500
# candidates stays under 2 ms (benchmarks/bench_decision.py). The epsilon part is exact.
DEFAULT_PROPENSITY_DRAWS = 256
# Propensity rows (never the decision's own row) for an arm whose posterior Beta(a, b) has
# a, b >= _NORMAL_MIN_COUNT come from the normal with the exact mean and variance of
# logit(Beta(a, b)) (digamma / trigamma), a quarter of the cost of two gamma draws; its skewness
# there is below 0.1 and the propensities it gives differ from exact draws by less than their
# Monte Carlo error (tests/test_bandit.py). Thinner posteriors are always drawn exactly.
_NORMAL_MIN_COUNT = 30.0


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


# -- shared sampling helpers ------------------------------------------------------------------


def _argmax_random(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax with ties broken uniformly at random (never toward the first column)."""
    top = x.max(axis=1, keepdims=True)
    tied = x == top
    if int(tied.sum()) == x.shape[0]:
        return x.argmax(axis=1)
    keys = rng.random(x.shape)
    keys[~tied] = -1.0
    return keys.argmax(axis=1)


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


# -- one family -------------------------------------------------------------------------------

_FAMILY = "arms"  # the change detector's family name for a BetaBandit's single family


class BetaBandit:
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

    @property
    def epsilon(self) -> float:
        return self.hyper.epsilon

    @property
    def decay(self) -> float:
        return self.hyper.decay

    @property
    def drift_check(self) -> float:
        return self.hyper.drift_check

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


# -- the factored engine ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The engine's pick: candidate ``index``, its propensity, every candidate's sampled score
    (aligned with the candidates passed in, ineligible ones included) and whether the pick came
    from the epsilon (uniform) branch."""

    index: int
    propensity: float
    scores: list[float]
    explored: bool


Features: TypeAlias = Mapping[str, "str | Sequence[str]"]

# Candidate parsing: a missing family, and the value types the column-wise fast path accepts.
_MISSING = object()
_SCALAR_KINDS = frozenset({str, object})
_LIST_KINDS = frozenset({str, list, tuple, object})


@dataclass(frozen=True)
class _Family:
    """One family's columns in a decision: the arms the candidates mention, each candidate's
    value id (-1: family absent), and per value id its arm columns (``index``, padded with the
    column ``len(arms)`` that holds zeros) with their weights (a tag list: 1/len). The last row
    of ``index``/``weight`` is the absent value, so value id -1 indexes it directly."""

    arms: list[str]
    codes: np.ndarray
    index: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """Candidates parsed once into arm columns (:meth:`FeatureBandit.encode`).

    :meth:`FeatureBandit.choose` accepts this in place of the feature mappings and skips the
    parse, which is most of the cost of a decision over hundreds of candidates: the scheduler
    encodes its pool once per cycle and every re-pick after a guard rejection reuses it.
    """

    size: int
    families: tuple[tuple[str, _Family], ...]

    def __len__(self) -> int:
        return self.size


@dataclass(frozen=True)
class _Plan:
    """Every arm a pool mentions, all families stacked into one column of posteriors, with
    what sampling needs; row ``a32.size`` of a sample is the padding row (0). Built once per
    encoded pool and reused until the evidence of one of its families changes, so a decision
    costs a few numpy calls whatever the number of families."""

    encoded: Encoded
    versions: tuple[int, ...]
    a32: np.ndarray
    b32: np.ndarray
    centre: np.ndarray  # per stacked arm: logit(m_f) of its family
    thin: np.ndarray  # stacked arms always drawn exactly
    mean: np.ndarray  # E[logit theta] - centre, every stacked arm
    sd: np.ndarray  # sd[logit theta], every stacked arm


@dataclass(frozen=True)
class _Layout:
    """The structure of a decision over an encoded pool and an eligible set, which does not
    depend on the evidence and so is built once for every pick that uses it: the distinct
    feature sets among the eligible (``group`` per eligible candidate, ``first`` member and
    ``copies`` per set), the families that vary, and two weight matrices over the stacked
    arms (+ the padding row) that turn a sample into scores: ``sets`` (feature sets x arms,
    varying families only) and ``candidates`` (every candidate x arms, all families)."""

    encoded: Encoded
    eligible: bytes
    group: np.ndarray
    first: np.ndarray
    copies: np.ndarray
    sets: np.ndarray
    candidates: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.first.size)


def _weights(rows: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """Dense (len(rows) x size) weights from per-row (row ids, weights) slot arrays."""
    out = np.zeros((rows.shape[0], size), dtype=np.float32)
    lines = np.arange(rows.shape[0])
    for slot in range(rows.shape[1]):  # within one slot each line names an arm once
        out[lines, rows[:, slot]] += weight[:, slot]
    out[:, size - 1] = 0.0  # the padding row contributes nothing
    return out


def _blocked_product(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w @ x`` in row blocks of at most 2**18 multiply-adds each.

    OpenBLAS runs products above 4 x 65536 multiply-adds on several threads; on busy cores those
    threads wait for a time slice and a 0.1 ms product takes several ms. Blocks this small run
    on the calling thread, which keeps the decision's tail latency flat.
    """
    rows = max(1, 2**18 // max(1, w.shape[1] * x.shape[1]))
    out = np.empty((w.shape[0], x.shape[1]), dtype=np.float32)
    for start in range(0, w.shape[0], rows):
        np.matmul(w[start : start + rows], x, out=out[start : start + rows])
    return out


class FeatureBandit:
    """Factored Thompson sampling over candidates described by features.

    Each family (topic, hour, format, tag) holds independent Beta posteriors per arm with a pooled
    prior per family (:func:`pooled_prior`); arms never seen get that prior. One decision draws
    ``theta`` for every arm the candidates mention and scores candidate ``c``:

        score(c) = sum over families f of  mean over c's arms x in f of
                   [ logit(theta_{f,x}) - logit(m_f) ]

    where ``m_f`` is the pooled prior mean of family f. Adding log-odds is a naive-Bayes/additive
    logit model: each family shifts the odds of success independently. Centering on ``logit(m_f)``
    makes an absent family (or empty tag list) count as an average arm instead of a large negative
    term. A list-valued family (tags) contributes the mean over its arms so that more tags do not
    mean a bigger score. The hour is the slot's hour (the caller's job), so it shifts every
    candidate equally today and matters for learning; it costs nothing in the propensity.

    ``prior``: ``"pooled"`` (default), a pair ``(a, b)`` for every arm of every family, or
    ``{family: {arm: (a, b)}}`` (e.g. from the PyMC model) with other arms pooled.
    """

    def __init__(
        self,
        families: Sequence[str] = DEFAULT_FAMILIES,
        epsilon: float = 0.2,
        decay: float = 1.0,
        seed: int | None = None,
        propensity_draws: int = DEFAULT_PROPENSITY_DRAWS,
        prior: tuple[float, float] | Literal["pooled"] | Mapping[str, Mapping[str, Any]] = (
            "pooled"
        ),
        drift_check: float = 0.0,
    ) -> None:
        self.hyper = Hyperparameters(epsilon, decay, propensity_draws, drift_check)
        self.detector = ChangeDetector(self.hyper.drift_check)
        if isinstance(families, str) or not isinstance(families, Sequence) or not families:
            raise ValidationError("families", families, "a non-empty sequence of family names")
        fams = [_arm_name("families", f) for f in families]
        if len(set(fams)) != len(fams):
            raise ValidationError("families", list(families), "distinct family names")
        self.families = tuple(fams)
        self._ev = {f: _Evidence() for f in fams}
        self._fixed: dict[str, dict[str, tuple[float, float]]] = {f: {} for f in fams}
        self._fixed_all: tuple[float, float] | None = None
        if isinstance(prior, str):
            if prior != "pooled":
                raise ValidationError(
                    "prior", prior, "'pooled', a pair (a, b) or {family: {arm: (a, b)}}"
                )
        elif isinstance(prior, Mapping):
            for fam, arms in prior.items():
                if fam not in self._ev:
                    raise ValidationError("prior", fam, "families: " + ", ".join(fams))
                if not isinstance(arms, Mapping):
                    raise ValidationError(f"prior[{fam!r}]", arms, "a mapping {arm: (a, b)}")
                for arm, pair in arms.items():
                    name = _arm_name(f"prior[{fam!r}]", arm)
                    self._fixed[fam][name] = _prior_pair(f"prior[{fam!r}][{arm!r}]", pair)
        else:
            self._fixed_all = _prior_pair("prior", prior)
        self.prior = prior
        self.seed = _seed(seed)
        self._rng = np.random.default_rng(self.seed)
        self._plans: dict[int, _Plan] = {}
        self._layouts: dict[int, _Layout] = {}

    @property
    def epsilon(self) -> float:
        return self.hyper.epsilon

    @property
    def decay(self) -> float:
        return self.hyper.decay

    # -- validation ---------------------------------------------------------------------------
    def _arms_of(self, features: Any, where: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(features, Mapping):
            raise ValidationError(where, features, "a mapping {family: arm or list of arms}")
        out: dict[str, tuple[str, ...]] = {}
        for fam, value in features.items():
            if fam not in self._ev:
                raise ValidationError(f"{where} family", fam, "one of " + ", ".join(self.families))
            if isinstance(value, str):
                arms: tuple[str, ...] = (_arm_name(f"{where}[{fam!r}]", value),)
            elif isinstance(value, Sequence):
                arms = tuple(dict.fromkeys(_arm_name(f"{where}[{fam!r}]", v) for v in value))
            else:
                raise ValidationError(f"{where}[{fam!r}]", value, "an arm name or list of names")
            if arms:
                out[fam] = arms
        return out

    # -- posterior ----------------------------------------------------------------------------
    def _family_prior(self, fam: str) -> tuple[float, float]:
        """The prior of an arm with no fixed prior in ``fam``."""
        if self._fixed_all is not None:
            return self._fixed_all
        return self._ev[fam].pooled()

    def _params(self, fam: str, arms: Sequence[str]) -> tuple[np.ndarray, np.ndarray, float]:
        """Posterior (a, b) for ``arms`` of ``fam`` (unseen arms: prior only) and the centre."""
        ev = self._ev[fam]
        pa, pb = self._family_prior(fam)
        pos = np.fromiter(map(ev.index.get, arms, repeat(-1)), dtype=np.int64, count=len(arms))
        seen = pos >= 0
        a = np.full(len(arms), pa)
        b = np.full(len(arms), pb)
        fixed = self._fixed[fam]
        for j, arm in enumerate(arms) if fixed else ():
            if arm in fixed:
                a[j], b[j] = fixed[arm]
        a[seen] += ev.alpha[pos[seen]]
        b[seen] += ev.beta[pos[seen]]
        return a, b, math.log(pa / pb)

    def _plan(self, encoded: Encoded) -> _Plan:
        """The stacked posteriors of ``encoded``'s arms (see :class:`_Plan`), cached."""
        versions = tuple(self._ev[fam].version for fam, _ in encoded.families)
        hit = self._plans.get(id(encoded))
        if hit is not None and hit.encoded is encoded and hit.versions == versions:
            return hit
        a_parts, b_parts, centres = [], [], []
        for fam, f in encoded.families:
            a, b, centre = self._params(fam, f.arms)
            a_parts.append(a)
            b_parts.append(b)
            centres.append(np.full(a.size, centre))
        a_all = np.concatenate(a_parts) if a_parts else np.zeros(0)
        b_all = np.concatenate(b_parts) if b_parts else np.zeros(0)
        centre_all = np.concatenate(centres) if centres else np.zeros(0)
        mask = (a_all >= _NORMAL_MIN_COUNT) & (b_all >= _NORMAL_MIN_COUNT)
        ta, tb = a_all, b_all  # moments of every arm: thin rows are overwritten by exact draws
        plan = _Plan(
            encoded=encoded,
            versions=versions,
            a32=a_all.astype(np.float32),
            b32=b_all.astype(np.float32),
            centre=centre_all.astype(np.float32),
            thin=np.flatnonzero(~mask),
            mean=(special.digamma(ta) - special.digamma(tb) - centre_all).astype(np.float32),
            sd=np.sqrt(special.polygamma(1, ta) + special.polygamma(1, tb)).astype(np.float32),
        )
        if len(self._plans) > 8:  # a scheduler keeps one pool per cycle
            self._plans.clear()
        self._plans[id(encoded)] = plan
        return plan

    def _layout(self, encoded: Encoded, elig: np.ndarray) -> _Layout:
        """The :class:`_Layout` of ``encoded`` restricted to ``elig``, cached."""
        key = elig.tobytes()
        hit = self._layouts.get(id(encoded))
        if hit is not None and hit.encoded is encoded and hit.eligible == key:
            return hit
        total = sum(len(f.arms) for _, f in encoded.families)
        # Distinct feature sets among the eligible: one key per eligible candidate, built from
        # the families whose value differs between eligible candidates.
        code = np.zeros(elig.size, dtype=np.int64)
        varying: list[bool] = []
        for _, f in encoded.families:
            codes = f.codes[elig]
            varying.append(bool(codes.min() != codes.max()))
            if varying[-1]:
                code = code * (f.index.shape[0] + 1) + codes + 1
        _, first, group = np.unique(code, return_index=True, return_inverse=True)
        sets = np.zeros((first.size, total + 1), dtype=np.float32)
        candidates = np.zeros((encoded.size, total + 1), dtype=np.float32)
        offset = 0
        for (_, f), vary in zip(encoded.families, varying, strict=True):
            # the family's padding column (len(arms)) becomes the stacked padding row
            rows = np.where(f.index == len(f.arms), total, f.index + offset)
            values = _weights(rows, f.weight, total + 1)  # value id x stacked arm
            candidates += values[f.codes]
            if vary:
                sets += values[f.codes[elig[first]]]
            offset += len(f.arms)
        layout = _Layout(
            encoded=encoded,
            eligible=key,
            group=group.reshape(-1),
            first=first,
            copies=np.bincount(group.reshape(-1), minlength=first.size),
            sets=sets,
            candidates=candidates,
        )
        if len(self._layouts) > 8:
            self._layouts.clear()
        self._layouts[id(encoded)] = layout
        return layout

    def expectations(self) -> dict[str, dict[str, float]]:
        """Posterior mean per family and arm (arms with evidence or a fixed prior)."""
        out: dict[str, dict[str, float]] = {}
        for fam in self.families:
            arms = list(dict.fromkeys([*self._ev[fam].arms, *self._fixed[fam]]))
            a, b, _ = self._params(fam, arms)
            out[fam] = {arm: float(a[j] / (a[j] + b[j])) for j, arm in enumerate(arms)}
        return out

    def credible_interval(self, mass: float = 0.94) -> dict[str, dict[str, tuple[float, float]]]:
        """Equal-tailed posterior interval per family and arm."""
        m = _mass(mass)
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for fam in self.families:
            arms = list(dict.fromkeys([*self._ev[fam].arms, *self._fixed[fam]]))
            a, b, _ = self._params(fam, arms)
            lo = stats.beta.ppf((1.0 - m) / 2.0, a, b)
            hi = stats.beta.ppf((1.0 + m) / 2.0, a, b)
            out[fam] = {arm: (float(lo[j]), float(hi[j])) for j, arm in enumerate(arms)}
        return out

    # -- decisions ----------------------------------------------------------------------------
    def encode(self, candidates: Sequence[Features] | Encoded) -> Encoded:
        """Parse candidates into arm columns once; :meth:`choose` takes the result as it is.

        Unusual input (not plain dicts of non-empty strings or lists of them, or unknown
        families) is validated one candidate at a time, so the error names the candidate.
        """
        if isinstance(candidates, Encoded):
            return candidates
        if isinstance(candidates, (str, Mapping)) or not isinstance(candidates, Sequence):
            raise ValidationError("candidates", candidates, "a sequence of feature mappings")
        if not candidates:
            raise ValidationError("candidates", candidates, "at least one candidate")
        parsed = self._parse_fast(candidates)
        if parsed is None:  # unusual input: validate one by one (clear errors), then parse
            parsed = self._parse_fast(self._normalise(candidates))
            if parsed is None:  # pragma: no cover - _normalise only returns parseable dicts
                raise ValidationError("candidates", candidates, "feature mappings")
        return Encoded(len(candidates), tuple(parsed))

    def choose(
        self,
        candidates: Sequence[Features] | Encoded,
        eligible: Sequence[int] | None = None,
    ) -> Choice:
        """Pick one of ``candidates`` (restricted to the indices in ``eligible``).

        ``candidates`` are feature mappings or, cheaper, what :meth:`encode` made of them.
        Candidates with identical features always score the same, so the Monte Carlo ranks
        distinct feature sets and a tie among identical candidates is split uniformly; the
        propensity of the pick is ``epsilon / n + (1 - epsilon) * P(its feature set wins) / copies``.
        Families that are equal for every eligible candidate (the slot's hour) shift all scores
        alike and are left out of the Monte Carlo.

        Cost: Beta draws are made per *arm* (tens), not per candidate; the decision's own row is
        exact, the other propensity rows of well-observed arms come from the logit-normal with
        the exact moments (``_NORMAL_MIN_COUNT``). Each family's draws become scores per
        distinct value (a tag list: the mean over its tags) and are gathered per distinct
        feature set; posteriors are cached until the evidence changes.
        """
        encoded = self.encode(candidates)
        elig = self._eligible(eligible, encoded.size)
        layout = self._layout(encoded, elig)
        eps = self.hyper.epsilon
        explore = bool(self._rng.random() < eps)
        n_groups = layout.n_groups
        draws = 1 if (eps >= 1.0 or n_groups == 1) else self.hyper.propensity_draws
        sample = self._sample_logit(self._plan(encoded), draws)
        table = _blocked_product(layout.sets, sample)  # feature set x draw
        decision = table[:, 0]
        tied = np.flatnonzero(decision == decision.max())
        winner = int(tied[self._rng.integers(tied.size)]) if tied.size > 1 else int(tied[0])
        if explore:
            pos = int(self._rng.integers(elig.size))
        else:
            mine = np.flatnonzero(layout.group == winner)
            pos = int(mine[self._rng.integers(mine.size)]) if mine.size > 1 else int(mine[0])
        g = int(layout.group[pos])
        if n_groups == 1:
            win = 1.0
        else:  # share of draws g wins, a tie of k feature sets crediting each 1/k
            others = np.full(draws, -np.inf, dtype=np.float32)  # best other set, per draw
            if g > 0:
                others = table[:g].max(axis=0)
            if g + 1 < n_groups:
                others = np.maximum(others, table[g + 1 :].max(axis=0))
            mine_row = table[g]
            win = float(np.count_nonzero(mine_row > others))
            for d in np.flatnonzero(mine_row == others):  # exact ties: rare with real draws
                win += 1.0 / int(np.count_nonzero(table[:, d] == others[d]))
            win /= draws
        propensity = eps / elig.size + (1.0 - eps) * win / int(layout.copies[g])
        scores = layout.candidates @ sample[:, 0]  # every candidate, the decision's draw
        return Choice(int(elig[pos]), float(propensity), scores.tolist(), explore)

    def _parse_fast(self, candidates: Sequence[Any]) -> list[tuple[str, _Family]] | None:
        """Column-wise parse of well-formed candidates (dicts of non-empty str or list/tuple of
        str, known families); ``None`` for anything else so that :meth:`_normalise` can name the
        offending candidate. Python work is a few C-level passes per family (``map`` over dict
        methods); each distinct tag list is handled once, and its weights built in numpy."""
        if set(map(type, candidates)) != {dict} or not set().union(*candidates) <= set(self._ev):
            return None
        out = []
        n = len(candidates)
        for fam in self.families:
            values = list(map(dict.get, candidates, repeat(fam, n), repeat(_MISSING, n)))
            kinds = set(map(type, values))
            if kinds <= _SCALAR_KINDS:  # one arm per candidate: the value id is the arm column
                col = dict.fromkeys(values)
                col.pop(_MISSING, None)
                if "" in col:
                    return None
                if not col:
                    continue
                col = {arm: j for j, arm in enumerate(col)}
                col[_MISSING] = -1
                codes = np.fromiter(map(col.__getitem__, values), np.int64, n)
                del col[_MISSING]
                index = np.arange(len(col) + 1, dtype=np.int64)[:, None]
                weight = np.ones((len(col) + 1, 1), dtype=np.float32)
                out.append((fam, _Family(list(col), codes, index, weight)))
                continue
            if not kinds <= _LIST_KINDS:
                return None
            raw: dict[Any, int] = {}
            try:
                raw_codes = [
                    raw.setdefault(v if type(v) is not list else tuple(v), len(raw)) for v in values
                ]
            except TypeError:  # an unhashable element: let _normalise name it
                return None
            tuples = [() if k is _MISSING else (k,) if type(k) is str else k for k in raw]
            flat = [arm for k in tuples for arm in k]
            if not flat:
                continue
            if set(map(type, flat)) != {str} or "" in flat:
                return None
            cols = {arm: j for j, arm in enumerate(dict.fromkeys(flat))}  # first-seen order
            # each distinct arm set (order and repeats do not matter) is one value id
            sets: dict[frozenset[str], int] = {}
            value = np.array(
                [sets.setdefault(frozenset(k), len(sets)) if k else -1 for k in tuples],
                dtype=np.int64,
            )
            members = [arm for k in sets for arm in k]
            sizes = np.fromiter(map(len, sets), np.int64, len(sets))
            rows = np.repeat(np.arange(len(sets)), sizes)
            slots = np.arange(len(members)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            index = np.full((len(sets) + 1, int(sizes.max())), len(cols), dtype=np.int64)
            weight = np.zeros(index.shape, dtype=np.float32)
            index[rows, slots] = np.fromiter(map(cols.__getitem__, members), np.int64, len(members))
            weight[rows, slots] = np.repeat(1.0 / sizes, sizes)
            codes = value[np.asarray(raw_codes, dtype=np.int64)]
            out.append((fam, _Family(list(cols), codes, index, weight)))
        return out

    def _normalise(self, candidates: Sequence[Any]) -> list[dict[str, tuple[str, ...]]]:
        """Validate candidates one by one (errors name the candidate) into plain dicts."""
        out = []
        for i, cand in enumerate(candidates):
            if not isinstance(cand, Mapping):
                raise ValidationError(f"candidates[{i}]", cand, "a mapping {family: arm(s)}")
            out.append(self._arms_of(cand, f"candidates[{i}]"))
        return out

    def _sample_logit(self, plan: _Plan, draws: int) -> np.ndarray:
        """(stacked arms + 1) x ``draws`` centred log-odds, float32, last row 0.

        Column 0 (the decision's own draw) is exact: logit(X) for X = G_a / (G_a + G_b) is
        log G_a - log G_b, two float32 gamma draws per arm. Propensity columns 1.. are exact
        for thin posteriors and logit-normal with the exact moments (in antithetic pairs) for
        thick ones.
        """
        arms = plan.a32.size
        out = np.empty((arms + 1, draws), dtype=np.float32)
        out[arms] = 0.0
        if draws > 1:
            if plan.thin.size == arms:
                out[:arms] = self._exact_logit(plan.a32, plan.b32, draws, plan.centre)
                return out
            # antithetic pairs: columns 1..h are z, the rest -z (z fresh per decision). Each
            # column keeps the exact marginal; a set that wins at z tends to lose at -z, so
            # the win share's variance is no larger than with independent columns, for half
            # the random numbers.
            body = out[:arms, 1:]  # column 0 is the exact decision draw, filled below
            half = draws // 2
            z = self._rng.standard_normal((arms, half), dtype=np.float32)
            body[:, :half] = z
            np.negative(z[:, : draws - 1 - half], out=body[:, half:])
            body *= plan.sd[:, None]
            body += plan.mean[:, None]
            if plan.thin.size:
                thin = plan.thin
                out[thin] = self._exact_logit(
                    plan.a32[thin], plan.b32[thin], draws, plan.centre[thin]
                )
        out[:arms, :1] = self._exact_logit(plan.a32, plan.b32, 1, plan.centre)
        return out

    def _exact_logit(
        self, a: np.ndarray, b: np.ndarray, cols: int, centre: np.ndarray
    ) -> np.ndarray:
        """len(a) x ``cols`` exact centred logit(Beta(a, b)) draws: log G_a - log G_b."""
        size = (a.size, cols)
        ga = self._rng.standard_gamma(a[:, None], size=size, dtype=np.float32)
        gb = self._rng.standard_gamma(b[:, None], size=size, dtype=np.float32)
        tiny = np.float32(np.finfo(np.float32).tiny)
        out = np.log(np.maximum(ga, tiny))
        out -= np.log(np.maximum(gb, tiny))
        out -= centre[:, None]
        return out

    @staticmethod
    def _eligible(eligible: Sequence[int] | None, n: int) -> np.ndarray:
        allowed = f"a non-empty sequence of distinct candidate indices from 0 to {n - 1}"
        if eligible is None:
            return np.arange(n)
        if isinstance(eligible, str) or not isinstance(eligible, Sequence) or not eligible:
            raise ValidationError("eligible", eligible, allowed)
        kinds = set(map(type, eligible))
        if kinds <= {int, np.int64}:  # fast path: checked as an array
            out = np.fromiter(eligible, dtype=np.int64, count=len(eligible))
            if out.min() >= 0 and out.max() < n and np.unique(out).size == out.size:
                return out
        for i in eligible:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < n:
                raise ValidationError("eligible", i, allowed)
        if len(set(eligible)) != len(eligible):
            raise ValidationError("eligible", list(eligible), allowed)
        return np.asarray(eligible, dtype=np.int64)

    # -- learning -----------------------------------------------------------------------------
    def update(self, features: Features, reward: float) -> None:
        """Teach every arm of the post's features one outcome (each tag gets the full outcome)."""
        self.update_many([features], [reward])

    def update_many(self, features: Sequence[Features], rewards: Sequence[float]) -> None:
        """Teach many posts at once (a learning cycle); everything is validated first."""
        if len(features) != len(rewards):
            raise ValidationError("rewards", len(rewards), f"one reward per post ({len(features)})")
        parsed = [self._arms_of(f, f"features[{i}]") for i, f in enumerate(features)]
        r = [_reward(x) for x in rewards]
        means = self.expectations() if self.hyper.drift_check > 0.0 else {}
        for fam in self.families:
            ev = self._ev[fam]
            names = [arm for p in parsed for arm in p.get(fam, ())]
            if not names:
                continue
            ev.add(names)
            idx = np.fromiter((ev.index[a] for a in names), dtype=np.int64, count=len(names))
            rr = np.fromiter(
                (r[j] for j, p in enumerate(parsed) for _ in p.get(fam, ())),
                dtype=float,
                count=len(names),
            )
            restart = None
            if self.hyper.drift_check > 0.0:
                restart = self.detector.observe(fam, names, rr, means.get(fam, {}), ev.pairs())
            ev.learn(idx, rr)
            if restart is not None:
                ev.restart(restart)

    def decay_step(self) -> None:
        """Discount all evidence of every family by ``decay`` (once per learning cycle)."""
        for ev in self._ev.values():
            ev.decay(self.hyper.decay)

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> dict[str, dict[str, dict[str, float]]]:
        """Evidence without priors: {family: {arm: {"alpha", "beta", "pulls"}}}."""
        return {fam: ev.state() for fam, ev in self._ev.items()}

    @classmethod
    def from_state(
        cls, state: Mapping[str, Mapping[str, Mapping[str, float]]], **hyper: Any
    ) -> FeatureBandit:
        """Rebuild from :meth:`state`; ``hyper`` are the constructor's keyword arguments.

        ``families`` defaults to the default families plus any family present in ``state``.
        """
        if not isinstance(state, Mapping):
            raise ValidationError("state", state, "a mapping {family: {arm: {alpha, beta}}}")
        if "families" in hyper:
            families = list(hyper.pop("families"))
        else:
            families = [*DEFAULT_FAMILIES, *(f for f in state if f not in DEFAULT_FAMILIES)]
        bandit = cls(families, **hyper)
        for fam, arms in state.items():
            if fam not in bandit._ev:
                raise ValidationError("state family", fam, "one of " + ", ".join(families))
            if not isinstance(arms, Mapping):
                raise ValidationError(f"state[{fam!r}]", arms, "a mapping {arm: {alpha, beta}}")
            bandit._ev[fam].load(f"state[{fam!r}]", arms)
        return bandit
