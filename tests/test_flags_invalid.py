"""Invalid flag values only (MABWiser's habit): refused on every write path, nothing written.

Property tests draw out-of-range values for every flag and check that ``flags.set_flag`` and
``xbot config set`` refuse them with the flag's name and allowed range, and that the bot_config
rows (values and ``updated_at``) and the audit log are exactly as before. In-range values are
accepted. Values written by hand in SQL out of range are replaced by the default and reported
(health DEGRADED).
"""

from __future__ import annotations

import json
import math
import zoneinfo
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from xbot import flags
from xbot.errors import ValidationError
from xbot.services import Services
from xbot.settings import APP_ENVS

PROFILE = hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ZONES = zoneinfo.available_timezones()

non_numbers = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
not_a_bool = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.booleans(), max_size=2),
)


def floats_outside(lo: float, hi: float, *, lo_open: bool = False) -> st.SearchStrategy:
    below = st.floats(max_value=lo, exclude_max=not lo_open, allow_nan=False)
    above = st.floats(min_value=hi, exclude_min=True, allow_nan=False)
    return st.one_of(below, above, st.just(math.nan), st.just(math.inf), non_numbers)


def ints_outside(lo: int, hi: int) -> st.SearchStrategy:
    return st.one_of(
        st.integers(max_value=lo - 1),
        st.integers(min_value=hi + 1),
        # non-integral numbers inside the range, and anything that is not a number
        st.floats(min_value=lo, max_value=hi).filter(lambda v: not v.is_integer()),
        st.just(math.nan),
        non_numbers.filter(lambda v: not isinstance(v, list)),
    )


bad_hours = st.one_of(
    # one hour out of range among good ones
    st.tuples(
        st.lists(st.integers(0, 23), max_size=4, unique=True),
        st.one_of(st.integers(max_value=-1), st.integers(min_value=24)),
    ).map(lambda t: [*t[0], t[1]]),
    # a duplicate hour
    st.integers(0, 23).map(lambda h: [h, h]),
    st.lists(st.one_of(st.text(max_size=3), st.floats(0.1, 0.9), st.none()), min_size=1),
    st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans()),
)
bad_zones = st.one_of(
    st.text(max_size=20).filter(lambda s: s not in ZONES),
    st.sampled_from(["Mars/Olympus", "Europe/Berlinn", "../etc/passwd", "/etc/localtime"]),
    st.integers(),
    st.none(),
)

OUT_OF_RANGE: dict[str, st.SearchStrategy] = {
    "learning_engine_v2": not_a_bool,
    "post_fraction": floats_outside(0.0, 1.0),
    "epsilon": floats_outside(0.0, 1.0),
    "post_interval_min": ints_outside(15, 180),
    "max_hashtags": ints_outside(1, 5),
    "quiet_hours": bad_hours,
    "timezone": bad_zones,
    "daily_cap": ints_outside(1, 100),
    "decay": floats_outside(0.0, 1.0, lo_open=True),
    "drift_check": floats_outside(0.0, 50.0),
    "model_priors": not_a_bool,
    "near_duplicate_threshold": floats_outside(0.5, 1.0),
    "x_plan": st.text(max_size=12).filter(lambda s: s not in ("pay_per_use", "free", "basic")),
    "x_monthly_budget_usd": floats_outside(0.0, 1e6).filter(lambda v: v is not None),
    "x_daily_budget_usd": floats_outside(0.0, 1e6).filter(lambda v: v is not None),
    "x_read_share": floats_outside(0.0, 1.0),
    "link_policy": st.text(max_size=8).filter(lambda s: s not in ("keep", "strip", "avoid")),
    "x_value_per_success_usd": floats_outside(0.0, 1000.0),
    "require_approval": not_a_bool,
}
IN_RANGE: dict[str, st.SearchStrategy] = {
    "learning_engine_v2": st.booleans(),
    "post_fraction": st.floats(0.0, 1.0),
    "epsilon": st.floats(0.0, 1.0),
    "post_interval_min": st.integers(15, 180),
    "max_hashtags": st.integers(1, 5),
    "quiet_hours": st.lists(st.integers(0, 23), unique=True, max_size=24),
    "timezone": st.timezone_keys(allow_prefix=False),
    "daily_cap": st.integers(1, 100),
    "decay": st.floats(0.0, 1.0, exclude_min=True),
    "drift_check": st.floats(0.0, 50.0),
    "model_priors": st.booleans(),
    "near_duplicate_threshold": st.floats(0.5, 1.0),
    "x_plan": st.sampled_from(["pay_per_use", "free", "basic"]),
    "x_monthly_budget_usd": st.none() | st.floats(0.0, 1_000_000.0),
    "x_daily_budget_usd": st.none() | st.floats(0.0, 1_000_000.0),
    "x_read_share": st.floats(0.0, 1.0),
    "link_policy": st.sampled_from(["keep", "strip", "avoid"]),
    "x_value_per_success_usd": st.floats(0.0, 1000.0),
    "require_approval": st.booleans(),
}
# A bad value per flag to write by hand in SQL (what an operator could type).
BAD_SQL_VALUE: dict[str, Any] = {
    "learning_engine_v2": "yes",
    "post_fraction": 1.5,
    "epsilon": -0.1,
    "post_interval_min": 5,
    "max_hashtags": 12,
    "quiet_hours": [2, 3, 24],
    "timezone": "Mars/Olympus",
    "daily_cap": 0,
    "decay": 0,
    "drift_check": -8,
    "model_priors": 1,
    "near_duplicate_threshold": 0.2,
    "x_plan": "enterprise",
    "x_monthly_budget_usd": -5,
    "x_daily_budget_usd": "ten",
    "x_read_share": 2,
    "link_policy": "drop",
    "x_value_per_success_usd": -1,
    "require_approval": "no",
}


def test_strategies_cover_every_flag() -> None:
    assert set(OUT_OF_RANGE) == set(IN_RANGE) == set(BAD_SQL_VALUE) == set(flags.SPECS)


def _state(services: Services) -> tuple[list[tuple], int]:
    """Every bot_config row with its updated_at, and the audit row count."""
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select environment, config_key, config_value, updated_at "
                "from bot_config order by 1, 2"
            )
        ).all()
        audits = conn.execute(sa.text("select count(*) from audit_log")).scalar_one()
    return [tuple(r) for r in rows], audits


def _cli_text(value: Any) -> str:
    """How a user would type ``value`` on the command line (JSON; NaN/inf as Python's json)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


@pytest.mark.parametrize("name", list(flags.SPECS))
def test_set_flag_refuses_out_of_range(services: Services, name: str) -> None:
    spec = flags.SPECS[name]

    @PROFILE
    @given(value=OUT_OF_RANGE[name], env=st.sampled_from(APP_ENVS))
    def check(value: Any, env: str) -> None:
        before = _state(services)
        with pytest.raises(ValidationError) as info, services.engine.begin() as conn:
            flags.set_flag(conn, env, name, value)
        message = str(info.value)
        assert name in message and spec.allowed in message
        assert info.value.field == name
        assert _state(services) == before

    check()


@pytest.mark.parametrize("name", list(flags.SPECS))
def test_cli_set_refuses_out_of_range(services: Services, xbot, name: str) -> None:
    spec = flags.SPECS[name]

    @hsettings(PROFILE, max_examples=12)
    @given(value=OUT_OF_RANGE[name], env=st.sampled_from(APP_ENVS))
    def check(value: Any, env: str) -> None:
        text = _cli_text(value)
        # Text that happens to parse into an allowed value is not an out-of-range input.
        try:
            flags.parse_value(name, text)
        except ValidationError:
            pass
        else:
            return
        before = _state(services)
        result = xbot("config", "set", name, text, "--env", env)
        assert result.exit_code == ValidationError.exit_code, result.output
        assert name in result.stderr and spec.allowed in result.stderr, result.stderr
        assert "Traceback" not in result.output
        assert _state(services) == before

    check()


@pytest.mark.parametrize("name", list(flags.SPECS))
def test_in_range_values_are_accepted(services: Services, xbot, name: str) -> None:
    @hsettings(PROFILE, max_examples=10)
    @given(value=IN_RANGE[name])
    def check(value: Any) -> None:
        result = xbot("config", "set", name, _cli_text(value), "--env", "production")
        assert result.exit_code == 0, result.output
        shown = json.loads(xbot("config", "show", "--env", "production", "--json").stdout)
        expected = sorted(value) if name == "quiet_hours" else value
        assert shown["flags"][name] == expected
        assert shown["problems"] == []

    check()


def test_parse_value_of_nan_and_infinity_text() -> None:
    for text in ("NaN", "Infinity", "-Infinity", "1e309"):
        with pytest.raises(ValidationError, match="epsilon"):
            flags.parse_value("epsilon", text)


def test_bad_environment_is_refused(services: Services, xbot) -> None:
    before = _state(services)
    with pytest.raises(ValidationError, match="environment"), services.engine.begin() as conn:
        flags.set_flag(conn, "prod", "epsilon", 0.3)
    assert _state(services) == before
    result = xbot("config", "set", "epsilon", "0.3", "--env", "prod")
    assert result.exit_code != 0
    assert _state(services) == before


@pytest.mark.parametrize("name", list(flags.SPECS))
def test_out_of_range_in_sql_uses_default_and_degrades_health(
    services: Services, xbot, name: str
) -> None:
    spec = flags.SPECS[name]
    with services.engine.begin() as conn:
        conn.execute(
            sa.text(
                "update bot_config set config_value = jsonb_set(config_value, :p, cast(:v as jsonb)) "
                "where environment = 'development' and config_key = :k"
            ),
            {"p": [name], "v": json.dumps(BAD_SQL_VALUE[name]), "k": spec.config_key},
        )
    with services.engine.connect() as conn:
        current = flags.load_flags(conn, "development")
    assert getattr(current, name) == spec.fallback  # the default, or a gate's closed value
    assert len(current.problems) == 1
    assert name in current.problems[0] and spec.allowed in current.problems[0]
    assert ("using default" if spec.unreadable is None else "fail-closed") in current.problems[0]

    shown = json.loads(xbot("config", "show", "--json").stdout)
    assert shown["flags"][name] == spec.fallback
    assert shown["problems"] == list(current.problems)

    result = xbot("health")
    assert result.exit_code == 1, result.output
    line = result.stdout.strip()
    assert "xBOT Health: DEGRADED" in line
    assert f"flag: {name}=" in line and spec.allowed in line
