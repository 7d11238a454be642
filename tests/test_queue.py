"""The Redis queue against real Redis and Postgres: enqueue/dedup, claims, leases, acks."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import ENV, NOW, candidate

from xbot.candidates.prep import content_hash
from xbot.candidates.queue import CandidateQueue
from xbot.errors import ValidationError
from xbot.services import Services
from xbot.settings import Settings, load_settings


def status(services: Services, text: str) -> str:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select status from candidates where content_hash = :h"),
            {"h": content_hash(text)},
        ).scalar_one()


def test_enqueue_dedups_and_writes_postgres(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    first = q.enqueue([candidate("a one"), candidate("b two", 2.0), candidate("A ONE")])
    assert [c.text for c in first.accepted] == ["a one", "b two"]
    assert first.duplicates == [content_hash("a one")]
    assert all(c.db_id for c in first.accepted)
    again = q.enqueue([candidate("a one"), candidate("c three")])
    assert [c.text for c in again.accepted] == ["c three"]
    assert q.depth() == 3
    peeked = [c.text for c in q.peek(now=NOW)]
    assert peeked[0] == "b two" and sorted(peeked[1:]) == ["a one", "c three"]
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from candidates")).scalar_one() == 3


def test_postgres_is_the_authority_when_redis_forgot(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    q.enqueue([candidate("remembered")])
    services.redis.delete(services.keys.content_hash(content_hash("remembered")))
    result = q.enqueue([candidate("remembered")])
    assert result.accepted == [] and result.duplicates == [content_hash("remembered")]
    assert q.depth() == 1


def test_claim_ack_rejected_removes_exactly_that_candidate(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    q.enqueue([candidate("top", 5.0), candidate("middle", 3.0), candidate("bottom", 1.0)])
    claim = q.claim(content_hash("middle"), now=NOW)
    assert claim is not None and claim.candidate.text == "middle"
    assert status(services, "middle") == "claimed"
    assert q.claim(content_hash("middle"), now=NOW) is None  # not queued any more
    assert q.ack(claim, "rejected")
    assert [c.text for c in q.peek(now=NOW)] == ["top", "bottom"]
    assert status(services, "middle") == "rejected"
    assert not services.redis.exists(services.keys.payload(content_hash("middle")))
    assert not q.ack(claim, "posted")  # a second ack is refused


def test_returned_goes_back_and_posted_updates_status(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    q.enqueue([candidate("x1", 2.0), candidate("x2", 1.0)])
    c1 = q.claim(content_hash("x1"), now=NOW)
    assert q.ack(c1, "returned")
    assert q.depth() == 2 and status(services, "x1") == "queued"
    c1 = q.claim(content_hash("x1"), now=NOW)
    assert q.ack(c1, "posted") and status(services, "x1") == "posted"
    assert q.depth() == 1


def test_lease_expiry_returns_the_claim(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    q.enqueue([candidate("leased")])
    claim = q.claim(content_hash("leased"), lease_seconds=60, now=NOW)
    assert q.depth() == 0
    assert q.reclaim_expired(now=NOW + timedelta(seconds=30)) == 0
    assert q.reclaim_expired(now=NOW + timedelta(seconds=61)) == 1
    assert q.depth() == 1 and status(services, "leased") == "queued"
    assert not q.ack(claim, "posted")  # the dead holder's token no longer counts
    assert q.claim(content_hash("leased"), now=NOW + timedelta(seconds=62)) is not None


def test_prune_expired(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    q.enqueue([candidate("old", now=NOW - timedelta(hours=49)), candidate("new")])
    assert [c.text for c in q.peek(now=NOW)] == ["new"]
    assert q.claim(content_hash("old"), now=NOW) is None
    assert q.prune_expired(now=NOW) == 1
    assert q.depth() == 1 and status(services, "old") == "expired"


def test_bad_arguments_are_refused(services: Services) -> None:
    q = CandidateQueue(services, ENV)
    with pytest.raises(ValidationError, match="lease_seconds"):
        q.claim("abc", lease_seconds=0)
    with pytest.raises(ValidationError, match="now"):
        q.peek(now=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="limit"):
        q.peek(0)
    q.enqueue([candidate("y")])
    claim = q.claim(content_hash("y"), now=NOW)
    with pytest.raises(ValidationError, match="outcome"):
        q.ack(claim, "done")  # type: ignore[arg-type]
    assert q.ack(claim, "returned")


def test_two_claimers_never_get_the_same_candidate(settings: Settings) -> None:
    texts = [f"candidate number {i}" for i in range(60)]
    with Services(settings) as svc:
        CandidateQueue(svc, ENV).enqueue([candidate(t, float(i)) for i, t in enumerate(texts)])
    won: list[list[str]] = [[], []]

    def worker(n: int) -> None:
        with Services(settings) as svc:
            q = CandidateQueue(svc, ENV)
            for c in q.peek(100, now=NOW):  # both see the same order and race for each
                if q.claim(c.content_hash, now=NOW):
                    won[n].append(c.content_hash)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(won[0]) & set(won[1])
    assert len(won[0]) + len(won[1]) == 60


def test_prefix_isolation(settings: Settings, redis_prefix: str) -> None:
    other = load_settings(
        {
            "APP_ENV": ENV,
            "DATABASE_URL": settings.database_url.reveal(),
            "REDIS_URL": settings.redis_url.reveal(),
            "REDIS_PREFIX": redis_prefix[:-1] + "other:",
        },
        env_file="",
    )
    with Services(settings) as a, Services(other) as b:
        try:
            CandidateQueue(a, ENV).enqueue([candidate("only in a")])
            assert CandidateQueue(a, ENV).depth() == 1
            assert CandidateQueue(b, ENV).depth() == 0
            assert CandidateQueue(b, ENV).claim(content_hash("only in a"), now=NOW) is None
            # other sessions may queue the same text under their own prefixes on a shared Redis
            ours = (settings.redis_prefix, other.redis_prefix)
            keys = [
                k
                for k in a.redis.scan_iter(match="*" + content_hash("only in a"))
                if k.startswith(ours)
            ]
            assert keys and all(k.startswith(settings.redis_prefix) for k in keys)
        finally:
            for k in b.redis.scan_iter(match=other.redis_prefix + "*"):
                b.redis.delete(k)
