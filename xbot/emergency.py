"""The runbook's emergency procedures, each leaving an ``audit_log`` row.

``disable_v2`` and ``stop_posting`` write the same flag change as the runbook's SQL (through
:func:`xbot.flags.set_flag`, so it is validated and audited). ``clear_queue`` deletes only this
REDIS_PREFIX's queue, in-flight claims, payloads and content hashes, found with SCAN (never
KEYS), and marks the environment's queued candidates expired in Postgres.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from xbot import audit, flags
from xbot.services import Services


def disable_v2(services: Services, environment: str) -> None:
    with services.engine.begin() as conn:
        flags.set_flag(conn, environment, "learning_engine_v2", False, actor="emergency")
        audit.record(conn, "EMERGENCY_DISABLE_V2", "emergency", environment)


def stop_posting(services: Services, environment: str) -> None:
    with services.engine.begin() as conn:
        flags.set_flag(conn, environment, "post_fraction", 0.0, actor="emergency")
        audit.record(conn, "EMERGENCY_STOP_POSTING", "emergency", environment)


def delete_matching(services: Services, pattern: str) -> int:
    """UNLINK every key matching ``pattern`` (SCAN in batches, never KEYS); returns how many."""
    client = services.redis
    deleted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += client.unlink(*batch)
    return deleted


def _delete_keys(services: Services, keys: Iterable[str]) -> int:
    present = [k for k in keys if services.redis.exists(k)]
    return services.redis.unlink(*present) if present else 0


def clear_queue(services: Services, environment: str) -> dict[str, int]:
    """Empty this prefix's candidate queue; returns what was deleted, by kind."""
    keys = services.keys
    queued = services.redis.zcard(keys.queue())
    inflight = services.redis.zcard(keys.inflight())
    counts = {
        "queued": queued,
        "in_flight": inflight,
        "queue_keys": _delete_keys(services, [keys.queue(), keys.inflight(), keys.queue_expiry()]),
        "claims": delete_matching(services, keys.claim_pattern()),
        "payloads": delete_matching(services, keys.payload_pattern()),
        "content_hashes": delete_matching(services, keys.content_hash_pattern()),
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
    return counts
