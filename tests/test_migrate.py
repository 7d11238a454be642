"""Migrations: applied once each, safe twice and concurrently, status shows pending/changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot import migrate
from xbot.errors import MigrationError
from xbot.services import Services
from xbot.settings import APP_ENVS, load_settings


def _engine(url: str) -> sa.Engine:
    """An engine built as xbot builds it (pooler options included when CI runs the tests
    through pgbouncer, see conftest.POOLER_URL)."""
    pooler = "transaction" if os.environ.get("XBOT_TEST_POOLER_URL") else "none"
    settings = load_settings({"DATABASE_URL": url, "DATABASE_POOLER": pooler}, env_file="")
    return Services(settings).engine


def _recorded(url: str) -> list[str]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(sa.text("select version from schema_migrations order by 1"))
            ]
    finally:
        engine.dispose()


def test_file_names_follow_supabase_convention() -> None:
    files = migrate.discover()
    assert files, "no migrations found"
    versions = [m.version for m in files]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    for path in migrate.migrations_dir().glob("*"):
        assert path.suffix == ".sql", path


def test_migrate_twice(empty_database_url: str) -> None:
    engine = _engine(empty_database_url)
    try:
        first = migrate.migrate(engine)
        assert first == [m.version for m in migrate.discover()]
        assert migrate.migrate(engine) == []
        states = migrate.status(engine)
        assert all(s.applied_at is not None and not s.changed for s in states)
    finally:
        engine.dispose()
    assert _recorded(empty_database_url) == first


def test_migrate_concurrently_from_threads(empty_database_url: str) -> None:
    engines = [_engine(empty_database_url) for _ in range(3)]
    results: list[list[str]] = [[] for _ in engines]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = migrate.migrate(engines[i])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for e in engines:
        e.dispose()
    assert not errors, errors
    everything = [m.version for m in migrate.discover()]
    applied = sorted(v for r in results for v in r)
    assert applied == everything, "each version must be applied by exactly one caller"
    assert _recorded(empty_database_url) == everything


def test_migrate_concurrently_from_processes(empty_database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never used by `db migrate`
        "XBOT_HOME": str(tmp_path / "home"),
        "XBOT_ENV_FILE": "",
        "APP_ENV": "development",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "xbot", "db", "migrate", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    applied = sorted(v for out, _ in outs for v in json.loads(out)["applied"])
    everything = [m.version for m in migrate.discover()]
    assert applied == everything
    assert _recorded(empty_database_url) == everything
    engine = _engine(empty_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("select environment, count(*) from bot_config group by 1 order by 1")
            ).all()
    finally:
        engine.dispose()
    assert rows == [(e, 2) for e in sorted(APP_ENVS)]


def _copy_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir(), directory)
    return directory


def test_status_shows_pending_then_applied_then_changed(
    xbot, empty_database_url: str, tmp_path: Path
) -> None:
    directory = _copy_migrations(tmp_path)
    env = {"DATABASE_URL": empty_database_url, "XBOT_MIGRATIONS_DIR": str(directory)}

    before = xbot("db", "status", "--json", env=env)
    assert before.exit_code == 0, before.output
    assert all(s["applied_at"] is None for s in json.loads(before.stdout))

    assert xbot("db", "migrate", env=env).exit_code == 0
    again = xbot("db", "migrate", env=env)
    assert again.exit_code == 0 and "no pending migrations" in again.stdout

    latest = sorted(directory.glob("*.sql"))[-1]
    latest.write_text(latest.read_text() + "\n-- edited after it landed\n")
    (directory / "29991231235959_later.sql").write_text("select 1;\n")

    states = json.loads(xbot("db", "status", "--json", env=env).stdout)
    by_version = {s["version"]: s for s in states}
    assert by_version[latest.name[:14]]["changed"] is True
    assert by_version["29991231235959"]["applied_at"] is None
    assert sum(s["changed"] for s in states) == 1

    # rich wraps tables at 80 columns when stdout is not a terminal; widen it.
    table = xbot("db", "status", env={**env, "COLUMNS": "200"})
    assert "CHANGED since applied" in table.stdout
    assert "pending" in table.stdout


def test_failed_migration_rolls_back_and_is_not_recorded(
    xbot, empty_database_url: str, tmp_path: Path
) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / "29991231235959_broken.sql").write_text(
        "create table half_done (id int);\nselect no_such_function();\n"
    )
    env = {"DATABASE_URL": empty_database_url, "XBOT_MIGRATIONS_DIR": str(directory)}
    result = xbot("db", "migrate", env=env)
    assert result.exit_code == MigrationError.exit_code, result.output
    assert "29991231235959_broken" in result.stderr and "no_such_function" in result.stderr
    recorded = _recorded(empty_database_url)
    assert "29991231235959" not in recorded
    assert recorded == [m.version for m in migrate.discover()]  # the good ones stayed
    engine = _engine(empty_database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select to_regclass('half_done')")).scalar() is None
    finally:
        engine.dispose()


def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / "add_stuff.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="14-digit"):
        migrate.discover(directory)


def test_database_url_prints_libpq_uri_psql_accepts(xbot, database_url: str) -> None:
    result = xbot("db", "url")
    assert result.exit_code == 0
    url = result.stdout.strip()
    assert url.startswith("postgresql://")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql not installed")
    out = subprocess.run(
        [psql, url, "-Atc", "select count(*) from bot_config"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == 2 * len(APP_ENVS)
