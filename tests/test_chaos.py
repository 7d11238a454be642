"""Chaos: SIGKILL a private redis-server at a random point inside refresh, a scheduling cycle and
a learning cycle, restart it with or without its data, and check that nothing was lost.

Faults come through the driver (``tests/redis_faults.py``, the counting connection of
``benchmarks/bench_refresh.py``): a trial picks a random send number k and whether the kill
comes just before or just after that send goes out (after: Redis may have executed a command
whose reply is lost). If the operation finishes before send k, Redis is killed right after it.
The server then restarts in one of three ways:

* ``empty``: no data at all (no persistence, a failover to an empty replica, a FLUSHDB);
* ``aof``: its append-only file (``appendfsync always``): everything acknowledged survives;
* ``rdb``: the RDB snapshot taken when the trial began: Redis comes back *older* than Postgres.

Healing is what the next refresh or cycle does first (return lapsed claims, expire, drift check
and rebuild, bandit sync), run at a clock past the claim lease. Then, every trial: the queued,
unexpired candidates of Postgres are exactly the ones Redis hands out, each once; Redis holds
no claim Postgres does not; the bandit equals ``learn rebuild``; nothing was posted (on the
HTTP X server) or shadowed twice. The scheduler lock is a real-time lease (120 s) that a
restarted Redis may still hold for the killed cycle: the trials delete it, as the simulated
clock jumps further than the lease.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis as redis_lib
import sqlalchemy as sa
from helpers import CREDS, ENV, TableMetrics, add_posts, metrics, set_flags, texts
from helpers import enqueue as enqueue_texts
from redis_faults import Faults, FaultyServices
from x_server import XServer

from xbot.bandit_store import BanditStore
from xbot.candidates.pipeline import refresh
from xbot.candidates.queue import CandidateQueue
from xbot.errors import XbotError
from xbot.learning import run_learning_cycle
from xbot.scheduler import LOCK_NAME, run_cycle
from xbot.settings import load_settings
from xbot.x_client import XPoster

pytestmark = pytest.mark.slow

TRIALS = 50
MODES = ("empty", "aof", "rdb")
CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources.toml"
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
CHECK_AFTER = timedelta(minutes=6)  # past the 300 s claim lease


class ChaosRedis:
    """The private redis-server of a test, killed and restarted by the trials (same port, same
    directory; the fixture stops whichever process is current at teardown)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        args = list(server.proc.args)
        self.binary = args[0]
        self.dir = Path(args[args.index("--dir") + 1])
        self.base = args[1:]
        i = self.base.index("--appendonly")
        del self.base[i : i + 2]
        self.admin = redis_lib.Redis(host="127.0.0.1", port=server.port, socket_timeout=10)
        self.enable_aof()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                self.admin.ping()
                return
            except (redis_lib.ConnectionError, redis_lib.BusyLoadingError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def enable_aof(self) -> None:
        self.admin.config_set("appendfsync", "always")
        self.admin.config_set("appendonly", "yes")
        while True:
            info = self.admin.info("persistence")
            if info["aof_enabled"] and not (
                info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]
            ):
                return
            time.sleep(0.01)

    def kill(self) -> None:
        proc = self.server.proc
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def restart(self, mode: str) -> None:
        self.kill()
        self.admin.connection_pool.disconnect()
        if mode == "empty":
            for path in self.dir.iterdir():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        if mode == "rdb":
            shutil.rmtree(self.dir / "appendonlydir", ignore_errors=True)
        aof = "no" if mode == "rdb" else "yes"
        self.server.proc = subprocess.Popen(
            [self.binary, *self.base, "--appendonly", aof, "--appendfsync", "always"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        if mode == "rdb":
            self.enable_aof()


class Trials:
    """Runs trials of one operation and the checks after each."""

    def __init__(self, chaos: ChaosRedis, svc: FaultyServices, seed: int) -> None:
        self.chaos = chaos
        self.svc = svc
        self.rnd = random.Random(seed)
        self.sends = 0  # the most sends a run made that finished before its kill point
        self.killed_inside: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def calibrate(self, operation: Callable[[], Any], check_at: datetime) -> None:
        """One run without a fault (not a trial): how many sends the operation makes."""
        self.svc.faults.arm()
        operation()
        self.sends = self.svc.faults.sends
        self.check(check_at)

    def run(self, operation: Callable[[], Any], check_at: datetime) -> None:
        mode = self.rnd.choice(MODES)
        self.modes[mode] += 1
        if mode == "rdb":
            self.chaos.admin.save()
        faults = self.svc.faults
        at = self.rnd.randint(1, self.sends + 1)
        faults.arm(at=at, action=self.chaos.kill, after_send=self.rnd.random() < 0.5)
        try:
            operation()
        except (XbotError, redis_lib.RedisError) as exc:
            self.errors[type(exc).__name__] += 1
        fired, sends = faults.fired, faults.sends
        faults.disarm()
        if fired:
            self.killed_inside[mode] += 1
        else:
            self.sends = max(self.sends, sends)
        self.chaos.restart(mode)
        self.svc.redis.connection_pool.disconnect()
        self.svc.redis.delete(self.svc.keys.lock(LOCK_NAME))  # the real-time lease, fast-forwarded
        self.check(check_at)

    def check(self, now: datetime) -> None:
        svc = self.svc
        queue = CandidateQueue(svc, ENV)
        queue.reclaim_expired(now=now)
        queue.prune_expired(now=now)
        queue.heal(now=now)
        with svc.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select content_hash, status, claim_until from candidates "
                    "where environment = :e and (status = 'claimed' or (status = 'queued' "
                    "and expires_at > :now))"
                ),
                {"e": ENV, "now": now},
            ).all()
        queued = {r.content_hash for r in rows if r.status == "queued"}
        claimed = {r.content_hash for r in rows if r.status == "claimed"}
        handed = [c.content_hash for c in queue.peek(100_000, now=now)]
        assert len(handed) == len(set(handed))
        assert set(handed) == queued, (len(handed), len(queued))
        assert queue.drift(now=now).in_sync
        assert set(svc.redis.zrange(svc.keys.inflight(), 0, -1)) <= claimed
        for h in self.rnd.sample(sorted(queued), min(2, len(queued))):
            claim = queue.claim(h, now=now)
            assert claim is not None and claim.candidate.db_id is not None
            assert queue.claim(h, now=now) is None  # never twice
            assert queue.ack(claim, "returned")
        store = BanditStore(svc, ENV)
        store.sync()
        healed = store.state()
        store.rebuild()
        assert store.state() == healed

    def report(self, name: str) -> str:
        inside = sum(self.killed_inside.values())
        return (
            f"{name}: {TRIALS} trials, killed inside the operation {inside} "
            f"({dict(self.killed_inside)}), restarts {dict(self.modes)}, errors {dict(self.errors)}"
        )


def _no_double_posts(svc: FaultyServices, xserver: XServer | None = None) -> None:
    with svc.engine.connect() as conn:
        spent = conn.execute(
            sa.text(
                "select content_hash, count(*) from decisions where environment = :e "
                "and outcome in ('posted', 'shadow') "
                "and not coalesce((context ->> 'dry_run')::boolean, false) "
                "group by content_hash having count(*) > 1"
            ),
            {"e": ENV},
        ).all()
    assert spent == []  # no candidate posted or shadowed twice
    if xserver is not None:
        posted = xserver.texts()
        assert len(posted) == len(set(posted))


@pytest.fixture
def chaos(env_vars: dict[str, str], start_private_redis):
    server = start_private_redis()
    chaos_redis = ChaosRedis(server)
    env = {**env_vars, "REDIS_URL": server.url}
    with FaultyServices(load_settings(env, env_file=""), Faults()) as svc:
        yield chaos_redis, svc, env
    chaos_redis.admin.close()


def test_chaos_refresh(chaos, capsys) -> None:
    chaos_redis, svc, _ = chaos
    trials = Trials(chaos_redis, svc, seed=101)
    trials.calibrate(lambda: refresh(svc, ENV, now=T0, config_path=CONFIG), T0 + CHECK_AFTER)
    when = T0 + timedelta(hours=12)
    for _ in range(TRIALS):
        trials.run(lambda at=when: refresh(svc, ENV, now=at, config_path=CONFIG),
                   when + CHECK_AFTER)  # fmt: skip
        when += timedelta(hours=12)  # the next slot: new template candidates
    _no_double_posts(svc)
    with svc.engine.connect() as conn:
        total = conn.execute(sa.text("select count(*) from candidates")).scalar_one()
    assert total >= 5 * TRIALS  # refreshes kept queueing through the faults
    assert sum(trials.killed_inside.values()) >= TRIALS // 2
    with capsys.disabled():
        print("\n" + trials.report("refresh"))


def test_chaos_scheduling_cycle(chaos, capsys) -> None:
    chaos_redis, svc, env = chaos
    xserver = XServer().start()
    try:
        live_env = {**env, **CREDS, "LIVE_POSTS": "true", "X_API_BASE_URL": xserver.url}
        live = load_settings(live_env, env_file="")
        enqueue_texts(svc, texts(2 * TRIALS, stem="Chaos cycle"))
        set_flags(svc, post_fraction=0.5, post_interval_min=15, quiet_hours=[], daily_cap=100,
                  learning_engine_v2=True)  # fmt: skip
        trials = Trials(chaos_redis, svc, seed=202)
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
        xserver.clock = lambda: when
        rng = np.random.default_rng(202)
        trials.calibrate(
            lambda: run_cycle(svc, live, poster=XPoster(live, svc), now=when, rng=rng),
            when + CHECK_AFTER,
        )
        when += timedelta(minutes=20)
        for _ in range(TRIALS):
            poster = XPoster(live, svc, backoff_s=0.0, timeout_s=5.0, sleep=lambda s: None)
            trials.run(lambda at=when, p=poster: run_cycle(svc, live, poster=p, now=at, rng=rng),
                       when + CHECK_AFTER)  # fmt: skip
            _no_double_posts(svc, xserver)
            when += timedelta(minutes=20)
        with svc.engine.connect() as conn:
            outcomes = Counter(
                conn.execute(sa.text("select outcome from decisions")).scalars().all()
            )
        assert outcomes["posted"] >= TRIALS // 10 and outcomes["shadow"] >= TRIALS // 10, outcomes
        assert sum(trials.killed_inside.values()) >= TRIALS // 2
        with capsys.disabled():
            print("\n" + trials.report("scheduling cycle") + f", decisions {dict(outcomes)}")
    finally:
        xserver.stop()


def test_chaos_learning_cycle(chaos, capsys) -> None:
    chaos_redis, svc, _ = chaos
    set_flags(svc, decay=0.95)
    trials = Trials(chaos_redis, svc, seed=303)
    table: dict[str, dict[str, int]] = {}
    source = TableMetrics(table)
    rnd = random.Random(303)
    when = T0
    for trial in range(TRIALS + 1):
        for topic in rnd.sample(["fps", "moba", "rpg", "indie"], 2):
            ids = add_posts(svc, 3, posted_at=when - timedelta(hours=30), topic=topic,
                            hour=rnd.randrange(24), tags=(topic, "gaming"))  # fmt: skip
            table.update({t: metrics(rnd.randrange(1, 30), 200) for t in ids})
        learn = lambda at=when: run_learning_cycle(svc, ENV, source, now=at)  # noqa: E731
        if trial == 0:
            trials.calibrate(learn, when + CHECK_AFTER)
        else:
            trials.run(learn, when + CHECK_AFTER)
        when += timedelta(hours=1)
    with svc.engine.connect() as conn:
        cycles = conn.execute(sa.text("select count(*) from learning_cycles")).scalar_one()
        unlearned = conn.execute(
            sa.text("select count(*) from tweets where learned_cycle_id is null")
        ).scalar_one()
    assert cycles >= TRIALS // 2 and unlearned <= 6  # at most the last trial's posts wait
    assert sum(trials.killed_inside.values()) >= TRIALS // 2
    with capsys.disabled():
        print("\n" + trials.report("learning cycle") + f", learning cycles {cycles}")
