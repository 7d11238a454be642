"""Scheduling cycles against real Postgres/Redis, posting through tweepy to a local X server."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import CREDS, ENV, T0, cycle, enqueue, poster, set_flags, store_model_fit, texts
from x_server import XServer

from xbot.candidates.prep import content_hash
from xbot.candidates.queue import CandidateQueue
from xbot.scheduler import DecisionRecord, run_cycle
from xbot.services import Services
from xbot.settings import Settings, load_settings


def decisions(services: Services) -> list[sa.Row]:
    with services.engine.connect() as conn:
        return conn.execute(sa.text("select * from decisions order by id")).all()


# -- shadow mode --------------------------------------------------------------------------------


def test_default_flags_shadow_and_record_one_decision(
    services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    enqueue(services, texts(3))
    caplog.set_level(logging.INFO, logger="xbot.scheduler")
    first = cycle(services, settings, T0)
    assert (first.outcome, first.reason, first.engine) == ("shadow", "shadow", "v1")
    assert first.text == texts(3)[0]  # V1: highest priority
    assert f"SHADOW MODE - Would post: {texts(3)[0]}" in caplog.text
    assert first.line().endswith(f"SHADOW MODE - Would post: {texts(3)[0]}")
    [row] = decisions(services)
    assert row.propensity == 1.0 and row.content_hash == content_hash(texts(3)[0])
    assert row.context["eligible"] == 3 and row.context["v1_choice"] == row.content_hash
    assert row.flags["post_fraction"] == 0.0 and row.hour == 15 and row.ts == T0
    # the shadowed candidate is spent: the next slot shows another one
    second = cycle(services, settings, T0 + timedelta(minutes=60))
    assert second.text == texts(3)[1]
    assert CandidateQueue(services, ENV).depth() == 1
    with services.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("select text, status from candidates")).all())
    assert statuses[texts(3)[0]] == "shadowed"


def test_flags_are_read_fresh_every_cycle(services: Services, settings: Settings) -> None:
    enqueue(services, texts(3))
    assert cycle(services, settings, T0).engine == "v1"
    set_flags(services, learning_engine_v2=True)
    record = cycle(services, settings, T0 + timedelta(hours=1))
    assert record.engine == "v2" and 0 < record.propensity <= 1
    assert record.context["v1_choice"] is not None and "score" in record.scores


def test_empty_queue_is_recorded(services: Services, settings: Settings) -> None:
    record = cycle(services, settings, T0)
    assert (record.outcome, record.reason) == ("skipped", "queue_empty")
    assert len(decisions(services)) == 1


# -- gates --------------------------------------------------------------------------------------


def test_quiet_hours_follow_the_timezone_flag(services: Services, settings: Settings) -> None:
    enqueue(services, texts(6))
    set_flags(services, timezone="Europe/Berlin", post_interval_min=15)
    # 01:30 UTC is 03:30 in Berlin (summer): quiet there, though 1 is not a quiet hour in UTC
    assert cycle(services, settings, datetime(2026, 6, 1, 1, 30, tzinfo=UTC)).reason == (
        "quiet_hours"
    )
    # 22:30 UTC on 31 May is 00:30 in Berlin on 1 June: allowed
    assert cycle(services, settings, datetime(2026, 5, 31, 22, 30, tzinfo=UTC)).outcome == (
        "shadow"
    )
    set_flags(services, timezone="UTC")
    assert cycle(services, settings, datetime(2026, 6, 1, 1, 30, tzinfo=UTC)).outcome == "shadow"
    assert cycle(services, settings, datetime(2026, 6, 1, 3, 30, tzinfo=UTC)).reason == (
        "quiet_hours"
    )


def test_quiet_hours_across_a_dst_change(services: Services, settings: Settings) -> None:
    enqueue(services, texts(6))
    set_flags(services, timezone="America/New_York", post_interval_min=15)
    # Saturday 7 March 2026, 10:00 UTC = 05:00 EST: quiet
    assert cycle(services, settings, datetime(2026, 3, 7, 10, tzinfo=UTC)).reason == "quiet_hours"
    # Sunday 8 March, clocks jump at 02:00 EST to 03:00 EDT
    # 06:30 UTC = 01:30 EST (before the jump): allowed; 07:30 UTC = 03:30 EDT: quiet
    assert cycle(services, settings, datetime(2026, 3, 8, 6, 30, tzinfo=UTC)).outcome == "shadow"
    assert cycle(services, settings, datetime(2026, 3, 8, 7, 30, tzinfo=UTC)).reason == (
        "quiet_hours"
    )
    # 10:00 UTC = 06:00 EDT: allowed now, though it was quiet (05:00 EST) the day before
    sunday = cycle(services, settings, datetime(2026, 3, 8, 10, tzinfo=UTC))
    assert (sunday.outcome, sunday.hour) == ("shadow", 6)


def test_interval_spaces_slots(services: Services, settings: Settings) -> None:
    enqueue(services, texts(4))
    set_flags(services, post_interval_min=45)
    assert cycle(services, settings, T0).outcome == "shadow"
    assert cycle(services, settings, T0 + timedelta(minutes=30)).reason == "interval"
    assert cycle(services, settings, T0 + timedelta(minutes=44)).reason == "interval"
    assert cycle(services, settings, T0 + timedelta(minutes=45)).outcome == "shadow"


def test_daily_cap_counts_live_posts_per_local_day(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(6))
    set_flags(live, post_fraction=1.0, daily_cap=2, post_interval_min=15,
              timezone="America/Los_Angeles", quiet_hours=[])  # fmt: skip
    day = datetime(2026, 3, 2, 20, tzinfo=UTC)  # 12:00 in Los Angeles
    outcomes = [cycle(live, live_settings, day + timedelta(minutes=20 * i)) for i in range(3)]
    assert [r.reason for r in outcomes] == ["posted", "posted", "daily_cap"]
    # 07:30 UTC next day is still 23:30 the same local day in Los Angeles
    assert cycle(live, live_settings, datetime(2026, 3, 3, 7, 30, tzinfo=UTC)).reason == (
        "daily_cap"
    )
    # 08:10 UTC is 00:10 local: a new day
    assert cycle(live, live_settings, datetime(2026, 3, 3, 8, 10, tzinfo=UTC)).reason == "posted"
    assert len(xserver.texts()) == 3


# -- post_fraction and LIVE_POSTS ---------------------------------------------------------------


def test_post_fraction_zero_never_posts_even_live(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(12))
    set_flags(live, post_fraction=0.0, post_interval_min=15, quiet_hours=[])
    rng = np.random.default_rng(1)
    for i in range(12):
        record = run_cycle(live, live_settings, poster=poster(live, live_settings),
                           now=T0 + timedelta(minutes=15 * i), rng=rng)  # fmt: skip
        assert record.outcome == "shadow"
    assert xserver.requests == []


def test_post_fraction_one_always_posts_when_live(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(8))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[], daily_cap=100)
    rng = np.random.default_rng(2)
    for i in range(8):
        record = run_cycle(live, live_settings, poster=poster(live, live_settings),
                           now=T0 + timedelta(minutes=15 * i), rng=rng)  # fmt: skip
        assert (record.outcome, record.tweet_id) == ("posted", xserver.tweets[i]["id"])
    assert xserver.texts() == texts(8)
    with live.engine.connect() as conn:
        row = conn.execute(sa.text("select * from tweets order by id limit 1")).one()
    assert row.status == "posted" and row.posted_at == T0
    assert row.metadata == {"topic": "gaming_fps", "source": "test", "tags": ["gaming"],
                            "format": "news", "engine": "v1", "environment": ENV, "hour": 15,
                            "has_url": False, "link_policy": "keep"}  # fmt: skip
    # no has_media: the candidate does not say, and an unknown is no media arm (features.py)
    assert row.learning_metadata["propensity"] == 1.0


def test_post_fraction_is_the_share_of_slots_posted(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(60))
    set_flags(live, post_fraction=0.3, post_interval_min=15, quiet_hours=[], daily_cap=100)
    rng = np.random.default_rng(3)
    outcomes = [
        run_cycle(live, live_settings, poster=poster(live, live_settings),
                  now=T0 + timedelta(minutes=15 * i), rng=rng).outcome
        for i in range(60)
    ]  # fmt: skip
    assert 8 <= outcomes.count("posted") <= 28  # Binomial(60, 0.3): mean 18
    assert outcomes.count("posted") + outcomes.count("shadow") == 60
    assert len(xserver.texts()) == outcomes.count("posted")


def test_live_posts_false_never_posts(
    env_vars: dict[str, str], xserver: XServer, services: Services
) -> None:
    settings = load_settings({**env_vars, **CREDS, "X_API_BASE_URL": xserver.url}, env_file="")
    enqueue(services, texts(2))
    set_flags(services, post_fraction=1.0)
    record = run_cycle(services, settings, poster=poster(services, settings), now=T0)
    assert record.outcome == "shadow" and xserver.requests == []


# -- the guard ----------------------------------------------------------------------------------


def test_rejected_pick_is_removed_and_the_next_one_tried(
    services: Services, settings: Settings
) -> None:
    bad = "Giveaway winners DM me at winner.claims@example.com to get your prize"
    enqueue(services, [bad], priority=9.0)
    enqueue(services, texts(2))
    record = cycle(services, settings, T0)
    assert record.outcome == "shadow" and record.text == texts(2)[0]
    [rejected] = record.context["rejected"]
    assert rejected["content_hash"] == content_hash(bad) and "pii_email" in rejected["codes"]
    queue = CandidateQueue(services, ENV)
    assert [c.text for c in queue.peek()] == [texts(2)[1]]  # exactly the rejected one left
    with services.engine.connect() as conn:
        status = conn.execute(
            sa.text("select status from candidates where text = :t"), {"t": bad}
        ).scalar_one()
    assert status == "rejected"


def test_all_rejected_is_recorded_with_codes(services: Services, settings: Settings) -> None:
    enqueue(services, [f"Email me at player{i}@example.com for boosts" for i in range(7)])
    record = cycle(services, settings, T0)
    assert record.outcome == "skipped" and record.reason.startswith("safety_rejected:")
    assert "pii_email" in record.reason
    assert len(record.context["rejected"]) == 5  # bounded
    assert CandidateQueue(services, ENV).depth() == 2


# -- X refusing ---------------------------------------------------------------------------------


def test_auth_failure_stops_posting_until_resumed(
    live: Services, live_settings: Settings, xserver: XServer, xbot: Any, live_env: dict[str, str]
) -> None:
    enqueue(live, texts(3))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    xserver.script = ["401"]
    first = cycle(live, live_settings, T0)
    assert (first.outcome, first.reason) == ("skipped", "auth_failed")
    second = cycle(live, live_settings, T0 + timedelta(minutes=20))
    assert second.reason == "auth_failed" and xserver.post_attempts == 1
    assert CandidateQueue(live, ENV).depth() == 3  # nothing lost
    result = xbot("schedule", "resume", env=live_env)
    assert result.exit_code == 0 and "posting resumed" in result.stdout
    assert cycle(live, live_settings, T0 + timedelta(minutes=40)).outcome == "posted"


def test_402_pauses_posting_keeps_the_candidate_and_resume_restarts(
    live: Services, live_settings: Settings, xserver: XServer, xbot: Any, live_env: dict[str, str]
) -> None:
    enqueue(live, texts(3))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    xserver.script = ["402"]
    first = cycle(live, live_settings, T0)
    assert (first.outcome, first.reason) == ("skipped", "credits_depleted")
    with live.engine.connect() as conn:
        statuses = conn.execute(sa.text("select status from tweets")).scalars().all()
    assert statuses == ["failed"]  # X said it did not post: never posted, never in doubt
    second = cycle(live, live_settings, T0 + timedelta(minutes=20))
    assert second.reason == "credits_depleted" and xserver.post_attempts == 1  # no retry loop
    assert CandidateQueue(live, ENV).depth() == 3  # the candidate stays queued
    health = xbot("health", env=live_env)
    assert health.exit_code == 1 and "credits depleted" in health.stdout
    assert "xbot schedule resume" in health.stdout
    result = xbot("schedule", "resume", env=live_env)
    assert result.exit_code == 0 and "credits_depleted" in result.stdout
    third = cycle(live, live_settings, T0 + timedelta(minutes=40))
    assert third.outcome == "posted" and third.text == texts(3)[0]


def test_rate_limit_is_honoured_without_retry_storm(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(3))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    xserver.script = ["429"]
    now = datetime.now(UTC).replace(microsecond=0)
    xserver.reset_epoch = int(now.timestamp()) + 3600
    assert cycle(live, live_settings, now).reason == "rate_limited"
    for minutes in (20, 40):
        assert cycle(live, live_settings, now + timedelta(minutes=minutes)).reason == "rate_limited"
    assert xserver.post_attempts == 1
    after = datetime.fromtimestamp(xserver.reset_epoch, UTC) + timedelta(minutes=1)
    assert cycle(live, live_settings, after).outcome == "posted"


def test_claimed_row_is_reconciled_before_anything_is_posted(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(2))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    queue = CandidateQueue(live, ENV)
    t0 = datetime.now(UTC)  # X stamps the remote post with the real time
    first = queue.claim(content_hash(texts(2)[0]), now=t0)  # a crashed cycle's claim
    assert first is not None
    with live.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into tweets (environment, idempotency_key, text, status, created_at)"
                " values (:e, :k, :t, 'claimed', :now)"
            ),
            {"e": ENV, "k": content_hash(texts(2)[0]), "t": texts(2)[0], "now": t0},
        )
    xserver.add_tweet(texts(2)[0])  # ... whose POST did reach X
    record = cycle(live, live_settings, t0 + timedelta(minutes=10))
    assert record.context["reconciled"] == ["posted"]
    # the lease of the crashed claim ran out, so the candidate was settled as posted
    assert xserver.post_attempts == 0 and xserver.texts() == [texts(2)[0]]
    assert record.outcome == "skipped" and record.reason == "interval"
    nxt = cycle(live, live_settings, t0 + timedelta(minutes=20))
    assert (nxt.outcome, nxt.text) == ("posted", texts(2)[1])
    assert xserver.texts() == texts(2)
    assert queue.depth() == 0 and queue.inflight_count() == 0


def test_four_schedulers_at_once_post_at_most_once_per_slot(
    live_settings: Settings, live: Services, xserver: XServer
) -> None:
    enqueue(live, texts(20))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[], daily_cap=100)
    for slot in range(5):
        when = T0 + timedelta(minutes=15 * slot)
        barrier = threading.Barrier(4)
        results: list[DecisionRecord] = []

        def one(
            when: datetime = when,
            barrier: threading.Barrier = barrier,
            results: list[DecisionRecord] = results,
        ) -> None:
            with Services(live_settings) as svc:
                barrier.wait()
                results.append(cycle(svc, live_settings, when))

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.outcome for r in results].count("posted") == 1
        assert {r.reason for r in results} <= {"posted", "locked", "interval"}
    assert len(xserver.texts()) == 5 == len(set(xserver.texts()))
    assert len(decisions(live)) == 20


# -- the CLI ------------------------------------------------------------------------------------


def test_schedule_test_never_posts_whatever_the_flags(
    live: Services, live_env: dict[str, str], xserver: XServer, xbot: Any
) -> None:
    enqueue(live, texts(2))
    set_flags(live, post_fraction=1.0, quiet_hours=[])
    for _ in range(3):
        result = xbot("schedule", "test", env=live_env)
        assert result.exit_code == 0, result.output
        assert f"SHADOW MODE - Would post: {texts(2)[0]}" in result.stdout
    assert xserver.requests == []
    assert CandidateQueue(live, ENV).depth() == 2  # a dry run returns its pick
    rows = decisions(live)
    assert [r.outcome for r in rows] == ["shadow"] * 3 and rows[0].context["dry_run"] is True


def test_schedule_run_posts_once_and_prints_the_decision(
    live: Services, live_env: dict[str, str], xserver: XServer, xbot: Any
) -> None:
    enqueue(live, texts(2))
    set_flags(live, post_fraction=1.0, quiet_hours=[])
    result = xbot("schedule", "run", "--json", env=live_env)
    assert result.exit_code == 0, result.output
    assert '"outcome": "posted"' in result.stdout and xserver.texts() == [texts(2)[0]]
    again = xbot("schedule", "run", env=live_env)
    assert again.exit_code == 0 and "(interval)" in again.stdout
    assert xbot("schedule", "run", "--loop", "--every", "2s", env=live_env).exit_code != 0


def test_schedule_run_live_without_credentials_is_a_clear_error(
    env_vars: dict[str, str], xbot: Any
) -> None:
    result = xbot("schedule", "run", env={**env_vars, "LIVE_POSTS": "true"})
    assert result.exit_code == 6 and "X_API_KEY" in result.stderr


def test_model_priors_flag_seeds_the_bandit_from_the_model(
    services: Services, settings: Settings
) -> None:
    set_flags(services, learning_engine_v2=True, epsilon=0.0, model_priors=True)
    fps = ["Which FPS map do you hate most?", "Best FPS reload animation ever made?"]
    rpg = ["Name an RPG side quest you still remember", "Which RPG party member carried you?"]
    enqueue(services, fps, topic="gaming_fps", priority=2.0)
    enqueue(services, rpg, topic="gaming_rpg")
    first = cycle(services, settings, T0)
    assert first.context["prior"] == "pooled (no model fit yet)"
    assert first.context["eligible_topics"] == {"gaming_fps": 2, "gaming_rpg": 2}
    # The model says RPG posts beat the 0.03 baseline far more often than FPS posts do.
    store_model_fit(services, {"gaming_fps": 0.005, "gaming_rpg": 0.09})
    record = cycle(services, settings, T0 + timedelta(hours=1))
    assert record.context["prior"] == "model"
    assert record.topic == "gaming_rpg"
