"""Time the six runbook views on 1,000,000 synthetic tweets (target: each under 300 ms).

    python benchmarks/bench_views.py [ADMIN_URL] [--rows N] [--runs N] [--keep]

ADMIN_URL (or $XBOT_BENCH_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/test) is any
database on the server; the benchmark creates its own database next to it, migrates it with
xbot's migrations, loads the data with COPY, runs VACUUM ANALYZE (what autovacuum does for a
live table), times each runbook query (median of --runs after one warm-up) and drops the
database at the end (unless --keep).

Synthetic data (clearly simulated): tweets spread over one year, 8 topics, 24 hours, engines
v1/v2, 6 sources, 90% production / 10% staging, 97% posted; impressions log-normal with ~3%
zero (so the views' nullif guards run), ~5% not yet measured; rewards recorded on ~90% of
posted tweets, ~4% of them 1. Plus one LEARNING_CYCLE_COMPLETE audit row per 15 minutes over
the year with other audit noise, and 1,000,000 candidates over the year.

Reference: ``select count(*) from tweets`` (one pass over the whole table) is timed in the same
process. ``ratio`` = view median / reference median: below 1 the view does less work than one
full scan of tweets; it is the machine-independent figure to compare across runs.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator

import numpy as np
import psycopg
import sqlalchemy as sa

from xbot import migrate
from xbot.services import sqlalchemy_url

TARGET_MS = 300.0
TOPICS = [
    "gaming_fps",
    "gaming_battle_royale",
    "gaming_rpg",
    "gaming_moba",
    "gaming_indie",
    "gaming_esports",
    "gaming_retro",
    "gaming_mobile",
]
SOURCES = ["rss_ign", "rss_pcgamer", "templates", "reddit_gaming", "files", "steam_news"]
FORMATS = ["post", "question", "poll", "thread"]
QUERIES = [
    ("vw_recent_posts", "SELECT * FROM vw_recent_posts ORDER BY posted_at DESC LIMIT 10"),
    ("vw_topics_perf_7d", "SELECT * FROM vw_topics_perf_7d ORDER BY avg_engagement_rate DESC"),
    (
        "vw_time_of_day_perf_7d",
        "SELECT * FROM vw_time_of_day_perf_7d ORDER BY avg_engagement_rate DESC",
    ),
    (
        "vw_learning_performance",
        "SELECT * FROM vw_learning_performance ORDER BY day DESC LIMIT 7",
    ),
    ("vw_bandit_performance", "SELECT * FROM vw_bandit_performance ORDER BY day DESC LIMIT 7"),
    (
        "vw_content_sources_perf",
        "SELECT * FROM vw_content_sources_perf ORDER BY success_rate DESC",
    ),
]
REFERENCE = ("reference: count(*) tweets", "SELECT count(*) FROM tweets")
YEAR_S = 365 * 24 * 3600
CHUNK = 100_000


def _iso(epoch: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s", timezone="UTC")


def tweet_chunks(n: int, now: float, rng: np.random.Generator) -> Iterator[bytes]:
    """COPY text-format lines for ``n`` tweets, in chunks of CHUNK rows."""
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        idx = np.arange(start, start + m)
        posted = now - rng.uniform(60, YEAR_S, m)
        env = np.where(rng.random(m) < 0.9, "production", "staging")
        status = rng.choice(
            np.array(["posted", "failed", "in_doubt", "claimed"]), m, p=[0.97, 0.02, 0.005, 0.005]
        )
        topic = rng.integers(0, len(TOPICS), m)
        source = rng.integers(0, len(SOURCES), m)
        fmt = rng.integers(0, len(FORMATS), m)
        engine = np.where(rng.random(m) < 0.6, "v2", "v1")
        hour = ((posted % 86400) // 3600).astype(int)
        impressions = np.rint(rng.lognormal(7.0, 1.0, m)).astype(int)
        impressions[rng.random(m) < 0.03] = 0
        rate = np.clip(rng.normal(0.03 + 0.003 * topic, 0.01, m), 0.0, 0.2)
        engaged = rng.binomial(impressions, rate)
        likes = rng.binomial(engaged, 0.6)
        retweets = rng.binomial(engaged - likes, 0.4)
        replies = rng.binomial(engaged - likes - retweets, 0.5)
        quotes = rng.binomial(engaged - likes - retweets - replies, 0.5)
        bookmarks = engaged - likes - retweets - replies - quotes
        measured = rng.random(m) >= 0.05
        learned = measured & (rng.random(m) < 0.95)
        reward = (rng.random(m) < 0.04).astype(int)
        propensity = rng.uniform(0.05, 1.0, m)
        posted_s = _iso(posted)
        buf = io.StringIO()
        for i in range(m):
            ok = status[i] == "posted"
            meta = (
                f'{{"topic": "{TOPICS[topic[i]]}", "source": "{SOURCES[source[i]]}", '
                f'"format": "{FORMATS[fmt[i]]}", "engine": "{engine[i]}", '
                f'"environment": "{env[i]}", "hour": {hour[i]}, "tags": ["gaming"]}}'
            )
            if ok and measured[i]:
                ana = (
                    f'{{"likes": {likes[i]}, "retweets": {retweets[i]}, '
                    f'"replies": {replies[i]}, "quotes": {quotes[i]}, '
                    f'"bookmarks": {bookmarks[i]}, "impressions": {impressions[i]}, '
                    f'"performance_tier": "mid", "last_updated": "{posted_s[i]}"}}'
                )
            else:
                ana = "{}"
            lm = f'{{"policy": "thompson", "propensity": {propensity[i]:.4f}'
            lm += f', "reward": {reward[i]}}}' if ok and learned[i] else "}"
            buf.write(
                f"{env[i]}\tk{idx[i]:x}\t{(str(10**17 + idx[i])) if ok else chr(92) + 'N'}\t"
                f"simulated post {idx[i]} about {TOPICS[topic[i]]}\t{status[i]}\t"
                f"{posted_s[i]}\t{posted_s[i]}\t{posted_s[i] if ok else chr(92) + 'N'}\t"
                f"{meta}\t{ana}\t{lm}\n"
            )
        yield buf.getvalue().encode()


def candidate_chunks(n: int, now: float, rng: np.random.Generator) -> Iterator[bytes]:
    statuses = np.array(["queued", "claimed", "posted", "shadowed", "rejected", "expired"])
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        created = _iso(now - rng.uniform(0, YEAR_S, m))
        env = np.where(rng.random(m) < 0.9, "production", "staging")
        topic = rng.integers(0, len(TOPICS), m)
        source = rng.integers(0, len(SOURCES), m)
        status = rng.choice(statuses, m, p=[0.05, 0.01, 0.1, 0.2, 0.14, 0.5])
        priority = rng.random(m)
        buf = io.StringIO()
        for i in range(m):
            buf.write(
                f"{env[i]}\th{start + i:x}\tsimulated candidate {start + i}\t"
                f"{TOPICS[topic[i]]}\t{SOURCES[source[i]]}\t{priority[i]:.4f}\t"
                f"{status[i]}\t{created[i]}\n"
            )
        yield buf.getvalue().encode()


def audit_chunks(now: float, rng: np.random.Generator) -> Iterator[bytes]:
    """One learning cycle per 15 minutes over the year (both environments) plus noise."""
    cycles = np.arange(now - YEAR_S, now, 900.0)
    buf = io.StringIO()
    for env in ("production", "staging"):
        ts = _iso(cycles)
        processed = rng.poisson(3, len(cycles))
        for i in range(len(cycles)):
            p = int(processed[i])
            data = (
                f'{{"tweets_processed": {p}, "total_rewards": {rng.binomial(p, 0.04)}, '
                f'"bandit_updates": {3 * p}, "average_engagement": {rng.uniform(0.01, 0.06):.5f}, '
                f'"baseline_median": 0.03, "top_topics": ["gaming_fps", "gaming_rpg"], '
                f'"best_hours": [18, 19, 20]}}'
            )
            buf.write(
                f'{ts[i]}\tLEARNING_CYCLE_COMPLETE\tlearning\t{data}\t{{"environment": "{env}"}}\n'
            )
    noise = _iso(now - rng.uniform(0, YEAR_S, 150_000))
    for i, ts in enumerate(noise):
        kind = ("SCHEDULER_CYCLE", "CONFIG_CHANGED", "CANDIDATES_REFRESHED")[i % 3]
        buf.write(f'{ts}\t{kind}\tother\t{{"n": {i}}}\t{{"environment": "production"}}\n')
    yield buf.getvalue().encode()


def copy(conn: psycopg.Connection, statement: str, chunks: Iterator[bytes]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as cp:
        for chunk in chunks:
            cp.write(chunk)


def time_query(conn: psycopg.Connection, sql: str, runs: int) -> tuple[float, int]:
    rows = len(conn.execute(sql).fetchall())  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), rows


def _db_url(admin_url: str, name: str) -> str:
    url = sa.engine.make_url(sqlalchemy_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False).replace("postgresql+psycopg", "postgresql")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "admin_url",
        nargs="?",
        default=os.environ.get("XBOT_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--keep", action="store_true", help="Do not drop the bench database.")
    args = parser.parse_args(argv)

    name = f"xbot_bench_{uuid.uuid4().hex[:8]}"
    url = _db_url(args.admin_url, name)
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        engine = sa.create_engine(sqlalchemy_url(url))
        migrate.migrate(engine)
        engine.dispose()
        rng = np.random.default_rng(args.seed)
        now = time.time()
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            copy(
                conn,
                "COPY tweets (environment, idempotency_key, tweet_id, text, status, created_at, "
                "updated_at, posted_at, metadata, analytics, learning_metadata) FROM STDIN",
                tweet_chunks(args.rows, now, rng),
            )
            copy(
                conn,
                "COPY candidates (environment, content_hash, text, topic, source, priority, "
                "status, created_at) FROM STDIN",
                candidate_chunks(args.candidates, now, rng),
            )
            copy(
                conn,
                "COPY audit_log (ts, event_type, component, event_data, context) FROM STDIN",
                audit_chunks(now, rng),
            )
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.execute("vacuum analyze")
            analyze_s = time.perf_counter() - t0
            counts = {
                t: conn.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("tweets", "candidates", "audit_log")
            }
            print(
                f"loaded {counts['tweets']:,} tweets, {counts['candidates']:,} candidates, "
                f"{counts['audit_log']:,} audit rows with COPY in {load_s:.1f} s "
                f"(vacuum analyze {analyze_s:.1f} s); median of {args.runs} runs\n"
            )
            ref_ms, _ = time_query(conn, REFERENCE[1], args.runs)
            results = [(label, *time_query(conn, sql, args.runs)) for label, sql in QUERIES]
        width = max(len(label) for label, _ in [*QUERIES, REFERENCE])
        print(f"{'query':<{width}}  {'rows':>5}  {'median ms':>9}  {'ratio':>6}  target")
        print(f"{REFERENCE[0]:<{width}}  {1:>5}  {ref_ms:>9.1f}  {1:>6.2f}  -")
        failed = 0
        for label, ms, rows in results:
            ok = ms < TARGET_MS
            failed += not ok
            verdict = "ok" if ok else f"MISSED ({TARGET_MS:.0f} ms)"
            print(f"{label:<{width}}  {rows:>5}  {ms:>9.1f}  {ms / ref_ms:>6.2f}  {verdict}")
        print("\nratio = view median / reference median (one full count(*) pass over tweets)")
        return 1 if failed else 0
    finally:
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{name}" with (force)')
        else:
            print(f"kept database {name}: {url}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
