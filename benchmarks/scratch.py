"""A throwaway database for one benchmark run, created next to a given server's database."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from xbot.services import libpq_url, sqlalchemy_url


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
