"""Crash injection: SIGKILL a posting cycle at every step between claim, HTTP call and record.

Each trial forks a child that runs one live cycle (tweepy -> local X server) with
``XBOT_CRASH_AT=<step>``, so it kills itself at that point; then a fresh cycle runs in this
process. X is counted at the HTTP layer. Over every trial: no text is ever posted twice, and
every candidate is either posted (exactly once, recorded) or still queued.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import random
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from helpers import CREDS, ENV, enqueue, set_flags, texts
from x_server import XServer

from xbot.candidates.queue import CandidateQueue
from xbot.outbox import CRASH_STEPS
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings, load_settings
from xbot.x_client import XPoster

TRIALS = 100


def _child(settings: Settings, when: datetime, step: str | None, seed: int) -> None:
    if step is not None:
        settings = dataclasses.replace(settings, crash_at=step)
    with Services(settings) as svc:
        poster = XPoster(settings, svc, timeout_s=5.0)
        run_cycle(svc, settings, poster=poster, now=when, rng=np.random.default_rng(seed))
    os._exit(0)


def test_no_double_post_and_no_lost_candidate_under_sigkill(env_vars: dict[str, str]) -> None:
    server = XServer().start()
    try:
        env = {**env_vars, **CREDS, "LIVE_POSTS": "true", "X_API_BASE_URL": server.url}
        settings = load_settings(env, env_file="")
        with Services(settings) as svc:
            all_texts = texts(2 * TRIALS + 10, stem="Crash test")
            enqueue(svc, all_texts)
            set_flags(svc, post_fraction=1.0, post_interval_min=15, quiet_hours=[],
                      daily_cap=100)  # fmt: skip
            svc.close()  # no pooled connection crosses a fork
            rnd = random.Random(20261129)
            fork = multiprocessing.get_context("fork")
            killed: Counter[str] = Counter()
            when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
            server.clock = lambda: when  # X stamps posts with the simulated time
            for trial in range(TRIALS):
                step = rnd.choice([*CRASH_STEPS, None])
                child = fork.Process(target=_child, args=(settings, when, step, trial))
                child.start()
                child.join(60)
                assert child.exitcode in (0, -signal.SIGKILL), (trial, step, child.exitcode)
                if child.exitcode == -signal.SIGKILL:
                    killed[step or "none"] += 1
                when += timedelta(minutes=rnd.choice([20, 35, 60]))
                fresh = run_cycle(svc, settings, poster=XPoster(settings, svc), now=when,
                                  rng=np.random.default_rng(10_000 + trial))  # fmt: skip
                assert fresh.outcome in ("posted", "skipped"), fresh
                assert not fresh.reason.startswith("error"), fresh.context
                posted = server.texts()
                assert len(posted) == len(set(posted)), f"double post in trial {trial} ({step})"
                when += timedelta(minutes=20)
            assert set(killed) == set(CRASH_STEPS)  # every step was actually hit
            assert sum(killed.values()) >= TRIALS * 0.7

            # settle: one more cycle after every lease has run out
            when += timedelta(hours=1)
            run_cycle(svc, settings, poster=XPoster(settings, svc), now=when)
            posted = server.texts()
            assert len(posted) == len(set(posted))
            with svc.engine.connect() as conn:
                rows = conn.execute(
                    sa.text("select text, status, tweet_id from tweets where environment = :e"),
                    {"e": ENV},
                ).all()
            by_status = Counter(r.status for r in rows)
            assert by_status["claimed"] == by_status["in_doubt"] == 0
            recorded = {r.text: r.tweet_id for r in rows if r.status == "posted"}
            remote = {t["text"]: t["id"] for t in server.tweets}
            assert recorded == remote  # every X post is recorded with its id, and only those
            queue = CandidateQueue(svc, ENV)
            queued = {c.text for c in queue.peek(1000, now=when)}
            assert queue.inflight_count() == 0
            assert not queued & set(posted)
            assert queued | set(posted) == set(all_texts)  # zero candidates lost
            assert len(posted) >= TRIALS  # the fresh cycles kept posting
    finally:
        server.stop()
