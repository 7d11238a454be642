"""Settings: strict parsing, .env handling, masking, and the CLI's exit code 3 on bad values."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from sqlalchemy.engine import make_url

from xbot.cli import cli
from xbot.errors import SettingsError
from xbot.settings import Secret, load_settings, mask_url

BASE = {"XBOT_ENV_FILE": ""}


def _load(**env: str):
    return load_settings({**BASE, **env}, env_file="")


def test_defaults_without_any_variable(tmp_path: Path) -> None:
    s = load_settings({}, env_file="")
    assert s.app_env == "development"
    assert s.live_posts is False
    assert s.redis_prefix == "dev:"
    assert s.embedded_db and s.embedded_redis


@pytest.mark.parametrize(
    ("env", "prefix"), [("development", "dev:"), ("staging", "stg:"), ("production", "prod:")]
)
def test_default_prefix_follows_app_env(env: str, prefix: str) -> None:
    assert _load(APP_ENV=env).redis_prefix == prefix


@pytest.mark.parametrize("value", ["prod", "Production", "test", "dev", " staging"])
def test_invalid_app_env(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        _load(APP_ENV=value)
    assert info.value.variable == "APP_ENV"
    assert "development, staging, production" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False)])
def test_live_posts_exact_values(raw: str, expected: bool) -> None:
    assert _load(LIVE_POSTS=raw).live_posts is expected


@pytest.mark.parametrize(
    "value",
    ["1", "0", "yes", "no", "on", "TRUEE", "t", "f", "TRUE", "True", " tRuE ", " true", "false "],
)
def test_live_posts_rejects_anything_but_true_false(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        _load(LIVE_POSTS=value)
    assert info.value.variable == "LIVE_POSTS"
    assert "'true' or 'false'" in str(info.value)


@pytest.mark.parametrize("value", ["stg", "prod", ":", "a b:", "stg*:", "x?:"])
def test_redis_prefix_must_end_with_colon(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        _load(REDIS_PREFIX=value)
    assert info.value.variable == "REDIS_PREFIX"
    assert "ending with ':'" in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("REDIS_URL", "http://127.0.0.1:6379", "redis://"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("DATABASE_URL", "mysql://u:p@h/db", "postgresql://"),
        ("DATABASE_URL", "https://project.supabase.co", "postgresql://"),
        ("X_API_BASE_URL", "ftp://api.x.com", "http(s)"),
        ("X_USER_ID", "@gamer", "numeric id"),
    ],
)
def test_bad_urls_and_ids(variable: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as info:
        _load(**{variable: value})
    assert info.value.variable == variable
    assert allowed in str(info.value)


def test_bad_database_url_message_masks_password() -> None:
    with pytest.raises(SettingsError) as info:
        _load(DATABASE_URL="mysql://user:Pw0rdXyz@db.example/x")
    assert "Pw0rdXyz" not in str(info.value)


def test_valid_urls_accepted() -> None:
    s = _load(
        REDIS_URL="rediss://:pw@example:6380/0",
        DATABASE_URL="postgresql://postgres:pw@127.0.0.1:5432/x",
    )
    assert s.redis_url.reveal() == "rediss://:pw@example:6380/0"
    assert not s.embedded_db and not s.embedded_redis


def test_env_file_is_read_and_real_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "APP_ENV=staging\nREDIS_PREFIX=fromfile:\nLIVE_POSTS=true\nX_USER_ID=123\n",
        encoding="utf-8",
    )
    s = load_settings({"REDIS_PREFIX": "fromenv:"}, env_file=env_file)
    assert s.app_env == "staging"
    assert s.live_posts is True
    assert s.x_user_id == "123"
    assert s.redis_prefix == "fromenv:"


def test_env_file_via_xbot_env_file_variable(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("APP_ENV=production\n", encoding="utf-8")
    s = load_settings({"XBOT_ENV_FILE": str(env_file)})
    assert s.app_env == "production" and s.redis_prefix == "prod:"


def test_invalid_value_in_env_file_is_reported(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LIVE_POSTS=yes\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="LIVE_POSTS"):
        load_settings({}, env_file=env_file)


def test_repr_and_describe_mask_secrets() -> None:
    s = _load(
        X_API_KEY="KeyAAA111",
        X_API_SECRET="SecBBB222",
        X_ACCESS_TOKEN="TokCCC333",
        X_ACCESS_TOKEN_SECRET="TsecDDD444",
        X_BEARER_TOKEN="BearEEE555",
        DATABASE_URL="postgresql://postgres:DbPwFFF666@127.0.0.1:5432/x",
        REDIS_URL="redis://:RedisPwGGG777@127.0.0.1:6379/0",
    )
    shown = repr(s) + str(s) + f"{s}" + repr(s.describe())
    for secret in (
        "KeyAAA111",
        "SecBBB222",
        "TokCCC333",
        "TsecDDD444",
        "BearEEE555",
        "DbPwFFF666",
        "RedisPwGGG777",
    ):
        assert secret not in shown
    assert s.has_user_context
    assert "DbPwFFF666" in s.secrets()
    assert s.describe()["database_url"] == "postgresql://postgres:***@127.0.0.1:5432/x"


def test_secret_and_mask_url() -> None:
    assert str(Secret("x")) == "***" and repr(Secret("x")) == "Secret('***')"
    assert mask_url("postgresql://u:p@h:5/d") == "postgresql://u:***@h:5/d"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("APP_ENV", "prod"),
        ("LIVE_POSTS", "1"),
        ("LIVE_POSTS", "TRUE"),
        ("LIVE_POSTS", " tRuE "),
        ("LIVE_POSTS", "yes"),
        ("REDIS_PREFIX", "stg"),
        ("REDIS_URL", "http://x"),
        ("DATABASE_URL", "mysql://x/y"),
    ],
)
def test_cli_exits_3_naming_the_variable(xbot, variable: str, value: str) -> None:
    result = xbot("config", "show", env={variable: value})
    assert result.exit_code == 3, result.output
    assert variable in result.stderr
    assert "allowed" in result.stderr
    assert "Traceback" not in result.output


MALFORMED_URLS = [
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1:99999/x", "port from 1 to 65535"),
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1:abc/x", "port from 1 to 65535"),
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1:0/x", "port from 1 to 65535"),
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1/x?foo=bar", 'query parameter: "foo"'),
    ("DATABASE_URL", "postgresql://postgres:a%zzb@127.0.0.1/x", "%XX escape"),
    ("DATABASE_URL", "postgresql://postgres@[::1/x", "postgresql://"),
    ("REDIS_URL", "redis://127.0.0.1:99999/0", "port from 1 to 65535"),
    ("REDIS_URL", "redis://127.0.0.1:abc/0", "port from 1 to 65535"),
    ("REDIS_URL", "redis://127.0.0.1:6379/0?foo=bar", "unknown query parameter foo"),
    ("REDIS_URL", "redis://127.0.0.1:6379/zero", "database number"),
    ("REDIS_URL", "redis://:p%4@127.0.0.1:6379/0", "%XX escape"),
    ("X_API_BASE_URL", "http://127.0.0.1:abc", "port from 1 to 65535"),
]


@pytest.mark.parametrize(("variable", "value", "allowed"), MALFORMED_URLS)
def test_malformed_urls_exit_3_in_one_line(xbot, variable: str, value: str, allowed: str) -> None:
    for command in (("config", "show"), ("health",), ("emergency", "clear-queue")):
        result = xbot(*command, env={variable: value})
        assert result.exit_code == 3, (command, result.output)
        assert result.stdout == "" and "Traceback" not in result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {variable}=") and allowed in line, line


@pytest.fixture
def not_redis_port() -> Iterator[int]:
    """A TCP server that answers like SSH, not like Redis."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                with contextlib.suppress(OSError):
                    conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_redis_url_at_something_not_redis_is_a_clean_exit_4(
    xbot, not_redis_port: int, base_database_url: str
) -> None:
    pg_port = make_url(base_database_url).port or 5432
    for port in (not_redis_port, pg_port):
        env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        result = xbot("emergency", "clear-queue", env=env)
        assert result.exit_code == 4, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: redis unavailable:")
        health = xbot("health", env=env)
        assert health.exit_code == 2 and "Redis unreachable" in health.stdout


def test_env_file_with_invalid_utf8_is_exit_3(xbot, tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_bytes(b"APP_ENV=staging\nX_USER_ID=\xff\xfe12\n")
    with pytest.raises(SettingsError, match="UTF-8"):
        load_settings({}, env_file=env_file)
    result = xbot("config", "show", env={"XBOT_ENV_FILE": str(env_file)})
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: XBOT_ENV_FILE=") and "UTF-8" in line


def _every_command(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _every_command(command, ctx, (*path, name))


def test_help_works_for_every_command_whatever_the_environment(xbot) -> None:
    bad = {
        "APP_ENV": "bogus",
        "LIVE_POSTS": "TRUE",
        "DATABASE_URL": "postgresql://u:pw@127.0.0.1:abc/x",
        "REDIS_URL": "http://nowhere",
        "REDIS_PREFIX": "no colon",
    }
    commands = list(_every_command(cli, click.Context(cli)))
    assert ("health",) in commands and ("config", "set") in commands
    for command in [(), *commands]:
        result = xbot(*command, "--help", env=bad)
        assert result.exit_code == 0, (command, result.output)
        assert result.stdout.startswith("Usage: xbot"), (command, result.output)
    assert xbot("health", env=bad).exit_code == 3  # the command itself still refuses


def test_location_variables_are_settings_and_work_from_env_file(xbot, tmp_path: Path) -> None:
    """XBOT_SOURCES / XBOT_MIGRATIONS_DIR / XBOT_CRASH_AT / XBOT_RUNS_DIR / XBOT_NOTEBOOKS_DIR
    go through Settings, so `.env` sets them too (they used to be read from the process
    environment only)."""
    s = _load(XBOT_SOURCES="~/s.toml", XBOT_MIGRATIONS_DIR="/m", XBOT_CRASH_AT="sent",
              XBOT_RUNS_DIR="~/runs", XBOT_NOTEBOOKS_DIR="/nb")  # fmt: skip
    assert s.sources_path == Path("~/s.toml").expanduser()
    assert s.migrations_dir == Path("/m") and s.crash_at == "sent"
    assert s.runs_dir == Path("~/runs").expanduser() and s.notebooks_dir == Path("/nb")
    defaults = _load()
    assert defaults.sources_path is None and defaults.migrations_dir is None
    assert defaults.crash_at == ""
    assert defaults.runs_dir is None and defaults.notebooks_dir is None

    env_file = tmp_path / ".env"
    env_file.write_text(f"XBOT_MIGRATIONS_DIR={tmp_path / 'nowhere'}\n", encoding="utf-8")
    result = xbot("db", "migrate", env={"XBOT_ENV_FILE": str(env_file)})
    assert result.exit_code == 5, result.output
    assert str(tmp_path / "nowhere") in result.stderr
