"""Bandit policies: Thompson sampling with an epsilon floor, discounting and logged propensities.

Two policies share one set of rules (MABWiser-style: one small shared base, one module per
policy):

* :mod:`xbot.policies.base` — what both share: :class:`Hyperparameters`, input validation, the
  per-family evidence and the pooled prior (:func:`pooled_prior`).
* :class:`BetaBandit` (:mod:`xbot.policies.beta`) — one family of Bernoulli arms (e.g. topics).
  Each arm keeps its *evidence* (discounted successes ``alpha``, discounted failures ``beta``,
  raw update count ``pulls``); the posterior is ``Beta(prior_a + alpha, prior_b + beta)``.
  Evidence and prior are kept apart so that the stored state (Redis ``bandit:<family>:<arm>``)
  never depends on the prior, and a pooled prior can be re-estimated from the evidence at every
  decision.
* :class:`FeatureBandit` (:mod:`xbot.policies.feature`) — the factored engine the scheduler
  calls: one :class:`BetaBandit`-style family per feature (topic, hour, format, tag) and a
  candidate score that adds the sampled log-odds of the candidate's own features.

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

from xbot.policies.base import DEFAULT_PROPENSITY_DRAWS, Hyperparameters, pooled_prior
from xbot.policies.beta import BetaBandit
from xbot.policies.feature import DEFAULT_FAMILIES, Choice, Encoded, FeatureBandit

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_PROPENSITY_DRAWS",
    "BetaBandit",
    "Choice",
    "Encoded",
    "FeatureBandit",
    "Hyperparameters",
    "pooled_prior",
]
