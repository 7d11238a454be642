"""The one writer of ``audit_log`` (one schema everywhere: ts, event_type, component, event_data,
context). ``context`` always carries the environment so views can filter on it."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SQLAlchemy is imported when a row is written: `xbot health` never pays it
    from sqlalchemy.engine import Connection


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None recursively: audit rows must stay valid JSON (never NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def record(
    conn: Connection,
    event_type: str,
    component: str,
    environment: str,
    event_data: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    *,
    ts: datetime | None = None,
) -> int:
    """Insert one audit row inside the caller's transaction; return its id.

    ``ts`` defaults to the database's now(); the demo passes its simulated clock so that views
    grouping audit rows by day see simulated days.
    """
    import sqlalchemy as sa

    ctx = {"environment": environment, **(context or {})}
    return conn.execute(
        sa.text(
            "insert into audit_log (ts, event_type, component, event_data, context) "
            "values (coalesce(:ts, now()), :t, :c, cast(:d as jsonb), cast(:x as jsonb)) "
            "returning id"
        ),
        {
            "ts": ts,
            "t": event_type,
            "c": component,
            "d": json.dumps(_json_safe(event_data or {})),
            "x": json.dumps(_json_safe(ctx)),
        },
    ).scalar_one()
