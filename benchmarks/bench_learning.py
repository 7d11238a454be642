"""Time one learning cycle over 100,000 matured posts (target < 5 s). SIMULATED metrics.

Needs DATABASE_URL / REDIS_URL (or XBOT_TEST_* ) pointing at servers; creates and drops its own
database and uses its own REDIS_PREFIXes. The same posts are loaded (COPY) into two environments:
``development`` learns through :func:`xbot.learning.run_learning_cycle` (vectorised, one COPY of
typed columns, one UPDATE ... FROM building the jsonb in Postgres), ``staging`` through the
previous row-by-row path kept below as the baseline (per-post validation, json.dumps and
per-post aggregation in Python). Both must store the same rewards and bandit state.

Metrics come from :class:`xbot.sim.SimWorld`, computed before the clock starts and served by a
MetricsSource over that table (what a recorded X answer gives): the engine time excludes the
simulator, whose own cost is printed separately.

    python benchmarks/bench_learning.py [--posts 100000] [--order engine-first|baseline-first]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from scratch import ScratchDatabase

from xbot import audit, flags, migrate
from xbot.bandit_store import BanditStore
from xbot.features import aggregate
from xbot.learning import EVENT, run_learning_cycle
from xbot.reward import (
    RewardRule,
    baseline_median,
    clean_metrics,
    engagement_rate,
    performance_tier,
)
from xbot.services import Services, sqlalchemy_url
from xbot.settings import load_settings
from xbot.sim import SimWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TARGET_S = 5.0
ENGINE_ENV, BASELINE_ENV = "development", "staging"


class TableMetrics:
    """MetricsSource over precomputed metrics (a recorded X answer), 100 ids per call."""

    def __init__(self, table: dict[str, dict[str, int]]) -> None:
        self.table = table

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        return {t: self.table[t] for t in tweet_ids if t in self.table}


def row_by_row_cycle(services: Services, environment: str, source: TableMetrics) -> int:
    """The previous learning path (before the vectorised one): per-post Python work."""
    store = BanditStore(services, environment)
    rule = RewardRule()
    with store.cycle_lock():
        store.sync()
        with services.engine.connect() as conn:
            posts = conn.execute(
                sa.text(
                    "select id, tweet_id, metadata, posted_at from tweets where environment = :e "
                    "and status = 'posted' and learned_cycle_id is null and tweet_id is not null "
                    "and posted_at > :oldest and posted_at <= :now order by id"
                ),
                {"e": environment, "oldest": NOW - timedelta(hours=168), "now": NOW},
            ).all()
            baseline = baseline_median(conn, environment, NOW, rule)
        mature = [p for p in posts if p.posted_at <= NOW - timedelta(hours=24)]
        fetched: dict[str, Any] = {}
        for i in range(0, len(mature), 100):
            fetched.update(source.fetch_metrics([p.tweet_id for p in mature[i : i + 100]]))
        stamp = NOW.isoformat()
        rows, learned, rates = [], [], []
        for post in mature:
            metrics, _ = clean_metrics(fetched.get(post.tweet_id))
            if metrics is None:
                continue
            rate = engagement_rate(metrics)
            analytics = {**metrics, "engagement_rate": rate, "last_updated": stamp,
                         "performance_tier": performance_tier(rate, baseline)}  # fmt: skip
            reward = 1.0 if rate > baseline else 0.0
            lm = {"reward": reward, "engagement_rate": rate, "baseline_median": baseline,
                  "reward_rule": asdict(rule), "learned_at": stamp}  # fmt: skip
            rows.append((post.id, analytics, lm))
            learned.append((post.metadata, reward))
            rates.append(rate)
        updates = aggregate(learned)
        with services.engine.begin() as conn:
            decay = flags.load_flags(conn, environment).decay
            previous = conn.execute(
                sa.text("select coalesce(max(id), 0) from learning_cycles where environment = :e"),
                {"e": environment},
            ).scalar_one()
            cycle_id = conn.execute(
                sa.text(
                    "insert into learning_cycles (environment, ran_at, decay, baseline_median, "
                    "posts_learned, total_reward) values (:e, :t, :d, :b, :n, :r) returning id"
                ),
                {"e": environment, "t": NOW, "d": decay, "b": baseline, "n": len(learned),
                 "r": float(sum(r for _, r in learned))},
            ).scalar_one()  # fmt: skip
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(
                    "create temp table old_batch (id bigint primary key, analytics jsonb, "
                    "lm jsonb) on commit drop"
                )
                with cur.copy("copy old_batch (id, analytics, lm) from stdin") as copy:
                    for pk, analytics, lm in rows:
                        copy.write_row((pk, json.dumps(analytics), json.dumps(lm)))
                cur.execute(
                    "update tweets t set analytics = t.analytics || b.analytics, "
                    "learning_metadata = t.learning_metadata || b.lm, learned_cycle_id = %s, "
                    "updated_at = %s from old_batch b where t.id = b.id",
                    (cycle_id, NOW),
                )
            leaders = {}
            for column in ("topic", "hour"):
                leaders[column] = conn.execute(
                    sa.text(
                        f"select {column}, avg((learning_metadata ->> 'engagement_rate')::float8) "
                        "as rate, count(*) from tweets where environment = :e and "
                        f"learned_cycle_id is not null and {column} is not null "
                        f"group by {column} order by rate desc limit 3"
                    ),
                    {"e": environment},
                ).all()
            data = {"tweets_processed": len(learned), "cycle_id": cycle_id,
                    "average_engagement": sum(rates) / len(rates),
                    "leaders": {k: [list(map(str, r)) for r in v] for k, v in leaders.items()}}  # fmt: skip
            audit.record(conn, EVENT, "learning", environment, data, ts=NOW)
        store.apply_cycle(cycle_id, previous, decay, updates)
    return len(learned)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--order", choices=["engine-first", "baseline-first"],
                        default="engine-first")  # fmt: skip
    args = parser.parse_args()
    base = os.environ.get("XBOT_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]
    redis_url = os.environ.get("XBOT_TEST_REDIS_URL") or os.environ["REDIS_URL"]
    scratch = ScratchDatabase(base)
    db_url = scratch.url
    prefixes = {env: f"bench{uuid.uuid4().hex[:8]}:" for env in (ENGINE_ENV, BASELINE_ENV)}
    services = {
        env: Services(
            load_settings(
                {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix},
                env_file="",
            )
        )
        for env, prefix in prefixes.items()
    }
    engine_services = services[ENGINE_ENV]
    try:
        migrate.migrate(engine_services.engine)
        world = SimWorld(seed=7)
        table: dict[str, dict[str, int]] = {}
        t0 = time.perf_counter()
        with engine_services.engine.begin() as conn:
            for env in (ENGINE_ENV, BASELINE_ENV):
                flags.seed_defaults(conn, env)
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(
                    "copy tweets (environment, idempotency_key, tweet_id, text, status, posted_at, "
                    "metadata) from stdin"
                ) as copy,
            ):
                for k, env in enumerate((ENGINE_ENV, BASELINE_ENV)):
                    for i in range(args.posts):
                        topic = world.topics[i % len(world.topics)]
                        fmt = world.formats[i % len(world.formats)]
                        hour = i % 24
                        posted_at = NOW - timedelta(hours=25 + (i % 100))
                        tid = str(10**15 * (k + 1) + i)
                        if k == 0:
                            table[tid] = world.metrics_for(tid, topic, hour, fmt, posted_at, NOW)
                        else:
                            table[tid] = table[str(10**15 + i)]
                        meta = {"topic": topic, "hour": hour, "format": fmt,
                                "tags": [topic, "gaming"], "engine": "v2"}  # fmt: skip
                        copy.write_row((env, f"b{i}", tid, f"post {i}", "posted",
                                        posted_at, json.dumps(meta)))  # fmt: skip
        setup_s = time.perf_counter() - t0
        vacuum = sa.create_engine(sqlalchemy_url(db_url), isolation_level="AUTOCOMMIT")
        with vacuum.connect() as conn:
            conn.exec_driver_sql("vacuum analyze tweets")
        vacuum.dispose()
        source = TableMetrics(table)

        def engine() -> tuple[float, int]:
            t0 = time.perf_counter()
            report = run_learning_cycle(
                engine_services, ENGINE_ENV, source, now=NOW, min_impressions=1
            )
            return time.perf_counter() - t0, report.tweets_processed

        def baseline() -> tuple[float, int]:
            t0 = time.perf_counter()
            n = row_by_row_cycle(services[BASELINE_ENV], BASELINE_ENV, source)
            return time.perf_counter() - t0, n

        runs = [engine, baseline] if args.order == "engine-first" else [baseline, engine]
        results = {run.__name__: run() for run in runs}
        engine_s, learned = results["engine"]
        baseline_s, baseline_learned = results["baseline"]
        t0 = time.perf_counter()
        again = run_learning_cycle(engine_services, ENGINE_ENV, source, now=NOW, min_impressions=1)
        again_s = time.perf_counter() - t0

        with engine_services.engine.connect() as conn:
            differ = conn.execute(
                sa.text(
                    "select count(*) from tweets a join tweets b on a.idempotency_key = "
                    "b.idempotency_key and a.environment = :a and b.environment = :b "
                    "where a.reward is distinct from b.reward "
                    "or a.analytics - 'last_updated' <> b.analytics - 'last_updated' "
                    "or a.learning_metadata <> b.learning_metadata"
                ),
                {"a": ENGINE_ENV, "b": BASELINE_ENV},
            ).scalar_one()
        same_state = (
            BanditStore(engine_services, ENGINE_ENV).state()
            == BanditStore(services[BASELINE_ENV], BASELINE_ENV).state()
        )
        print(f"setup: {2 * args.posts} posts loaded (COPY) + simulated metrics in {setup_s:.1f}s")
        print(
            f"baseline (previous row-by-row path): {baseline_learned} learned in {baseline_s:.2f}s"
        )
        print(
            f"engine (vectorised, COPY + UPDATE ... FROM): {learned} learned in {engine_s:.2f}s "
            f"-> {baseline_s / engine_s:.1f}x faster than the baseline; target < {TARGET_S:.0f}s: "
            f"{'MET' if engine_s < TARGET_S else 'MISSED'} ({engine_s / TARGET_S:.2f}x of target)"
        )
        print(f"second engine cycle (nothing to learn): {again.tweets_processed} in {again_s:.2f}s")
        print(f"same rows and bandit state as the baseline: {differ == 0 and same_state} "
              f"({differ} rows differ)")  # fmt: skip
    finally:
        for prefix in prefixes.values():
            keys = list(engine_services.redis.scan_iter(match=prefix + "*", count=1000))
            if keys:
                engine_services.redis.delete(*keys)
        for s in services.values():
            s.close()
        scratch.drop()


if __name__ == "__main__":
    main()
