"""The one clock helper: "now" as an aware UTC datetime.

Every cycle takes an optional ``now`` because the demo and the tests drive a simulated clock;
None means the real clock. A naive datetime is refused (a ValidationError, exit 2): its zone
would be a guess, and an hour off moves quiet hours, daily caps and reward windows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from xbot.errors import ValidationError


def utc_now() -> datetime:
    """The real clock, aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime:
    """``value`` converted to UTC, or :func:`utc_now` when None; naive datetimes are refused."""
    if value is None:
        return utc_now()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("now", value, "a timezone-aware datetime (UTC)")
    return value.astimezone(UTC)
