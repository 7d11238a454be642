"""Poster state in Redis: why posting is paused (health reads it, ``xbot schedule resume`` clears it).

Two things stop a live cycle before it calls X: a recorded refusal of our credentials
(``auth_failed``, until an operator resumes) and an open rate-limit window (until X's reset).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from xbot.services import Services

TWEETS_ENDPOINT = "create_post"


def utc_now(now: datetime | None) -> datetime:
    """``now`` as aware UTC (None = the real clock); naive datetimes are refused."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(UTC)


def poster_state(services: Services) -> dict[str, str]:
    """The poster status hash ({} when healthy); ``state == "auth_failed"`` stops posting."""
    return dict(services.redis.hgetall(services.keys.poster_status()))


def mark_auth_failed(services: Services, reason: str, *, now: datetime | None = None) -> None:
    """Stop all posting until an operator runs ``xbot schedule resume`` (health: DEGRADED)."""
    services.redis.hset(
        services.keys.poster_status(),
        mapping={"state": "auth_failed", "reason": reason, "since": utc_now(now).isoformat()},
    )


def clear_poster_state(services: Services) -> bool:
    """Clear ``auth_failed`` (after fixing credentials). Returns whether anything was set."""
    return bool(services.redis.delete(services.keys.poster_status()))


def record_rate_limit(services: Services, headers: Mapping[str, int], reset_at: datetime) -> None:
    """Remember X's window so no cycle calls again before ``reset_at`` (no retry storm)."""
    mapping: dict[str, str] = {"reset_at": reset_at.isoformat()}
    for name in ("limit", "remaining"):
        if f"x-rate-limit-{name}" in headers:
            mapping[name] = str(headers[f"x-rate-limit-{name}"])
        if f"x-user-limit-24hour-{name}" in headers:
            mapping[f"day_{name}"] = str(headers[f"x-user-limit-24hour-{name}"])
    services.redis.hset(services.keys.rate_limit(TWEETS_ENDPOINT), mapping=mapping)


def rate_limited_until(services: Services, *, now: datetime | None = None) -> datetime | None:
    """The recorded reset time if it is still in the future, else None."""
    raw = services.redis.hget(services.keys.rate_limit(TWEETS_ENDPOINT), "reset_at")
    if not raw:
        return None
    reset_at = datetime.fromisoformat(raw)
    return reset_at if reset_at > utc_now(now) else None
