"""Flags in ``bot_config``: names, defaults, allowed ranges, and reads/writes per environment.

Storage follows the runbook so its SQL works verbatim: one row per (environment, config_key),
``feature_flags`` = {learning_engine_v2} and ``learning_config`` = every other flag, as jsonb.

Every write path xbot offers validates first and writes nothing when a value is out of range
(:class:`ValidationError` names the flag and its range). Values written by hand in SQL are not
trusted: :func:`load_flags` falls back to the default for a bad value and reports it in
``Flags.problems`` (health turns DEGRADED). Code calls :func:`load_flags` fresh every cycle.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, available_timezones

from xbot import audit
from xbot.errors import ValidationError
from xbot.settings import APP_ENVS

if TYPE_CHECKING:  # SQLAlchemy is imported by the functions that query: see parse_flags
    from sqlalchemy.engine import Connection

FEATURE_FLAGS = "feature_flags"
LEARNING_CONFIG = "learning_config"
CONFIG_KEYS = (FEATURE_FLAGS, LEARNING_CONFIG)


# -- validators: return the normalised value or raise ValueError ------------------------------


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError


def _number(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        v = float(value)
        if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
            raise ValueError
        return v

    return check


def _integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError
        return value

    return check


def _hours(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise ValueError
    hours = [_integer(0, 23)(v) for v in value]
    if len(set(hours)) != len(hours):
        raise ValueError
    return sorted(hours)


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``null`` (unset) or a value ``check`` accepts."""

    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError
        return value

    return check


def _x_plan(value: Any) -> str:
    from xbot.x_pricing import plan_names  # the price file, read only when a plan is checked

    if not isinstance(value, str) or value not in plan_names():
        raise ValueError
    return value


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: Any) -> str:
    # Membership first: ZoneInfo("America") opens a tz *directory* (IsADirectoryError), and
    # ZoneInfo of other files under the tz tree fails in yet other ways.
    if not isinstance(value, str) or value not in _zone_names():
        raise ValueError
    try:
        ZoneInfo(value)
    except (OSError, ValueError) as exc:
        raise ValueError from exc
    return value


# -- reading jsonb written by hand --------------------------------------------------------------

_MAX_INT_DIGITS = 30  # beyond any flag's range; longer literals are read as (possibly inf) floats
_MAX_SHOWN = 60
_MAX_BRACKETS = 64  # quiet_hours, the only structured flag, needs one


def _lenient_int(text: str) -> int | float:
    """An integer literal; a huge one (``1e5000`` comes back from jsonb as 5001 digits, more than
    Python converts) is read as a float, which every range check then refuses."""
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


def _decode(text: str) -> Any:
    """Parse JSON text (from jsonb or the CLI) into a value a flag check can look at.

    Raises ValueError for text that is not JSON, and for text with more brackets than any flag
    value needs: jsonb stores values nested 10,000 deep, which ``json`` (and any recursive
    code after it, such as the audit writer) cannot walk.
    """
    if text.count("[") + text.count("{") > _MAX_BRACKETS:
        raise ValueError("nested too deeply")
    return json.loads(text, parse_int=_lenient_int)


def _shown(value: Any) -> str:
    """A value as it appears in a problem message: JSON, cut short."""
    try:
        text = json.dumps(value, allow_nan=True)
    except TypeError:  # an _Unreadable
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


# -- parsers for CLI text ---------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    try:
        return _decode(text)
    except ValueError:  # not JSON: the text itself, for the range check
        return text


def _parse_hours(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("["):
        return _parse_json(stripped)
    if not stripped:
        return []
    return [_hour_text(p.strip()) for p in stripped.split(",")]


def _hour_text(text: str) -> Any:
    """One comma-separated hour: an int when it is a decimal literal, else the text (refused)."""
    if not text.lstrip("-").isdecimal():
        return text
    try:
        return _lenient_int(text)
    except ValueError:  # e.g. superscript digits: decimal to unicode, not to int()
        return text


@dataclass(frozen=True)
class FlagSpec:
    name: str
    config_key: str
    default: Any
    allowed: str
    check: Callable[[Any], Any]
    # keyword-only: an entry written with a trailing description (the removed ``help``) fails
    # at import instead of passing the text as the parser
    parse: Callable[[str], Any] = field(default=_parse_json, kw_only=True)
    # a stored value that cannot be read stands for this instead of the default: a safety gate
    # must not open because someone mistyped it in SQL (None: the default)
    unreadable: Any = field(default=None, kw_only=True)

    @property
    def fallback(self) -> Any:
        """What an unreadable stored value reads as."""
        return self.default if self.unreadable is None else self.unreadable

    def validate(self, value: Any) -> Any:
        try:
            return self.check(value)
        except (ValueError, TypeError, OverflowError, OSError):
            raise ValidationError(self.name, value, self.allowed) from None


SPECS: dict[str, FlagSpec] = {
    s.name: s
    for s in (
        # V2 bandit engine picks candidates (false: V1, highest priority first)
        FlagSpec("learning_engine_v2", FEATURE_FLAGS, False, "true or false", _boolean),
        # probability that a cycle's pick is posted live
        FlagSpec("post_fraction", LEARNING_CONFIG, 0.0, "a number from 0.0 to 1.0",
                 _number(0.0, 1.0)),
        # exploration floor: chance of a uniform pick
        FlagSpec("epsilon", LEARNING_CONFIG, 0.2, "a number from 0.0 to 1.0", _number(0.0, 1.0)),
        # minimum minutes between live posts
        FlagSpec("post_interval_min", LEARNING_CONFIG, 60, "an integer from 15 to 180",
                 _integer(15, 180)),
        # most hashtags a post may carry
        FlagSpec("max_hashtags", LEARNING_CONFIG, 3, "an integer from 1 to 5", _integer(1, 5)),
        # hours (in `timezone`) with no posting
        FlagSpec("quiet_hours", LEARNING_CONFIG, [2, 3, 4, 5],
                 "a list of distinct integers from 0 to 23", _hours, parse=_parse_hours),
        # time zone of quiet hours and hour arms
        FlagSpec("timezone", LEARNING_CONFIG, "UTC", "an IANA time zone name, e.g. Europe/Berlin",
                 _timezone, parse=str),
        # most live posts per day (17 fits the smallest X API plan)
        FlagSpec("daily_cap", LEARNING_CONFIG, 17, "an integer from 1 to 100", _integer(1, 100)),
        # bandit count discount per learning cycle (1.0 = no forgetting)
        FlagSpec("decay", LEARNING_CONFIG, 1.0, "a number greater than 0.0 and at most 1.0",
                 _number(0.0, 1.0, lo_open=True)),
        # change-detector alarm level in nats (0 = off; 6-8 measured best): an alarm restarts
        # the arm's family
        FlagSpec("drift_check", LEARNING_CONFIG, 0.0, "a number from 0.0 to 50.0",
                 _number(0.0, 50.0)),
        # seed bandit priors from the PyMC model (empirical Bayes)
        FlagSpec("model_priors", LEARNING_CONFIG, False, "true or false", _boolean),
        # similarity at or above which a candidate is a near duplicate
        FlagSpec("near_duplicate_threshold", LEARNING_CONFIG, 0.85,
                 "a number from 0.5 to 1.0", _number(0.5, 1.0)),
        # the X API plan whose prices and caps the estimates and budgets use
        FlagSpec("x_plan", LEARNING_CONFIG, "pay_per_use",
                 "a plan of config/x_pricing.toml: pay_per_use, free or basic", _x_plan,
                 parse=str),
        # most estimated X API spend per UTC calendar month (null: no ceiling)
        FlagSpec("x_monthly_budget_usd", LEARNING_CONFIG, None,
                 "null (no ceiling) or a number from 0 to 1000000",
                 _optional(_number(0.0, 1_000_000.0))),
        # most estimated X API spend per UTC day (null: no ceiling)
        FlagSpec("x_daily_budget_usd", LEARNING_CONFIG, None,
                 "null (no ceiling) or a number from 0 to 1000000",
                 _optional(_number(0.0, 1_000_000.0))),
        # share of each budget the learning loop may spend on metrics reads
        FlagSpec("x_read_share", LEARNING_CONFIG, 0.25, "a number from 0.0 to 1.0",
                 _number(0.0, 1.0)),
        # posts with URLs cost more: keep them, strip URLs, or avoid linked candidates
        FlagSpec("link_policy", LEARNING_CONFIG, "keep", "one of keep, strip, avoid",
                 _one_of("keep", "strip", "avoid"), parse=str),
        # USD one successful post (one that beats the reward baseline) is worth: under
        # link_policy=avoid a link is drawn only when its expected gain pays for the URL price
        FlagSpec("x_value_per_success_usd", LEARNING_CONFIG, 0.0, "a number from 0.0 to 1000.0",
                 _number(0.0, 1000.0)),
        # live cycles post only candidates a person approved (`xbot review`)
        # (fails closed: an unreadable value keeps the gate on)
        FlagSpec("require_approval", LEARNING_CONFIG, False, "true or false", _boolean,
                 unreadable=True),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Flags:
    """The validated flags of one environment, read fresh per cycle."""

    learning_engine_v2: bool = False
    post_fraction: float = 0.0
    epsilon: float = 0.2
    post_interval_min: int = 60
    max_hashtags: int = 3
    quiet_hours: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    timezone: str = "UTC"
    daily_cap: int = 17
    decay: float = 1.0
    drift_check: float = 0.0
    model_priors: bool = False
    near_duplicate_threshold: float = 0.85
    x_plan: str = "pay_per_use"
    x_monthly_budget_usd: float | None = None
    x_daily_budget_usd: float | None = None
    x_read_share: float = 0.25
    link_policy: str = "keep"
    x_value_per_success_usd: float = 0.0
    require_approval: bool = False
    problems: tuple[str, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        """The flag values (no problems) as plain JSON, for decision rows."""
        out = asdict(self)
        out.pop("problems")
        return out


assert {f.name for f in fields(Flags)} - {"problems"} == set(SPECS), "Flags and SPECS disagree"


def check_environment(environment: str) -> str:
    if environment not in APP_ENVS:
        raise ValidationError("environment", environment, "one of " + ", ".join(APP_ENVS))
    return environment


def default_config() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {k: {} for k in CONFIG_KEYS}
    for spec in SPECS.values():
        out[spec.config_key][spec.name] = spec.default
    return out


def seed_defaults(conn: Connection, environment: str) -> None:
    """Create the environment's rows, or add flags they lack; existing values are kept."""
    import sqlalchemy as sa

    check_environment(environment)
    for key, values in default_config().items():
        conn.execute(
            sa.text(
                "insert into bot_config (environment, config_key, config_value) "
                "values (:e, :k, cast(:v as jsonb)) "
                "on conflict (environment, config_key) do update "
                "set config_value = excluded.config_value || bot_config.config_value "
                "where not (bot_config.config_value ?& array(select jsonb_object_keys(excluded.config_value)))"
            ),
            {"e": environment, "k": key, "v": json.dumps(values)},
        )


class _Unreadable:
    """A stored flag value that cannot be decoded (nested deeper than ``json`` recurses)."""

    def __repr__(self) -> str:
        return "<unreadable: nested too deeply>"


# Every flag value on its own row, as jsonb text: ``{}`` is the placeholder for the
# environment (``:e`` for SQLAlchemy, ``%s`` for psycopg, see RAW_ROWS_SQL_PSYCOPG).
_RAW_ROWS_SQL = (
    "select c.config_key, e.key, e.value::text from bot_config c "
    "left join lateral jsonb_each(c.config_value) e on true where c.environment = {}"
)
RAW_ROWS_SQL_PSYCOPG = _RAW_ROWS_SQL.format("%s")


def decode_rows(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """``(config_key, flag, jsonb text)`` rows of ``RAW_ROWS_SQL*`` -> {config_key: {flag: value}}.

    Values are fetched as text and decoded here, each on its own and leniently, so nothing SQL
    can store raises while fetching (psycopg's own jsonb decoding fails on ``1e5000``, a
    5001-digit integer): a huge number is read as a float, and a value nested 10,000 deep
    (jsonb accepts it) as :class:`_Unreadable`, which spoils that one value only.
    """
    out: dict[str, dict[str, Any]] = {}
    for config_key, name, text in rows:
        section = out.setdefault(config_key, {})
        if name is None:  # an empty object
            continue
        try:
            section[name] = _decode(text)
        except ValueError:
            section[name] = _Unreadable()
    return out


def read_raw(conn: Connection, environment: str) -> dict[str, dict[str, Any]]:
    """Each config_key's flags, decoded leniently (see :func:`decode_rows`)."""
    import sqlalchemy as sa

    rows = conn.execute(sa.text(_RAW_ROWS_SQL.format(":e")), {"e": environment})
    return decode_rows(rows)


def load_flags(conn: Connection, environment: str) -> Flags:
    """Read and validate the environment's flags. Bad or missing values fall back to defaults."""
    return parse_flags(read_raw(conn, check_environment(environment)), environment)


def parse_flags(raw: dict[str, dict[str, Any]], environment: str) -> Flags:
    """Validate ``bot_config`` rows ({config_key: {flag: value}}) as :func:`load_flags` does.

    For a caller that read the rows itself (``xbot health``, on its psycopg connection, with
    ``RAW_ROWS_SQL_PSYCOPG`` and :func:`decode_rows`). Never raises for anything ``bot_config``
    holds: each bad value becomes a problem naming the flag, the value and the allowed range
    (health turns DEGRADED) and the default is used.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    if not raw:
        problems.append(f"no bot_config rows for {environment}: run `xbot db migrate`")
    for spec in SPECS.values():
        section = raw.get(spec.config_key, {})
        if spec.name not in section:
            values[spec.name] = spec.default
            if raw:
                problems.append(f"{spec.name} missing from {spec.config_key}; using default")
            continue
        try:
            values[spec.name] = spec.validate(section[spec.name])
        except ValidationError:
            values[spec.name] = spec.fallback
            used = "default" if spec.unreadable is None else "fail-closed value"
            problems.append(
                f"{spec.name}={_shown(section[spec.name])} is not allowed: {spec.allowed}; "
                f"using {used} {json.dumps(spec.fallback)}"
            )
    for key, section in raw.items():
        for name in section:
            if name not in SPECS or SPECS[name].config_key != key:
                problems.append(f"unknown flag {_shown(name)} in {key}")
    return Flags(**values, problems=tuple(problems))


def parse_value(name: str, text: str) -> Any:
    """Parse CLI text for flag ``name`` into a validated value (raises ValidationError)."""
    spec = _spec(name)
    return spec.validate(spec.parse(text))


def _spec(name: str) -> FlagSpec:
    if name not in SPECS:
        raise ValidationError("flag", name, "one of " + ", ".join(SPECS))
    return SPECS[name]


def _stored_value(conn: Connection, environment: str, spec: FlagSpec) -> Any:
    """The value stored for one flag, decoded leniently (None when absent); for the audit row."""
    import sqlalchemy as sa

    text = conn.execute(
        sa.text(
            "select (config_value -> :n)::text from bot_config "
            "where environment = :e and config_key = :k"
        ),
        {"n": spec.name, "e": environment, "k": spec.config_key},
    ).scalar_one_or_none()
    if text is None:
        return None
    try:
        return _decode(text)
    except ValueError:
        return text[:_MAX_SHOWN]


def set_flag(
    conn: Connection, environment: str, name: str, value: Any, *, actor: str = "cli"
) -> Any:
    """Validate then write one flag in the caller's transaction; audit it. Returns the value.

    Writes the one key it owns and parses nothing else of ``bot_config``, so it works whatever
    the other flags hold (the emergency commands and ``config reset`` depend on it). A missing
    row is created with the defaults.
    """
    import sqlalchemy as sa

    check_environment(environment)
    spec = _spec(name)
    clean = spec.validate(value)
    conn.execute(
        sa.text(
            "insert into bot_config (environment, config_key, config_value) "
            "values (:e, :k, cast(:v as jsonb)) on conflict (environment, config_key) do nothing"
        ),
        {
            "e": environment,
            "k": spec.config_key,
            "v": json.dumps(default_config()[spec.config_key]),
        },
    )
    old = _stored_value(conn, environment, spec)
    conn.execute(
        sa.text(
            "update bot_config set config_value = jsonb_set(config_value, :path, cast(:v as jsonb)), "
            "updated_at = now() where environment = :e and config_key = :k"
        ),
        {"path": [name], "v": json.dumps(clean), "e": environment, "k": spec.config_key},
    )
    audit.record(
        conn, "CONFIG_CHANGED", "flags", environment,
        {"flag": name, "old": old, "new": clean}, {"actor": actor},
    )  # fmt: skip
    return clean


def reset_flags(
    conn: Connection, environment: str, name: str | None = None, *, actor: str = "cli"
) -> list[str]:
    """Reset one flag (or all) to defaults; returns the names reset."""
    names = [name] if name else list(SPECS)
    for n in names:
        set_flag(conn, environment, n, _spec(n).default, actor=actor)
    return names
