"""Enqueue 10,000 candidates (exact dedup included) against the local Redis and Postgres.

Prints engine time and round trips for :meth:`CandidateQueue.enqueue` (one MGET pipeline of the
dedup markers, one batched INSERT, one Redis pipeline writing the projection and markers) next
to a naive baseline run in the same process: one Redis command and one INSERT per item, which is
how the first implementation talked to Redis.
Target: 10,000 in under 1 s of engine time.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        python benchmarks/bench_refresh.py [--n 10000]

A scratch database and a unique REDIS_PREFIX are created for the run and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, datetime

import redis as redis_lib
import sqlalchemy as sa
from scratch import ScratchDatabase

from xbot import migrate
from xbot.candidates.prep import CANDIDATE_TTL, content_hash
from xbot.candidates.queue import CONTENT_HASH_TTL_S, Candidate, CandidateQueue
from xbot.services import Services
from xbot.settings import load_settings

TARGET_S = 1.0
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


class CountingConnection(redis_lib.Connection):
    """A real connection that counts network round trips (one send per command or pipeline)."""

    sends = 0

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        CountingConnection.sends += 1
        return super().send_packed_command(command, check_health)


class CountingServices(Services):
    """Services whose Redis client counts round trips; everything else is the real thing."""

    @property
    def redis(self) -> redis_lib.Redis:
        if self._redis is None:
            pool = redis_lib.ConnectionPool.from_url(
                self.redis_url(), connection_class=CountingConnection, decode_responses=True
            )
            self._redis = redis_lib.Redis(connection_pool=pool)
        return self._redis


def candidates(n: int, tag: str) -> list[Candidate]:
    out = []
    for i in range(n):
        text = f"{tag} candidate {i}: which map has the best sightlines in ranked? #{i % 7}"
        out.append(
            Candidate(
                content_hash=content_hash(text),
                db_id=None,
                text=text,
                topic="gaming_fps",
                format="question",
                tags=("FPS",),
                source="bench",
                priority=1.0 + (i % 100) / 100,
                created_at=NOW,
                expires_at=NOW + CANDIDATE_TTL,
            )
        )
    return out


def naive(services: Services, environment: str, items: list[Candidate]) -> int:
    """One command per item: SET NX, INSERT, HSET, ZADD, ZADD. Returns how many were queued."""
    r, k = services.redis, services.keys
    queued = 0
    with services.engine.begin() as conn:
        for c in items:
            if not r.set(k.content_hash(c.content_hash), "1", nx=True, ex=CONTENT_HASH_TTL_S):
                continue
            row = conn.execute(
                sa.text(
                    "insert into candidates (environment, content_hash, text, topic, format, tags,"
                    " source, priority, created_at, expires_at) values (:e, :h, :t, :tp, :f, :tg,"
                    " :s, :p, :c, :x) on conflict do nothing returning id"
                ),
                {
                    "e": environment, "h": c.content_hash, "t": c.text, "tp": c.topic,
                    "f": c.format, "tg": list(c.tags), "s": c.source, "p": c.priority,
                    "c": c.created_at, "x": c.expires_at,
                },
            ).scalar_one_or_none()  # fmt: skip
            if row is None:
                continue
            r.hset(k.payload(c.content_hash), mapping=c.payload())
            r.zadd(k.queue(), {c.content_hash: c.priority})
            r.zadd(k.queue_expiry(), {c.content_hash: c.expires_at.timestamp()})
            queued += 1
    return queued


def run(services: Services, label: str, fn, expect: int) -> dict[str, float | int | str]:  # type: ignore[no-untyped-def]
    CountingConnection.sends = 0
    start = time.perf_counter()
    queued = fn()
    elapsed = time.perf_counter() - start
    assert queued == expect, f"{label}: queued {queued}, expected {expect}"
    return {"run": label, "items": expect, "seconds": round(elapsed, 3),
            "redis_round_trips": CountingConnection.sends}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    scratch = ScratchDatabase(base)
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    settings = load_settings(
        {"APP_ENV": "development", "DATABASE_URL": scratch.url,
         "REDIS_URL": redis_url, "REDIS_PREFIX": prefix},
        env_file="",
    )  # fmt: skip
    try:
        with CountingServices(settings) as svc:
            migrate.migrate(svc.engine)
            svc.redis.ping()
            queue = CandidateQueue(svc, "development")
            fast_items = candidates(args.n, "batched")
            naive_items = candidates(args.n, "naive")
            results = [
                run(svc, "naive (one command per item)", lambda: naive(svc, "staging", naive_items),
                    args.n),
                run(svc, "enqueue (batched)", lambda: len(queue.enqueue(fast_items).accepted),
                    args.n),
                run(svc, "enqueue again (all duplicates)",
                    lambda: len(queue.enqueue(fast_items).duplicates), args.n),
            ]  # fmt: skip
            for r in results:
                print(json.dumps(r))
            speedup = results[0]["seconds"] / max(results[1]["seconds"], 1e-9)
            verdict = "PASS" if results[1]["seconds"] < TARGET_S else "MISS"
            print(f"speed-up vs naive: {speedup:.1f}x; target {args.n} in < {TARGET_S}s: {verdict}")
            for k in svc.redis.scan_iter(match=prefix + "*", count=1000):
                svc.redis.delete(k)
    finally:
        scratch.drop()


if __name__ == "__main__":
    main()
