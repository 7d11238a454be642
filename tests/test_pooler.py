"""Postgres through a transaction-mode pooler (Supabase's port 6543, pgbouncer in CI).

Between two transactions the pooler may hand the client another server connection, so no
session state may be relied on: no session advisory locks, no server-side prepared
statements. CI runs this file (and the migration, learning, scheduling and concurrency tests)
a second time with ``XBOT_TEST_POOLER_URL`` pointing at pgbouncer in ``pool_mode =
transaction``; without it the same tests run direct.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from xbot.bandit_store import BanditStore
from xbot.errors import LockBusy, SettingsError
from xbot.services import Services
from xbot.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("url", "pooler", "mode"),
    [
        ("postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", None, "transaction"),
        ("postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:5432/postgres", None, "none"),
        ("postgresql://u:p@db.abc.supabase.co:5432/postgres", None, "none"),
        ("postgresql://u@127.0.0.1:6432/x", "transaction", "transaction"),
        ("postgresql://u@127.0.0.1:6543/x", "session", "session"),
        ("postgresql://u@127.0.0.1:6543/x", "none", "none"),
    ],
)  # fmt: skip
def test_pooler_mode_from_the_port_or_the_setting(url: str, pooler: str | None, mode: str) -> None:
    env = {"DATABASE_URL": url, **({"DATABASE_POOLER": pooler} if pooler else {})}
    settings = load_settings(env, env_file="")
    assert settings.pooler_mode == mode
    args = Services(settings).connect_args()
    assert ("prepare_threshold" in args and args["prepare_threshold"] is None) == (
        mode == "transaction"
    )
    assert "options" not in args  # poolers reject the startup "options" parameter


def test_an_unknown_pooler_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"DATABASE_POOLER.*transaction"):
        load_settings({"DATABASE_POOLER": "yes"}, env_file="")


@pytest.fixture
def other_services(settings: Settings) -> Iterator[list[Services]]:
    others = [Services(settings) for _ in range(4)]
    yield others
    for svc in others:
        svc.close()


def test_statements_repeated_over_many_transactions_by_several_clients_work(
    services: Services, other_services: list[Services]
) -> None:
    # psycopg prepares a statement on the server after 5 runs; through a transaction pooler
    # the next run may land on a backend where "_pg3_0" does not exist (or already exists).
    errors: list[str] = []

    def work(svc: Services) -> None:
        try:
            for i in range(20):
                with svc.engine.begin() as conn:
                    got = conn.execute(
                        sa.text("select count(*) + :i from decisions, pg_sleep(0.005)"), {"i": i}
                    ).scalar()
                    assert got == i
        except Exception as exc:  # collected: a thread's failure must fail the test
            errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=work, args=(s,)) for s in [services, *other_services]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_learning_lock_excludes_others_and_is_gone_when_released(
    services: Services, settings: Settings, other_services: list[Services]
) -> None:
    store = BanditStore(services, settings.environment)
    with store.cycle_lock():
        # meanwhile other transactions run on every pooled server connection
        with services.engine.begin() as conn:
            conn.execute(sa.text("select 1"))
        refused = []

        def attempt(svc: Services) -> None:
            try:
                with BanditStore(svc, settings.environment).cycle_lock():
                    refused.append(False)
            except LockBusy:
                refused.append(True)

        threads = [threading.Thread(target=attempt, args=(s,)) for s in other_services * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert refused == [True] * len(threads)
    for svc in other_services:  # released: everyone gets it (none leaked on a server session)
        with BanditStore(svc, settings.environment).cycle_lock():
            pass
    with services.engine.connect() as conn:
        held = conn.execute(
            sa.text(
                "select count(*) from pg_locks l join pg_database d on d.oid = l.database "
                "where l.locktype = 'advisory' and l.granted and d.datname = current_database()"
            )
        ).scalar()
    assert held == 0
