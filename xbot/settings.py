"""The one settings object, read from the process environment and an optional ``.env`` file.

Nothing is read at import time: call :func:`load_settings` (the CLI does it once per command).
Values in the real environment win over ``.env``. Invalid values raise :class:`SettingsError`
naming the variable and what is allowed. Secrets are wrapped in :class:`Secret`, whose ``repr``
and ``str`` are masked, so printing a ``Settings`` or logging it never leaks a token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

from xbot.errors import SettingsError

APP_ENVS = ("development", "staging", "production")
DEFAULT_PREFIX = {"development": "dev:", "staging": "stg:", "production": "prod:"}


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


def mask_url(url: str | None) -> str:
    """Return ``url`` with any password replaced by ``***`` (for status lines and logs)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


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
                parts = urlsplit(value.reveal())
                if parts.password:
                    out.append(parts.password)
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
    lowered = raw.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise SettingsError(name, raw, "exactly 'true' or 'false'")


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
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
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
    if redis_url is not None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            "REDIS_URL", mask_url(redis_url), "a redis://, rediss:// or unix:// URL"
        )

    database_url = get("DATABASE_URL")
    if database_url is not None:
        scheme = urlsplit(database_url).scheme
        if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise SettingsError(
                "DATABASE_URL", mask_url(database_url), "a postgresql:// connection string"
            )

    pooler = (get("DATABASE_POOLER") or "auto").strip().lower()
    if pooler not in POOLER_MODES:
        raise SettingsError("DATABASE_POOLER", pooler, "one of " + ", ".join(POOLER_MODES))

    home = Path(get("XBOT_HOME") or ".xbot").expanduser().resolve()

    user_id = get("X_USER_ID") or ""
    if user_id and not user_id.isdigit():
        raise SettingsError("X_USER_ID", user_id, "the numeric id of the posting account")

    base_url = (get("X_API_BASE_URL") or "https://api.x.com").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise SettingsError("X_API_BASE_URL", base_url, "an http(s) URL")

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
    )
