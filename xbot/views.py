"""Thin DataFrame readers over Postgres views/tables and the Redis queue, for the notebooks.

Every reader filters on one environment (staging and production share a database) and takes
its time window from the caller's ``now`` rather than SQL ``now()`` where it can, so a report
for a given run date reads the same rows whenever it is re-run. The runbook's six views are
read through :func:`read_view` by name; nothing here writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from xbot.clock import as_utc
from xbot.errors import ValidationError
from xbot.services import Services

# view name -> default ordering (the runbook's own ORDER BY)
VIEWS: dict[str, str] = {
    "vw_recent_posts": "posted_at desc",
    "vw_topics_perf_7d": "avg_engagement_rate desc nulls last",
    "vw_time_of_day_perf_7d": "hour",
    "vw_learning_performance": "day desc",
    "vw_bandit_performance": "day desc",
    "vw_content_sources_perf": "success_rate desc nulls last, candidates desc",
}

# audit events that mean something went wrong (every component uses one audit schema)
ERROR_EVENT_PATTERN = "%(ERROR|FAIL|REJECTED_BY_X|IN_DOUBT|UNHEALTHY)%"


def _frame(services: Services, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    with services.engine.connect() as conn:
        result = conn.execute(sa.text(sql), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _window_frame(
    services: Services,
    sql: str,
    environment: str,
    since: timedelta,
    now: datetime | None,
    **params: Any,
) -> pd.DataFrame:
    """``sql`` over the window ``(now - since, now]`` as ``:start``/``:end`` and ``:env``.

    The clock is read once, so the window is exactly ``since`` long even when ``now`` is None.
    """
    end = as_utc(now)
    return _frame(services, sql, {"env": environment, "start": end - since, "end": end, **params})


def read_view(
    services: Services, name: str, environment: str, *, limit: int | None = None
) -> pd.DataFrame:
    """One of the runbook's views for one environment, in the runbook's order."""
    if name not in VIEWS:
        raise ValidationError("view", name, "one of " + ", ".join(VIEWS))
    sql = f"select * from {name} where environment = :env order by {VIEWS[name]}"
    if limit is not None:
        sql += " limit :limit"
    frame = _frame(services, sql, {"env": environment, "limit": limit})
    return frame.drop(columns=["environment"])


def queue_by_topic_source(services: Services) -> pd.DataFrame:
    """Queued candidates counted by (topic, source), read from the Redis queue itself.

    Redis is what the scheduler picks from, so this is the depth that matters; the keys come
    from ``services.keys`` (the prefix keeps environments apart).
    """
    keys = services.keys
    ids = services.redis.zrange(keys.queue(), 0, -1)
    pipe = services.redis.pipeline(transaction=False)
    for cid in ids:
        pipe.hmget(keys.payload(cid), "topic", "source")
    rows = (
        [(topic or "unknown", source or "unknown") for topic, source in pipe.execute()]
        if ids
        else []
    )
    frame = pd.DataFrame(rows, columns=["topic", "source"])
    return (
        frame.groupby(["topic", "source"]).size().rename("queued").reset_index()
        .sort_values("queued", ascending=False, ignore_index=True)
    )  # fmt: skip


def candidates_by_status(
    services: Services,
    environment: str,
    *,
    since: timedelta = timedelta(days=1),
    now: datetime | None = None,
) -> pd.DataFrame:
    """Candidates created in the window by source and status (queued, rejected, picked...)."""
    return _window_frame(
        services,
        "select source, status, count(*) as candidates from candidates "
        "where environment = :env and created_at > :start and created_at <= :end "
        "group by source, status order by source, status",
        environment, since, now,
    )  # fmt: skip


def recent_decisions(
    services: Services,
    environment: str,
    *,
    since: timedelta = timedelta(days=1),
    now: datetime | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """The decision log, newest first: what each cycle did (or would have posted) and why."""
    return _window_frame(
        services,
        "select d.ts, d.engine, d.outcome, d.reason, d.topic, d.format, d.hour, d.propensity, "
        "       left(c.text, 140) as text "
        "from decisions d left join candidates c on c.id = d.candidate_id "
        "where d.environment = :env and d.ts > :start and d.ts <= :end "
        "order by d.ts desc limit :limit",
        environment, since, now, limit=limit,
    )  # fmt: skip


def decision_reasons(
    services: Services,
    environment: str,
    *,
    since: timedelta = timedelta(days=1),
    now: datetime | None = None,
    bucket: str = "hour",
) -> pd.DataFrame:
    """Decisions counted per time bucket, outcome and reason (for a stacked chart over time)."""
    if bucket not in ("hour", "day"):
        raise ValidationError("bucket", bucket, "hour or day")
    return _window_frame(
        services,
        f"select date_trunc('{bucket}', ts) as bucket, outcome, reason, count(*) as decisions "
        "from decisions where environment = :env and ts > :start and ts <= :end "
        "group by 1, 2, 3 order by 1, 2, 3",
        environment, since, now,
    )  # fmt: skip


def recent_errors(
    services: Services,
    environment: str,
    *,
    since: timedelta = timedelta(days=1),
    now: datetime | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Audit events that report a failure, newest first (the runbook's "alerts or warnings")."""
    return _window_frame(
        services,
        "select ts, event_type, component, event_data::text as details from audit_log "
        "where context ->> 'environment' = :env and ts > :start and ts <= :end "
        "and upper(event_type) similar to :pattern order by ts desc limit :limit",
        environment, since, now, pattern=ERROR_EVENT_PATTERN, limit=limit,
    )  # fmt: skip


def in_doubt_posts(services: Services, environment: str) -> pd.DataFrame:
    """Post attempts whose outcome at X is unknown: they need a human before any retry."""
    return _frame(
        services,
        "select id, created_at, updated_at, topic, left(text, 140) as text, tweet_id "
        "from tweets where environment = :env and status = 'in_doubt' order by created_at desc",
        {"env": environment},
    )


def posts_per_hour(
    services: Services,
    environment: str,
    *,
    since: timedelta = timedelta(days=1),
    now: datetime | None = None,
) -> pd.DataFrame:
    """Live posts per clock hour over the window, zero-filled so gaps show as gaps."""
    return _window_frame(
        services,
        "with hours as (select generate_series(date_trunc('hour', cast(:start as timestamptz)), "
        "                      date_trunc('hour', cast(:end as timestamptz)), interval '1 hour') as hour) "
        "select h.hour, count(t.id) as posts, "
        "       count(t.id) filter (where t.engine = 'v2') as v2_posts, "
        "       count(t.id) filter (where t.engine = 'v1') as v1_posts "
        "from hours h left join tweets t on t.environment = :env and t.status = 'posted' "
        "     and t.posted_at >= h.hour and t.posted_at < h.hour + interval '1 hour' "
        "group by h.hour order by h.hour",
        environment, since, now,
    )  # fmt: skip


def tweet_status_counts(services: Services, environment: str) -> pd.DataFrame:
    """Post attempts by status (claimed, posted, in_doubt, failed) and engine."""
    return _frame(
        services,
        "select status, coalesce(engine, 'unknown') as engine, count(*) as attempts "
        "from tweets where environment = :env group by 1, 2 order by 1, 2",
        {"env": environment},
    )


def learning_cycles(services: Services, environment: str, *, limit: int = 10) -> pd.DataFrame:
    """The last learning cycles from their audit events, newest first (what each one changed)."""
    frame = _frame(
        services,
        "select ts, (event_data ->> 'tweets_processed')::int as tweets_processed, "
        "       (event_data ->> 'bandit_updates')::int as bandit_updates, "
        "       (event_data ->> 'total_rewards')::float as total_rewards, "
        "       (event_data ->> 'average_engagement')::float as average_engagement, "
        "       (event_data ->> 'baseline_median')::float as baseline_median, "
        "       event_data -> 'top_topics' as top_topics "
        "from audit_log where event_type = 'LEARNING_CYCLE_COMPLETE' "
        "and context ->> 'environment' = :env order by ts desc limit :limit",
        {"env": environment, "limit": limit},
    )
    frame["top_topics"] = [
        ", ".join(str(t.get("topic", t)) if isinstance(t, dict) else str(t) for t in (v or []))
        for v in frame["top_topics"]
    ]
    return frame
