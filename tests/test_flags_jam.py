"""Nothing written into ``bot_config`` by hand can jam the flags or the emergency brake.

Values SQL accepts but Python cannot use (``1e5000`` comes back from jsonb as a 5001-digit
integer, more than ``int()`` converts; ``1e400`` overflows ``float()``; ``"America"`` is a
directory of the tz database) are read as the default and reported; the emergency commands and
``config reset`` write their one key without parsing the rest; ``config set`` refuses such text
with exit 2. A hypothesis test writes arbitrary JSON into both rows and runs every command.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from xbot import flags
from xbot.services import Services

HUGE_INT = "1" + "0" * 5000
# (flag, jsonb literal an operator could type in SQL)
JAMMING_SQL = [
    ("max_hashtags", "1e5000"),
    ("max_hashtags", HUGE_INT),
    ("epsilon", "1e400"),
    ("epsilon", "-1e400"),
    ("daily_cap", "1e309"),
    ("quiet_hours", "[1e5000, 3]"),
    ("timezone", '"America"'),
    ("timezone", '"America/"'),
    ("timezone", '"zone1970.tab"'),
    ("timezone", json.dumps("Europe/" + "x" * 300)),
]


def _write_sql(services: Services, name: str, literal: str, env: str = "development") -> None:
    with services.engine.begin() as conn:
        conn.execute(
            sa.text(
                "update bot_config set config_value = jsonb_set(config_value, :p, cast(:v as jsonb)) "
                "where environment = :e and config_key = :k"
            ),
            {"p": [name], "v": literal, "e": env, "k": flags.SPECS[name].config_key},
        )


def _show(xbot) -> dict[str, Any]:
    result = xbot("config", "show", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _audits(services: Services, event_type: str) -> int:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select count(*) from audit_log where event_type = :t"), {"t": event_type}
        ).scalar_one()


@pytest.mark.parametrize(("name", "literal"), JAMMING_SQL)
def test_jamming_value_in_sql_is_default_reported_and_brake_works(
    services: Services, xbot, name: str, literal: str
) -> None:
    spec = flags.SPECS[name]
    _write_sql(services, name, literal)

    shown = _show(xbot)
    assert shown["flags"][name] == spec.default
    (problem,) = shown["problems"]
    assert problem.startswith(f"{name}=") and spec.allowed in problem
    assert len(problem) < 200  # the value is quoted cut short, not 5000 digits

    table = xbot("config", "show")
    assert table.exit_code == 0 and name in table.stderr

    health = xbot("health")
    assert health.exit_code == 1, health.output
    assert "xBOT Health: DEGRADED" in health.stdout
    assert f"flag: {name}=" in health.stdout and spec.allowed in health.stdout

    assert xbot("schedule", "test").exit_code in (0, 1), "schedule test crashed"

    for command in ("stop-posting", "disable-v2"):
        result = xbot("emergency", command)
        assert result.exit_code == 0, result.output
    assert _audits(services, "EMERGENCY_STOP_POSTING") == 1
    assert _audits(services, "EMERGENCY_DISABLE_V2") == 1
    after = _show(xbot)
    assert after["flags"]["post_fraction"] == 0.0
    # the brake wrote its key only: the bad value is still there, still reported
    assert after["problems"] == shown["problems"] or name == "post_fraction"

    reset = xbot("config", "reset", name)
    assert reset.exit_code == 0, reset.output
    assert _show(xbot)["problems"] == []


def test_value_nested_too_deeply_for_python_is_reported_and_brake_works(
    services: Services, xbot
) -> None:
    deep = "[" * 5000 + "]" * 5000  # jsonb stores it; Python's json cannot recurse that far
    _write_sql(services, "epsilon", "0.3")
    _write_sql(services, "drift_check", deep)
    shown = _show(xbot)
    assert shown["flags"]["epsilon"] == 0.3  # only the unreadable value falls back
    assert shown["flags"]["drift_check"] == flags.SPECS["drift_check"].default
    assert shown["problems"] == [
        "drift_check=<unreadable: nested too deeply> is not allowed: "
        f"{flags.SPECS['drift_check'].allowed}; using default 0.0"
    ]
    health = xbot("health")
    assert health.exit_code == 1 and "flag: drift_check=<unreadable" in health.stdout
    assert xbot("emergency", "stop-posting").exit_code == 0
    assert xbot("emergency", "disable-v2").exit_code == 0
    assert xbot("config", "reset").exit_code == 0
    shown = _show(xbot)
    assert shown["problems"] == [] and shown["flags"] == flags.Flags().snapshot()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("timezone", "America"),
        ("timezone", "America/"),
        ("timezone", "Europe"),
        ("timezone", "zone1970.tab"),
        ("timezone", "tzdata"),
        ("timezone", "x" * 300),
        ("timezone", "Europe/" + "B" * 300),
        ("timezone", '"America"'),
        ("max_hashtags", HUGE_INT),
        ("max_hashtags", "1e5000"),
        ("epsilon", "1" + "0" * 400),
        ("daily_cap", "-" + HUGE_INT),
        ("quiet_hours", f"2,{HUGE_INT}"),
        ("quiet_hours", f"[2, {HUGE_INT}]"),
        ("quiet_hours", "2,\u00b2"),  # a superscript two: "decimal" to str, not to int()
        ("post_interval_min", "[" * 100_000),
    ],
)
def test_config_set_refuses_unusable_text(services: Services, xbot, name: str, text: str) -> None:
    before = _show(xbot)
    result = xbot("config", "set", name, text)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Error:" not in result.output
    message = result.stderr.strip()
    assert message.startswith(f"error: {name}=") and flags.SPECS[name].allowed in message
    assert len(message.splitlines()) == 1 and len(message) < 200
    assert _show(xbot) == before


# -- arbitrary JSON in bot_config -----------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
_scalars = st.one_of(
    st.just("null"),
    st.booleans().map(json.dumps),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(["1e5000", "-1e5000", "1e400", "1e-400", HUGE_INT, "0.5", "17", "3"]),
    _text.map(json.dumps),
    st.sampled_from(['"America"', '"UTC"', '"Europe/Berlin"', '"../etc/passwd"', '"America/"']),
    st.just(json.dumps("y" * 300)),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(
            st.one_of(st.sampled_from(list(flags.SPECS)), _text).map(json.dumps),
            inner,
            max_size=4,
        ).map(lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"),
    ),
    max_leaves=8,
)
_keys = st.one_of(st.sampled_from(list(flags.SPECS)), _text)
_deep = st.integers(1100, 5000).map(lambda n: "[" * n + "]" * n)  # more than json can recurse
# A section is a JSON object (the schema's check constraint); None: the row is deleted.
_section = st.one_of(
    st.dictionaries(_keys, st.one_of(_json, _deep), max_size=12).map(
        lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
    ),
    st.none(),
)

READERS = [
    ("health",),
    ("health", "--json"),
    ("config", "show"),
    ("config", "show", "--json"),
    ("schedule", "test"),
    ("schedule", "run"),
    ("learn", "run"),
]
BRAKES = [("emergency", "stop-posting"), ("emergency", "disable-v2"), ("emergency", "clear-queue")]


def _write_sections(services: Services, sections: dict[str, str | None]) -> None:
    with services.engine.begin() as conn:
        for key, literal in sections.items():
            conn.execute(
                sa.text(
                    "delete from bot_config where environment = 'development' and config_key = :k"
                ),
                {"k": key},
            )
            if literal is not None:
                conn.execute(
                    sa.text(
                        "insert into bot_config (environment, config_key, config_value) "
                        "values ('development', :k, cast(:v as jsonb))"
                    ),
                    {"k": key, "v": literal},
                )


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sections=st.fixed_dictionaries({key: _section for key in flags.CONFIG_KEYS}))
def test_arbitrary_json_in_bot_config_never_jams(
    services: Services, xbot, sections: dict[str, str | None]
) -> None:
    """No command raises (the in-process runner re-raises anything but SystemExit, so an
    exception fails the test); the emergency commands and ``config reset`` always succeed."""
    _write_sections(services, sections)
    for command in READERS:
        result = xbot(*command)
        assert "Traceback" not in result.output, (command, result.output)
        # documented exit codes only (`learn run` exits 6 without a metrics source)
        assert 0 <= result.exit_code <= 8, (command, result.output)
    for command in BRAKES:
        result = xbot(*command)
        assert result.exit_code == 0, (command, result.output)
    shown = _show(xbot)
    assert shown["flags"]["post_fraction"] == 0.0
    assert shown["flags"]["learning_engine_v2"] is False

    _write_sections(services, sections)
    result = xbot("config", "reset")
    assert result.exit_code == 0, result.output
    shown = _show(xbot)
    assert shown["flags"] == flags.Flags().snapshot()
    assert all(p.startswith("unknown flag") for p in shown["problems"]), shown["problems"]
