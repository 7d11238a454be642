"""Flags: defaults seeded on migrate, the runbook's SQL verbatim, config show/set/reset."""

from __future__ import annotations

import json

import pytest
from helpers import audit_rows

from xbot import flags
from xbot.services import Services
from xbot.settings import APP_ENVS

# The runbook's statements, copied verbatim (seed/runbook.md: Phase 2, Phase 3, Phase 4,
# Performance Tuning, Emergency Procedures; trailing spaces kept), each with the flag it sets
# and the value `xbot config show --env production` must then show.
RUNBOOK_SQL = [
    (
        "phase2_enable_v2",
        (
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{learning_engine_v2}', 'true')\n"
            "WHERE environment = 'production' AND config_key = 'feature_flags';"
        ),
        "learning_engine_v2",
        True,
    ),
    (
        "phase3_post_fraction_0.1",
        (
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{post_fraction}', '0.1')\n"
            "WHERE environment = 'production' AND config_key = 'learning_config';"
        ),
        "post_fraction",
        0.1,
    ),
    (
        "phase4_post_fraction_1.0",
        (
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{post_fraction}', '1.0')\n"
            "WHERE environment = 'production' AND config_key = 'learning_config';"
        ),
        "post_fraction",
        1.0,
    ),
    (
        "tuning_epsilon_0.3",
        (
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{epsilon}', '0.3')\n"
            "WHERE environment = 'production' AND config_key = 'learning_config';"
        ),
        "epsilon",
        0.3,
    ),
    (
        "emergency_disable_v2",
        (
            "-- Immediate rollback to V1\n"
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{learning_engine_v2}', 'false')\n"
            "WHERE environment = 'production' AND config_key = 'feature_flags';"
        ),
        "learning_engine_v2",
        False,
    ),
    (
        "emergency_stop_posting",
        (
            "-- Emergency brake\n"
            "UPDATE bot_config \n"
            "SET config_value = jsonb_set(config_value, '{post_fraction}', '0')\n"
            "WHERE environment = 'production' AND config_key = 'learning_config';"
        ),
        "post_fraction",
        0.0,
    ),
]


def _run_sql(services: Services, sql: str) -> int:
    with services.engine.begin() as conn:
        return conn.exec_driver_sql(sql).rowcount


def _show(xbot, env: str = "production") -> dict:
    result = xbot("config", "show", "--env", env, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_defaults_seeded_for_every_environment(services: Services) -> None:
    with services.engine.connect() as conn:
        for env in APP_ENVS:
            current = flags.load_flags(conn, env)
            assert current.problems == ()
            assert current.snapshot() == {n: s.default for n, s in flags.SPECS.items()}
    assert flags.Flags().snapshot() == {n: s.default for n, s in flags.SPECS.items()}


def test_runbook_statements_verbatim_in_sequence(services: Services, xbot) -> None:
    """The rollout as an operator runs it: each statement is visible at once in config show."""
    for label, sql, name, expected in RUNBOOK_SQL:
        assert _run_sql(services, sql) == 1, label
        shown = _show(xbot)
        assert shown["flags"][name] == expected, label
        assert shown["problems"] == [], label
    # staging and development were never touched
    for env in ("staging", "development"):
        assert _show(xbot, env)["flags"] == {n: s.default for n, s in flags.SPECS.items()}


@pytest.mark.parametrize(("label", "sql", "name", "expected"), RUNBOOK_SQL, ids=lambda v: v)
def test_each_runbook_statement_alone(services: Services, xbot, label, sql, name, expected):
    before = _show(xbot)["flags"]
    assert _run_sql(services, sql) == 1
    after = _show(xbot)["flags"]
    assert after[name] == expected
    assert {k: v for k, v in after.items() if k != name} == {
        k: v for k, v in before.items() if k != name
    }
    # the table form shows it too
    table = xbot("config", "show", "--env", "production", env={"COLUMNS": "200"})
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if f" {name} " in line)
    assert json.dumps(expected) in row


def test_flags_are_read_fresh_each_time(services: Services) -> None:
    with services.engine.connect() as conn:
        assert flags.load_flags(conn, "production").epsilon == 0.2
        _run_sql(services, RUNBOOK_SQL[3][1])
        assert flags.load_flags(conn, "production").epsilon == 0.3


def test_config_set_writes_validated_value_and_audits(services: Services, xbot) -> None:
    result = xbot("config", "set", "epsilon", "0.35", "--env", "staging")
    assert result.exit_code == 0, result.output
    assert "epsilon = 0.35 (staging)" in result.stdout
    assert _show(xbot, "staging")["flags"]["epsilon"] == 0.35
    assert _show(xbot, "production")["flags"]["epsilon"] == 0.2
    [row] = audit_rows(services, "CONFIG_CHANGED")
    assert row.component == "flags"
    assert row.event_data == {"flag": "epsilon", "old": 0.2, "new": 0.35}
    assert row.context["environment"] == "staging"


def test_config_set_defaults_to_app_env(xbot) -> None:
    assert xbot("config", "set", "max_hashtags", "5", env={"APP_ENV": "staging"}).exit_code == 0
    assert _show(xbot, "staging")["flags"]["max_hashtags"] == 5
    assert _show(xbot, "development")["flags"]["max_hashtags"] == 3


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("learning_engine_v2", "true", True),
        ("post_fraction", "1", 1.0),
        ("post_interval_min", "15", 15),
        ("post_interval_min", "180.0", 180),
        ("quiet_hours", "23,0,1", [0, 1, 23]),
        ("quiet_hours", "[5, 4]", [4, 5]),
        ("quiet_hours", "", []),
        ("timezone", "Europe/Berlin", "Europe/Berlin"),
        ("decay", "0.95", 0.95),
    ],
)
def test_config_set_parses_cli_text(xbot, name: str, text: str, expected) -> None:
    result = xbot("config", "set", name, text, "--env", "production")
    assert result.exit_code == 0, result.output
    assert _show(xbot)["flags"][name] == expected


def test_config_set_unknown_flag_is_refused(xbot) -> None:
    result = xbot("config", "set", "post_fractoin", "0.1")
    assert result.exit_code != 0
    assert "post_fractoin" in result.stderr and "post_fraction" in result.stderr


def test_config_reset_one_and_all(xbot) -> None:
    for args in (("epsilon", "0.9"), ("max_hashtags", "1"), ("timezone", "Asia/Tokyo")):
        assert xbot("config", "set", *args, "--env", "production").exit_code == 0
    assert xbot("config", "reset", "epsilon", "--env", "production").exit_code == 0
    shown = _show(xbot)["flags"]
    assert shown["epsilon"] == 0.2 and shown["max_hashtags"] == 1
    result = xbot("config", "reset", "--env", "production")
    assert result.exit_code == 0
    assert _show(xbot)["flags"] == {n: s.default for n, s in flags.SPECS.items()}


def test_seed_defaults_keeps_values_and_adds_missing_flags(services: Services, xbot) -> None:
    _run_sql(
        services,
        "update bot_config set config_value = config_value - 'daily_cap' "
        "|| '{\"epsilon\": 0.5}' where environment = 'production' "
        "and config_key = 'learning_config'",
    )
    shown = _show(xbot)
    assert any("daily_cap missing" in p for p in shown["problems"])
    assert xbot("db", "migrate").exit_code == 0
    shown = _show(xbot)
    assert shown["problems"] == []
    assert shown["flags"]["epsilon"] == 0.5 and shown["flags"]["daily_cap"] == 17


def test_missing_rows_reported_and_defaults_used(services: Services) -> None:
    _run_sql(services, "delete from bot_config where environment = 'staging'")
    with services.engine.connect() as conn:
        current = flags.load_flags(conn, "staging")
    assert current.snapshot() == flags.Flags().snapshot()
    assert any("xbot db migrate" in p for p in current.problems)


def test_unknown_key_in_sql_is_reported(services: Services) -> None:
    _run_sql(
        services,
        "update bot_config set config_value = config_value || '{\"epsilom\": 0.1}' "
        "where environment = 'production' and config_key = 'learning_config'",
    )
    with services.engine.connect() as conn:
        current = flags.load_flags(conn, "production")
    assert any("epsilom" in p for p in current.problems)
