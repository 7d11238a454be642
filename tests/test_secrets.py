"""Secrets never appear in command output: not in tables, JSON, health lines or error messages.

Postgres trust authentication accepts any password, so the shared server is reached with a
DATABASE_URL carrying one; Redis gets a password through a redis-server of our own started with
``--requirepass``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from xbot.settings import load_settings

DB_PASSWORD = "S3cretPwDb9"
REDIS_PASSWORD = "S3cretPwRedis7"
X_SECRETS = {
    "X_API_KEY": "xKeyS3cret111",
    "X_API_SECRET": "xSecretS3cret222",
    "X_ACCESS_TOKEN": "xTokenS3cret333",
    "X_ACCESS_TOKEN_SECRET": "xTokSecS3cret444",
    "X_BEARER_TOKEN": "xBearerS3cret555",
}
ALL_SECRETS = [DB_PASSWORD, REDIS_PASSWORD, "WrongS3cretPw", *X_SECRETS.values()]


def _with_password(url: str, password: str) -> str:
    parsed = sa.engine.make_url(url)
    return parsed.set(password=password).render_as_string(hide_password=False)


@pytest.fixture
def secret_env(database_url: str, start_private_redis) -> dict[str, str]:
    """Both servers reached with a password: Redis through a redis-server of our own that
    requires one (``--requirepass``)."""
    locked_redis = start_private_redis(password=REDIS_PASSWORD)
    return {
        "DATABASE_URL": _with_password(database_url, DB_PASSWORD),
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{locked_redis.port}/0",
        **X_SECRETS,
    }


def _clean(text: str) -> None:
    leaked = [s for s in ALL_SECRETS if s in text]
    assert not leaked, f"secret(s) {leaked} printed:\n{text}"


COMMANDS = [
    ("services", "status"),
    ("services", "status", "--json"),
    ("db", "url"),
    ("db", "migrate"),
    ("db", "status"),
    ("db", "status", "--json"),
    ("config", "show"),
    ("config", "show", "--json"),
    ("config", "set", "epsilon", "0.25"),
    ("config", "set", "epsilon", "2"),  # refused
    ("config", "reset", "epsilon"),
    ("health",),
    ("health", "--json"),
    ("emergency", "clear-queue", "--json"),
    ("emergency", "stop-posting"),
    ("candidates", "refresh"),
    ("sources", "stats", "--json"),
    ("safety", "config"),
    ("schedule", "test"),
    ("schedule", "run"),
    ("learn", "run"),  # refused: no metrics source (an error path)
    ("learn", "rebuild"),
    ("bandit", "report"),
    ("emergency", "disable-v2"),
    ("config", "reset"),
]


def test_settings_repr_masks_everything(secret_env: dict[str, str]) -> None:
    s = load_settings({**secret_env, "XBOT_ENV_FILE": ""}, env_file="")
    _clean(repr(s) + str(s) + repr(s.describe()))
    assert DB_PASSWORD in s.secrets() and REDIS_PASSWORD in s.secrets()


def test_every_command_output_is_clean(xbot, secret_env: dict[str, str]) -> None:
    for command in COMMANDS:
        result = xbot(*command, env=secret_env)
        assert result.exit_code in (0, 1, 2, 6), (command, result.output)
        _clean(result.output)
    # and the command that must work did work
    status = xbot("services", "status", env=secret_env)
    assert "redis://:***@127.0.0.1" in status.stdout
    assert "postgres:***@" in status.stdout.splitlines()[0]  # TCP or the embedded socket
    assert xbot("health", env=secret_env).exit_code == 0


def test_db_url_omits_password_unless_asked(
    xbot, secret_env: dict[str, str], database_url: str
) -> None:
    url = xbot("db", "url", env=secret_env).stdout.strip()
    parsed, expected = sa.engine.make_url(url), sa.engine.make_url(database_url)
    assert parsed.password is None and parsed.database == expected.database
    assert url.startswith("postgresql://postgres@")
    shown = xbot("db", "url", "--with-password", env=secret_env).stdout
    assert DB_PASSWORD in shown  # documented opt-in


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", f"mysql://root:{DB_PASSWORD}@127.0.0.1/x"),
        ("REDIS_URL", f"http://:{REDIS_PASSWORD}@127.0.0.1:6379"),
    ],
)
def test_settings_errors_are_clean(xbot, secret_env: dict[str, str], variable, value) -> None:
    result = xbot("config", "show", env={**secret_env, variable: value})
    assert result.exit_code == 3
    assert variable in result.stderr
    _clean(result.output)


def test_unreachable_servers_errors_are_clean(
    xbot, secret_env: dict[str, str], closed_port: int
) -> None:
    closed = closed_port
    down_db = {**secret_env, "DATABASE_URL": f"postgresql://u:{DB_PASSWORD}@127.0.0.1:{closed}/x"}
    down_redis = {**secret_env, "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{closed}/0"}
    wrong_pw = {
        **secret_env,
        "REDIS_URL": secret_env["REDIS_URL"].replace(REDIS_PASSWORD, "WrongS3cretPw"),
    }
    for env in (down_db, down_redis, wrong_pw):
        for command in (("health",), ("health", "--json"), ("config", "show"),
                        ("emergency", "clear-queue"), ("services", "status")):  # fmt: skip
            result = xbot(*command, env=env)
            if command[0] == "health":
                assert result.exit_code == 2, (command, result.output)
            assert "Traceback" not in result.output, (command, result.output)
            _clean(result.output)


def test_real_process_output_and_logs_are_clean(xbot_process, secret_env: dict[str, str]) -> None:
    for command in (("health",), ("candidates", "refresh"), ("config", "show")):
        proc = xbot_process(*command, env=secret_env)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        _clean(proc.stdout + proc.stderr)


def _query_password_env(secret_env: dict[str, str]) -> dict[str, str]:
    """The same servers with each password given as a ``?password=`` query parameter."""
    db = sa.engine.make_url(secret_env["DATABASE_URL"])
    db_url = db._replace(password=None).render_as_string(hide_password=False)
    redis_url = secret_env["REDIS_URL"].replace(f":{REDIS_PASSWORD}@", "")
    query = "&" if "?" in db_url else "?"  # the embedded server's URL already has ?host=
    return {
        **secret_env,
        "DATABASE_URL": f"{db_url}{query}password={DB_PASSWORD}",
        "REDIS_URL": f"{redis_url}?password={REDIS_PASSWORD}",
    }


def test_query_parameter_passwords_are_masked_everywhere(xbot, secret_env: dict[str, str]) -> None:
    env = _query_password_env(secret_env)
    s = load_settings({**env, "XBOT_ENV_FILE": ""}, env_file="")
    _clean(repr(s) + repr(s.describe()))
    assert DB_PASSWORD in s.secrets() and REDIS_PASSWORD in s.secrets()
    status = xbot("services", "status", env=env)
    assert status.exit_code == 0, status.output
    assert "?password=***" in status.stdout
    for command in COMMANDS:
        result = xbot(*command, env=env)
        assert result.exit_code in (0, 1, 2, 6), (command, result.output)
        _clean(result.output)
    assert xbot("health", env=env).exit_code == 0  # the passwords did reach both servers


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", f"host=127.0.0.1 port=5432 user=postgres password={DB_PASSWORD} dbname=x"),
        ("DATABASE_URL", f"host=127.0.0.1 password='{DB_PASSWORD} x' dbname=x"),
        ("DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}%zz@127.0.0.1:5432/x"),
        ("DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:abc/x"),
        ("DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:99999/x"),
        ("DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1/x?foo=1"),
        ("DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}@[::1/x"),
        ("DATABASE_URL", f"postgresql://postgres@127.0.0.1/x?password={DB_PASSWORD}&foo=1"),
        ("DATABASE_URL", f"postgresql://postgres@127.0.0.1/x?password={DB_PASSWORD}%z"),
        ("REDIS_URL", f"redis://:{REDIS_PASSWORD}@127.0.0.1:abc/0"),
        ("REDIS_URL", f"redis://:{REDIS_PASSWORD}%@127.0.0.1:6379/0"),
        ("REDIS_URL", f"redis://127.0.0.1:6379/0?password={REDIS_PASSWORD}&foo=1"),
        ("REDIS_URL", f"http://:{REDIS_PASSWORD}@127.0.0.1:6379"),
    ],
)
def test_malformed_urls_with_passwords_are_masked(
    xbot, secret_env: dict[str, str], variable: str, value: str
) -> None:
    for command in (("config", "show"), ("health",), ("services", "status")):
        result = xbot(*command, env={**secret_env, variable: value})
        assert result.exit_code == 3, (command, result.output)
        assert variable in result.stderr and len(result.stderr.splitlines()) == 1
        _clean(result.output)


def test_bad_query_password_value_reaches_libpq_masked(xbot, secret_env: dict[str, str]) -> None:
    """A value libpq only checks when connecting (sslmode) is a one-line exit 4, still masked."""
    env = _query_password_env(secret_env)
    env["DATABASE_URL"] += "&sslmode=bogus"
    result = xbot("config", "show", env=env)
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("error: postgres unavailable") and "sslmode" in result.stderr
    _clean(result.output)
