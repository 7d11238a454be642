"""One learning cycle: metrics -> analytics -> rewards -> bandit updates -> audit_log.

Each post teaches the bandit exactly once. The order makes that crash-proof:

1. Under the environment's learning lock, Redis is first brought up to Postgres (a cycle that
   committed but crashed before reaching Redis is applied now).
2. Metrics are fetched (100 ids per call) for posted, not yet learned posts that are old enough.
3. One Postgres transaction writes the analytics, the learning_cycles row, every learned post's
   ``learned_cycle_id`` and reward, and the audit row. A post already learned is never selected
   again, and the update refuses rows that some other writer learned meanwhile.
4. Redis applies that cycle with one idempotent Lua script keyed by the cycle id.

A crash before 3 changes nothing; between 3 and 4 the next cycle (or ``BanditStore.load``'s
caller running ``sync``) applies it; after 4 it is done. Running twice in a row teaches nothing
the second time: no post is left to learn, no cycle row is written and no decay is applied
(decay is per cycle *that teaches*, so forgetting tracks data, not how often cron runs).

Reward (:class:`RewardRule`, documented in docs/learning.md): a post succeeds (1.0) when its
engagement rate = (likes + retweets + replies + quotes + bookmarks) / impressions is strictly
above the median rate of the posts learned in the previous ``window_days`` (``fallback`` = 0.03
when fewer than ``min_history`` such posts exist), else fails (0.0). Posts younger than
``min_age_hours`` or with fewer than ``min_impressions`` impressions are pending, not failures.
Bad metrics (missing, NaN, negative, zero impressions, more engagements than impressions) are
skipped and counted; the post stays unlearned and is fetched again next cycle.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from xbot import audit
from xbot.bandit_store import BanditStore, aggregate, aware_now
from xbot.errors import PosterError, ValidationError, XbotError
from xbot.flags import check_environment, load_flags
from xbot.services import Services

BATCH = 100  # X API v2 GET /2/tweets takes at most 100 ids per call
COUNTS = ("likes", "retweets", "replies", "quotes", "bookmarks")
REQUIRED = ("likes", "retweets", "replies", "impressions")  # quotes/bookmarks default to 0
EVENT = "LEARNING_CYCLE_COMPLETE"


class MetricsSource(Protocol):
    """Where engagement comes from: the X poster, the simulated poster, or any analyst feed.

    Returns {tweet_id: {likes, retweets, replies, quotes, bookmarks, impressions, ...}} for the
    ids it knows; ids it does not return are counted as missing.
    """

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]: ...


@dataclass(frozen=True)
class RewardRule:
    """The reward definition: beat the rolling median engagement rate of recent learned posts."""

    window_days: float = 7.0
    fallback: float = 0.03
    min_history: int = 10

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_days) and self.window_days > 0):
            raise ValidationError("window_days", self.window_days, "a number > 0")
        if not (math.isfinite(self.fallback) and 0 <= self.fallback <= 1):
            raise ValidationError("fallback", self.fallback, "a number from 0 to 1")
        if not (isinstance(self.min_history, int) and self.min_history >= 1):
            raise ValidationError("min_history", self.min_history, "an integer >= 1")


@dataclass
class CycleReport:
    """What one cycle did; ``to_dict`` is what ``xbot learn run --json`` prints."""

    environment: str
    ran_at: datetime
    cycle_id: int | None
    tweets_processed: int
    average_engagement: float
    total_rewards: float
    bandit_updates: int
    baseline_median: float
    decay: float
    analytics_updated: int
    pending_age: int
    pending_impressions: int
    skipped: dict[str, int] = field(default_factory=dict)
    top_topics: list[dict[str, Any]] = field(default_factory=list)
    best_hours: list[dict[str, Any]] = field(default_factory=list)
    audit_id: int | None = None
    redis_cycles_applied: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ran_at"] = self.ran_at.isoformat()
        return out


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


def baseline_median(
    conn: sa.Connection, environment: str, now: datetime, rule: RewardRule
) -> float:
    """Median engagement rate of posts learned from in the rule's window before ``now``."""
    rates = conn.execute(
        sa.text(
            "select (learning_metadata ->> 'engagement_rate')::double precision from tweets "
            "where environment = :e and learned_cycle_id is not null "
            "and posted_at > :since and posted_at <= :now"
        ),
        {"e": environment, "since": now - timedelta(days=rule.window_days), "now": now},
    ).scalars()
    history = [r for r in rates if r is not None and math.isfinite(r)]
    if len(history) < rule.min_history:
        return rule.fallback
    return float(statistics.median(history))


def _fetch(source: MetricsSource, tweet_ids: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Metrics by tweet id, 100 ids per call; ids of batches the source failed on (retried
    next cycle) come back separately so they are not counted as missing."""
    got: dict[str, Any] = {}
    failed: set[str] = set()
    for i in range(0, len(tweet_ids), BATCH):
        batch = tweet_ids[i : i + BATCH]
        try:
            result = source.fetch_metrics(batch)
        except PosterError:
            failed.update(batch)
            continue
        for tid in batch:
            if tid in result:
                got[tid] = result[tid]
    return got, failed


def _write(
    conn: sa.Connection, rows: list[tuple[int, dict[str, Any], dict[str, Any] | None]],
    cycle_id: int | None, now: datetime,
) -> None:  # fmt: skip
    """COPY (id, analytics, learning metadata or None) into a temp table, update in one go."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "create temp table learn_batch (id bigint primary key, analytics jsonb not null, "
            "lm jsonb) on commit drop"
        )
        with cur.copy("copy learn_batch (id, analytics, lm) from stdin") as copy:
            for pk, analytics, lm in rows:
                copy.write_row((pk, json.dumps(analytics), None if lm is None else json.dumps(lm)))
        cur.execute(
            "update tweets t set analytics = t.analytics || b.analytics, "
            "learning_metadata = case when b.lm is null then t.learning_metadata "
            "  else t.learning_metadata || b.lm end, "
            "learned_cycle_id = case when b.lm is null then null else %s::bigint end, "
            "updated_at = %s "
            "from learn_batch b where t.id = b.id and t.learned_cycle_id is null",
            (cycle_id, now),
        )
        if cur.rowcount != len(rows):
            raise XbotError(
                f"learning: {len(rows) - cur.rowcount} posts were learned by another writer "
                "during this cycle; nothing was written",
            )


def _leaders(conn: sa.Connection, environment: str, now: datetime, column: str) -> list[dict]:
    """Top 3 topics or hours by mean engagement rate of posts learned in the last 7 days."""
    rows = conn.execute(
        sa.text(
            f"select {column} as key, "
            "avg((learning_metadata ->> 'engagement_rate')::double precision) as rate, "
            "count(*) as posts from tweets "
            "where environment = :e and learned_cycle_id is not null "
            f"and {column} is not null and posted_at > :since and posted_at <= :now "
            f"group by {column} order by rate desc, posts desc, {column} limit 3"
        ),
        {"e": environment, "since": now - timedelta(days=7), "now": now},
    )
    name = "topic" if column == "topic" else "hour"
    return [{name: r.key, "engagement_rate": r.rate, "posts": r.posts} for r in rows]


def run_learning_cycle(
    services: Services,
    environment: str,
    metrics_source: MetricsSource,
    *,
    now: datetime | None = None,
    min_age_hours: float = 24.0,
    min_impressions: int = 100,
    max_age_hours: float = 168.0,
    reward_rule: RewardRule | None = None,
) -> CycleReport:
    """Run one learning cycle for ``environment`` and return what it did.

    ``max_age_hours``: posts still unlearned after this long (e.g. never reached
    ``min_impressions``) are no longer fetched, so a dead post does not cost API reads forever.
    """
    environment = check_environment(environment)
    now = aware_now(now)
    rule = reward_rule or RewardRule()
    if not (isinstance(min_age_hours, (int, float)) and math.isfinite(min_age_hours)):
        raise ValidationError("min_age_hours", min_age_hours, "a finite number >= 0")
    if min_age_hours < 0:
        raise ValidationError("min_age_hours", min_age_hours, "a finite number >= 0")
    if isinstance(min_impressions, bool) or not isinstance(min_impressions, int):
        raise ValidationError("min_impressions", min_impressions, "an integer >= 1")
    if min_impressions < 1:
        raise ValidationError("min_impressions", min_impressions, "an integer >= 1")
    if not (math.isfinite(max_age_hours) and max_age_hours > min_age_hours):
        raise ValidationError("max_age_hours", max_age_hours, "a number > min_age_hours")

    store = BanditStore(services, environment)
    skipped = {"missing": 0, "invalid": 0, "zero_impressions": 0, "fetch_errors": 0}
    with store.cycle_lock():
        store.sync()
        mature_before = now - timedelta(hours=min_age_hours)
        with services.engine.connect() as conn:
            posts = conn.execute(
                sa.text(
                    "select id, tweet_id, metadata, posted_at from tweets "
                    "where environment = :e and status = 'posted' and learned_cycle_id is null "
                    "and tweet_id is not null and posted_at > :oldest and posted_at <= :now "
                    "order by id"
                ),
                {"e": environment, "oldest": now - timedelta(hours=max_age_hours), "now": now},
            ).all()
            baseline = baseline_median(conn, environment, now, rule)
        mature = [p for p in posts if p.posted_at <= mature_before]
        pending_age = len(posts) - len(mature)
        fetched, failed = _fetch(metrics_source, [p.tweet_id for p in mature])
        skipped["fetch_errors"] = len(failed)

        stamp = now.isoformat()
        rows: list[tuple[int, dict[str, Any], dict[str, Any] | None]] = []
        learned: list[tuple[Mapping[str, Any], float]] = []
        rates: list[float] = []
        pending_impressions = 0
        for post in mature:
            if post.tweet_id in failed:
                continue
            if post.tweet_id not in fetched:
                skipped["missing"] += 1
                continue
            metrics, reason = clean_metrics(fetched[post.tweet_id])
            if metrics is None:
                skipped[reason] += 1
                continue
            rate = engagement_rate(metrics)
            analytics = {
                **metrics,
                "engagement_rate": rate,
                "performance_tier": performance_tier(rate, baseline),
                "last_updated": stamp,
            }
            if metrics["impressions"] < min_impressions:
                pending_impressions += 1
                rows.append((post.id, analytics, None))
                continue
            reward = 1.0 if rate > baseline else 0.0
            rows.append(
                (
                    post.id,
                    analytics,
                    {
                        "reward": reward,
                        "engagement_rate": rate,
                        "baseline_median": baseline,
                        "reward_rule": asdict(rule),
                        "learned_at": stamp,
                    },
                )
            )
            learned.append((post.metadata, reward))
            rates.append(rate)

        updates = aggregate(learned)
        total_rewards = float(sum(r for _, r in learned))
        with services.engine.begin() as conn:
            decay = load_flags(conn, environment).decay
            cycle_id = None
            previous = conn.execute(
                sa.text("select coalesce(max(id), 0) from learning_cycles where environment = :e"),
                {"e": environment},
            ).scalar_one()
            if learned:
                cycle_id = conn.execute(
                    sa.text(
                        "insert into learning_cycles (environment, ran_at, decay, "
                        "baseline_median, posts_learned, total_reward) "
                        "values (:e, :t, :d, :b, :n, :r) returning id"
                    ),
                    {"e": environment, "t": now, "d": decay, "b": baseline,
                     "n": len(learned), "r": total_rewards},
                ).scalar_one()  # fmt: skip
            _write(conn, rows, cycle_id, now)
            report = CycleReport(
                environment=environment,
                ran_at=now,
                cycle_id=cycle_id,
                tweets_processed=len(learned),
                average_engagement=float(sum(rates) / len(rates)) if rates else 0.0,
                total_rewards=total_rewards,
                bandit_updates=sum(u.pulls for u in updates.values()),
                baseline_median=baseline,
                decay=decay,
                analytics_updated=len(rows),
                pending_age=pending_age,
                pending_impressions=pending_impressions,
                skipped=skipped,
                top_topics=_leaders(conn, environment, now, "topic"),
                best_hours=_leaders(conn, environment, now, "hour"),
            )
            data = report.to_dict()
            data.pop("audit_id")
            data.pop("redis_cycles_applied")
            report.audit_id = audit.record(conn, EVENT, "learning", environment, data)
        # The updates just committed are exactly what sync would re-read (same rows, same
        # order), so apply them directly; sync covers the case where Redis is not at `previous`.
        if cycle_id is not None and store.apply_cycle(cycle_id, previous, decay, updates) == 1:
            report.redis_cycles_applied = 1
        report.redis_cycles_applied += store.sync()
    return report
