"""A SIMULATED engagement world for the demo, the tests and the benchmarks.

Nothing here touches X: every number is made up, from a seed. The world has true engagement rates
per topic x hour x format (an additive logit model plus a small topic x format interaction),
log-normal impressions, engagements drawn out of the impressions at the true rate, and a
reporting delay (metrics appear about an hour after posting and are complete after a day), so
that the learning loop meets the same situations it meets on X: pending outcomes, noisy rates at
low impressions, and delayed rewards. With ``drift`` the topic effects are permuted halfway
through ``horizon_days`` so that the best topic changes and a learner has to forget.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from xbot.errors import ValidationError

__all__ = ["FORMATS", "METRIC_KEYS", "TOPICS", "SimWorld"]

TOPICS = (
    "gaming_fps",
    "gaming_battle_royale",
    "gaming_moba",
    "gaming_rpg",
    "gaming_indie",
    "gaming_esports",
    "gaming_strategy",
    "gaming_retro",
)
FORMATS = ("news", "hot_take", "question", "tip")
METRIC_KEYS = ("likes", "retweets", "replies", "quotes", "bookmarks", "impressions")

# Shares of an engagement by kind (simulated, roughly what gaming accounts see).
_KIND_SHARES = (0.62, 0.14, 0.12, 0.03, 0.09)


def _names(field: str, values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) < 2:
        raise ValidationError(field, values, "a sequence of at least 2 distinct names")
    out = tuple(values)
    if len(set(out)) != len(out) or not all(isinstance(v, str) and v for v in out):
        raise ValidationError(field, values, "a sequence of at least 2 distinct names")
    return out


class SimWorld:
    """Seeded true rates and metrics of a simulated gaming account (label: ``simulated``).

    ``base_rate``: typical engagement rate (engagements / impressions); ``spread``: standard
    deviation of topic effects on the logit scale (hour and format effects are smaller);
    ``median_impressions``/``impressions_sigma``: the log-normal impressions per post;
    ``start``: the day the world starts (``day`` counts from it); ``horizon_days``: with
    ``drift`` the topic effects change at ``horizon_days / 2``.
    """

    label = "simulated"

    def __init__(
        self,
        seed: int = 0,
        topics: Sequence[str] = TOPICS,
        formats: Sequence[str] = FORMATS,
        drift: bool = False,
        *,
        base_rate: float = 0.03,
        spread: float = 0.5,
        median_impressions: float = 800.0,
        impressions_sigma: float = 0.9,
        horizon_days: float = 365.0,
        start: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValidationError("seed", seed, "a non-negative integer")
        self.seed = seed
        self.topics = _names("topics", topics)
        self.formats = _names("formats", formats)
        self.drift = bool(drift)
        checks = (
            ("base_rate", base_rate, 0.0, 0.5),
            ("spread", spread, 0.0, 3.0),
            ("median_impressions", median_impressions, 1.0, 1e7),
            ("impressions_sigma", impressions_sigma, 0.0, 3.0),
            ("horizon_days", horizon_days, 0.0, 1e5),
        )
        for name, value, lo, hi in checks:
            if not isinstance(value, (int, float)) or not lo < float(value) <= hi:
                raise ValidationError(name, value, f"a number greater than {lo} and at most {hi}")
        if start.tzinfo is None:
            raise ValidationError("start", start, "a timezone-aware datetime")
        self.base_rate = float(base_rate)
        self.median_impressions = float(median_impressions)
        self.impressions_sigma = float(impressions_sigma)
        self.horizon_days = float(horizon_days)
        self.start = start

        rng = np.random.default_rng([seed, 0x51A])
        self._topic = rng.normal(0.0, spread, len(self.topics))
        # After the drift point the best topic becomes one of the worse half, and vice versa.
        order = np.argsort(self._topic)
        self._topic_late = self._topic.copy()
        self._topic_late[order] = self._topic[order[::-1]]
        self._format = rng.normal(0.0, spread * 0.5, len(self.formats))
        self._pair = rng.normal(0.0, spread * 0.2, (len(self.topics), len(self.formats)))
        # Evenings are best, nights worst; the peak hour varies by seed.
        peak = 19.0 + rng.normal(0.0, 1.5)
        hours = np.arange(24)
        self._hour = 0.6 * np.cos(2 * np.pi * (hours - peak) / 24.0) + rng.normal(0.0, 0.1, 24)
        self._intercept = math.log(self.base_rate / (1.0 - self.base_rate))

    # -- truth --------------------------------------------------------------------------------
    def _index(self, topic: str, hour: int, format: str) -> tuple[int, int, int]:
        if topic not in self.topics:
            raise ValidationError("topic", topic, "one of " + ", ".join(self.topics))
        if format not in self.formats:
            raise ValidationError("format", format, "one of " + ", ".join(self.formats))
        if isinstance(hour, bool) or not isinstance(hour, (int, np.integer)) or not 0 <= hour < 24:
            raise ValidationError("hour", hour, "an integer from 0 to 23")
        return self.topics.index(topic), int(hour), self.formats.index(format)

    def true_rate(self, topic: str, hour: int, format: str, *, day: float = 0.0) -> float:
        """The expected engagement rate of a post (simulated ground truth)."""
        t, h, f = self._index(topic, hour, format)
        return float(self.rates(day=day)[t, h, f])

    def rates(self, *, day: float = 0.0) -> np.ndarray:
        """All true rates on ``day`` as an array [topic, hour, format] (for vectorised use)."""
        topic = self._topic_late if self.drift and day >= self.horizon_days / 2 else self._topic
        logit = (
            self._intercept
            + topic[:, None, None]
            + self._hour[None, :, None]
            + self._format[None, None, :]
            + self._pair[:, None, :]
        )
        return 1.0 / (1.0 + np.exp(-logit))

    def best_topic(self, *, day: float = 0.0) -> str:
        """The topic with the highest rate averaged over hours and formats on ``day``."""
        return self.topics[int(self.rates(day=day).mean(axis=(1, 2)).argmax())]

    # -- observed metrics ---------------------------------------------------------------------
    @staticmethod
    def reported_fraction(age_hours: float) -> float:
        """Share of the final metrics visible ``age_hours`` after posting.

        0 before one hour, 1 from 24 hours, and logarithmic in between (most engagement comes
        early, the tail trickles in), so a learner that waits for 24 h sees complete numbers.
        """
        if age_hours < 1.0:
            return 0.0
        if age_hours >= 24.0:
            return 1.0
        return math.log(age_hours) / math.log(24.0)

    def metrics_for(
        self,
        post_key: str,
        topic: str,
        hour: int,
        format: str,
        posted_at: datetime,
        now: datetime,
    ) -> dict[str, int]:
        """Public metrics of a post as X would report them at ``now`` (simulated).

        Deterministic in (seed, post_key, posted_at, now), and never decreasing as ``now``
        advances: the final numbers are drawn once per post and a growing share is revealed.
        """
        if not isinstance(post_key, str) or not post_key:
            raise ValidationError("post_key", post_key, "a non-empty string")
        for name, value in (("posted_at", posted_at), ("now", now)):
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValidationError(name, value, "a timezone-aware datetime")
        if now < posted_at:
            raise ValidationError("now", now.isoformat(), f"not before {posted_at.isoformat()}")
        day = (posted_at - self.start).total_seconds() / 86400.0
        rate = self.true_rate(topic, hour, format, day=day)
        digest = hashlib.blake2b(f"{self.seed}:{post_key}".encode(), digest_size=8).digest()
        rng = np.random.default_rng(int.from_bytes(digest, "big"))
        impressions = round(
            rng.lognormal(math.log(self.median_impressions), self.impressions_sigma)
        )
        engagements = int(rng.binomial(impressions, rate))
        kinds = rng.multinomial(engagements, _KIND_SHARES)
        share = self.reported_fraction((now - posted_at).total_seconds() / 3600.0)
        final = [*kinds.tolist(), impressions]
        return {key: math.floor(v * share) for key, v in zip(METRIC_KEYS, final, strict=True)}
