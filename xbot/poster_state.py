"""Poster state in Redis: why posting is paused (health reads it, ``xbot schedule resume`` clears it).

Three things stop a live cycle before it calls X: a recorded refusal of our credentials
(``auth_failed``) or an HTTP 402 (``credits_depleted``), both until an operator fixes the cause
and resumes, and an open rate-limit window (until X's reset).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from xbot.clock import as_utc
from xbot.services import Services

TWEETS_ENDPOINT = "create_post"
AUTH_FAILED = "auth_failed"
CREDITS_DEPLETED = "credits_depleted"
PAUSED_STATES = (AUTH_FAILED, CREDITS_DEPLETED)


def poster_state(services: Services) -> dict[str, str]:
    """The poster status hash ({} when healthy); a ``state`` in PAUSED_STATES stops posting."""
    return dict(services.redis.hgetall(services.keys.poster_status()))


def paused_reason(state: dict[str, str]) -> str | None:
    """The human sentence health and ``xbot x check`` print for a paused poster, else None."""
    if state.get("state") == AUTH_FAILED:
        return f"posting stopped: X refused credentials ({state.get('reason', '')})"
    if state.get("state") == CREDITS_DEPLETED:
        return (
            "posting paused: X API credits depleted (HTTP 402); top up the credits, then run "
            "`xbot schedule resume`"
        )
    return None


def _pause(services: Services, state: str, reason: str, now: datetime | None) -> None:
    services.redis.hset(
        services.keys.poster_status(),
        mapping={"state": state, "reason": reason, "since": as_utc(now).isoformat()},
    )


def mark_auth_failed(services: Services, reason: str, *, now: datetime | None = None) -> None:
    """Stop all posting until an operator runs ``xbot schedule resume`` (health: DEGRADED)."""
    _pause(services, AUTH_FAILED, reason, now)


def mark_credits_depleted(services: Services, reason: str, *, now: datetime | None = None) -> None:
    """X answered 402: no post or read until the credits are topped up and posting resumed."""
    _pause(services, CREDITS_DEPLETED, reason, now)


def clear_poster_state(services: Services) -> bool:
    """Clear a pause (after fixing credentials or topping up). Returns whether one was set."""
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
    return reset_at if reset_at > as_utc(now) else None
