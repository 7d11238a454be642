"""nbval over the workbench notebooks, against a small simulated environment.

``pytest --nbval-lax --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/`` runs every
notebook top to bottom (any error fails it) and compares the outputs of cells marked
``# NBVAL_CHECK_OUTPUT``. Before the kernels start, this file points them at a fresh, migrated
database and a unique Redis prefix (the servers of ``XBOT_TEST_DATABASE_URL`` /
``XBOT_TEST_REDIS_URL``, as the tests use; else the embedded servers in a temporary XBOT_HOME)
and fills it with a little real activity: one candidates refresh and a few shadow cycles.
Everything is removed afterwards (the database dropped, the prefix's keys deleted by SCAN).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

_STATE: dict[str, str] = {}


def _admin_url(url: str, database: str) -> str:
    return (
        sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("nbval_lax", default=False) and not config.getoption(
        "nbval", default=False
    ):
        return
    from xbot import flags, migrate
    from xbot.services import Services
    from xbot.settings import load_settings

    run = uuid.uuid4().hex[:10]
    home = tempfile.mkdtemp(prefix="xbot-nbval-")
    env = {
        "APP_ENV": "development",
        "LIVE_POSTS": "false",
        "REDIS_PREFIX": f"nbval{run}:",
        "XBOT_HOME": home,
        "XBOT_ENV_FILE": "",
        "XBOT_RUNS_DIR": os.path.join(home, "runs"),
    }
    base = os.environ.get("XBOT_TEST_DATABASE_URL")
    if base:
        name = f"xbot_nbval_{run}"
        admin = sa.create_engine(_admin_url(base, "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'create database "{name}"')
        admin.dispose()
        env["DATABASE_URL"] = _admin_url(base, name).replace(
            "postgresql+psycopg://", "postgresql://"
        )
        _STATE["database"] = name
        _STATE["base"] = base
    if os.environ.get("XBOT_TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["XBOT_TEST_REDIS_URL"]
    os.environ.update(env)  # the nbval kernels inherit this environment
    _STATE["home"] = home
    _STATE["prefix"] = env["REDIS_PREFIX"]

    settings = load_settings(env_file="")
    with Services(settings) as services:
        migrate.migrate(services.engine)
        with services.engine.begin() as conn:
            flags.seed_defaults(conn, settings.environment)
        _simulate(services, settings)


def _simulate(services, settings) -> None:
    """A little real activity so every section of every notebook has rows to show."""
    from xbot.candidates.pipeline import refresh
    from xbot.scheduler import run_cycle

    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    refresh(services, settings.environment, now=noon - timedelta(hours=3))
    for i in range(3):
        run_cycle(services, settings, poster=None, now=noon - timedelta(hours=2 - i))


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _STATE:
        return
    import redis

    if os.environ.get("REDIS_URL"):
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        keys = list(client.scan_iter(match=_STATE["prefix"] + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    if "database" in _STATE:
        admin = sa.create_engine(
            _admin_url(_STATE["base"], "postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{_STATE["database"]}" with (force)')
        admin.dispose()
    else:
        from pathlib import Path

        from xbot.services import stop_embedded

        stop_embedded(Path(_STATE["home"]))
    shutil.rmtree(_STATE["home"], ignore_errors=True)
