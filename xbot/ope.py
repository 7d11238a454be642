"""Off-policy evaluation: what would another policy have earned, from the decisions we logged?

Every decision row carries the propensity ``mu(a|x)`` of the logged action under the policy that
chose it (the epsilon floor keeps it > 0). For a target policy with probability ``pi(a|x)`` of
the same action, the importance weight is ``w = pi / mu`` and (see ``docs/learning.md``):

* ``ips``   mean(w * r): unbiased, high variance when weights are large;
* ``snips`` sum(w * r) / sum(w): self-normalised, slightly biased, far steadier (default);
* ``dr``    mean(q_pi + w * (r - q_a)): doubly robust with a reward model; without one, the mean
  logged reward serves as a constant model (a control variate), refitted in every resample.

Intervals are percentile bootstraps over decisions (rows resampled with replacement, seeded).
:func:`estimate` works on any table with columns ``action, reward, propensity`` (and a target
probability column or callable), so analysts can feed external logs too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from xbot.errors import ValidationError

__all__ = ["METHODS", "Estimate", "dr_difference", "estimate", "target_probabilities"]

METHODS = ("ips", "snips", "dr")
RewardModel = Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]

# Bootstrap resamples are processed in blocks of at most this many cells (rows x resamples).
_BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class Estimate:
    """A policy value with its bootstrap interval, the number of decisions and the method."""

    value: float
    low: float
    high: float
    n: int
    method: str


def _column(logs: pd.DataFrame, name: str, need: str) -> np.ndarray:
    if name not in logs.columns:
        raise ValidationError("logs", sorted(map(str, logs.columns)), f"a column {name!r} ({need})")
    try:
        values = pd.to_numeric(logs[name]).to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, logs[name].iloc[:3].tolist(), f"numbers ({need})") from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(name, f"{int(bad.sum())} missing or non-finite values", need)
    return values


def _validate_probability(name: str, p: np.ndarray, *, positive: bool) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    lo_ok = p > 0 if positive else p >= 0
    bad = ~(np.isfinite(p) & lo_ok & (p <= 1))
    if bad.any():
        allowed = "probabilities in (0, 1]" if positive else "probabilities in [0, 1]"
        raise ValidationError(name, f"{int(bad.sum())} values such as {p[bad][0]!r}", allowed)
    return p


def estimate(
    logs: pd.DataFrame,
    *,
    method: Literal["ips", "snips", "dr"] = "snips",
    target: str | Callable[[pd.DataFrame], np.ndarray] = "target_probability",
    reward_model: RewardModel | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    mass: float = 0.95,
) -> Estimate:
    """Estimate the expected reward per decision of a target policy from logged decisions.

    ``target``: the name of a column holding ``pi(logged action | context)`` or a callable
    returning that array for the table (e.g. ``lambda d: target_probabilities(d, "v1")``).
    ``reward_model`` (DR only): ``f(logs) -> (q_logged, q_target)`` where ``q_logged`` is the
    predicted reward of the logged action and ``q_target`` the expected predicted reward under
    the target policy, per row. Rows without a reward (pending outcomes) must be dropped first.
    """
    if not isinstance(logs, pd.DataFrame):
        raise ValidationError("logs", type(logs).__name__, "a pandas DataFrame")
    if method not in METHODS:
        raise ValidationError("method", method, "one of " + ", ".join(METHODS))
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ValidationError("n_boot", n_boot, "an integer of at least 1")
    if isinstance(mass, bool) or not isinstance(mass, (int, float)) or not 0 < mass < 1:
        raise ValidationError("mass", mass, "a number strictly between 0 and 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", seed, "a non-negative integer")
    if len(logs) == 0:
        raise ValidationError("logs", "0 rows", "at least one logged decision")
    if "action" not in logs.columns:
        raise ValidationError("logs", sorted(map(str, logs.columns)), "a column 'action'")
    reward = _column(logs, "reward", "the observed reward of each decision")
    mu = _validate_probability(
        "propensity", _column(logs, "propensity", "the logged propensity"), positive=True
    )
    if isinstance(target, str):
        pi = _column(logs, target, "the target policy's probability of the logged action")
    elif callable(target):
        pi = np.asarray(target(logs), dtype=float)
        if pi.shape != (len(logs),):
            raise ValidationError(
                "target", pi.shape, f"an array of one value per row ({len(logs)})"
            )
    else:
        raise ValidationError("target", target, "a column name or a callable")
    pi = _validate_probability("target probability", pi, positive=False)
    w = pi / mu

    q_logged = q_target = None
    if method == "dr" and reward_model is not None:
        q_logged, q_target = (np.asarray(x, dtype=float) for x in reward_model(logs))
        if q_logged.shape != (len(logs),) or q_target.shape != (len(logs),):
            raise ValidationError("reward_model", "wrong shape", "two arrays of one value per row")
        if not (np.isfinite(q_logged).all() and np.isfinite(q_target).all()):
            raise ValidationError("reward_model", "non-finite predictions", "finite numbers")

    def value(counts: np.ndarray | None) -> np.ndarray:
        """Estimates for rows weighted by bootstrap ``counts`` (resamples x rows), or once."""
        c = np.ones((1, len(reward))) if counts is None else counts
        n = c.sum(axis=1)
        wr = c @ (w * reward)
        if method == "ips":
            return wr / n
        if method == "snips":
            sw = c @ w
            return np.divide(wr, sw, out=np.zeros_like(wr), where=sw > 0)
        if q_logged is None:  # constant model: the resample's mean reward
            qbar = (c @ reward) / n
            return qbar + (wr - qbar * (c @ w)) / n
        return (c @ q_target + wr - c @ (w * q_logged)) / n

    point, low, high = _bootstrap(value, len(reward), n_boot=n_boot, seed=seed, mass=mass)
    return Estimate(point, low, high, len(reward), method)


def _bootstrap(
    value: Callable[[np.ndarray | None], np.ndarray], n_rows: int, *, n_boot: int, seed: int,
    mass: float,
) -> tuple[float, float, float]:  # fmt: skip
    """``value`` on all rows, and its percentile interval over ``n_boot`` resamples of rows
    (``value(counts)`` gets one row of multinomial counts per resample)."""
    point = float(value(None)[0])
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // n_rows)
    boots = []
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        counts = rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=size).astype(float)
        boots.append(value(counts))
    samples = np.concatenate(boots)
    low, high = np.quantile(samples, [(1 - mass) / 2, (1 + mass) / 2])
    return point, float(low), float(high)


def dr_difference(
    logs: pd.DataFrame,
    *,
    target: str | Callable[[pd.DataFrame], np.ndarray],
    q_logged: str,
    q_target: str,
    n_boot: int = 1000,
    seed: int = 0,
    mass: float = 0.95,
) -> Estimate:
    """The logging policy's own value minus the doubly robust value of ``target``, judged on the
    same logged decisions, with a paired bootstrap interval.

    Per decision the difference is ``r - (q_target + w * (r - q_logged))``: the logged reward
    against the target's modelled reward, corrected where the target would have taken the
    logged action. Both sides see the same slots (the same hours, queue and news), so what
    differs between slots cancels instead of being read as a difference between policies, and
    the paired resamples give the interval of the difference itself, not of two estimates.
    ``q_logged``/``q_target``: columns of a reward model's prediction for the logged action
    and the expected prediction under the target policy.
    """
    if not isinstance(logs, pd.DataFrame) or len(logs) == 0:
        raise ValidationError("logs", getattr(logs, "shape", logs), "a non-empty DataFrame")
    reward = _column(logs, "reward", "the observed reward of each decision")
    mu = _validate_probability(
        "propensity", _column(logs, "propensity", "the logged propensity"), positive=True
    )
    if isinstance(target, str):
        pi = _column(logs, target, "the target policy's probability of the logged action")
    else:
        pi = np.asarray(target(logs), dtype=float)
    pi = _validate_probability("target probability", pi, positive=False)
    q_log = _column(logs, q_logged, "the reward model's prediction for the logged action")
    q_tgt = _column(logs, q_target, "the reward model's expected reward under the target")
    terms = reward - (q_tgt + (pi / mu) * (reward - q_log))

    def value(counts: np.ndarray | None) -> np.ndarray:
        c = np.ones((1, len(terms))) if counts is None else counts
        return (c @ terms) / c.sum(axis=1)

    point, low, high = _bootstrap(value, len(terms), n_boot=n_boot, seed=seed, mass=mass)
    return Estimate(point, low, high, len(terms), "dr")


def target_probabilities(
    logs: pd.DataFrame, policy: Literal["epsilon", "v1", "topic"], **params: Any
) -> np.ndarray:
    """Probability that a common target policy takes each logged action.

    Needs, per decision, ``n_eligible`` (number of eligible candidates) and:

    * ``"epsilon"``, params ``epsilon`` (target) and ``logged_epsilon`` (or a column of that
      name, e.g. from the flag snapshot): the logged bandit with a different epsilon floor.
      The sampling part is recovered from the propensity,
      ``q = (propensity - e0 / n) / (1 - e0)``, so the target is ``e / n + (1 - e) q``.
      Needs ``propensity``; impossible when the logged epsilon is 1.
    * ``"v1"``, optional param ``epsilon`` (default 0): highest priority first, with an optional
      uniform floor: ``e / n + (1 - e) * is_v1``. Needs column ``is_v1`` (was the logged pick
      the V1 pick).
    * ``"topic"``, param ``topic``: uniform among the eligible candidates of that topic:
      ``1 / n_eligible_topic`` when the logged topic is it, else 0. Needs columns ``topic`` and
      ``n_eligible_topic`` (eligible candidates sharing the logged pick's topic).
    """
    if not isinstance(logs, pd.DataFrame):
        raise ValidationError("logs", type(logs).__name__, "a pandas DataFrame")
    n = _column(logs, "n_eligible", "number of eligible candidates per decision")
    if (n < 1).any():
        raise ValidationError("n_eligible", f"{int((n < 1).sum())} values below 1", "counts >= 1")

    def param(name: str, default: float | None = None) -> float:
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValidationError(name, value, "a number from 0.0 to 1.0")
        return float(value)

    if policy == "epsilon":
        eps = param("epsilon")
        if "logged_epsilon" in params:
            e0 = np.full(len(logs), param("logged_epsilon"))
        else:
            e0 = _column(logs, "logged_epsilon", "logged epsilon, or pass logged_epsilon=")
        if (e0 >= 1).any():
            raise ValidationError("logged_epsilon", 1.0, "below 1 (the sampling part is unknown)")
        mu = _column(logs, "propensity", "the logged propensity")
        q = np.clip((mu - e0 / n) / (1 - e0), 0.0, 1.0)
        return eps / n + (1 - eps) * q
    if policy == "v1":
        eps = param("epsilon", 0.0)
        is_v1 = _column(logs, "is_v1", "whether the logged pick was the V1 pick")
        return eps / n + (1 - eps) * (is_v1 != 0)
    if policy == "topic":
        topic = params.get("topic")
        if not isinstance(topic, str) or not topic:
            raise ValidationError("topic", topic, "a topic name")
        if "topic" not in logs.columns:
            raise ValidationError("logs", sorted(map(str, logs.columns)), "a column 'topic'")
        k = _column(logs, "n_eligible_topic", "eligible candidates sharing the logged topic")
        same = (logs["topic"] == topic).to_numpy()
        if (same & (k < 1)).any():
            raise ValidationError("n_eligible_topic", 0, "at least 1 where the topic matches")
        return np.where(same, 1.0 / np.maximum(k, 1.0), 0.0)
    raise ValidationError("policy", policy, "one of epsilon, v1, topic")
