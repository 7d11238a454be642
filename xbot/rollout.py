"""V2-versus-V1 evidence and the runbook's rollout ladder: which phase next, and why.

The runbook rolls V2 out in phases: shadow (V2 off, nothing posted by it), learning (V2 picks
in shadow), gradual posting (post_fraction 0.1 -> 0.3 -> 0.7 -> 1.0) and full operation, with
"disable V2" as the emergency brake. :func:`recommend` turns the evidence into one next step
with the exact ``xbot config set`` commands, so the analyst reads a decision, not a pile of
charts (``xbot rollout status`` and the explorer notebook print the same). It never changes a
flag: the operator does.

Evidence, best first:

* **Same slots** (:func:`same_slot_comparison`): V2's measured posts against what V1 would
  have posted in those very slots. Every decision logs V1's choice (``context.v1_choice``, the
  highest priority), so V1's engagement on V2's slots is an off-policy estimate: doubly robust,
  with a topic x format reward model fitted on the window's measured posts, and a paired
  bootstrap interval of the difference. Hours, queue contents and news are the same on both
  sides, so they cannot pass for a difference between the engines.
* **Calendar windows** (:func:`compare_engines`): the mean engagement of each engine's posts in
  the window. During a rollout V1 posted in the first phase and V2 later, so this compares
  different weeks; it is used only while there are too few same-slot decisions, and says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from xbot.clock import as_utc
from xbot.flags import Flags
from xbot.services import Services

LADDER = (0.1, 0.3, 0.7, 1.0)
Z94 = 1.881  # two-sided 94% normal quantile, the interval width used across xbot's reports


@dataclass(frozen=True)
class EngineStats:
    """Mean engagement rate of one engine's measured posts, with a 94% interval."""

    engine: str
    posts: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Comparison:
    """V2 minus V1 mean engagement rate (Welch normal interval) over a window."""

    v1: EngineStats
    v2: EngineStats
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    window_days: float


@dataclass(frozen=True)
class SameSlots:
    """V2's posts against V1's choice on the same slots (see the module docstring).

    ``decisions``: V2's measured posts whose V1 choice is known; ``matches``: how many of them
    posted V1's choice anyway (the only slots where V1's outcome was observed, the rest is the
    reward model's). Rates are engagements / impressions; intervals are 94%.
    """

    decisions: int
    matches: int
    v2: float
    v2_low: float
    v2_high: float
    v1: float
    v1_low: float
    v1_high: float
    diff: float
    diff_low: float
    diff_high: float
    window_days: float


@dataclass(frozen=True)
class Recommendation:
    """The next rollout step: ``changes`` are flag values, ``basis`` names the evidence used."""

    phase: str
    action: str
    changes: dict[str, Any]
    evidence: list[str] = field(default_factory=list)
    basis: str = "none"
    environment: str = ""

    @property
    def commands(self) -> list[str]:
        """The exact commands that apply :attr:`changes` (the operator runs them)."""
        env = f" --env {self.environment}" if self.environment else ""
        return [
            f"xbot config set {name} {json.dumps(value)}{env}"
            for name, value in self.changes.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "phase": self.phase,
            "action": self.action,
            "changes": self.changes,
            "commands": self.commands,
            "basis": self.basis,
            "evidence": self.evidence,
        }


def _stats(engine: str, rates: list[float]) -> tuple[EngineStats, float | None]:
    n = len(rates)
    if n == 0:
        return EngineStats(engine, 0, None, None, None), None
    mean = sum(rates) / n
    var = sum((r - mean) ** 2 for r in rates) / (n - 1) if n > 1 else 0.0
    se = math.sqrt(var / n) if n > 1 else None
    if se is None:
        return EngineStats(engine, n, mean, None, None), None
    return EngineStats(engine, n, mean, mean - Z94 * se, mean + Z94 * se), se


def compare_engines(
    services: Services, environment: str, *, window_days: float = 7, now: datetime | None = None
) -> Comparison:
    """Per-post engagement rates of measured posts by engine over the window, compared."""
    end = as_utc(now)
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select engine, engagements::float / impressions as rate from tweets "
                "where environment = :env and status = 'posted' and impressions > 0 "
                "and engine in ('v1', 'v2') and posted_at > :start and posted_at <= :end"
            ),
            {"env": environment, "start": end - timedelta(days=window_days), "end": end},
        ).all()
    v1, se1 = _stats("v1", [r.rate for r in rows if r.engine == "v1"])
    v2, se2 = _stats("v2", [r.rate for r in rows if r.engine == "v2"])
    if v1.mean is None or v2.mean is None:
        return Comparison(v1, v2, None, None, None, window_days)
    diff = v2.mean - v1.mean
    if se1 is None or se2 is None:
        return Comparison(v1, v2, diff, None, None, window_days)
    se = math.sqrt(se1**2 + se2**2)
    return Comparison(v1, v2, diff, diff - Z94 * se, diff + Z94 * se, window_days)


MASS = 0.94
_PRIOR_IMPRESSIONS = 2000.0  # shrinkage of the reward model's cells toward their parent


def _reward_model(posts: pd.DataFrame) -> Any:
    """Engagement rate by (topic, format): cells shrunk toward their topic, topics toward the
    window's overall rate, each by ``_PRIOR_IMPRESSIONS`` impressions of evidence."""
    overall = posts["engagements"].sum() / max(posts["impressions"].sum(), 1)

    def shrunk(frame: pd.DataFrame, keys: list[str], parent: Any) -> dict[Any, float]:
        sums = frame.groupby(keys)[["engagements", "impressions"]].sum()
        return {
            key: (row.engagements + _PRIOR_IMPRESSIONS * parent(key)) / (
                row.impressions + _PRIOR_IMPRESSIONS)
            for key, row in sums.iterrows()
        }  # fmt: skip

    by_topic = shrunk(posts, ["topic"], lambda _key: overall)
    by_cell = shrunk(posts, ["topic", "format"], lambda key: by_topic.get(key[0], overall))

    def predict(topic: Any, format: Any) -> float:
        return by_cell.get((topic, format), by_topic.get(topic, overall))

    return predict


def same_slot_estimate(
    logs: pd.DataFrame, posts: pd.DataFrame, *, window_days: float, n_boot: int = 1000,
    seed: int = 0,
) -> SameSlots | None:  # fmt: skip
    """:class:`SameSlots` from V2's posted decisions (columns ``reward`` = engagement rate,
    ``propensity``, ``is_v1``, ``n_eligible``, ``topic``, ``format``, ``v1_topic``,
    ``v1_format``) and the window's measured posts (``topic, format, engagements,
    impressions``, the reward model's data). None when there is no such decision."""
    from xbot.ope import dr_difference, estimate, target_probabilities

    rows = logs[logs["reward"].notna() & logs["is_v1"].notna()].reset_index(drop=True)
    if rows.empty or posts.empty:
        return None
    predict = _reward_model(posts)
    rows = rows.assign(
        q_logged=[predict(t, f) for t, f in zip(rows["topic"], rows["format"], strict=True)],
        q_v1=[predict(t, f) for t, f in zip(rows["v1_topic"], rows["v1_format"], strict=True)],
    )
    v1_pick = lambda d: target_probabilities(d, "v1")  # noqa: E731 - V1 takes its choice
    common = {"n_boot": n_boot, "seed": seed, "mass": MASS}
    v2 = estimate(rows, method="snips", target="propensity", **common)  # on-policy mean
    v1 = estimate(
        rows, method="dr", target=v1_pick, **common,
        reward_model=lambda d: (d["q_logged"].to_numpy(), d["q_v1"].to_numpy()),
    )  # fmt: skip
    diff = dr_difference(rows, target=v1_pick, q_logged="q_logged", q_target="q_v1", **common)
    return SameSlots(
        decisions=len(rows), matches=int(rows["is_v1"].sum()),
        v2=v2.value, v2_low=v2.low, v2_high=v2.high,
        v1=v1.value, v1_low=v1.low, v1_high=v1.high,
        diff=diff.value, diff_low=diff.low, diff_high=diff.high, window_days=window_days,
    )  # fmt: skip


_SAME_SLOT_SQL = """
select d.id as decision_id, c.topic as v1_topic, c.format as v1_format,
       t.engagements::float8 / t.impressions as rate
from decisions d
join tweets t on t.id = d.tweet_pk
left join candidates c
       on c.environment = d.environment and c.content_hash = d.context ->> 'v1_choice'
where d.environment = :env and d.engine = 'v2' and d.outcome = 'posted'
  and d.ts > :start and d.ts <= :end and t.impressions > 0
"""

_POSTS_SQL = """
select topic, metadata ->> 'format' as format, engagements, impressions from tweets
where environment = :env and status = 'posted' and impressions > 0
  and engagements <= impressions and posted_at > :start and posted_at <= :end
"""


def same_slot_comparison(
    services: Services, environment: str, *, window_days: float = 14,
    now: datetime | None = None,
) -> SameSlots | None:  # fmt: skip
    """V2's measured posts of the window against V1's choice on the same slots."""
    from xbot.decision_log import decision_log

    end = as_utc(now)
    params = {"env": environment, "start": end - timedelta(days=window_days), "end": end}
    logs = decision_log(services, environment, days=window_days, now=end)
    with services.engine.connect() as conn:
        extra = pd.DataFrame(conn.execute(sa.text(_SAME_SLOT_SQL), params).mappings().all())
        posts = pd.DataFrame(conn.execute(sa.text(_POSTS_SQL), params).mappings().all())
    if extra.empty or posts.empty:
        return None
    v2 = logs[(logs["engine"] == "v2") & (logs["outcome"] == "posted")]
    rows = v2.drop(columns=["reward"]).merge(extra, on="decision_id", how="inner")
    rows = rows.rename(columns={"rate": "reward"})
    rows["reward"] = rows["reward"].astype(float)
    for name in ("engagements", "impressions"):
        posts[name] = posts[name].astype(float)
    return same_slot_estimate(rows, posts, window_days=window_days)


def phase_of(flags: Flags) -> str:
    if not flags.learning_engine_v2:
        return "1 shadow (V1 only)" if flags.post_fraction == 0 else "V1 posting"
    if flags.post_fraction == 0:
        return "2 learning (V2 in shadow)"
    if flags.post_fraction < 1:
        return f"3 gradual rollout (post_fraction {flags.post_fraction:g})"
    return "4 full V2 operation"


def _next_fraction(current: float) -> float:
    return next((f for f in LADDER if f > current + 1e-9), 1.0)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _engine_evidence(comparison: Comparison, *, used: bool) -> list[str]:
    v1, v2 = comparison.v1, comparison.v2
    tag = "" if used else " [not used: V1 and V2 posted on different days]"
    lines = [
        f"Calendar windows{tag}: V1 {v1.posts} measured posts, mean engagement {_pct(v1.mean)} "
        f"(94% {_pct(v1.low)}–{_pct(v1.high)}); V2 {v2.posts} posts, {_pct(v2.mean)} "
        f"(94% {_pct(v2.low)}–{_pct(v2.high)})",
    ]
    if comparison.diff is not None:
        lines.append(
            f"Calendar V2 − V1: {_pct(comparison.diff)} "
            f"(94% {_pct(comparison.diff_low)}–{_pct(comparison.diff_high)}), "
            f"last {comparison.window_days:g} days{tag}"
        )
    return lines


def _same_slot_evidence(same: SameSlots, *, min_posts: int) -> list[str]:
    used = same.decisions >= min_posts
    tag = "[used]" if used else f"[not used: {same.decisions}/{min_posts} decisions]"
    return [
        f"Same slots {tag}: V2's {same.decisions} measured posts of the last "
        f"{same.window_days:g} days engaged {_pct(same.v2)} (94% {_pct(same.v2_low)}–"
        f"{_pct(same.v2_high)})",
        f"Same slots: V1's choice in those slots, off-policy (doubly robust, topic × format "
        f"reward model; V2 took V1's choice in {same.matches} of them): {_pct(same.v1)} "
        f"(94% {_pct(same.v1_low)}–{_pct(same.v1_high)})",
        f"Same slots V2 − V1: {_pct(same.diff)} (94% {_pct(same.diff_low)}–"
        f"{_pct(same.diff_high)}, paired)",
    ]


def recommend(
    flags: Flags,
    comparison: Comparison,
    *,
    same_slots: SameSlots | None = None,
    ope_v2: tuple[float, float, float] | None = None,
    min_posts: int = 30,
    tolerance: float = 0.10,
    environment: str = "",
) -> Recommendation:
    """The next rollout step and its evidence.

    Advance only when V2 is shown not worse than V1 by more than ``tolerance`` (relative to
    V1) at the lower end of the 94% interval of V2 − V1, on at least ``min_posts`` measured V2
    posts; roll back when V2 is worse than that at the upper end; hold otherwise. V2 − V1 comes
    from ``same_slots`` when it covers ``min_posts`` decisions, else from the calendar windows
    of ``comparison`` (confounded by time; the evidence says which was used). Before V2 has
    posted, its off-policy estimate ``ope_v2`` = (value, low, high) on V1's logs stands in.
    """
    phase = phase_of(flags)
    v1, v2 = comparison.v1, comparison.v2
    use_same = same_slots is not None and same_slots.decisions >= min_posts
    evidence = [] if same_slots is None else _same_slot_evidence(same_slots, min_posts=min_posts)
    evidence += _engine_evidence(comparison, used=not use_same)

    def out(
        action: str, changes: dict[str, Any] | None = None, basis: str = "none"
    ) -> Recommendation:
        return Recommendation(phase, action, changes or {}, evidence, basis, environment)

    if not flags.learning_engine_v2:
        if v1.posts < min_posts:
            return out(f"hold: collect a V1 baseline ({v1.posts}/{min_posts} measured posts)",
                       basis="calendar")  # fmt: skip
        return out(
            "advance to phase 2: enable V2 in shadow (post_fraction stays 0)",
            {"learning_engine_v2": True, "post_fraction": 0.0}, "calendar",
        )  # fmt: skip

    if flags.post_fraction == 0:
        if ope_v2 is None or v1.mean is None:
            return out(
                "hold: no off-policy estimate of V2 yet (needs logged decisions with "
                "propensities and measured V1 posts)"
            )
        value, low, high = ope_v2
        evidence.append(
            f"V2 off-policy estimate [used]: {_pct(value)} (94% {_pct(low)}–{_pct(high)})"
        )
        if low - v1.mean >= -tolerance * v1.mean:
            return out("advance to phase 3: post 10% of picks with V2",
                       {"post_fraction": LADDER[0]}, "off-policy V2")  # fmt: skip
        return out("hold: V2's estimate is not yet shown close enough to V1",
                   basis="off-policy V2")  # fmt: skip

    if use_same:
        basis, baseline = "same slots", same_slots.v1
        diff_low, diff_high, posts = same_slots.diff_low, same_slots.diff_high, same_slots.decisions
    else:
        basis, baseline = "calendar", v1.mean
        diff_low, diff_high, posts = comparison.diff_low, comparison.diff_high, v2.posts
    if posts < min_posts or diff_low is None or diff_high is None or baseline is None:
        return out(
            f"hold at post_fraction {flags.post_fraction:g}: too few measured V2 posts "
            f"({posts}/{min_posts})", basis=basis,
        )  # fmt: skip
    floor = -tolerance * baseline
    if diff_high < floor:
        return out(
            "roll back: V2 engages clearly worse than V1 (the runbook's emergency "
            "'Disable V2 System')", {"learning_engine_v2": False}, basis,
        )  # fmt: skip
    if diff_low >= floor:
        if flags.post_fraction >= 1:
            return out("hold: full V2 operation is healthy", basis=basis)
        nxt = _next_fraction(flags.post_fraction)
        return out(f"advance: raise post_fraction to {nxt:g}", {"post_fraction": nxt}, basis)
    return out(
        f"hold at post_fraction {flags.post_fraction:g}: the interval still allows V2 "
        f"to be more than {tolerance:.0%} worse than V1", basis=basis,
    )  # fmt: skip


def status(
    services: Services, environment: str, *, window_days: float = 14,
    now: datetime | None = None,
) -> Recommendation:  # fmt: skip
    """What ``xbot rollout status`` prints: the flags, every piece of evidence, the step."""
    from xbot.decision_log import decision_log, policy_estimates
    from xbot.flags import load_flags

    with services.engine.connect() as conn:
        current = load_flags(conn, environment)
    comparison = compare_engines(services, environment, window_days=window_days, now=now)
    same = same_slot_comparison(services, environment, window_days=window_days, now=now)
    ope_v2 = None
    if current.learning_engine_v2 and current.post_fraction == 0:
        logs = decision_log(services, environment, days=window_days, now=now)
        if logs["reward"].notna().any():
            rows = policy_estimates(logs, epsilons=(current.epsilon,), topics=[],
                                    methods=("dr",), mass=MASS)  # fmt: skip
            est = next((r for r in rows if r["policy"].startswith("epsilon")), None)
            if est is not None and est["value"] is not None:
                ope_v2 = (est["value"], est["low"], est["high"])
    return recommend(current, comparison, same_slots=same, ope_v2=ope_v2, environment=environment)
