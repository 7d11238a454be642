"""The suite cannot touch anything it did not create: production URLs in the shell are ignored.

Only ``XBOT_TEST_DATABASE_URL`` / ``XBOT_TEST_REDIS_URL`` name servers for the tests; without them
the embedded servers start. ``DATABASE_URL`` / ``REDIS_URL`` (what a developer exports to run
xbot against production) are never used, and X credentials from the shell are blanked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_lib
from conftest import PRODUCTION_VARIABLES, suite_server_url

from xbot.keys import Keys

REPO = Path(__file__).resolve().parent.parent


def test_only_xbot_test_variables_name_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://prod:pw@db.example:5432/prod")
    monkeypatch.setenv("REDIS_URL", "redis://:pw@redis.example:6379/0")
    monkeypatch.delenv("XBOT_TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("XBOT_TEST_REDIS_URL", raising=False)
    assert suite_server_url("postgres") is None and suite_server_url("redis") is None
    monkeypatch.setenv("XBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert suite_server_url("redis") == "redis://127.0.0.1:6379/0"


def test_commands_under_test_never_see_the_shells_production_variables(
    env_vars: dict[str, str],
) -> None:
    assert set(PRODUCTION_VARIABLES) <= set(env_vars)
    assert all(env_vars[v] == "" for v in PRODUCTION_VARIABLES if v.startswith("X_"))


@pytest.mark.slow
def test_suite_with_production_urls_exported_touches_neither(
    start_private_redis, closed_port: int, tmp_path: Path
) -> None:
    """Run a real test file in a child pytest with DATABASE_URL / REDIS_URL pointing at
    "production" (a Postgres port nobody listens on; a redis-server of ours holding a prod:
    queue) and no XBOT_TEST_* variables: it passes on the embedded servers, and the
    production Redis saw no command from it."""
    prod_redis = start_private_redis()
    client = redis_lib.Redis.from_url(prod_redis.url)
    prod = Keys("prod:")
    client.zadd(prod.queue(), {"prod-candidate": 1})
    before = {k: client.dump(k) for k in client.scan_iter()}
    commands_before = int(client.info("stats")["total_commands_processed"])
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("XBOT_TEST_") and k != "XBOT_SLOW"
    }
    env.update(
        DATABASE_URL=f"postgresql://prod:pw@127.0.0.1:{closed_port}/prod",
        REDIS_URL=prod_redis.url,
        REDIS_PREFIX="prod:",
        APP_ENV="production",
        XBOT_TEST_RUN_ID=f"iso{os.getpid()}",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
         str(tmp_path / "inner"), "tests/test_emergency.py::test_clear_queue_only_touches_this_prefix"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # our own SCAN/DUMP/INFO calls are the only commands the production server processed
    commands_after = int(client.info("stats")["total_commands_processed"])
    assert commands_after - commands_before <= 3 + len(before)
    assert {k: client.dump(k) for k in client.scan_iter()} == before
    client.close()
