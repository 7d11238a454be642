"""The Redis queue is a projection of the Postgres ``candidates`` rows (issue 10 §1).

Each test breaks Redis the way production would (a dropped connection between the Postgres
insert and the enqueue, a restart without data, a restore from an old snapshot, a lost claim)
and checks that Postgres' queued, unexpired candidates come back claimable, exactly once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import ENV, NOW, candidate
from redis_faults import Faults, FaultyServices

from xbot import health
from xbot.candidates.pipeline import refresh
from xbot.candidates.prep import content_hash
from xbot.candidates.queue import CandidateQueue
from xbot.errors import ServiceUnavailable
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources.toml"


def wipe_redis(services: Services) -> None:
    """Redis lost everything of ours (a restart without persistence, a failover, a FLUSHDB by
    someone else), done by deleting only this test's prefix."""
    keys = list(services.redis.scan_iter(match=services.keys.all_pattern(), count=1000))
    if keys:
        services.redis.delete(*keys)


def statuses(services: Services) -> dict[str, str]:
    with services.engine.connect() as conn:
        rows = conn.execute(sa.text("select text, status from candidates")).all()
    return {r.text: r.status for r in rows}


def queued_in_postgres(services: Services, now: datetime) -> set[str]:
    with services.engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "select content_hash from candidates where status = 'queued' "
                    "and expires_at > :now"
                ),
                {"now": now},
            ).scalars()
        )


def test_redis_failure_between_insert_and_enqueue_loses_nothing(settings: Settings) -> None:
    """The root bug: the enqueue's Redis write fails after the Postgres insert. The next
    refresh must queue those candidates, not call them duplicates for ever."""
    faults = Faults()
    with FaultyServices(settings, faults) as svc:
        faults.arm(match=b"local added = 0")  # the projection script: fails every time
        with pytest.raises(ServiceUnavailable):
            refresh(svc, ENV, now=NOW, config_path=CONFIG)
        faults.disarm()
        in_pg = queued_in_postgres(svc, NOW)
        assert len(in_pg) >= 20 and CandidateQueue(svc, ENV).depth() == 0

        again = refresh(svc, ENV, now=NOW, config_path=CONFIG)
        assert again.queue_healed is not None and again.queue_healed["added"] == len(in_pg)
        assert again.accepted == 0 and again.queue_depth == len(in_pg)
        queue = CandidateQueue(svc, ENV)
        assert {c.content_hash for c in queue.peek(1000, now=NOW)} == in_pg
        assert queue.drift(now=NOW).in_sync


def test_restart_without_data_requeue_is_idempotent_and_claims_survive(
    services: Services, xbot
) -> None:
    now = datetime.now(UTC)
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate(f"candidate {i}", priority=i, now=now) for i in range(5)])
    held = queue.claim(content_hash("candidate 4"), lease_seconds=600, now=now)
    dead = queue.claim(
        content_hash("candidate 3"), lease_seconds=60, now=now - timedelta(minutes=2)
    )
    assert held and dead
    wipe_redis(services)
    assert not queue.drift().in_sync

    first = json.loads(xbot("candidates", "requeue", "--json").stdout)
    assert (first["queued"], first["added"], first["in_flight"]) == (4, 4, 1)
    assert first["claims_returned"] == 1 and first["markers"] == 5
    second = json.loads(xbot("candidates", "requeue", "--json").stdout)
    assert (second["added"], second["removed"], second["claims_returned"]) == (0, 0, 0)
    assert second["queued"] == 4 and second["orphans"] == 0
    assert queue.ack(held, "posted")  # the live claim's holder still finishes it
    assert not queue.ack(dead, "posted")  # its lease had passed: the token is void
    text = xbot("candidates", "requeue")
    assert text.exit_code == 0 and "Requeued: queued 4 (added 0, removed 0)" in text.stdout
    assert queue.drift().in_sync


def test_live_claim_survives_redis_loss_and_its_holder_can_ack(services: Services) -> None:
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate("one"), candidate("two")])
    claim = queue.claim(content_hash("one"), lease_seconds=600, now=NOW)
    wipe_redis(services)
    report = queue.requeue(now=NOW + timedelta(seconds=10))
    assert (report.queued, report.in_flight, report.claims_returned) == (1, 1, 0)
    assert queue.inflight_count() == 1
    assert queue.claim(content_hash("one"), now=NOW) is None  # still held
    assert queue.ack(claim, "posted")
    assert statuses(services) == {"one": "posted", "two": "queued"}
    assert queue.inflight_count() == 0 and queue.depth() == 1


def test_claim_whose_redis_state_vanished_returns_after_its_lease(services: Services) -> None:
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate("lost claim")])
    assert queue.claim(content_hash("lost claim"), lease_seconds=60, now=NOW)
    wipe_redis(services)
    assert queue.reclaim_expired(now=NOW + timedelta(seconds=30)) == 0
    assert statuses(services)["lost claim"] == "claimed"
    assert queue.reclaim_expired(now=NOW + timedelta(seconds=61)) == 1
    assert statuses(services)["lost claim"] == "queued"
    again = queue.claim(content_hash("lost claim"), now=NOW + timedelta(seconds=62))
    assert again is not None and again.candidate.db_id is not None


def test_stale_projection_is_never_handed_out(services: Services) -> None:
    """Redis restored from an old snapshot still queues a candidate Postgres has posted."""
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate("already posted")])
    h = content_hash("already posted")
    payload = services.redis.hgetall(services.keys.payload(h))
    claim = queue.claim(h, now=NOW)
    assert queue.ack(claim, "posted")
    services.redis.hset(services.keys.payload(h), mapping=payload)  # the old snapshot
    services.redis.zadd(services.keys.queue(), {h: 1.0})
    services.redis.zadd(services.keys.queue_expiry(), {h: float(payload["expires_ts"])})
    assert not queue.drift(now=NOW).in_sync
    assert queue.claim(h, now=NOW) is None
    assert queue.depth() == 0 and not services.redis.exists(services.keys.payload(h))
    assert statuses(services)["already posted"] == "posted"


def test_expiry_is_enforced_in_postgres_when_redis_forgot(services: Services) -> None:
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate("old news", now=NOW - timedelta(hours=49)), candidate("fresh")])
    wipe_redis(services)
    assert queue.prune_expired(now=NOW) == 1
    assert statuses(services) == {"old news": "expired", "fresh": "queued"}
    assert queue.requeue(now=NOW).queued == 1


def test_requeue_carries_the_full_stored_payload(services: Services) -> None:
    queue = CandidateQueue(services, ENV)
    media = [{"url": "https://example.com/shot.png", "alt": "a screenshot"}]
    original = candidate("with an image", metadata={"has_media": True, "media": media})
    queue.enqueue([original])
    before = queue.peek(now=NOW)[0]
    wipe_redis(services)
    queue.requeue(now=NOW)
    after = queue.peek(now=NOW)[0]
    assert after == before and after.metadata == {"has_media": True, "media": media}
    assert after.db_id == before.db_id and after.tags == ("FPS",)


def test_scheduling_cycle_heals_drift_before_picking(
    services: Services, settings: Settings
) -> None:
    queue = CandidateQueue(services, ENV)
    queue.enqueue([candidate("pick me", now=NOW - timedelta(hours=1))])
    wipe_redis(services)
    record = run_cycle(services, settings, poster=None, now=NOW, rng=np.random.default_rng(1))
    assert (record.outcome, record.text) == ("shadow", "pick me")
    assert record.context["queue_healed"]["added"] == 1
    assert statuses(services)["pick me"] == "shadowed"


def test_health_reports_drift_until_requeue(services: Services, settings: Settings) -> None:
    queue = CandidateQueue(services, ENV)
    now = datetime.now(UTC)
    queue.enqueue([candidate(f"h{i}", now=now) for i in range(3)])
    assert health.check(services, settings).status == "HEALTHY"
    services.redis.delete(services.keys.queue())
    report = health.check(services, settings)
    assert report.status == "DEGRADED"
    assert (
        "queue drift: Redis queue has 0, Postgres 3 queued: run `xbot candidates requeue`"
        in report.messages
    )
    queue.requeue()
    assert health.check(services, settings).status == "HEALTHY"
