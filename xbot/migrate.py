"""Apply ``sql/migrations/*.sql`` in order, once each, recorded in ``schema_migrations``.

Files are named ``<UTC timestamp>_<name>.sql`` (the Supabase CLI's convention), so
``supabase db push`` applies the same files in the same order. Safe to run twice (applied
versions are skipped) and from several processes at once: the whole run holds a Postgres
advisory lock, and each file is applied in its own transaction together with its record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xbot.errors import MigrationError

# An arbitrary constant shared by every xbot process: "xbot.migrate" as a 63-bit integer.
ADVISORY_LOCK_KEY = int(hashlib.sha256(b"xbot.migrate").hexdigest()[:15], 16)
_NAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    version: str
    name: str
    applied_at: datetime | None
    changed: bool  # applied, but the file differs from what was applied


def migrations_dir(directory: Path | None = None) -> Path:
    """``directory`` (Settings.migrations_dir, XBOT_MIGRATIONS_DIR) or ``sql/migrations`` of the
    source tree xbot was installed from."""
    path = directory or Path(__file__).resolve().parents[1] / "sql" / "migrations"
    if not path.is_dir():
        raise MigrationError(
            "-", f"migrations directory {path} not found (install xbot with `pip install -e .`)"
        )
    return path


def discover(directory: Path | None = None) -> list[Migration]:
    directory = migrations_dir(directory)
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(path.name, "file name must be <14-digit timestamp>_<name>.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    return found


_BOOKKEEPING = """
create table if not exists schema_migrations (
    version    text primary key,
    name       text not null,
    checksum   text not null,
    applied_at timestamptz not null default now()
)
"""


def migrate(engine: Engine, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; return the versions applied by this call (maybe none)."""
    pending = discover(directory)
    applied_now: list[str] = []
    with engine.connect() as conn:
        conn.execute(sa.text("select pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            with conn.begin():
                conn.exec_driver_sql(_BOOKKEEPING)
            done = {r[0] for r in conn.execute(sa.text("select version from schema_migrations"))}
            conn.commit()
            for mig in pending:
                if mig.version in done:
                    continue
                try:
                    with conn.begin():
                        # Straight to the driver without parameters, so a '%' in SQL is literal.
                        conn.connection.dbapi_connection.cursor().execute(mig.sql)
                        conn.execute(
                            sa.text(
                                "insert into schema_migrations (version, name, checksum) "
                                "values (:v, :n, :c)"
                            ),
                            {"v": mig.version, "n": mig.name, "c": mig.checksum},
                        )
                except (sa.exc.DBAPIError, psycopg.Error) as exc:
                    # The file runs on the raw psycopg cursor, so its errors arrive unwrapped.
                    orig = getattr(exc, "orig", None) or exc
                    detail = str(orig).strip().splitlines()[0]
                    raise MigrationError(f"{mig.version}_{mig.name}", detail) from exc
                applied_now.append(mig.version)
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            conn.commit()
    return applied_now


def status(engine: Engine, directory: Path | None = None) -> list[MigrationState]:
    """Every migration file with when it was applied (None = pending)."""
    files = discover(directory)
    with engine.connect() as conn:
        exists = conn.execute(sa.text("select to_regclass('schema_migrations')")).scalar()
        rows = {}
        if exists:
            rows = {
                r.version: r
                for r in conn.execute(
                    sa.text("select version, checksum, applied_at from schema_migrations")
                )
            }
    out = []
    for mig in files:
        row = rows.get(mig.version)
        out.append(
            MigrationState(
                version=mig.version,
                name=mig.name,
                applied_at=row.applied_at if row else None,
                changed=bool(row and row.checksum != mig.checksum),
            )
        )
    return out
