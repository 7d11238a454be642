"""The decision log as one table for off-policy evaluation: decisions joined with rewards.

One row per scheduling decision that picked a candidate (posted or shadowed; dry runs of
``xbot schedule test`` and skipped cycles picked nothing to evaluate), with what
:func:`xbot.ope.target_probabilities` needs, read from what the scheduler records:

* ``propensity``: the logged policy's probability of the pick (1.0 for V1, deterministic);
* ``n_eligible``: ``context.eligible`` minus the guard's rejections (``context.rejected``): the
  final pick was drawn among the rest, which is what its propensity refers to;
* ``logged_epsilon``: the flag snapshot's epsilon for V2 decisions, 0 for V1 (deterministic);
* ``is_v1``: the pick is ``context.v1_choice`` (the highest priority). NaN when the guard
  rejected the V1 choice itself: V1 would then have taken a candidate the log does not name;
* ``n_eligible_topic``: eligible candidates sharing the pick's topic, from
  ``context.eligible_topics`` ({topic: count}) when the scheduler records it, else NaN (then
  "topic X only" cannot be estimated for that decision);
* ``reward``: the post's learned reward (``tweets.reward``); NaN while pending and for shadowed
  decisions, which never reach X.
* ``cost_usd``: what posting the pick costs (or would have cost, for a shadow decision) at the
  flag snapshot's ``x_plan`` prices: the URL rate when the text it would post (``link_policy``)
  has a link. Known without a reward, so :func:`policy_costs` uses every decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from xbot.clock import as_utc
from xbot.errors import ValidationError
from xbot.flags import check_environment
from xbot.link_policy import final_text, has_url
from xbot.ope import estimate, target_probabilities
from xbot.services import Services
from xbot.x_pricing import load_pricing

COLUMNS = ["decision_id", "ts", "engine", "outcome", "action", "topic", "format", "hour",
           "propensity", "logged_epsilon", "n_eligible", "is_v1", "n_eligible_topic",
           "tweet_pk", "reward", "cost_usd"]  # fmt: skip

_SQL = """
select d.id as decision_id, d.ts, d.engine, d.outcome, d.content_hash as action, d.topic,
       d.format, d.hour, d.propensity,
       case when d.engine = 'v2' then (d.flags ->> 'epsilon')::float8 else 0.0 end
           as logged_epsilon,
       (d.context ->> 'eligible')::int
           - coalesce(jsonb_array_length(d.context -> 'rejected'), 0) as n_eligible,
       case when d.context -> 'rejected' @> jsonb_build_array(
                 jsonb_build_object('content_hash', d.context -> 'v1_choice')) then null
            when d.content_hash = d.context ->> 'v1_choice' then 1.0 else 0.0 end as is_v1,
       (d.context -> 'eligible_topics' ->> d.topic)::float8 as n_eligible_topic,
       d.tweet_pk, t.reward, c.text as candidate_text,
       d.flags ->> 'link_policy' as link_policy, d.flags ->> 'x_plan' as x_plan
from decisions d
left join tweets t on t.id = d.tweet_pk
left join candidates c on c.environment = d.environment and c.content_hash = d.content_hash
where d.environment = :e and d.ts > :since and d.ts <= :now
  and d.outcome in ('posted', 'shadow') and d.content_hash is not null
  and d.propensity is not null and d.context ? 'eligible'
  and not coalesce((d.context ->> 'dry_run')::boolean, false)
order by d.id
"""


def decision_log(
    services: Services, environment: str, *, days: float = 30.0, now: datetime | None = None
) -> pd.DataFrame:
    """Decisions of the last ``days`` days before ``now`` with their rewards (columns
    ``COLUMNS``; see the module docstring). Uses ``decisions_env_ts_idx``."""
    environment = check_environment(environment)
    now = as_utc(now)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= 36_500:
        raise ValidationError("days", days, "a number of days > 0 and at most 36500")
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(_SQL),
            {"e": environment, "since": now - timedelta(days=float(days)), "now": now},
        ).all()
    frame = pd.DataFrame(rows, columns=[*COLUMNS[:-1], "candidate_text", "link_policy", "x_plan"])
    frame["cost_usd"] = [_post_cost(r.candidate_text, r.link_policy, r.x_plan) for r in rows]
    frame = frame[COLUMNS]
    for name in ("propensity", "logged_epsilon", "n_eligible", "is_v1", "n_eligible_topic",
                 "reward", "cost_usd"):  # fmt: skip
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    frame["n_eligible"] = np.maximum(frame["n_eligible"], 1.0)
    return frame


def _post_cost(text: str | None, policy: str | None, plan: str | None) -> float | None:
    """One post of ``text`` under ``policy`` at ``plan``'s prices (None: the text is gone)."""
    if text is None:
        return None
    posted = final_text(text, policy or "keep")
    return load_pricing().plan(plan or None).post_cost(has_url(posted))


def _standard_policies(
    logs: pd.DataFrame, epsilons: Sequence[float]
) -> list[tuple[str, pd.DataFrame, Any]]:
    """(name, the decisions it can be estimated on, target) of the logged policy, ``epsilon E``
    (V2 decisions only, where the sampling part was logged) and ``V1``."""
    policies: list[tuple[str, pd.DataFrame, Any]] = [("logged", logs, "propensity")]
    policies += [
        (f"epsilon {e:g}", logs[logs["engine"] == "v2"],
         lambda d, e=e: target_probabilities(d, "epsilon", epsilon=e))
        for e in epsilons
    ]  # fmt: skip
    policies.append(("V1", logs[logs["is_v1"].notna()], lambda d: target_probabilities(d, "v1")))
    return policies


def policy_costs(
    logs: pd.DataFrame,
    *,
    epsilons: Sequence[float] = (0.1,),
    n_boot: int = 1000,
    seed: int = 0,
    mass: float = 0.95,
) -> list[dict[str, Any]]:
    """What each standard policy would spend on X per post (SNIPS with the post's price as the
    outcome): what links cost under the logged policy, V1 or another epsilon.

    A price is known for every decision, posted or shadowed, so no reward is needed. One row
    per policy: ``cost_usd`` per post with its bootstrap interval, or a ``note``.
    """
    known = logs[logs["cost_usd"].notna()].reset_index(drop=True)
    priced = known.assign(reward=known["cost_usd"])
    out: list[dict[str, Any]] = []
    for name, rows, target in _standard_policies(priced, epsilons):
        rows = rows.reset_index(drop=True)
        entry = {"policy": name, "decisions": len(rows)}
        try:
            est = estimate(rows, method="snips", target=target, n_boot=n_boot, seed=seed,
                           mass=mass)  # fmt: skip
        except ValidationError as exc:
            out.append({**entry, "cost_usd": None, "low": None, "high": None, "note": str(exc)})
            continue
        out.append({**entry, "cost_usd": est.value, "low": est.low, "high": est.high,
                    "note": ""})  # fmt: skip
    return out


def policy_estimates(
    logs: pd.DataFrame,
    *,
    epsilons: Sequence[float] = (0.1,),
    topics: Sequence[str] | None = None,
    methods: Sequence[str] = ("snips", "ips", "dr"),
    n_boot: int = 1000,
    seed: int = 0,
    mass: float = 0.95,
) -> list[dict[str, Any]]:
    """Off-policy estimates of the standard target policies on the decisions with a reward.

    Policies: the logged policy itself (``logged``, a reference), ``epsilon E`` for each of
    ``epsilons`` (the bandit with that floor; V2 decisions only, where the sampling part was
    logged), ``V1`` (highest priority first) and ``topic X only`` for each of ``topics``
    (default: every logged topic; ``[]`` for none). One row per (policy, method) with the
    estimate and its bootstrap interval, or a ``note`` saying why it could not be made.
    """
    done = logs[logs["reward"].notna()].reset_index(drop=True)
    policies = _standard_policies(done, epsilons)
    known = done[done["n_eligible_topic"].notna()]
    for topic in topics if topics is not None else sorted(done["topic"].dropna().unique()):
        policies.append(
            (f"topic {topic} only", known,
             lambda d, t=topic: target_probabilities(d, "topic", topic=t))
        )  # fmt: skip
    out: list[dict[str, Any]] = []
    for name, rows, target in policies:
        rows = rows.reset_index(drop=True)
        for method in methods:
            entry = {"policy": name, "method": method, "decisions": len(rows)}
            try:
                est = estimate(
                    rows, method=method, target=target, n_boot=n_boot, seed=seed, mass=mass
                )
            except ValidationError as exc:
                out.append({**entry, "value": None, "low": None, "high": None,
                            "note": str(exc)})  # fmt: skip
                continue
            out.append({**entry, "value": est.value, "low": est.low, "high": est.high,
                        "note": ""})  # fmt: skip
    return out
