"""The reward rule and metric cleaning: what a post's numbers mean to the bandit.

Separate from the learning loop (:mod:`xbot.learning`) because the scheduler needs the same
baseline to turn model estimates into priors (:func:`xbot.model.flag_prior`) without
importing the loop.

Reward (:class:`RewardRule`, documented in docs/learning.md §6): a post's engagement rate =
(likes + retweets + replies + quotes + bookmarks) / impressions is compared with the median rate
of the posts learned in the previous ``window_days`` (``fallback`` = 0.03 when fewer than
``min_history`` such posts exist), adjusted for the post's hour of day (:func:`hour_offsets`:
posts at 20:00 beat a 04:00 post's numbers without saying anything about their topic), and
scored 1.0 / 0.0 for strictly above / not (``binary``, the default) or
``1 / (1 + (threshold / rate) ** steepness)`` in [0, 1] (``graded``, 0.5 at the threshold). Bad
metrics (missing, NaN, negative, zero impressions, more engagements than impressions) are
skipped and counted.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa

from xbot.errors import ValidationError

COUNTS = ("likes", "retweets", "replies", "quotes", "bookmarks")
REQUIRED = ("likes", "retweets", "replies", "impressions")  # quotes/bookmarks default to 0


@dataclass(frozen=True)
class RewardRule:
    """The reward definition: how far a post beat the rolling median engagement rate of recent
    learned posts, at its hour of day.

    ``shape``: ``"binary"`` (default): 1.0 strictly above the threshold, else 0.0;
    ``"graded"`` scores ``1 / (1 + (threshold / rate) ** steepness)``, a logistic curve in
    log(rate / threshold): 0.5 at the threshold, ~0.73 at 1.28x it, ~0.88 at 1.64x it with
    ``steepness`` 4, bounded, so one low-impression outlier cannot dominate an arm. Measured
    in docs/learning.md §6: graded alone explores more (its outcomes are less spread than the
    Beta posterior assumes) and captured less lift than binary, so binary stays the default. ``hour_band``: the hours on
    either side of a post's local hour whose recent posts set its hour offset
    (:func:`hour_offsets`); -1 switches the hour adjustment off (threshold = the median).
    ``hour_shrink``: pseudo-posts of zero offset added to each band, so a band with few posts
    moves the threshold little. ``shape="binary", hour_band=-1`` is the rule before issue 13.
    """

    window_days: float = 7.0
    fallback: float = 0.03
    min_history: int = 10
    shape: Literal["graded", "binary"] = "binary"
    steepness: float = 4.0
    hour_band: int = 2
    hour_shrink: float = 5.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_days) and self.window_days > 0):
            raise ValidationError("window_days", self.window_days, "a number > 0")
        if not (math.isfinite(self.fallback) and 0 <= self.fallback <= 1):
            raise ValidationError("fallback", self.fallback, "a number from 0 to 1")
        if not (isinstance(self.min_history, int) and self.min_history >= 1):
            raise ValidationError("min_history", self.min_history, "an integer >= 1")
        if self.shape not in ("graded", "binary"):
            raise ValidationError("shape", self.shape, "'graded' or 'binary'")
        if not (isinstance(self.steepness, (int, float)) and 0 < self.steepness <= 100):
            raise ValidationError("steepness", self.steepness, "a number > 0 and <= 100")
        band = self.hour_band
        if isinstance(band, bool) or not isinstance(band, int) or not -1 <= band <= 11:
            raise ValidationError("hour_band", band, "an integer from -1 (off) to 11")
        if not (isinstance(self.hour_shrink, (int, float)) and 0 <= self.hour_shrink < 1e6):
            raise ValidationError("hour_shrink", self.hour_shrink, "a number >= 0")

    def rewards(self, rate: np.ndarray, baseline: float, offset: np.ndarray) -> np.ndarray:
        """Each post's reward from its rate, the median ``baseline`` and its hour ``offset``
        (log scale, :func:`hour_offsets` at the post's hour): threshold = baseline x e^offset.

        Binary with a zero offset is exactly ``rate > baseline``.
        """
        rate = np.asarray(rate, dtype=float)
        threshold = baseline * np.exp(np.asarray(offset, dtype=float))
        if self.shape == "binary":
            return (rate > threshold).astype(float)
        with np.errstate(divide="ignore", over="ignore"):
            ratio = np.where(rate > 0, threshold / np.where(rate > 0, rate, 1.0), np.inf)
            return 1.0 / (1.0 + ratio**self.steepness)


def _count(value: Any) -> int | None:
    """A metric count as int, or None when it is not a finite non-negative whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0 and value.is_integer():
        return int(value)
    return None


def clean_metrics(raw: Any) -> tuple[dict[str, int] | None, str]:
    """Validate one post's metrics: (clean counts, "") or (None, reason it was skipped)."""
    if not isinstance(raw, Mapping):
        return None, "invalid"
    out: dict[str, int] = {}
    for name, value in raw.items():
        n = _count(value)
        if n is None:
            return None, "invalid"
        out[str(name)] = n
    if any(k not in out for k in REQUIRED):
        return None, "invalid"
    for name in COUNTS:
        out.setdefault(name, 0)
    if out["impressions"] == 0:
        return None, "zero_impressions"
    if sum(out[k] for k in COUNTS) > out["impressions"]:
        return None, "invalid"
    return out, ""


def engagement_rate(metrics: Mapping[str, int]) -> float:
    return sum(metrics[k] for k in COUNTS) / metrics["impressions"]


def performance_tier(rate: float, baseline: float) -> str:
    """top (>= 2x the baseline median), above (> it), below (>= half of it), low (the rest)."""
    if rate > baseline and rate >= 2 * baseline:
        return "top"
    if rate > baseline:
        return "above"
    if rate >= 0.5 * baseline:
        return "below"
    return "low"


def _history(
    conn: sa.Connection, environment: str, now: datetime, rule: RewardRule
) -> list[tuple[float | None, int | None]]:
    """(rate, local hour) of the posts learned from in the rule's window before ``now``."""
    rows = conn.execute(
        sa.text(
            "select engagements::double precision / impressions, hour from tweets "
            "where environment = :e and status = 'posted' and learned_cycle_id is not null "
            "and posted_at > :since and posted_at <= :now"
        ),
        {"e": environment, "since": now - timedelta(days=rule.window_days), "now": now},
    ).all()
    return [(row[0], row[1]) for row in rows]


def baseline_median(
    conn: sa.Connection, environment: str, now: datetime, rule: RewardRule
) -> float:
    """Median engagement rate of posts learned from in the rule's window before ``now``.

    Read from the generated ``engagements`` and ``impressions`` columns, not the jsonb: a
    learned post's counts are written with its rate in one UPDATE and never again, and the
    float8 division is the same correctly rounded double as Python's.
    """
    rates = [rate for rate, _ in _history(conn, environment, now, rule)]
    history = [r for r in rates if r is not None and math.isfinite(r)]
    if len(history) < rule.min_history:
        return rule.fallback
    return float(statistics.median(history))


# a rate's log deviation counts at most this much in an hour offset (a zero-engagement post)
_MAX_DEVIATION = 3.0


def hour_offsets(
    conn: sa.Connection, environment: str, now: datetime, rule: RewardRule
) -> np.ndarray:
    """Per local hour 0-23, the log factor by which that time of day's posts beat the rest.

    Over the posts learned in the rule's window before ``now`` (as :func:`baseline_median`):
    ``x_i = log(rate_i / median)``, clipped to +-3 (a zero-engagement post counts as e^-3), and
    for hour h with n_h posts within ``hour_band`` hours of h (circularly)

        offset_h = n_h / (n_h + hour_shrink) * (mean of x over the band - mean of x overall)

    so an account posting at one hour only gets offset 0, and a band with few posts moves its
    threshold little. Why: the slot's hour moves a post's rate as much as its topic does
    (SimWorld: an evening peak of +-0.6 log-odds), but every candidate of a slot shares it, so
    it never decides a pick; left in the reward it is noise in every other family's evidence.
    Zeros when the adjustment is off or fewer than ``min_history`` posts exist (the threshold
    is then the plain median).
    """
    out = np.zeros(24)
    if rule.hour_band < 0:
        return out
    rows = [(r, h) for r, h in _history(conn, environment, now, rule) if h is not None]
    rate = np.array([r for r, _ in rows], dtype=float)
    hour = np.array([h for _, h in rows], dtype=np.int64)
    return offsets_of(rate, hour, rule)


def offsets_of(rate: np.ndarray, hour: np.ndarray, rule: RewardRule) -> np.ndarray:
    """:func:`hour_offsets` of given history rates and their local hours (no database)."""
    out = np.zeros(24)
    ok = np.isfinite(rate)
    rate, hour = rate[ok], hour[ok]
    if rule.hour_band < 0 or rate.size < rule.min_history:
        return out
    median = float(np.median(rate))
    if median <= 0:
        return out
    with np.errstate(divide="ignore"):
        x = np.clip(np.log(rate / median), -_MAX_DEVIATION, _MAX_DEVIATION)
    overall = x.sum() / x.size
    for h in range(24):
        gap = np.abs(hour - h) % 24
        near = np.minimum(gap, 24 - gap) <= rule.hour_band
        n = int(near.sum())
        if n:
            out[h] = n / (n + rule.hour_shrink) * (x[near].sum() / n - overall)
    return out


@dataclass
class CleanBatch:
    """Validated metrics of many posts, as arrays (row i is post ``index[i]`` of the batch)."""

    index: np.ndarray  # positions in the fetched batch
    counts: np.ndarray  # int64 (n, 6): COUNTS then impressions
    extra: list[str | None]  # other metric fields (e.g. non-public ones) as JSON, or None


def clean_batch(raws: list[Any], skipped: dict[str, int]) -> CleanBatch:
    """:func:`clean_metrics` for a whole batch, vectorised.

    Posts are grouped by their field names (an API answer has one shape for every post); a
    group whose values are all plain ints is checked with numpy, any other group goes through
    :func:`clean_metrics` post by post, so the verdicts are exactly the per-post ones.
    """
    columns = (*COUNTS, "impressions")
    by_shape: dict[tuple[str, ...] | None, list[int]] = {}
    for i, raw in enumerate(raws):
        shape = tuple(raw) if type(raw) is dict else None
        by_shape.setdefault(shape, []).append(i)
    index: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    extra: list[str | None] = []

    def slow(rows: list[int]) -> None:
        kept, values, extras = [], [], []
        for i in rows:
            metrics, reason = clean_metrics(raws[i])
            if metrics is None:
                skipped[reason] += 1
                continue
            kept.append(i)
            values.append([metrics[k] for k in columns])
            others = {k: v for k, v in metrics.items() if k not in columns}
            extras.append(json.dumps(others) if others else None)
        if kept:
            index.append(np.asarray(kept, dtype=np.int64))
            counts.append(np.asarray(values, dtype=np.int64).reshape(-1, len(columns)))
            extra.extend(extras)

    for shape, rows in by_shape.items():
        if shape is None or not all(isinstance(k, str) for k in shape):
            slow(rows)
            continue
        if any(k not in shape for k in REQUIRED):
            skipped["invalid"] += len(rows)
            continue
        flat = [raws[i][k] for i in rows for k in shape]
        if set(map(type, flat)) - {int}:
            slow(rows)  # floats, bools, strings, None, NaN: the per-post rules decide
            continue
        try:
            matrix = np.array(flat, dtype=np.int64).reshape(len(rows), len(shape))
        except OverflowError:
            slow(rows)
            continue
        position = {k: j for j, k in enumerate(shape)}
        zero = np.zeros(len(rows), dtype=np.int64)
        table = np.column_stack([matrix[:, position[k]] if k in position else zero
                                 for k in columns])  # fmt: skip
        negative = (matrix < 0).any(axis=1)
        no_impressions = ~negative & (table[:, -1] == 0)
        too_many = ~negative & ~no_impressions & (table[:, :-1].sum(axis=1) > table[:, -1])
        ok = ~(negative | no_impressions | too_many)
        skipped["invalid"] += int(negative.sum() + too_many.sum())
        skipped["zero_impressions"] += int(no_impressions.sum())
        if not ok.any():
            continue
        index.append(np.asarray(rows, dtype=np.int64)[ok])
        counts.append(table[ok])
        others = [k for k in shape if k not in columns]
        if others:
            template = "{" + ", ".join(f"{json.dumps(k)}: %d" for k in others) + "}"
            picked = matrix[ok][:, [position[k] for k in others]].tolist()
            extra.extend(template % tuple(v) for v in picked)
        else:
            extra.extend([None] * int(ok.sum()))
    if not index:
        return CleanBatch(np.zeros(0, np.int64), np.zeros((0, len(columns)), np.int64), [])
    order = np.argsort(np.concatenate(index), kind="stable")
    extra_sorted = [extra[j] for j in order.tolist()] if any(extra) else [None] * len(order)
    return CleanBatch(np.concatenate(index)[order], np.concatenate(counts)[order], extra_sorted)


def tiers(rate: np.ndarray, baseline: float) -> np.ndarray:
    """:func:`performance_tier` for an array of rates."""
    above = rate > baseline
    return np.select(
        [above & (rate >= 2 * baseline), above, rate >= 0.5 * baseline],
        ["top", "above", "below"],
        default="low",
    )
