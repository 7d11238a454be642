"""The one exception hierarchy of xbot.

Every error a user can hit derives from :class:`XbotError`, carries the context needed to act on
it, and maps to a documented CLI exit code (see ``docs/cli.md``). Lower layers raise these; the
CLI turns them into a one-line message and the exit code, never a traceback.
"""

from __future__ import annotations

from typing import Any

_MAX_SHOWN = 60  # characters of a refused value quoted in a message


class XbotError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class SettingsError(XbotError):
    """An environment variable is missing or invalid. Raised at start, before any work."""

    exit_code = 3

    def __init__(self, variable: str, value: str | None, allowed: str) -> None:
        shown = "<unset>" if value is None else repr(value)
        super().__init__(
            f"{variable}={shown} is invalid: allowed {allowed}",
            variable=variable,
            allowed=allowed,
        )
        self.variable = variable
        self.allowed = allowed


class ValidationError(XbotError):
    """User input (a flag value, a CLI argument, a row of data) is out of range or malformed.

    Nothing has been written when this is raised.
    """

    exit_code = 2

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        shown = repr(value)
        if len(shown) > _MAX_SHOWN:  # a 300-character value must not drown the message
            shown = shown[: _MAX_SHOWN - 3] + "..."
        super().__init__(f"{field}={shown} is not allowed: {allowed}", field=field, allowed=allowed)
        self.field = field
        self.value = value
        self.allowed = allowed


class ServiceUnavailable(XbotError):
    """Postgres or Redis cannot be reached (or the embedded one cannot start)."""

    exit_code = 4

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service} unavailable: {detail}", service=service, detail=detail)
        self.service = service
        self.detail = detail

    @classmethod
    def from_redis(cls, exc: Exception) -> ServiceUnavailable:
        """The error for a Redis failure, saying what to do when Redis answers but refuses
        writes (out of memory, read-only); otherwise the driver's first line."""
        import redis

        if isinstance(exc, redis.OutOfMemoryError):
            return cls("redis", "out of memory (maxmemory reached, writes refused): free memory "
                       "or raise maxmemory on that server, then run `xbot candidates requeue`")  # fmt: skip
        if isinstance(exc, redis.ReadOnlyError):
            return cls("redis", "read-only (a replica?): point REDIS_URL at the primary")
        text = str(exc).strip()
        return cls("redis", (text.splitlines()[0] if text else type(exc).__name__)[:300])


class MigrationError(XbotError):
    """A migration file failed to apply; the transaction was rolled back."""

    exit_code = 5

    def __init__(self, version: str, detail: str) -> None:
        super().__init__(f"migration {version} failed: {detail}", version=version, detail=detail)
        self.version = version


class PosterError(XbotError):
    """The X API (or the simulated one) refused or failed a call."""

    exit_code = 6

    def __init__(self, message: str, *, status: int | None = None, **context: Any) -> None:
        super().__init__(message, status=status, **context)
        self.status = status


class LockBusy(XbotError):
    """Another process holds a lock this operation needs (scheduler, report runner)."""

    exit_code = 7

    def __init__(self, lock: str, owner: str | None = None) -> None:
        message = f"lock {lock!r} is held by {owner or 'another process'}"
        super().__init__(message, lock=lock, owner=owner)
        self.lock = lock


class ReportError(XbotError):
    """A notebook failed while papermill ran it; the partial notebook was kept."""

    exit_code = 8

    def __init__(self, notebook: str, cell_index: int | None, ename: str, evalue: str) -> None:
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        super().__init__(
            f"notebook {notebook} failed in {where}: {ename}: {evalue}",
            notebook=notebook,
            cell_index=cell_index,
        )
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
