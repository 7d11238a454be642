"""Apply ``sql/migrations/*.sql`` in order, once each, recorded in ``schema_migrations``.

Files are named ``<UTC timestamp>_<name>.sql`` (the Supabase CLI's convention), so
``supabase db push`` applies the same files in the same order. Safe to run twice (applied
versions are skipped) and from several processes at once: each file is applied in its own
transaction together with its record, under a transaction-level Postgres advisory lock (so it
works through a transaction-mode pooler too).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xbot.errors import MigrationError

if TYPE_CHECKING:  # the drivers load with the first query: `discover` (health) needs neither
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

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


def _lock(conn: sa.Connection) -> None:
    """Serialise migrators until this transaction ends (also through a transaction pooler)."""
    import sqlalchemy as sa

    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})


def _apply_if_pending(conn: sa.Connection, mig: Migration) -> bool:
    """Apply ``mig`` and record it in one transaction, under the lock; False if applied."""
    import psycopg
    import sqlalchemy as sa

    with conn.begin():
        _lock(conn)
        done = conn.execute(
            sa.text("select 1 from schema_migrations where version = :v"), {"v": mig.version}
        ).first()
        if done:
            return False
        try:
            # Straight to the driver without parameters, so a '%' in SQL is literal.
            conn.connection.dbapi_connection.cursor().execute(mig.sql)
            conn.execute(
                sa.text(
                    "insert into schema_migrations (version, name, checksum) values (:v, :n, :c)"
                ),
                {"v": mig.version, "n": mig.name, "c": mig.checksum},
            )
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            # The file runs on the raw psycopg cursor, so its errors arrive unwrapped.
            orig = getattr(exc, "orig", None) or exc
            detail = str(orig).strip().splitlines()[0]
            raise MigrationError(f"{mig.version}_{mig.name}", detail) from exc
    return True


def migrate(engine: Engine, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; return the versions applied by this call (maybe none).

    Each file's transaction first takes a transaction-level advisory lock, then checks that
    the file is still pending: concurrent migrators apply every file exactly once, and no
    lock outlives its transaction (a session lock would leak through a transaction-mode
    pooler such as Supabase's port 6543, where the next statement may run elsewhere).
    """
    pending = discover(directory)
    applied_now: list[str] = []
    with engine.connect() as conn:
        with conn.begin():
            _lock(conn)
            conn.exec_driver_sql(_BOOKKEEPING)
        for mig in pending:
            if _apply_if_pending(conn, mig):
                applied_now.append(mig.version)
    return applied_now


def status(engine: Engine, directory: Path | None = None) -> list[MigrationState]:
    """Every migration file with when it was applied (None = pending)."""
    import sqlalchemy as sa

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
