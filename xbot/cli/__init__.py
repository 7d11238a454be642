"""The ``xbot`` command: one subcommand per runbook operation (see docs/cli.md).

Subcommand groups live in ``xbot/cli/<area>.py`` and are imported lazily, only when invoked:
:data:`COMMANDS` names each one's module and carries the one-line summary that ``xbot --help``
lists, so listing the commands imports none of them (and none of numpy, PyMC, papermill...).
To add a top-level command, add one ``COMMANDS`` row (CONTRIBUTING.md, "Adding a command");
subcommands of an existing group need nothing here. Every :class:`XbotError` becomes a
one-line message on stderr and its documented exit code; connections are closed before exit.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from xbot import __version__
from xbot.errors import ServiceUnavailable, XbotError

if TYPE_CHECKING:
    from xbot.services import Services
    from xbot.settings import Settings


@dataclass(frozen=True)
class Entry:
    """A top-level command: where it lives (``module:attribute``) and its one-line summary."""

    target: str
    summary: str


# name -> Entry. Keep the summary short (one line in `xbot --help`); the command's own
# docstring is its full help (`xbot NAME --help`).
COMMANDS: dict[str, Entry] = {
    "db": Entry("xbot.cli.db:db", "Schema and migrations (the equivalent of `supabase db push`)."),
    "config": Entry("xbot.cli.config:config", "Flags in bot_config (the runbook's SQL works too)."),
    "services": Entry("xbot.cli.db:services", "Which Postgres and Redis are in use."),
    "health": Entry("xbot.cli.health:health", "The health line; exit 0/1/2 healthy/degraded/down."),
    "emergency": Entry("xbot.cli.emergency:emergency", "Emergency brakes (each writes audit_log)."),
    "candidates": Entry(
        "xbot.cli.candidates:candidates", "Post candidates: generate, dedup, queue."
    ),
    "sources": Entry("xbot.cli.candidates:sources", "Candidate sources (config/sources.toml)."),
    "safety": Entry("xbot.cli.safety:safety", "The content safety guard."),
    "bandit": Entry(
        "xbot.cli.learn:bandit", "The bandit's live state (Redis, rebuilt from Postgres)."
    ),
    "learn": Entry(
        "xbot.cli.learn:learn", "Learning: metrics -> rewards -> bandit; the PyMC model."
    ),
    "schedule": Entry(
        "xbot.cli.schedule:schedule", "Scheduling cycles: pick, guard, post or shadow."
    ),
    "demo": Entry("xbot.cli.demo:demo", "A simulated run of DAYS days through the real code."),
    "report": Entry("xbot.cli.report:report", "Workbench notebooks into dated HTML reports."),
    "review": Entry(
        "xbot.cli.review:review", "The approval gate: see, approve, reject, edit candidates."
    ),
    "scheduler": Entry(
        "xbot.cli.report:scheduler", "Run the runbook's timetable (cron in-process)."
    ),
    "job": Entry("xbot.cli.job:job", "Run one timetable job now under its lock (for cron)."),
    "rollout": Entry("xbot.cli.rollout:rollout", "V2 vs V1 evidence and the next rollout step."),
    "x": Entry("xbot.cli.x:x", "The X API account: credentials check, spend and budgets."),
}


@dataclass
class App:
    """What every command receives (``@click.pass_obj``): settings and lazily opened services."""

    _settings: Settings | None = field(default=None, repr=False)
    _services: Services | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Loaded on first use, so ``--help`` works whatever the environment holds."""
        if self._settings is None:
            from xbot.settings import load_settings

            self._settings = load_settings()
        return self._settings

    @property
    def services(self) -> Services:
        if self._services is None:
            from xbot.services import Services

            self._services = Services(self.settings)
        return self._services

    def environment(self, override: str | None = None) -> str:
        """The ``--env`` option when given, else APP_ENV: whose bot_config rows a command uses."""
        return override or self.settings.app_env

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


class LazyGroup(click.Group):
    """Lists :data:`COMMANDS` from their summaries; imports a command's module only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module_name, attr = entry.target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        command.short_help = entry.summary
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name].summary) for name in sorted(COMMANDS)]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self.commands.items())]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xbot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """xbot: learning engine for an X account that posts gaming content.

    Settings come from the environment and .env (see .env.template). With DATABASE_URL and
    REDIS_URL unset, embedded Postgres and Redis run under XBOT_HOME (default .xbot/).
    """
    app = App()
    ctx.obj = app
    ctx.call_on_close(app.close)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(exc: XbotError) -> None:
    from xbot.settings import mask_text  # a driver's message may quote a connection string

    click.echo(f"error: {mask_text(str(exc))}", err=True)
    sys.exit(exc.exit_code)


def _service_error(exc: BaseException) -> ServiceUnavailable | None:
    """A driver's "server down / refused" error as ServiceUnavailable (exit 4), else None
    (any Redis error: a Redis that answers but refuses writes is as unusable as a dead one).

    Looked up in ``sys.modules``: a command that never imported SQLAlchemy or redis cannot
    have raised their errors, and importing them here would slow every command down.
    """
    sa = sys.modules.get("sqlalchemy")
    if sa is not None and isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return ServiceUnavailable("postgres", _first_line(exc.orig or exc))
    redis_lib = sys.modules.get("redis")
    # any RedisError: down, out of memory, read-only, or REDIS_URL points at something that
    # is not Redis
    if redis_lib is not None and isinstance(exc, redis_lib.RedisError):
        return ServiceUnavailable.from_redis(exc)
    return None


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps XbotError to its exit code with a one-line message."""
    try:
        cli.main(args=argv, prog_name="xbot", standalone_mode=False)
    except XbotError as exc:
        _fail(exc)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # A server that is down or refuses us: one line and exit 4, not a driver traceback.
        service_error = _service_error(exc)
        if service_error is None:
            raise
        _fail(service_error)
    sys.exit(0)
