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
from datetime import UTC

import pytest
import sqlalchemy as sa

from xbot.services import Services

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
    r.zadd(keys.queue(), {"c1": 3, "c2": 2, "c3": 1})
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
