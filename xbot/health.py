"""The one-line health check of the runbook.

    [<ISO-8601 UTC>] xBOT Health: HEALTHY | Redis:✅ | DB:✅ | Queue:25 | Bandits:12 \
        | LastPost:none | Posts/h:0

(one line in reality; a trailing ``| <message>`` only when not healthy, each message saying what
to run).

UNHEALTHY (exit 2) when Redis or Postgres cannot be reached, or Redis refuses writes (out of
memory, read-only): then no cycle can run. DEGRADED (exit 1) when both answer but something
needs a human: pending migrations, missing views, invalid flags written by hand, X refusing our
credentials or out of credits (402), >= 90 % of an X API budget, an open X rate-limit window, a post in doubt, the Redis queue disagreeing with the
Postgres ``candidates`` rows, the bandit state behind the last learning cycle. Otherwise HEALTHY
(exit 0). The two connection checks run in parallel with 2 s timeouts each, so the line prints
within 5 s even when both are down. Views are checked through ``information_schema`` (no custom
database function).
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
from xbot.candidates.fingerprint import FINGERPRINT_SQL, redis_fingerprint
from xbot.errors import XbotError
from xbot.poster_state import CREDITS_DEPLETED
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
#: A tweets row claimed for longer than this is a crashed attempt, in doubt until reconciled.
STALE_CLAIM_MIN = 10


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


def _write_problem(client: redis_lib.Redis, exc: redis_lib.RedisError) -> str:
    if isinstance(exc, redis_lib.OutOfMemoryError):
        mem = client.info("memory")
        return (
            f"Redis out of memory (used {mem.get('used_memory_human')} of maxmemory "
            f"{mem.get('maxmemory_human')}, policy {mem.get('maxmemory_policy')}): no cycle can "
            "run; free memory or raise maxmemory, then run `xbot candidates requeue`"
        )
    if isinstance(exc, redis_lib.ReadOnlyError):
        role = client.info("replication").get("role")
        return f"Redis is read-only (role {role}): point REDIS_URL at the primary"
    return f"Redis refuses writes: {_short(exc)}"


def _check_redis(services: Services, now: datetime) -> dict[str, Any]:
    keys = services.keys
    client = redis_lib.Redis.from_url(
        services.redis_url(),
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        client.ping()
        write_problem = None
        try:
            client.set(keys.health_probe(), _iso(now), px=60_000)
        except (redis_lib.OutOfMemoryError, redis_lib.ReadOnlyError) as exc:
            write_problem = _write_problem(client, exc)
        except redis_lib.ResponseError as exc:
            write_problem = f"Redis refuses writes: {_short(exc)}"
        queue = client.zcard(keys.queue())
        bandits = sum(1 for _ in client.scan_iter(match=keys.bandit_pattern(), count=500))
        poster = client.hgetall(keys.poster_status())
        rate_resets = [
            (key[len(keys.rate_limit("")) :], client.hget(key, "reset_at"))
            for key in client.scan_iter(match=keys.rate_limit_pattern(), count=500)
        ]
        return {
            "ok": True,
            "queue": queue,
            "bandits": bandits,
            "poster": poster,
            "rate_resets": rate_resets,
            "write_problem": write_problem,
            "bandit_cycle": int(client.get(keys.bandit_cycle()) or 0),
            "fingerprint": redis_fingerprint(client, keys, now),
        }
    finally:
        client.close()


def _check_db(services: Services, environment: str, now: datetime) -> dict[str, Any]:
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

        def exists(table: str) -> bool:
            return conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None

        out: dict[str, Any] = {"views": views, "last_post": None, "posts_h": None,
                               "in_doubt": 0, "stale_claims": 0, "learning_cycle": 0,
                               "fingerprint": None}  # fmt: skip
        if exists("tweets"):
            row = conn.execute(
                "select max(posted_at) filter (where status = 'posted'), "
                "count(*) filter (where status = 'posted' "
                "  and posted_at > now() - interval '1 hour'), "
                "count(*) filter (where status = 'in_doubt'), "
                "count(*) filter (where status = 'claimed' "
                "  and updated_at < now() - make_interval(mins => %s)) "
                "from tweets where environment = %s",
                (STALE_CLAIM_MIN, environment),
            ).fetchone()
            out.update(last_post=row[0], posts_h=row[1], in_doubt=row[2], stale_claims=row[3])
        if exists("learning_cycles"):
            out["learning_cycle"] = conn.execute(
                "select coalesce(max(id), 0) from learning_cycles where environment = %s",
                (environment,),
            ).fetchone()[0]
        if exists("candidates"):
            out["fingerprint"] = tuple(
                conn.execute(FINGERPRINT_SQL, {"e": environment, "now": now}).fetchone()
            )
        applied: set[str] = set()
        if exists("schema_migrations"):
            applied = {r[0] for r in conn.execute("select version from schema_migrations")}
        out["applied"] = applied
        out["flag_rows"] = None
        if exists("bot_config"):
            # jsonb as text, decoded by flags: psycopg's own decoding raises on `1e5000`
            out["flag_rows"] = flags_mod.decode_rows(
                conn.execute(flags_mod.RAW_ROWS_SQL_PSYCOPG, (environment,))
            )
        out["spend"] = None
        if exists("x_api_usage"):
            row = conn.execute(SPEND_SQL, spend_params(environment, now)).fetchone()
            out["spend"] = Spend.from_row(row)
    return out


def _redis_findings(report: HealthReport, r: dict[str, Any], now: datetime) -> None:
    if r["write_problem"]:
        report.unhealthy.append(r["write_problem"])
    if r["poster"].get("state") == "auth_failed":
        report.degraded.append(
            f"live posting stopped: X refused credentials ({r['poster'].get('reason', '')}): "
            "fix the X credentials, then run `xbot schedule resume`"
        )
    if r["poster"].get("state") == CREDITS_DEPLETED:
        report.degraded.append(
            "posting paused: X API credits depleted (HTTP 402); top up the credits, then run "
            "`xbot schedule resume`"
        )
    for endpoint, reset_at in r["rate_resets"]:
        try:
            until = datetime.fromisoformat(reset_at) if reset_at else None
        except ValueError:
            until = None
        if until is not None and until.tzinfo is not None and until > now:
            report.degraded.append(
                f"live posting paused: X rate limit on {endpoint} until {_iso(until)}: "
                "nothing to run, cycles skip until then"
            )


def _cross_findings(report: HealthReport, r: dict[str, Any], d: dict[str, Any]) -> None:
    """What needs both sides: the queue projection and the bandit projection."""
    pg = d["fingerprint"]
    if pg is not None and (int(pg[0]), int(pg[1])) != r["fingerprint"]:
        count = r["fingerprint"][0]
        detail = (
            f"Redis queue has {count}, Postgres {pg[0]} queued"
            if count != pg[0]
            else f"Redis queue and Postgres both hold {count} but not the same candidates"
        )
        report.degraded.append(f"queue drift: {detail}: run `xbot candidates requeue`")
    if r["bandit_cycle"] != d["learning_cycle"]:
        where = "behind" if r["bandit_cycle"] < d["learning_cycle"] else "ahead of"
        report.degraded.append(
            f"bandit state {where} Postgres (Redis at learning cycle {r['bandit_cycle']}, "
            f"Postgres at {d['learning_cycle']}): run `xbot learn rebuild`"
        )


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
    now = datetime.now(UTC)
    report = HealthReport(ts=now, redis_ok=False, db_ok=False)
    r: dict[str, Any] | None = None
    d: dict[str, Any] | None = None
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        redis_future = pool.submit(_check_redis, services, now)
        db_future = pool.submit(_check_db, services, env, now)
        try:
            r = redis_future.result(timeout=2 * CONNECT_TIMEOUT_S + 0.5)
            report.redis_ok = True
            report.queue, report.bandits = r["queue"], r["bandits"]
            _redis_findings(report, r, now)
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
            unresolved = d["in_doubt"] + d["stale_claims"]
            if unresolved:
                report.degraded.append(
                    f"{unresolved} post(s) in doubt: live posting waits until they are "
                    "reconciled with X; run `xbot schedule run` (it reconciles first)"
                )
        except (psycopg.Error, OSError, XbotError, TimeoutError) as exc:
            report.unhealthy.append(f"DB unreachable: {_short(exc)}")
        if r is not None and d is not None:
            _cross_findings(report, r, d)
        if report.db_ok and not any("missing views" in m for m in report.degraded):
            try:
                rows = d["flag_rows"]
                if rows is None:
                    raise XbotError("bot_config does not exist")
                report.degraded.extend(f"flag: {p}" for p in _flag_problems(rows, env))
            except Exception as exc:  # flags are advisory here; the line must still print
                report.degraded.append(f"flags unreadable: {_short(exc)}")
            try:
                if d.get("spend") is not None and d["flag_rows"] is not None:
                    fl = flags_mod.parse_flags(d["flag_rows"], env)
                    plan = load_pricing().plan(fl.x_plan)
                    report.degraded.extend(budget_warnings(fl, plan, d["spend"]))
            except Exception as exc:  # advisory too: a broken price file must not hide health
                report.degraded.append(f"X API budget unreadable: {_short(exc)}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return report
