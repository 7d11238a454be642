"""Throwaway state for one benchmark run: a scratch database and, on top, migrated Services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from xbot import flags, migrate
from xbot.emergency import delete_matching
from xbot.services import Services, libpq_url, sqlalchemy_url
from xbot.settings import load_settings


class ScratchDatabase:
    """``create database`` on the server of ``base_url`` now; :meth:`drop` removes it again.

    ``url`` is a libpq URI of the new database (what DATABASE_URL takes).
    """

    def __init__(self, base_url: str) -> None:
        self.name = f"xbot_bench_{uuid.uuid4().hex[:8]}"
        self._admin = sa.create_engine(sqlalchemy_url(base_url), isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'create database "{self.name}"')
        url = sa.engine.make_url(sqlalchemy_url(base_url)).set(database=self.name)
        self.url = libpq_url(url.render_as_string(hide_password=False))

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{self.name}" with (force)')
        self._admin.dispose()


@contextmanager
def live_services() -> Iterator[Services]:
    """Services on a scratch database (migrated, default flags) and a fresh REDIS_PREFIX, both
    removed afterwards. Needs ``XBOT_TEST_DATABASE_URL`` or ``DATABASE_URL`` (the server to
    create the database on) and ``XBOT_TEST_REDIS_URL`` or ``REDIS_URL``."""
    base = os.environ.get("XBOT_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]
    redis_url = os.environ.get("XBOT_TEST_REDIS_URL") or os.environ["REDIS_URL"]
    scratch = ScratchDatabase(base)
    prefix = f"benchlive{uuid.uuid4().hex[:8]}:"
    services = Services(load_settings({"DATABASE_URL": scratch.url, "REDIS_URL": redis_url,
                                       "REDIS_PREFIX": prefix, "APP_ENV": "development"},
                                      env_file=""))  # fmt: skip
    try:
        migrate.migrate(services.engine)
        with services.engine.begin() as conn:
            flags.seed_defaults(conn, "development")
        yield services
    finally:
        delete_matching(services, services.keys.all_pattern())
        services.close()
        scratch.drop()
