"""V2-versus-V1 evidence and the runbook's rollout ladder: which phase next, and why.

The runbook rolls V2 out in phases: shadow (V2 off, nothing posted by it), learning (V2 picks
in shadow), gradual posting (post_fraction 0.1 -> 0.3 -> 0.7 -> 1.0) and full operation, with
"disable V2" as the emergency brake. :func:`recommend` turns the measured engagement of posts
by engine (and, before V2 has posted, an off-policy estimate) into one next step with the
evidence behind it, so the analyst reads a decision, not a pile of charts. It never changes a
flag: the operator does, with ``xbot config set``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

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
class Recommendation:
    phase: str
    action: str
    changes: dict[str, Any]
    evidence: list[str] = field(default_factory=list)


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
    end = now or datetime.now(UTC)
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


def recommend(
    flags: Flags,
    comparison: Comparison,
    *,
    ope_v2: tuple[float, float, float] | None = None,
    min_posts: int = 30,
    tolerance: float = 0.10,
) -> Recommendation:
    """The next rollout step and its evidence.

    Advance only when V2 is shown not worse than V1 by more than ``tolerance`` (relative) at
    the lower end of its 94% interval, on at least ``min_posts`` measured posts per engine;
    roll back when V2 is worse at the upper end; hold otherwise. Before V2 has posted, its
    off-policy estimate ``ope_v2`` = (value, low, high) stands in for measured posts.
    """
    phase = phase_of(flags)
    v1, v2 = comparison.v1, comparison.v2
    evidence = [
        f"V1: {v1.posts} measured posts, mean engagement {_pct(v1.mean)} "
        f"(94% {_pct(v1.low)}–{_pct(v1.high)})",
        f"V2: {v2.posts} measured posts, mean engagement {_pct(v2.mean)} "
        f"(94% {_pct(v2.low)}–{_pct(v2.high)})",
    ]
    if comparison.diff is not None:
        evidence.append(
            f"V2 − V1: {_pct(comparison.diff)} "
            f"(94% {_pct(comparison.diff_low)}–{_pct(comparison.diff_high)}), "
            f"last {comparison.window_days:g} days"
        )
    floor = None if v1.mean is None else -tolerance * v1.mean

    if not flags.learning_engine_v2:
        if v1.posts < min_posts:
            return Recommendation(
                phase, f"hold: collect a V1 baseline ({v1.posts}/{min_posts} measured posts)",
                {}, evidence,
            )  # fmt: skip
        return Recommendation(
            phase, "advance to phase 2: enable V2 in shadow (post_fraction stays 0)",
            {"learning_engine_v2": True, "post_fraction": 0.0}, evidence,
        )  # fmt: skip

    if flags.post_fraction == 0:
        if ope_v2 is None or v1.mean is None:
            return Recommendation(
                phase, "hold: no off-policy estimate of V2 yet (needs logged decisions with "
                "propensities and measured V1 posts)", {}, evidence,
            )  # fmt: skip
        value, low, high = ope_v2
        evidence.append(f"V2 off-policy estimate: {_pct(value)} (94% {_pct(low)}–{_pct(high)})")
        if low - v1.mean >= floor:
            return Recommendation(
                phase, "advance to phase 3: post 10% of picks with V2",
                {"post_fraction": LADDER[0]}, evidence,
            )  # fmt: skip
        return Recommendation(
            phase, "hold: V2's estimate is not yet shown close enough to V1", {}, evidence
        )

    if v2.posts < min_posts or comparison.diff_low is None or floor is None:
        return Recommendation(
            phase, f"hold at post_fraction {flags.post_fraction:g}: too few measured V2 posts "
            f"({v2.posts}/{min_posts})", {}, evidence,
        )  # fmt: skip
    if comparison.diff_high is not None and comparison.diff_high < floor:
        return Recommendation(
            phase, "roll back: V2 engages clearly worse than V1 (the runbook's emergency "
            "'Disable V2 System')", {"learning_engine_v2": False}, evidence,
        )  # fmt: skip
    if comparison.diff_low >= floor:
        if flags.post_fraction >= 1:
            return Recommendation(phase, "hold: full V2 operation is healthy", {}, evidence)
        nxt = _next_fraction(flags.post_fraction)
        return Recommendation(
            phase, f"advance: raise post_fraction to {nxt:g}", {"post_fraction": nxt}, evidence
        )
    return Recommendation(
        phase, f"hold at post_fraction {flags.post_fraction:g}: the interval still allows V2 "
        f"to be more than {tolerance:.0%} worse than V1", {}, evidence,
    )  # fmt: skip
