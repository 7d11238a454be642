"""The one-line health check of the runbook.

    [<ISO-8601 UTC>] xBOT Health: HEALTHY | Redis:✅ | DB:✅ | Queue:25 | Bandits:12 \
        | LastPost:none | Posts/h:0

(one line in reality; a trailing ``| <message>`` only when not healthy).

UNHEALTHY (exit 2) when Redis or Postgres cannot be reached; DEGRADED (exit 1) when both answer
but something needs a human (pending migrations, missing views, invalid flags written by hand,
X refusing our credentials or out of credits, >= 90 % of an X API budget); otherwise HEALTHY (exit 0). The two connection checks run in
parallel with 2 s timeouts each, so the line prints within 5 s even when both are down. Views
are checked through ``information_schema`` (no custom database function).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis as redis_lib

from xbot import flags as flags_mod
from xbot import migrate
from xbot.errors import XbotError
from xbot.poster_state import paused_reason
from xbot.services import CONNECT_TIMEOUT_S, Services
from xbot.settings import Settings
from xbot.x_budget import SPEND_SQL, Spend, budget_warnings, spend_params
from xbot.x_pricing import load_pricing

HEALTHY, DEGRADED, UNHEALTHY = "HEALTHY", "DEGRADED", "UNHEALTHY"
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}
REQUIRED_VIEWS = (
    "vw_recent_posts",
    "vw_topics_perf_7d",
    "vw_time_of_day_perf_7d",
    "vw_learning_performance",
    "vw_bandit_performance",
    "vw_content_sources_perf",
)
_TIMEOUT_MS = CONNECT_TIMEOUT_S * 1000


@dataclass
class HealthReport:
    ts: datetime
    redis_ok: bool
    db_ok: bool
    queue: int | None = None
    bandits: int | None = None
    last_post: datetime | None = None
    posts_per_hour: int | None = None
    unhealthy: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.unhealthy:
            return UNHEALTHY
        return DEGRADED if self.degraded else HEALTHY

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def messages(self) -> list[str]:
        return self.unhealthy + self.degraded

    def line(self) -> str:
        def num(value: int | None) -> str:
            return "?" if value is None else str(value)

        last = "none" if self.last_post is None else _iso(self.last_post)
        text = (
            f"[{_iso(self.ts)}] xBOT Health: {self.status}"
            f" | Redis:{'✅' if self.redis_ok else '❌'}"
            f" | DB:{'✅' if self.db_ok else '❌'}"
            f" | Queue:{num(self.queue)} | Bandits:{num(self.bandits)}"
            f" | LastPost:{last} | Posts/h:{num(self.posts_per_hour)}"
        )
        if self.status != HEALTHY:
            text += " | " + "; ".join(self.messages)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": _iso(self.ts),
            "status": self.status,
            "redis": self.redis_ok,
            "db": self.db_ok,
            "queue": self.queue,
            "bandits": self.bandits,
            "last_post": None if self.last_post is None else _iso(self.last_post),
            "posts_per_hour": self.posts_per_hour,
            "messages": self.messages,
            "line": self.line(),
        }


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _check_redis(services: Services) -> dict[str, Any]:
    keys = services.keys
    client = redis_lib.Redis.from_url(
        services.redis_url(),
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        client.ping()
        queue = client.zcard(keys.queue())
        bandits = sum(1 for _ in client.scan_iter(match=keys.bandit_pattern(), count=500))
        poster = client.hgetall(keys.poster_status())
        return {"ok": True, "queue": queue, "bandits": bandits, "poster": poster}
    finally:
        client.close()


def _check_db(services: Services, environment: str) -> dict[str, Any]:
    url = services.database_url()
    with psycopg.connect(url, **services.connect_args()) as conn:
        # One transaction (psycopg's default): SET LOCAL holds for every check, also through a
        # transaction-mode pooler, which rejects the startup "options" parameter.
        conn.execute(f"set local statement_timeout = {int(_TIMEOUT_MS)}")
        views = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.views "
                "where table_schema = current_schema() and table_name like 'vw\\_%'"
            )
        }
        last_post = posts_h = None
        if conn.execute("select to_regclass('tweets')").fetchone()[0]:
            last_post, posts_h = conn.execute(
                "select max(posted_at), "
                "count(*) filter (where posted_at > now() - interval '1 hour') from tweets where environment = %s and status = 'posted'",
                (environment,),
            ).fetchone()
        applied: set[str] = set()
        if conn.execute("select to_regclass('schema_migrations')").fetchone()[0]:
            applied = {r[0] for r in conn.execute("select version from schema_migrations")}
        flag_rows = None
        if conn.execute("select to_regclass('bot_config')").fetchone()[0]:
            # jsonb as text, decoded by flags: psycopg's own decoding raises on `1e5000`
            flag_rows = flags_mod.decode_rows(
                conn.execute(flags_mod.RAW_ROWS_SQL_PSYCOPG, (environment,))
            )
        spend = None
        if conn.execute("select to_regclass('x_api_usage')").fetchone()[0]:
            row = conn.execute(SPEND_SQL, spend_params(environment, datetime.now(UTC)))
            spend = Spend.from_row(row.fetchone())
    return {
        "views": views, "last_post": last_post, "posts_h": posts_h, "applied": applied,
        "flag_rows": flag_rows, "spend": spend,
    }  # fmt: skip


def _flag_problems(rows: dict[str, dict[str, Any]], environment: str) -> tuple[str, ...]:
    """The flags' problems from rows read on the check's own connection (no SQLAlchemy)."""
    return flags_mod.parse_flags(rows, environment).problems


def check(
    services: Services, settings: Settings | None = None, *, environment: str | None = None
) -> HealthReport:
    """Run every check and return the report; never raises for an unreachable service.

    ``environment`` defaults to the settings' APP_ENV (it selects flags and posts).
    """
    env = environment or (settings or services.settings).app_env
    report = HealthReport(ts=datetime.now(UTC), redis_ok=False, db_ok=False)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        redis_future = pool.submit(_check_redis, services)
        db_future = pool.submit(_check_db, services, env)
        try:
            r = redis_future.result(timeout=2 * CONNECT_TIMEOUT_S + 0.5)
            report.redis_ok = True
            report.queue, report.bandits = r["queue"], r["bandits"]
            paused = paused_reason(r["poster"])
            if paused:
                report.degraded.append(paused)
        except (redis_lib.RedisError, OSError, XbotError, TimeoutError) as exc:
            report.unhealthy.append(f"Redis unreachable: {_short(exc)}")
        try:
            d = db_future.result(timeout=2 * CONNECT_TIMEOUT_S + 0.5)
            report.db_ok = True
            report.last_post, report.posts_per_hour = d["last_post"], d["posts_h"]
            missing = [v for v in REQUIRED_VIEWS if v not in d["views"]]
            if missing:
                report.degraded.append("missing views: " + ", ".join(missing))
            try:
                pending = [
                    m.version
                    for m in migrate.discover(services.settings.migrations_dir)
                    if m.version not in d["applied"]
                ]
            except XbotError as exc:
                pending = []
                report.degraded.append(str(exc))
            if pending:
                report.degraded.append(
                    f"{len(pending)} pending migration(s): run `xbot db migrate`"
                )
        except (psycopg.Error, OSError, XbotError, TimeoutError) as exc:
            report.unhealthy.append(f"DB unreachable: {_short(exc)}")
        if report.db_ok and not any("missing views" in m for m in report.degraded):
            try:
                rows = d["flag_rows"]
                if rows is None:
                    raise XbotError("bot_config does not exist")
                report.degraded.extend(f"flag: {p}" for p in _flag_problems(rows, env))
            except Exception as exc:  # flags are advisory here; the line must still print
                report.degraded.append(f"flags unreadable: {_short(exc)}")
            try:
                if d["spend"] is not None and d["flag_rows"] is not None:
                    fl = flags_mod.parse_flags(d["flag_rows"], env)
                    plan = load_pricing().plan(fl.x_plan)
                    report.degraded.extend(budget_warnings(fl, plan, d["spend"]))
            except Exception as exc:  # advisory too: a broken price file must not hide health
                report.degraded.append(f"X API budget unreadable: {_short(exc)}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return report
