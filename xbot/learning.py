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

Reward: :mod:`xbot.reward` (the rule, its baseline and metric cleaning). Posts younger than
``min_age_hours`` or with fewer than ``min_impressions`` impressions are pending, not failures.
Bad metrics (missing, NaN, negative, zero impressions, more engagements than impressions) are
skipped and counted; the post stays unlearned and is fetched again next cycle.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa

from xbot import audit
from xbot.bandit_store import BanditStore, restarts_from_json
from xbot.clock import as_utc
from xbot.drift import ChangeDetector
from xbot.errors import PosterError, ValidationError, XbotError
from xbot.features import FAMILIES, FEATURES_SQL, aggregate_features, outcomes_by_family
from xbot.flags import check_environment, load_flags
from xbot.policies import FeatureBandit
from xbot.reward import (
    CleanBatch,
    RewardRule,
    baseline_median,
    clean_batch,
    hour_offsets,
    tiers,
)
from xbot.services import Services
from xbot.x_errors import BudgetExceeded

BATCH = 100  # X API v2 GET /2/tweets takes at most 100 ids per call
EVENT = "LEARNING_CYCLE_COMPLETE"


class MetricsSource(Protocol):
    """Where engagement comes from: the X poster, the simulated poster, or any analyst feed.

    Returns {tweet_id: {likes, retweets, replies, quotes, bookmarks, impressions, ...}} for the
    ids it knows; ids it does not return are counted as missing.
    """

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]: ...


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
    drift_restarts: dict[str, list[str]] = field(default_factory=dict)
    top_topics: list[dict[str, Any]] = field(default_factory=list)
    best_hours: list[dict[str, Any]] = field(default_factory=list)
    audit_id: int | None = None
    redis_cycles_applied: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ran_at"] = self.ran_at.isoformat()
        return out


def _fetch(
    source: MetricsSource, tweet_ids: list[str]
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Metrics by tweet id, 100 ids per call; ids of batches the source failed on, and of
    batches an X API budget did not allow (both retried next cycle), come back separately so
    they are not counted as missing. After a budget refusal no further batch is asked."""
    got: dict[str, Any] = {}
    failed: set[str] = set()
    over_budget: set[str] = set()
    for i in range(0, len(tweet_ids), BATCH):
        batch = tweet_ids[i : i + BATCH]
        if over_budget:
            over_budget.update(batch)
            continue
        try:
            result = source.fetch_metrics(batch)
        except BudgetExceeded:
            over_budget.update(batch)
            continue
        except PosterError:
            failed.update(batch)
            continue
        for tid in batch:
            if tid in result:
                got[tid] = result[tid]
    return got, failed, over_budget


def _copy_text(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _write(
    conn: sa.Connection, ids: list[int], clean: CleanBatch, rate: np.ndarray, tiers: np.ndarray,
    rewards: np.ndarray, cycle_id: int | None, now: datetime, constant_lm: dict[str, Any],
) -> None:  # fmt: skip
    """COPY typed columns into a temp table, then one set-based UPDATE ... FROM builds the
    jsonb. Rates and rewards travel as their Python repr into numeric columns, so the stored
    JSON numbers are the ones ``json.dumps`` would have written (0.0 stays 0.0). ``rewards``
    is NaN for posts not learned this cycle (too few impressions)."""
    if not ids:
        return
    counts = clean.counts.tolist()
    rates = rate.tolist()
    tiers_l = tiers.tolist()
    rewards_l = rewards.tolist()
    lines = []
    for j, pk in enumerate(ids):
        c = counts[j]
        reward = "\\N" if math.isnan(rewards_l[j]) else repr(rewards_l[j])
        extra = clean.extra[j]
        lines.append(
            f"{pk}\t{c[0]}\t{c[1]}\t{c[2]}\t{c[3]}\t{c[4]}\t{c[5]}\t{rates[j]!r}\t{tiers_l[j]}\t"
            f"{reward}\t{_copy_text(None if extra is None else _escape_copy(extra))}\n"
        )
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "create temp table learn_batch (id bigint not null, likes bigint, "
            "retweets bigint, replies bigint, quotes bigint, bookmarks bigint, "
            "impressions bigint, rate numeric, tier text, reward numeric, extra jsonb) "
            "on commit drop"
        )
        with cur.copy("copy learn_batch from stdin") as copy:
            copy.write("".join(lines))
        cur.execute(
            "update tweets t set analytics = t.analytics || coalesce(b.extra, '{}'::jsonb) "
            "  || jsonb_build_object('likes', b.likes, 'retweets', b.retweets, "
            "  'replies', b.replies, 'quotes', b.quotes, 'bookmarks', b.bookmarks, "
            "  'impressions', b.impressions, 'engagement_rate', b.rate, "
            "  'performance_tier', b.tier, 'last_updated', %(stamp)s::text), "
            "learning_metadata = case when b.reward is null then t.learning_metadata "
            "  else t.learning_metadata || jsonb_build_object('reward', b.reward, "
            "  'engagement_rate', b.rate) || %(lm)s::jsonb end, "
            "learned_cycle_id = case when b.reward is null then null else %(cycle)s::bigint end, "
            "updated_at = %(now)s "
            "from learn_batch b where t.id = b.id and t.learned_cycle_id is null",
            {"stamp": now.isoformat(), "lm": json.dumps(constant_lm), "cycle": cycle_id,
             "now": now},
        )  # fmt: skip
        if cur.rowcount != len(ids):
            raise XbotError(
                f"learning: {len(ids) - cur.rowcount} posts were learned by another writer "
                "during this cycle; nothing was written",
            )


def _escape_copy(text: str) -> str:
    """Text for COPY's text format (backslash, tab, newline and carriage return escaped)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _leaders(conn: sa.Connection, environment: str, now: datetime) -> tuple[list, list]:
    """Top 3 topics and top 3 hours by mean engagement rate of posts learned in the last 7 days.

    One scan with grouping sets instead of one per family; ``status = 'posted'`` (true of every
    learned post) lets it use the posted-by-time index.
    """
    rows = conn.execute(
        sa.text(
            "select topic, hour, grouping(topic) as by_hour, "
            "avg(engagements::double precision / impressions) as rate, "
            "count(*) as posts from tweets "
            "where environment = :e and status = 'posted' and learned_cycle_id is not null "
            "and posted_at > :since and posted_at <= :now "
            "group by grouping sets ((topic), (hour))"
        ),
        {"e": environment, "since": now - timedelta(days=7), "now": now},
    ).all()
    topics = sorted(
        (r for r in rows if not r.by_hour and r.topic is not None),
        key=lambda r: (-r.rate, -r.posts, r.topic),
    )[:3]
    hours = sorted(
        (r for r in rows if r.by_hour and r.hour is not None),
        key=lambda r: (-r.rate, -r.posts, r.hour),
    )[:3]
    return (
        [{"topic": r.topic, "engagement_rate": r.rate, "posts": r.posts} for r in topics],
        [{"hour": r.hour, "engagement_rate": r.rate, "posts": r.posts} for r in hours],
    )


def _detect_drift(
    conn: sa.Connection,
    store: BanditStore,
    threshold: float,
    feature_json: list[Any],
    rewards: np.ndarray,
) -> dict[str, Any]:
    """Run the change detector (flag ``drift_check``) over this cycle's outcomes.

    It continues from the statistics the previous cycle stored (fresh when that cycle ran
    without it) and tests each outcome against the arm's posterior mean before the cycle: the
    synced Redis evidence with the pooled prior (a model prior, at 10 pseudo-posts, moves no
    arm the detector tests, whose evidence is many times stronger). Returns the
    ``learning_cycles.drift`` value: threshold, statistics after the cycle, restarts.
    """
    last = conn.execute(
        sa.text(
            "select drift -> 'detector' from learning_cycles where environment = :e "
            "order by id desc limit 1"
        ),
        {"e": store.environment},
    ).scalar()
    detector = ChangeDetector(threshold, last)
    state = store.state()
    means = FeatureBandit.from_state(state, families=FAMILIES).expectations()
    restarts = {}
    for family, (arms, outcomes) in outcomes_by_family(feature_json, rewards).items():
        evidence = {a: (v["alpha"], v["beta"]) for a, v in state.get(family, {}).items()}
        restart = detector.observe(family, arms, outcomes, means.get(family, {}), evidence)
        if restart is not None:
            restarts[family] = restart.to_json()
    return {"threshold": threshold, "detector": detector.state(), "restarts": restarts}


def run_learning_cycle(
    services: Services,
    environment: str,
    metrics_source: MetricsSource | None,
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
    Per-post work is vectorised (numpy) and the writes are one COPY and one UPDATE ... FROM:
    100,000 posts learn in a few seconds (benchmarks/bench_learning.py).

    ``metrics_source`` None (no X credentials, no simulated X): a cycle with nothing to measure
    (an empty database, only shadow decisions) still completes and records its audit row with
    0 processed; only mature posts waiting for metrics make it a :class:`PosterError`, raised
    before anything is written.
    """
    environment = check_environment(environment)
    now = as_utc(now)
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
    skipped = {"missing": 0, "invalid": 0, "zero_impressions": 0, "fetch_errors": 0, "budget": 0}
    with store.cycle_lock():
        store.sync()
        with services.engine.connect() as conn:
            posts = conn.execute(
                sa.text(
                    f"select id, tweet_id, posted_at <= :mature as mature, {FEATURES_SQL}, hour "
                    "from tweets where environment = :e and status = 'posted' "
                    "and learned_cycle_id is null and tweet_id is not null "
                    "and posted_at > :oldest and posted_at <= :now order by id"
                ),
                {"e": environment, "oldest": now - timedelta(hours=max_age_hours), "now": now,
                 "mature": now - timedelta(hours=min_age_hours)},
            ).all()  # fmt: skip
            baseline = baseline_median(conn, environment, now, rule)
            offsets = hour_offsets(conn, environment, now, rule)
        mature = [p for p in posts if p[2]]
        pending_age = len(posts) - len(mature)
        if metrics_source is None and mature:
            raise PosterError(
                f"{len(mature)} mature post(s) wait for metrics but there is no metrics source: "
                "set X credentials (X_BEARER_TOKEN or the four OAuth 1.0a values), "
                "or run `xbot demo` for the simulated X"
            )
        fetched, failed, over_budget = (
            _fetch(metrics_source, [p[1] for p in mature]) if mature else ({}, set(), set())
        )
        skipped["fetch_errors"] = len(failed)
        skipped["budget"] = len(over_budget)  # reads the X API budget did not allow
        answered = [p for p in mature if p[1] not in failed and p[1] not in over_budget]
        present = [p for p in answered if p[1] in fetched]
        skipped["missing"] = len(answered) - len(present)
        clean = clean_batch([fetched[p[1]] for p in present], skipped)
        kept = [present[i] for i in clean.index.tolist()]
        counts = clean.counts
        rate = counts[:, :-1].sum(axis=1) / counts[:, -1] if len(kept) else np.zeros(0)
        learned = counts[:, -1] >= min_impressions
        pending_impressions = int((~learned).sum())
        offset = np.array([0.0 if p[4] is None else offsets[p[4]] for p in kept])
        rewards = rule.rewards(rate[learned], baseline, offset[learned])
        all_rewards = np.full(len(kept), np.nan)
        all_rewards[learned] = rewards
        learned_rates = rate[learned].tolist()
        learned_features = [p[3] for p, ok in zip(kept, learned, strict=True) if ok]
        updates = aggregate_features(learned_features, rewards)
        total_rewards = float(rewards.sum())
        constant_lm = {"baseline_median": baseline, "reward_rule": asdict(rule),
                       "learned_at": now.isoformat()}  # fmt: skip
        with services.engine.begin() as conn:
            flags = load_flags(conn, environment)
            decay = flags.decay
            drift = None
            if learned_rates and flags.drift_check > 0.0:
                drift = _detect_drift(conn, store, flags.drift_check, learned_features, rewards)
            restarts = restarts_from_json(drift["restarts"] if drift else None)
            cycle_id = None
            previous = conn.execute(
                sa.text("select coalesce(max(id), 0) from learning_cycles where environment = :e"),
                {"e": environment},
            ).scalar_one()
            if learned_rates:
                cycle_id = conn.execute(
                    sa.text(
                        "insert into learning_cycles (environment, ran_at, decay, "
                        "baseline_median, posts_learned, total_reward, drift) "
                        "values (:e, :t, :d, :b, :n, :r, cast(:drift as jsonb)) returning id"
                    ),
                    {"e": environment, "t": now, "d": decay, "b": baseline,
                     "n": len(learned_rates), "r": total_rewards,
                     "drift": json.dumps(drift) if drift else None},
                ).scalar_one()  # fmt: skip
            _write(conn, [p[0] for p in kept], clean, rate, tiers(rate, baseline), all_rewards,
                   cycle_id, now, constant_lm)  # fmt: skip
            top_topics, best_hours = _leaders(conn, environment, now)
            report = CycleReport(
                environment=environment,
                ran_at=now,
                cycle_id=cycle_id,
                tweets_processed=len(learned_rates),
                average_engagement=(
                    float(sum(learned_rates) / len(learned_rates)) if learned_rates else 0.0
                ),
                total_rewards=total_rewards,
                bandit_updates=sum(u.pulls for u in updates.values()),
                baseline_median=baseline,
                decay=decay,
                analytics_updated=len(kept),
                pending_age=pending_age,
                pending_impressions=pending_impressions,
                skipped=skipped,
                drift_restarts={f: sorted(r.evidence) for f, r in restarts.items()},
                top_topics=top_topics,
                best_hours=best_hours,
            )
            data = report.to_dict()
            data.pop("audit_id")
            data.pop("redis_cycles_applied")
            report.audit_id = audit.record(conn, EVENT, "learning", environment, data, ts=now)
        # The updates just committed are exactly what sync would re-read (same rows, same
        # order), so apply them directly; sync covers the case where Redis is not at `previous`.
        if (
            cycle_id is not None
            and store.apply_cycle(cycle_id, previous, decay, updates, restarts) == 1
        ):
            report.redis_cycles_applied = 1
        report.redis_cycles_applied += store.sync()
    return report
