"""Change detection for drifting tastes: a Bernoulli CUSUM per arm, a family restart on alarm.

``decay`` forgets every arm at the same rate, all the time: it pays for forgetting in a world
that does not change, and still reacts slowly when one does. The detector instead watches each
arm's outcomes against that arm's own posterior mean and, when they disagree, restarts the arm's
*family* (topic, hour, ...):

* the arm that raised the alarm keeps only the outcomes since the estimated change point;
* every other arm of the family keeps ``RESTART_KEEP`` (2 %) of its evidence: when the arm the
  policy exploits has changed, what it knew about the rarely pulled arms is stale too (a taste
  shift reorders the topics), and the little that is kept still centres the pooled prior on the
  account's typical rate, so the family is relearned from there instead of from Beta(1, 1).

This is the "global restart" of change-point bandits (Besson, Kaufmann, Maillard & Seznec,
"Efficient change-point detection for tackling piecewise-stationary bandits", JMLR 2022), with
a CUSUM in place of their GLR test. Benchmark (d) (benchmarks/README.md) measures it against
MABWiser's Thompson sampling, against restarting only the flagged arm and against a restart
told the change point.

The test, for an outcome ``r`` of an arm with posterior mean ``p0`` (taken before the cycle's
outcomes) and the alternatives ``p± = sigmoid(logit p0 ± DRIFT_SHIFT)``: each direction keeps
``S = max(0, S + r ln(p±/p0) + (1 - r) ln((1 - p±)/(1 - p0)))``, the log-likelihood ratio of
"the rate moved by the shift since S was last 0" against "it is still p0"; an alarm is
``S > threshold`` (nats). An arm is tested only once its evidence pins its log-odds to within
a quarter of the shift: ``s f / (s + f) >= MIN_INFORMATION`` for s successes and f failures
(the observed information of the logit; 64 outcomes at 50 %, 337 at 5 %). A noisier posterior
mean is no baseline to test against, and a family just restarted is not restarted again before
it has relearned.

The detector's statistics are plain JSON (:meth:`ChangeDetector.state`), so the live engine
keeps them in Postgres with each learning cycle, and a restart is recorded there as a
:class:`Restart` that the Redis store and ``xbot learn rebuild`` replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xbot.errors import ValidationError

__all__ = ["DRIFT_SHIFT", "MIN_INFORMATION", "RESTART_KEEP", "ChangeDetector", "Restart"]

# The shift the CUSUM looks for, in log-odds (up or down): e ~ 2.7x at engagement-like rates.
# SimWorld's topic effects spread 0.5 around the mean, so a reversal moves the best and worst
# topics by 1-2 log-odds; (0.7, 1.5) tested together detected no earlier (benchmark (d)).
DRIFT_SHIFT = 1.0
# Observed information s f / (s + f) an arm's evidence needs before it is tested: posterior
# log-odds sd <= 1 / sqrt(16) = DRIFT_SHIFT / 4. (Counting outcomes instead, 100 and 300
# measured alike at 1-10 % rates, but 100 outcomes at 5 % leave the mean +-0.02 uncertain.)
MIN_INFORMATION = 16.0
# Share of evidence the other arms of a restarted family keep; 0.02 and 0.05 measured alike,
# 0.2 worse (stale rankings survive), 0 slightly worse (the pooled prior restarts at Beta(1, 1)).
RESTART_KEEP = 0.02
# Per arm: [S up, S down, successes up, failures up, successes down, failures down]
_FIELDS = 6


@dataclass(frozen=True)
class Restart:
    """What an alarm does to one family, applied after the cycle's increments.

    ``evidence``: the flagged arms' new (successes, failures), the outcomes since the change;
    every other arm of the family has its successes and failures multiplied by ``keep``.
    Pull counts are raw counts and are left alone.
    """

    evidence: dict[str, tuple[float, float]]
    keep: float = RESTART_KEEP

    def to_json(self) -> dict[str, Any]:
        return {"keep": self.keep, "evidence": {a: list(v) for a, v in self.evidence.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Restart:
        return cls(
            evidence={str(a): (float(v[0]), float(v[1])) for a, v in data["evidence"].items()},
            keep=float(data["keep"]),
        )

    def apply(self, arms: Sequence[str], alpha: np.ndarray, beta: np.ndarray) -> None:
        """Restart one family's evidence arrays in place (``arms[i]`` names row i)."""
        alpha *= self.keep
        beta *= self.keep
        for i, arm in enumerate(arms):
            if arm in self.evidence:
                alpha[i], beta[i] = self.evidence[arm]


def check_threshold(threshold: Any) -> float:
    """0 (off) or a positive finite number of nats; anything else is refused."""
    allowed = "a finite number >= 0 (0 switches change detection off)"
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ValidationError("drift_check", threshold, allowed)
    value = float(threshold)
    if not math.isfinite(value) or value < 0.0:
        raise ValidationError("drift_check", threshold, allowed)
    return value


class ChangeDetector:
    """CUSUM statistics per family and arm, fed one learning cycle at a time.

    ``threshold``: alarm level in nats (higher: fewer false alarms, later detection). With
    ``DRIFT_SHIFT`` 1, benchmark (d) measured 6-8 best; at 5 false alarms start to cost.
    ``state``: what :meth:`state` returned at the end of the previous cycle.
    """

    def __init__(self, threshold: float, state: Mapping[str, Mapping[str, Any]] | None = None):
        self.threshold = check_threshold(threshold)
        self._stats: dict[str, dict[str, np.ndarray]] = {}
        for family, arms in (state or {}).items():
            for arm, row in arms.items():
                values = np.asarray(row, dtype=float)
                if values.shape != (_FIELDS,) or not np.isfinite(values).all():
                    raise ValidationError(f"drift state[{family!r}][{arm!r}]", row,
                                          f"{_FIELDS} finite numbers")  # fmt: skip
                self._stats.setdefault(family, {})[arm] = values
        self.restarts: dict[str, int] = {}  # family -> restarts seen by this object

    def state(self) -> dict[str, dict[str, list[float]]]:
        """The statistics as JSON: {family: {arm: [S up, S down, s up, f up, s down, f down]}}."""
        return {f: {a: v.tolist() for a, v in arms.items()} for f, arms in self._stats.items()}

    def observe(
        self,
        family: str,
        arms: Sequence[str],
        rewards: np.ndarray,
        means: Mapping[str, float],
        evidence: Mapping[str, tuple[float, float]],
    ) -> Restart | None:
        """Feed one cycle's outcomes of one family, in the order they happened.

        ``arms[j]`` got reward ``rewards[j]``; ``means`` are the arms' posterior means and
        ``evidence`` their (discounted) successes and failures, both from before this cycle.
        Returns the
        family's :class:`Restart` when some arm raised an alarm (and clears the family's
        statistics: after a restart every baseline is new), else None.
        """
        r = np.asarray(rewards, dtype=float)
        order: dict[str, list[int]] = {}
        for j, arm in enumerate(arms):
            order.setdefault(arm, []).append(j)
        stats = self._stats.setdefault(family, {})
        flagged: dict[str, tuple[float, float]] = {}
        for arm, rows in order.items():
            s, f = evidence.get(arm, (0.0, 0.0))
            if arm not in means or s + f <= 0.0 or s * f / (s + f) < MIN_INFORMATION:
                continue
            start = stats.get(arm, np.zeros(_FIELDS))
            end, since = _cusum(start, r[rows], float(means[arm]), self.threshold)
            if since is None:
                stats[arm] = end
            else:
                flagged[arm] = since
        if not flagged:
            return None
        self._stats[family] = {}
        self.restarts[family] = self.restarts.get(family, 0) + 1
        return Restart(flagged)


def _cusum(
    start: np.ndarray, r: np.ndarray, p0: float, threshold: float
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Run both directions over one arm's outcomes (vectorised Lindley recursion).

    ``S_t = max(0, S_{t-1} + x_t)`` equals ``C_t - min(0, min_{j<=t} C_j)`` with
    ``C_t = S_0 + x_1 + ... + x_t``. Returns (new statistics, None) without an alarm, else
    (unchanged statistics, the (successes, failures) since the change point of the earliest
    alarm, plus the arm's later outcomes in this cycle).
    """
    p0 = min(max(p0, 1e-6), 1.0 - 1e-6)
    logit = math.log(p0 / (1.0 - p0))
    cs, cf = np.cumsum(r), np.cumsum(1.0 - r)
    n = r.size
    end = start.copy()
    best: tuple[int, float, tuple[float, float]] | None = None
    for d, shift in enumerate((DRIFT_SHIFT, -DRIFT_SHIFT)):
        alt = 1.0 / (1.0 + math.exp(-(logit + shift)))
        x = r * math.log(alt / p0) + (1.0 - r) * math.log((1.0 - alt) / (1.0 - p0))
        c = start[d] + np.cumsum(x)
        s = c - np.minimum(np.minimum.accumulate(c), 0.0)
        fresh = np.maximum.accumulate(np.where(s <= 0.0, np.arange(n), -1))
        # successes/failures since S was last 0 (inherited counts when it never was this cycle)
        base_s = np.where(fresh >= 0, cs[np.maximum(fresh, 0)], -start[2 + 2 * d])
        base_f = np.where(fresh >= 0, cf[np.maximum(fresh, 0)], -start[3 + 2 * d])
        since_s, since_f = cs - base_s, cf - base_f
        hit = np.flatnonzero(s > threshold)
        if hit.size:
            t = int(hit[0])
            later = (float(cs[-1] - cs[t]), float(cf[-1] - cf[t]))
            pair = (float(since_s[t]) + later[0], float(since_f[t]) + later[1])
            if best is None or t < best[0] or (t == best[0] and s[t] > best[1]):
                best = (t, float(s[t]), pair)
        end[d] = s[-1]
        end[2 + 2 * d], end[3 + 2 * d] = since_s[-1], since_f[-1]
    if best is not None:
        return start, best[2]
    return end, None
