"""The runbook's one-line health check: format, statuses, exit codes, and the 5 s bound.

Outage tests use servers the test owns: a redis-server it starts on a spare port and stops, a
closed port, and a socket that accepts connections but never answers (the worst case for
timeouts). The shared Redis and Postgres are never stopped or reconfigured.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import redis as redis_lib
import sqlalchemy as sa
from helpers import candidate
from redis_faults import Faults, FaultyServices

from xbot.candidates.queue import CandidateQueue
from xbot.errors import ServiceUnavailable
from xbot.flags import set_flag
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import load_settings

TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
LINE = re.compile(
    rf"^\[(?P<ts>{TS})\] xBOT Health: (?P<status>HEALTHY|DEGRADED|UNHEALTHY)"
    r" \| Redis:(?P<redis>✅|❌) \| DB:(?P<db>✅|❌)"
    r" \| Queue:(?P<queue>\d+|\?) \| Bandits:(?P<bandits>\d+|\?)"
    rf" \| LastPost:(?P<last>none|{TS}) \| Posts/h:(?P<posts>\d+|\?)"
    r"(?: \| (?P<message>.+))?$"
)
# The runbook's example line, which the pattern must accept as-is.
RUNBOOK_LINE = (
    "[2025-08-11T09:00:00Z] xBOT Health: HEALTHY | Redis:✅ | DB:✅ | Queue:25 | Bandits:12 "
    "| LastPost:none | Posts/h:0"
)
BUDGET_S = 5.0


def _parse(stdout: str) -> re.Match[str]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    match = LINE.match(lines[0])
    assert match, lines[0]
    return match


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def _run_health(xbot_process, *args: str, **overrides: str):
    """``python -m xbot health`` in a real process, timed until the process has exited."""
    start = time.monotonic()
    proc = xbot_process("health", *args, env=overrides, timeout=30)
    return proc, time.monotonic() - start


def test_pattern_accepts_the_runbook_example() -> None:
    assert _parse(RUNBOOK_LINE)["status"] == "HEALTHY"


def test_healthy_line_and_exit_0(xbot) -> None:
    result = xbot("health")
    assert result.exit_code == 0, result.output
    m = _parse(result.stdout)
    assert m["status"] == "HEALTHY" and m["redis"] == "✅" and m["db"] == "✅"
    assert (m["queue"], m["bandits"], m["last"], m["posts"]) == ("0", "0", "none", "0")
    assert m["message"] is None


def test_counts_come_from_this_prefix_and_environment(xbot, services: Services) -> None:
    keys = services.keys
    r = services.redis
    now = datetime.now(UTC)
    CandidateQueue(services, "development").enqueue(
        [candidate(t, now=now, tags=()) for t in ("c1", "c2", "c3")]
    )
    for arm in ("fps", "moba"):
        r.hset(keys.bandit("topic", arm), mapping={"alpha": 1, "beta": 1, "pulls": 0})
    r.hset(keys.bandit("hour", "9"), mapping={"alpha": 1, "beta": 1, "pulls": 0})
    r.zadd("otherprefix" + keys.queue()[len(keys.prefix) - 1 :], {"x": 1})  # not ours
    with services.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into tweets (environment, idempotency_key, text, status, posted_at) values "
                "('development', 'h1', 'a', 'posted', '2026-01-01T10:00:00Z'), "
                "('development', 'h2', 'b', 'posted', now() - interval '10 minutes'), "
                "('development', 'h3', 'c', 'failed', now()), "
                "('production', 'h4', 'd', 'posted', now())"
            )
        )
        last = conn.execute(
            sa.text(
                "select max(posted_at) from tweets "
                "where environment = 'development' and status = 'posted'"
            )
        ).scalar_one()
    try:
        result = xbot("health")
    finally:
        r.delete("otherprefix" + keys.queue()[len(keys.prefix) - 1 :])
    assert result.exit_code == 0, result.output
    m = _parse(result.stdout)
    assert (m["queue"], m["bandits"], m["posts"]) == ("3", "3", "1")
    assert m["last"] == last.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_json_output(xbot) -> None:
    result = xbot("health", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "HEALTHY" and data["redis"] is True and data["db"] is True
    assert data["messages"] == []
    assert _parse(data["line"])["status"] == "HEALTHY"


def test_redis_down_unhealthy_within_budget(xbot_process, start_private_redis) -> None:
    server = start_private_redis()
    up, _ = _run_health(xbot_process, REDIS_URL=server.url)
    assert up.returncode == 0, up.stdout + up.stderr  # the private server works

    server.stop()
    down, elapsed = _run_health(xbot_process, REDIS_URL=server.url)
    assert down.returncode == 2, down.stdout + down.stderr
    m = _parse(down.stdout)
    assert (m["status"], m["redis"], m["db"]) == ("UNHEALTHY", "❌", "✅")
    assert m["queue"] == "?" and m["bandits"] == "?"
    assert "Redis unreachable" in m["message"]
    assert elapsed < BUDGET_S, elapsed


def test_db_unreachable_unhealthy_within_budget(xbot_process, closed_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/xbot"
    proc, elapsed = _run_health(xbot_process, DATABASE_URL=url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    m = _parse(proc.stdout)
    assert (m["status"], m["redis"], m["db"]) == ("UNHEALTHY", "✅", "❌")
    assert "DB unreachable" in m["message"]
    assert m["last"] == "none" and m["posts"] == "?"
    assert elapsed < BUDGET_S, elapsed


def test_both_down_within_budget(xbot_process, start_private_redis, closed_port: int) -> None:
    server = start_private_redis()
    server.stop()
    db = f"postgresql://postgres@127.0.0.1:{closed_port}/xbot"
    result, elapsed = _run_health(xbot_process, REDIS_URL=server.url, DATABASE_URL=db)
    assert result.returncode == 2
    m = _parse(result.stdout)
    assert (m["status"], m["redis"], m["db"]) == ("UNHEALTHY", "❌", "❌")
    assert "Redis unreachable" in m["message"] and "DB unreachable" in m["message"]
    assert elapsed < BUDGET_S, elapsed


def test_both_hung_within_budget(xbot_process, silent_port: int) -> None:
    """Servers that accept the connection and never answer: the timeouts must still hold."""
    result, elapsed = _run_health(
        xbot_process,
        REDIS_URL=f"redis://127.0.0.1:{silent_port}/0",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{silent_port}/xbot",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    m = _parse(result.stdout)
    assert (m["status"], m["redis"], m["db"]) == ("UNHEALTHY", "❌", "❌")
    assert elapsed < BUDGET_S, elapsed


def test_unhealthy_json(xbot_process, closed_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/xbot"
    proc, _ = _run_health(xbot_process, "--json", DATABASE_URL=url)
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert data["status"] == "UNHEALTHY" and data["db"] is False and data["redis"] is True
    assert any("DB unreachable" in m for m in data["messages"])


def test_pending_migration_degraded(xbot, services: Services) -> None:
    with services.engine.begin() as conn:
        version = conn.execute(
            sa.text("delete from schema_migrations where version = (select max(version) "
                    "from schema_migrations) returning version")
        ).scalar_one()  # fmt: skip
    result = xbot("health")
    assert result.exit_code == 1, result.output
    m = _parse(result.stdout)
    assert m["status"] == "DEGRADED" and m["redis"] == "✅" and m["db"] == "✅"
    assert "1 pending migration(s): run `xbot db migrate`" in m["message"]
    assert version


def test_missing_view_degraded(xbot, services: Services) -> None:
    with services.engine.begin() as conn:
        conn.exec_driver_sql("drop view vw_bandit_performance")
    result = xbot("health")
    assert result.exit_code == 1
    m = _parse(result.stdout)
    assert m["status"] == "DEGRADED"
    assert "missing views: vw_bandit_performance" in m["message"]


def test_bad_flag_degraded(xbot, services: Services) -> None:
    with services.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE bot_config SET config_value = jsonb_set(config_value, '{epsilon}', '7') "
            "WHERE environment = 'development' AND config_key = 'learning_config'"
        )
    result = xbot("health")
    assert result.exit_code == 1
    m = _parse(result.stdout)
    assert m["status"] == "DEGRADED"
    assert (
        "flag: epsilon=7 is not allowed: a number from 0.0 to 1.0; using default 0.2"
        in (m["message"])
    )
    # the health of another environment is unaffected
    assert xbot("health", env={"APP_ENV": "production"}).exit_code == 0


def test_empty_database_degraded_not_crashing(xbot, empty_database_url: str) -> None:
    result = xbot("health", env={"DATABASE_URL": empty_database_url})
    assert result.exit_code == 1, result.output
    m = _parse(result.stdout)
    assert m["status"] == "DEGRADED" and m["db"] == "✅"
    assert "missing views" in m["message"] and "pending migration" in m["message"]


def test_exit_codes_through_the_console_script(xbot_process, services: Services, closed_port: int):
    """0, 1 and 2 as a scheduler sees them from the real process."""
    ok, _ = _run_health(xbot_process)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with services.engine.begin() as conn:
        conn.exec_driver_sql("drop view vw_recent_posts")
    degraded, _ = _run_health(xbot_process)
    assert degraded.returncode == 1
    down, _ = _run_health(xbot_process, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    assert down.returncode == 2


# -- health tells the truth (issue 10 §5) ---------------------------------------------------


def test_post_in_doubt_degraded(xbot, services: Services) -> None:
    with services.engine.begin() as conn:
        conn.exec_driver_sql(
            "insert into tweets (environment, idempotency_key, text, status) "
            "values ('development', 'd1', 'maybe sent', 'in_doubt')"
        )
    result = xbot("health")
    assert result.exit_code == 1, result.output
    m = _parse(result.stdout)
    assert m["status"] == "DEGRADED"
    assert "1 post(s) in doubt" in m["message"] and "`xbot schedule run`" in m["message"]


def test_posting_paused_by_auth_or_rate_limit_degraded(xbot, services: Services) -> None:
    keys = services.keys
    services.redis.hset(keys.poster_status(), mapping={"state": "auth_failed", "reason": "401"})
    m = _parse(xbot("health").stdout)
    assert m["status"] == "DEGRADED"
    assert "X refused credentials (401)" in m["message"]
    assert "`xbot schedule resume`" in m["message"]
    services.redis.delete(keys.poster_status())
    reset = datetime.now(UTC) + timedelta(hours=1)
    services.redis.hset(keys.rate_limit("create_post"), "reset_at", reset.isoformat())
    result = xbot("health")
    assert result.exit_code == 1
    assert "X rate limit on create_post until" in _parse(result.stdout)["message"]
    past = datetime.now(UTC) - timedelta(minutes=1)
    services.redis.hset(keys.rate_limit("create_post"), "reset_at", past.isoformat())
    assert xbot("health").exit_code == 0  # a window that has closed is no problem


def test_bandit_behind_the_last_learning_cycle_degraded_until_rebuild(
    xbot, services: Services
) -> None:
    with services.engine.begin() as conn:
        conn.exec_driver_sql(
            "insert into learning_cycles (environment, ran_at, decay, baseline_median, "
            "posts_learned, total_reward) values ('development', now(), 1, 0.02, 1, 1)"
        )
        cycle = conn.exec_driver_sql("select max(id) from learning_cycles").scalar_one()
    result = xbot("health")
    assert result.exit_code == 1
    assert (
        f"bandit state behind Postgres (Redis at learning cycle 0, Postgres at {cycle}): "
        "run `xbot learn rebuild`" in _parse(result.stdout)["message"]
    )
    assert xbot("learn", "rebuild").exit_code == 0
    assert xbot("health").exit_code == 0


def _filled(server, prefix: str) -> redis_lib.Redis:
    """A client of a private server holding ~2 MB under ``prefix``, limited to 1 MB, so
    every write is refused (noeviction)."""
    admin = redis_lib.Redis.from_url(server.url, decode_responses=True)
    admin.set(prefix + "filler", "x" * 2_000_000)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1mb")
    return admin


def test_redis_out_of_memory_unhealthy_and_schedule_run_exits_4(
    xbot_process, services: Services, start_private_redis
) -> None:
    server = start_private_redis()
    admin = _filled(server, services.keys.prefix)
    proc, _ = _run_health(xbot_process, REDIS_URL=server.url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    m = _parse(proc.stdout)
    assert (m["status"], m["redis"]) == ("UNHEALTHY", "✅")
    assert "Redis out of memory" in m["message"] and "policy noeviction" in m["message"]

    run = xbot_process("schedule", "run", env={"REDIS_URL": server.url}, timeout=60)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: redis unavailable: out of memory")
    with services.engine.connect() as conn:
        row = conn.execute(sa.text("select outcome, reason from decisions")).one()
    assert (row.outcome, row.reason) == ("skipped", "error:OutOfMemoryError")
    admin.close()


def test_redis_read_only_unhealthy(
    xbot_process, services: Services, start_private_redis, closed_port: int
) -> None:
    server = start_private_redis()
    admin = redis_lib.Redis.from_url(server.url)
    admin.replicaof("127.0.0.1", closed_port)  # a replica of nothing: it refuses writes
    proc, _ = _run_health(xbot_process, REDIS_URL=server.url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    m = _parse(proc.stdout)
    assert "Redis is read-only (role slave): point REDIS_URL at the primary" in m["message"]
    admin.close()


def test_redis_out_of_memory_inside_a_cycle_is_recorded_then_healed(
    env_vars: dict[str, str], services: Services, start_private_redis
) -> None:
    """Memory runs out after the cycle took its lock, while it heals a drifted queue: a
    skipped/error row and ServiceUnavailable (exit 4), not a traceback; once memory is back
    the next cycle heals the queue and shadows the candidate.

    (A Lua script whose first write is allowed under OOM, such as a claim's ZREM, is then
    allowed to finish: Redis keeps scripts atomic. The projection's first write is HSET.)"""
    with services.engine.begin() as conn:
        set_flag(conn, "development", "quiet_hours", [], actor="test")
    server = start_private_redis()
    private = load_settings({**env_vars, "REDIS_URL": server.url}, env_file="")
    faults = Faults()
    now = datetime.now(UTC)
    text = "GG, what a clutch"
    with FaultyServices(private, faults) as svc:
        CandidateQueue(svc, "development").enqueue([candidate(text, now=now, tags=())])
        svc.redis.delete(svc.keys.queue())  # drift: the next cycle must rebuild
        admin = redis_lib.Redis.from_url(server.url)
        faults.arm(match=b"local added = 0", action=lambda: _filled(server, "x:"))
        with pytest.raises(ServiceUnavailable, match="redis unavailable: out of memory"):
            run_cycle(svc, private, poster=None, now=now, rng=np.random.default_rng(3))
        assert faults.fired
        faults.disarm()
        with svc.engine.connect() as conn:
            rows = conn.execute(sa.text("select outcome, reason from decisions")).all()
        assert [(r.outcome, r.reason) for r in rows] == [("skipped", "error:ServiceUnavailable")]
        admin.config_set("maxmemory", "0")
        admin.delete("x:filler")
        record = run_cycle(svc, private, poster=None, now=now, rng=np.random.default_rng(4))
        assert (record.outcome, record.text) == ("shadow", text), record.context
        assert record.context["queue_healed"]["added"] == 1
        admin.close()
