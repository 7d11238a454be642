"""Time one learning cycle over 100,000 matured posts (target < 5 s). SIMULATED metrics.

Needs DATABASE_URL / REDIS_URL (or XBOT_TEST_* ) pointing at servers; creates and drops its own
database and uses its own REDIS_PREFIX. Posts are loaded with COPY; metrics come from
:class:`xbot.sim.SimWorld` through a real MetricsSource (no X, no Redis-backed SimPoster, so the
time measured is the learning loop's, not the simulated timeline's).

    python benchmarks/bench_learning.py [--posts 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from xbot import flags, migrate
from xbot.learning import run_learning_cycle
from xbot.services import Services, sqlalchemy_url
from xbot.settings import load_settings
from xbot.sim import SimWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TARGET_S = 5.0


class WorldMetrics:
    """MetricsSource reading the simulated world directly (post metadata held in memory)."""

    def __init__(self, world: SimWorld, posts: dict[str, tuple[str, int, str, datetime]]) -> None:
        self.world = world
        self.posts = posts

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        out = {}
        for tid in tweet_ids:
            topic, hour, fmt, posted_at = self.posts[tid]
            out[tid] = self.world.metrics_for(tid, topic, hour, fmt, posted_at, NOW)
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    base = os.environ.get("XBOT_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]
    redis_url = os.environ.get("XBOT_TEST_REDIS_URL") or os.environ["REDIS_URL"]
    name = f"xbot_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'create database "{name}"')
    url = sa.engine.make_url(sqlalchemy_url(base)).set(database=name)
    db_url = url.render_as_string(hide_password=False).replace("+psycopg", "")
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    settings = load_settings(
        {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix}, env_file=""
    )
    services = Services(settings)
    try:
        migrate.migrate(services.engine)
        with services.engine.begin() as conn:
            flags.seed_defaults(conn, "development")
        world = SimWorld(seed=7)
        posts: dict[str, tuple[str, int, str, datetime]] = {}
        t0 = time.perf_counter()
        with services.engine.begin() as conn:
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(
                    "copy tweets (environment, idempotency_key, tweet_id, text, status, posted_at, "
                    "metadata) from stdin"
                ) as copy,
            ):
                for i in range(args.posts):
                    topic = world.topics[i % len(world.topics)]
                    fmt = world.formats[i % len(world.formats)]
                    hour = i % 24
                    posted_at = NOW - timedelta(hours=25 + (i % 100))
                    tid = str(10**15 + i)
                    posts[tid] = (topic, hour, fmt, posted_at)
                    meta = {"topic": topic, "hour": hour, "format": fmt,
                            "tags": [topic, "gaming"], "engine": "v2"}  # fmt: skip
                    copy.write_row(("development", f"b{i}", tid, f"post {i}", "posted",
                                    posted_at, json.dumps(meta)))  # fmt: skip
        load_s = time.perf_counter() - t0
        source = WorldMetrics(world, posts)
        t0 = time.perf_counter()
        for tid in posts:  # the simulated world's own cost, to report separately
            source.fetch_metrics([tid])
        world_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = run_learning_cycle(services, "development", source, now=NOW, min_impressions=1)
        cycle_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_learning_cycle(services, "development", source, now=NOW, min_impressions=1)
        again_s = time.perf_counter() - t0
        print(f"posts loaded (COPY): {args.posts} in {load_s:.2f}s")
        print(f"simulated world metrics alone: {world_s:.2f}s")
        print(
            f"learning cycle: {report.tweets_processed} learned, {report.bandit_updates} "
            f"updates, {sum(report.skipped.values())} skipped in {cycle_s:.2f}s "
            f"(target < {TARGET_S}s; {cycle_s / TARGET_S:.2f}x of target; "
            f"without the simulated world {cycle_s - world_s:.2f}s)"
        )
        print(f"second cycle (nothing to learn): {again.tweets_processed} in {again_s:.2f}s")
    finally:
        keys = list(services.redis.scan_iter(match=prefix + "*", count=1000))
        if keys:
            services.redis.delete(*keys)
        services.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')
        admin.dispose()


if __name__ == "__main__":
    main()
