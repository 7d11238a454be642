"""The runbook's emergency procedures, each leaving an ``audit_log`` row.

``disable_v2`` and ``stop_posting`` write the same flag change as the runbook's SQL (through
:func:`xbot.flags.set_flag`, so it is validated and audited). ``clear_queue`` deletes only this
REDIS_PREFIX's queue, in-flight claims, payloads and content hashes, found with SCAN (never
KEYS), and marks the environment's queued candidates expired in Postgres; Postgres (the record)
is written before Redis is touched.
"""

from __future__ import annotations

import redis as redis_lib
import sqlalchemy as sa

from xbot import audit, flags
from xbot.errors import ServiceUnavailable
from xbot.services import Services


def disable_v2(services: Services, environment: str) -> None:
    with services.engine.begin() as conn:
        flags.set_flag(conn, environment, "learning_engine_v2", False, actor="emergency")
        audit.record(conn, "EMERGENCY_DISABLE_V2", "emergency", environment)


def stop_posting(services: Services, environment: str) -> None:
    with services.engine.begin() as conn:
        flags.set_flag(conn, environment, "post_fraction", 0.0, actor="emergency")
        audit.record(conn, "EMERGENCY_STOP_POSTING", "emergency", environment)


def _matching(services: Services, pattern: str) -> list[str]:
    """Every key matching ``pattern``, found with SCAN (never KEYS)."""
    return list(services.redis.scan_iter(match=pattern, count=1000))


def _unlink(services: Services, keys: list[str]) -> int:
    deleted = 0
    for i in range(0, len(keys), 500):
        deleted += services.redis.unlink(*keys[i : i + 500])
    return deleted


def delete_matching(services: Services, pattern: str) -> int:
    """UNLINK every key matching ``pattern`` (SCAN, never KEYS); returns how many."""
    return _unlink(services, _matching(services, pattern))


def clear_queue(services: Services, environment: str) -> dict[str, int]:
    """Empty this prefix's candidate queue; returns what was deleted, by kind.

    Record first, then delete: Redis is only read (counts, SCAN) until Postgres has committed
    the candidates' expiry and the audit row, so Postgres being down refuses the command with
    nothing touched. If Redis then fails mid-way the command fails loudly (exit 4) with the
    action already audited, and running it again finishes the job.
    """
    keys = services.keys
    doomed = {
        "queue_keys": [k for k in (keys.queue(), keys.inflight(), keys.queue_expiry())
                       if services.redis.exists(k)],
        "claims": _matching(services, keys.claim_pattern()),
        "payloads": _matching(services, keys.payload_pattern()),
        "content_hashes": _matching(services, keys.content_hash_pattern()),
    }  # fmt: skip
    counts = {
        "queued": services.redis.zcard(keys.queue()),
        "in_flight": services.redis.zcard(keys.inflight()),
        **{kind: len(found) for kind, found in doomed.items()},
    }
    with services.engine.begin() as conn:
        counts["candidates_expired"] = conn.execute(
            sa.text(
                "update candidates set status = 'expired' "
                "where environment = :e and status in ('queued', 'claimed')"
            ),
            {"e": environment},
        ).rowcount
        audit.record(
            conn,
            "EMERGENCY_CLEAR_QUEUE",
            "emergency",
            environment,
            counts,
            {"redis_prefix": services.keys.prefix},
        )
    try:
        for found in doomed.values():
            _unlink(services, found)
    except redis_lib.RedisError as exc:
        raise ServiceUnavailable(
            "redis",
            f"{exc}; the clear-queue is recorded in audit_log and the candidates are expired "
            "in Postgres, but Redis still holds queue keys: run `xbot emergency clear-queue` again",
        ) from exc
    return counts
