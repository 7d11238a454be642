"""The one settings object, read from the process environment and an optional ``.env`` file.

Nothing is read at import time: call :func:`load_settings` (the CLI does it once per command).
Values in the real environment win over ``.env``. Invalid values raise :class:`SettingsError`
naming the variable and what is allowed. Secrets are wrapped in :class:`Secret`, whose ``repr``
and ``str`` are masked, so printing a ``Settings`` or logging it never leaks a token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from dotenv import dotenv_values

from xbot.errors import SettingsError

APP_ENVS = ("development", "staging", "production")
DEFAULT_PREFIX = {"development": "dev:", "staging": "stg:", "production": "prod:"}
DEFAULT_REPORT_KEEP_DAYS = 30  # `xbot report prune` and the scheduler's nightly prune


class Secret:
    """A string that never shows itself in ``repr``/``str``/f-strings. Use ``.reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "***" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"']+")
# Query parameters redis-py understands in a URL (redis.connection.URL_QUERY_ARGUMENT_PARSERS),
# plus the credentials it takes from the query too.
REDIS_URL_PARAMS = frozenset({
    "db", "health_check_interval", "max_connections", "protocol", "retry_on_timeout",
    "socket_connect_timeout", "socket_keepalive", "socket_timeout", "ssl_check_hostname",
    "ssl_cert_reqs", "ssl_ca_certs", "timeout", "username", "password",
})  # fmt: skip


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(before, password, after)`` of a ``scheme://user:password@host...`` string, found by
    text alone: it never raises, and a password with a raw ``/`` or ``@`` is still found."""
    head, sep, rest = url.partition("://")
    if not sep:
        return None
    query = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, query)
    if at < 0:
        return None
    user, colon, password = rest[:at].partition(":")
    if not colon or not password or "/" in user:
        return None
    return head + sep + user + ":", password, rest[at:]


def mask_url(url: str | None) -> str:
    """Return ``url`` with every password replaced by ``***`` (for status lines and logs).

    Covers ``user:password@`` URLs, ``?password=`` query parameters and libpq keyword strings
    (``host=... password=...``); works on text too malformed to parse.
    """
    if not url:
        return ""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(r"\1***", url)
    parts = _split_userinfo(url)
    if parts is not None:
        url = parts[0] + "***" + parts[2]
    return _QUERY_PASSWORD.sub(r"\1***", url)


def url_passwords(url: str) -> list[str]:
    """Every password in ``url`` (any form :func:`mask_url` masks), raw and percent-decoded."""
    found: list[str] = []
    if "://" not in url:
        found += [m.group(2).strip("'") for m in _KEYWORD_PASSWORD.finditer(url)]
    else:
        parts = _split_userinfo(url)
        if parts is not None:
            found.append(parts[1])
        found += [m.group(2) for m in _QUERY_PASSWORD.finditer(url) if m.group(2)]
    return [v for p in found for v in dict.fromkeys((p, unquote(p))) if v]


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (an error message, a log line) with URLs' passwords, ``password=`` pairs and
    every one of ``secrets`` masked: drivers quote pieces of a bad connection string."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


def _check_url(variable: str, url: str, schemes: tuple[str, ...], allowed: str) -> SplitResult:
    """Scheme, port and percent-encoding of a URL; a SettingsError (masked) when wrong."""
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for ':abc' and ports over 65535
    except ValueError:
        raise SettingsError(variable, shown, allowed + " with a port from 1 to 65535") from None
    if parts.scheme not in schemes:
        raise SettingsError(variable, shown, allowed)
    if parts.port == 0:
        raise SettingsError(variable, shown, allowed + " with a port from 1 to 65535")
    if _BAD_PERCENT.search(url):
        raise SettingsError(variable, shown, allowed + " (a '%' must start a %XX escape)")
    return parts


def _check_database_url(url: str) -> None:
    allowed = "a postgresql:// connection string"
    _check_url("DATABASE_URL", url, ("postgresql", "postgres", "postgresql+psycopg"), allowed)
    from psycopg import ProgrammingError  # imported here: only when DATABASE_URL is set
    from psycopg.conninfo import conninfo_to_dict

    try:  # libpq's own parser: unknown query parameters, a broken IPv6 host, ...
        conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://", 1))
    except ProgrammingError as exc:
        detail = mask_text(str(exc).strip().splitlines()[0], url_passwords(url))
        raise SettingsError("DATABASE_URL", mask_url(url), f"{allowed} ({detail})") from None


def _check_redis_url(url: str) -> None:
    allowed = "a redis://, rediss:// or unix:// URL"
    parts = _check_url("REDIS_URL", url, ("redis", "rediss", "unix"), allowed)
    shown = mask_url(url)
    if parts.scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise SettingsError("REDIS_URL", shown, allowed + " whose path is a database number")
    unknown = sorted(
        {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} - REDIS_URL_PARAMS
    )
    if unknown:
        raise SettingsError(
            "REDIS_URL", shown, f"{allowed} (unknown query parameter {', '.join(unknown)})"
        )


POOLER_MODES = ("auto", "none", "session", "transaction")


@dataclass(frozen=True)
class Settings:
    """Process settings. ``environment`` is APP_ENV; it selects the ``bot_config`` rows."""

    app_env: str = "development"
    live_posts: bool = False
    redis_prefix: str = "dev:"
    redis_url: Secret | None = None
    database_url: Secret | None = None
    database_pooler: str = "auto"  # auto | none | session | transaction (see pooler_mode)
    xbot_home: Path = field(default_factory=lambda: Path(".xbot").resolve())
    x_api_key: Secret = field(default_factory=lambda: Secret(""))
    x_api_secret: Secret = field(default_factory=lambda: Secret(""))
    x_access_token: Secret = field(default_factory=lambda: Secret(""))
    x_access_token_secret: Secret = field(default_factory=lambda: Secret(""))
    x_bearer_token: Secret = field(default_factory=lambda: Secret(""))
    x_user_id: str = ""
    x_api_base_url: str = "https://api.x.com"
    report_keep_days: int = DEFAULT_REPORT_KEEP_DAYS
    sources_path: Path | None = None  # XBOT_SOURCES; None = config/sources.toml
    migrations_dir: Path | None = None  # XBOT_MIGRATIONS_DIR; None = sql/migrations
    crash_at: str = ""  # XBOT_CRASH_AT: the crash-injection test's hook (see outbox.crash_point)
    runs_dir: Path | None = None  # XBOT_RUNS_DIR; None = ./runs (reports.resolve_runs_dir)
    notebooks_dir: Path | None = None  # XBOT_NOTEBOOKS_DIR; None = notebooks/ of the source tree
    #: The operator's own safety allowlist (XBOT_SAFETY_ALLOWLIST), on top of the shipped one.
    safety_allowlist: Path | None = None
    #: Refuse links through URL shorteners (XBOT_SAFETY_BLOCK_SHORTENERS).
    safety_block_shorteners: bool = False

    @property
    def environment(self) -> str:
        return self.app_env

    @property
    def embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def pooler_mode(self) -> str:
        """How DATABASE_URL reaches Postgres: ``none`` (direct), ``session`` or ``transaction``.

        ``auto`` means ``transaction`` on port 6543 (Supabase's transaction pooler), else
        ``none``. Through a transaction pooler no session state survives a transaction, so
        the engine turns off server-side prepared statements (docs/operations.md).
        """
        if self.database_pooler != "auto":
            return self.database_pooler
        if self.database_url is None:
            return "none"
        return "transaction" if urlsplit(self.database_url.reveal()).port == 6543 else "none"

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def has_user_context(self) -> bool:
        """True when all four OAuth 1.0a user-context credentials are present (posting)."""
        return all(
            (self.x_api_key, self.x_api_secret, self.x_access_token, self.x_access_token_secret)
        )

    def secrets(self) -> list[str]:
        """Every secret value in clear, for tests and log scrubbing. Never print the result."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret) and value:
                out.append(value.reveal())
                if f.name in ("redis_url", "database_url"):
                    out += url_passwords(value.reveal())
        return out

    def describe(self) -> dict[str, object]:
        """A printable summary with secrets masked."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("redis_url", "database_url"):
                out[f.name] = mask_url(value.reveal()) if value else "embedded"
            elif isinstance(value, Secret):
                out[f.name] = "set" if value else "unset"
            else:
                out[f.name] = str(value)
        return out


def _parse_bool(name: str, raw: str) -> bool:
    """Exactly ``true`` or ``false``, as README and .env.template say: ``TRUE`` or `` true``
    is refused, never read as live posting on."""
    if raw in ("true", "false"):
        return raw == "true"
    raise SettingsError(name, raw, "exactly 'true' or 'false' (lower case, no spaces)")


def _optional_path(raw: str | None) -> Path | None:
    return Path(raw).expanduser() if raw else None


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = None
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) over a ``.env`` file.

    The ``.env`` file is ``env_file`` if given, else ``$XBOT_ENV_FILE``, else ``./.env`` when it
    exists. Pass ``env_file=""`` to ignore ``.env`` entirely (tests do).
    """
    real = dict(os.environ if environ is None else environ)
    path = env_file if env_file is not None else real.get("XBOT_ENV_FILE", ".env")
    values: dict[str, str] = {}
    if path and Path(path).is_file():
        try:
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
        except (UnicodeDecodeError, OSError) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise SettingsError(
                "XBOT_ENV_FILE", str(path), f"a readable UTF-8 .env file ({reason})"
            ) from None
    values.update(real)

    def get(name: str) -> str | None:
        raw = values.get(name)
        return raw if raw not in (None, "") else None

    app_env = get("APP_ENV") or "development"
    if app_env not in APP_ENVS:
        raise SettingsError("APP_ENV", app_env, "one of " + ", ".join(APP_ENVS))

    live_raw = get("LIVE_POSTS")
    live_posts = _parse_bool("LIVE_POSTS", live_raw) if live_raw is not None else False

    prefix = get("REDIS_PREFIX") or DEFAULT_PREFIX[app_env]
    if not prefix.endswith(":") or len(prefix) < 2 or any(c in prefix for c in " *?[]\n"):
        raise SettingsError(
            "REDIS_PREFIX", prefix, "a non-empty name ending with ':' without spaces or glob chars"
        )

    redis_url = get("REDIS_URL")
    if redis_url is not None:
        _check_redis_url(redis_url)

    database_url = get("DATABASE_URL")
    if database_url is not None:
        _check_database_url(database_url)

    pooler = (get("DATABASE_POOLER") or "auto").strip().lower()
    if pooler not in POOLER_MODES:
        raise SettingsError("DATABASE_POOLER", pooler, "one of " + ", ".join(POOLER_MODES))

    home = Path(get("XBOT_HOME") or ".xbot").expanduser().resolve()

    user_id = get("X_USER_ID") or ""
    if user_id and not user_id.isdigit():
        raise SettingsError("X_USER_ID", user_id, "the numeric id of the posting account")

    base_url = (get("X_API_BASE_URL") or "https://api.x.com").rstrip("/")
    _check_url("X_API_BASE_URL", base_url, ("http", "https"), "an http(s) URL")

    shorteners = get("XBOT_SAFETY_BLOCK_SHORTENERS")
    keep_raw = get("XBOT_REPORT_KEEP_DAYS")
    keep_days = DEFAULT_REPORT_KEEP_DAYS
    if keep_raw is not None:
        if not keep_raw.strip().isdigit() or not 1 <= int(keep_raw) <= 36_500:
            raise SettingsError(
                "XBOT_REPORT_KEEP_DAYS", keep_raw, "a whole number of days from 1 to 36500"
            )
        keep_days = int(keep_raw)

    return Settings(
        app_env=app_env,
        live_posts=live_posts,
        redis_prefix=prefix,
        redis_url=Secret(redis_url) if redis_url else None,
        database_url=Secret(database_url) if database_url else None,
        database_pooler=pooler,
        xbot_home=home,
        x_api_key=Secret(get("X_API_KEY") or ""),
        x_api_secret=Secret(get("X_API_SECRET") or ""),
        x_access_token=Secret(get("X_ACCESS_TOKEN") or ""),
        x_access_token_secret=Secret(get("X_ACCESS_TOKEN_SECRET") or ""),
        x_bearer_token=Secret(get("X_BEARER_TOKEN") or ""),
        x_user_id=user_id,
        x_api_base_url=base_url,
        report_keep_days=keep_days,
        sources_path=_optional_path(get("XBOT_SOURCES")),
        migrations_dir=_optional_path(get("XBOT_MIGRATIONS_DIR")),
        crash_at=get("XBOT_CRASH_AT") or "",
        runs_dir=_optional_path(get("XBOT_RUNS_DIR")),
        notebooks_dir=_optional_path(get("XBOT_NOTEBOOKS_DIR")),
        safety_allowlist=_optional_path(get("XBOT_SAFETY_ALLOWLIST")),
        safety_block_shorteners=(
            _parse_bool("XBOT_SAFETY_BLOCK_SHORTENERS", shorteners) if shorteners else False
        ),
    )
