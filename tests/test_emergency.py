"""The runbook's emergency procedures: flags written, audited, and only our prefix cleared."""

from __future__ import annotations

import json
import uuid

import pytest
import redis as redis_lib
from helpers import audit_rows

from xbot.keys import Keys
from xbot.services import Services


def _flags(xbot, env: str) -> dict:
    return json.loads(xbot("config", "show", "--env", env, "--json").stdout)["flags"]


def test_disable_v2(xbot, services: Services) -> None:
    assert xbot("config", "set", "learning_engine_v2", "true", "--env", "production").exit_code == 0
    assert xbot("config", "set", "learning_engine_v2", "true", "--env", "staging").exit_code == 0
    result = xbot("emergency", "disable-v2", "--env", "production")
    assert result.exit_code == 0, result.output
    assert "learning_engine_v2 = false (production)" in result.stdout
    assert _flags(xbot, "production")["learning_engine_v2"] is False
    assert _flags(xbot, "staging")["learning_engine_v2"] is True
    (row,) = audit_rows(services, "EMERGENCY_DISABLE_V2")
    assert row.component == "emergency" and row.context["environment"] == "production"
    change = audit_rows(services, "CONFIG_CHANGED")[-1]
    assert change.event_data == {"flag": "learning_engine_v2", "old": True, "new": False}
    assert change.context["actor"] == "emergency"


def test_stop_posting(xbot, services: Services) -> None:
    assert xbot("config", "set", "post_fraction", "0.7", "--env", "production").exit_code == 0
    result = xbot("emergency", "stop-posting", "--env", "production")
    assert result.exit_code == 0, result.output
    assert _flags(xbot, "production")["post_fraction"] == 0.0
    (row,) = audit_rows(services, "EMERGENCY_STOP_POSTING")
    assert row.context["environment"] == "production"


def test_emergency_defaults_to_app_env_and_is_repeatable(xbot, services: Services) -> None:
    for _ in range(2):
        assert xbot("emergency", "stop-posting", env={"APP_ENV": "staging"}).exit_code == 0
    rows = audit_rows(services, "EMERGENCY_STOP_POSTING")
    assert [r.context["environment"] for r in rows] == ["staging", "staging"]


def _fill(client: redis_lib.Redis, keys: Keys, n: int) -> list[str]:
    """Queue n candidates with payloads, hashes and a claim under ``keys``; return every key."""
    written = [keys.queue(), keys.inflight()]
    client.zadd(keys.queue(), {f"c{i}": i for i in range(n)})
    client.zadd(keys.inflight(), {"c-claimed": 1e10})
    for i in range(n):
        client.hset(keys.payload(f"c{i}"), mapping={"text": f"post {i}", "topic": "fps"})
        client.set(keys.content_hash(f"h{i}"), 1, ex=3600)
        written += [keys.payload(f"c{i}"), keys.content_hash(f"h{i}")]
    client.set(keys.claim_token("c-claimed"), "tok", ex=3600)
    written.append(keys.claim_token("c-claimed"))
    return written


def test_clear_queue_only_touches_this_prefix(
    xbot, services: Services, redis_url: str, redis_prefix: str
) -> None:
    mine = services.keys
    other = Keys(f"other{uuid.uuid4().hex[:8]}:")
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    try:
        _fill(client, mine, 5)
        other_keys = _fill(client, other, 3)
        # keys of ours that are not queue state survive too
        client.hset(mine.bandit("topic", "fps"), mapping={"alpha": 2, "beta": 1})
        client.hset(mine.poster_status(), mapping={"state": "ok"})
        with services.engine.begin() as conn:
            conn.exec_driver_sql(
                "insert into candidates (environment, content_hash, text, topic, source, status) "
                "values ('development', 'a', 'x', 'fps', 's', 'queued'), "
                "('development', 'b', 'y', 'fps', 's', 'claimed'), "
                "('development', 'c', 'z', 'fps', 's', 'posted'), "
                "('production', 'd', 'w', 'fps', 's', 'queued')"
            )

        result = xbot("emergency", "clear-queue", "--json")
        assert result.exit_code == 0, result.output
        counts = json.loads(result.stdout)
        assert counts["redis_prefix"] == redis_prefix
        assert {k: counts[k] for k in counts if k not in ("environment", "redis_prefix")} == {
            "queued": 5,
            "in_flight": 1,
            "queue_keys": 2,
            "claims": 1,
            "payloads": 5,
            "content_hashes": 5,
            "candidates_expired": 2,
        }
        left = sorted(client.scan_iter(match=mine.all_pattern(), count=1000))
        assert left == sorted([mine.bandit("topic", "fps"), mine.poster_status()])
        assert all(client.exists(k) for k in other_keys), "another prefix's keys were deleted"
        assert client.zcard(other.queue()) == 3

        (row,) = audit_rows(services, "EMERGENCY_CLEAR_QUEUE")
        assert row.event_data["payloads"] == 5 and row.event_data["content_hashes"] == 5
        assert row.context == {"environment": "development", "redis_prefix": redis_prefix}
        with services.engine.connect() as conn:
            statuses = dict(
                conn.exec_driver_sql(
                    "select environment || ':' || content_hash, status from candidates"
                ).all()
            )
        assert statuses == {
            "development:a": "expired",
            "development:b": "expired",
            "development:c": "posted",
            "production:d": "queued",
        }

        again = xbot("emergency", "clear-queue")
        assert again.exit_code == 0
        assert "payloads: 0" in again.stdout and redis_prefix in again.stdout
        assert len(audit_rows(services, "EMERGENCY_CLEAR_QUEUE")) == 2
    finally:
        stale = list(client.scan_iter(match=other.all_pattern(), count=1000))
        if stale:
            client.delete(*stale)
        client.close()


@pytest.mark.parametrize("command", ["disable-v2", "stop-posting", "clear-queue"])
def test_bad_environment_refused(xbot, command: str) -> None:
    result = xbot("emergency", command, "--env", "prod")
    assert result.exit_code != 0
    assert "prod" in result.output


def test_clear_queue_with_postgres_down_refuses_before_touching_redis(
    xbot, services: Services, redis_url: str, closed_port: int
) -> None:
    """Postgres (the record) first: with it down nothing is deleted and the command fails loudly,
    so no clear-queue ever happens without its audit row."""
    client = redis_lib.Redis.from_url(redis_url)
    try:
        written = _fill(client, services.keys, 4)
        before = {k: client.dump(k) for k in written}
        down = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port}/x"}
        result = xbot("emergency", "clear-queue", env=down)
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith("error: postgres unavailable")
        assert {k: client.dump(k) for k in written} == before, "Redis was touched"
        assert audit_rows(services, "EMERGENCY_CLEAR_QUEUE") == []

        done = xbot("emergency", "clear-queue")  # and once Postgres is back, it does the job
        assert done.exit_code == 0, done.output
        assert not any(client.exists(k) for k in written)
        assert len(audit_rows(services, "EMERGENCY_CLEAR_QUEUE")) == 1
    finally:
        client.close()
