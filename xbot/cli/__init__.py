"""The ``xbot`` command: one subcommand per runbook operation (see docs/cli.md).

Subcommand groups live in ``xbot/cli/<area>.py`` and are imported lazily, only when invoked, so
``xbot health`` never pays for importing PyMC. Every :class:`XbotError` becomes a one-line
message on stderr and its documented exit code; connections are closed before exit.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field

import click
import redis as redis_lib
import sqlalchemy as sa

from xbot import __version__
from xbot.errors import ServiceUnavailable, XbotError
from xbot.services import Services
from xbot.settings import Settings, load_settings

# command name -> "module:attribute" (a click.Command or click.Group)
COMMANDS: dict[str, str] = {
    "db": "xbot.cli.db:db",
    "config": "xbot.cli.config:config",
    "services": "xbot.cli.db:services",
    "health": "xbot.cli.health:health",
    "emergency": "xbot.cli.emergency:emergency",
    "candidates": "xbot.cli.candidates:candidates",
    "sources": "xbot.cli.candidates:sources",
    "safety": "xbot.cli.safety:safety",
    "bandit": "xbot.cli.learn:bandit",
    "learn": "xbot.cli.learn:learn",
    "schedule": "xbot.cli.schedule:schedule",
    "demo": "xbot.cli.demo:demo",
    "report": "xbot.cli.report:report",
    "scheduler": "xbot.cli.report:scheduler",
    "x": "xbot.cli.x:x",
}


@dataclass
class App:
    """What every command receives (``@click.pass_obj``): settings and lazily opened services."""

    settings: Settings
    _services: Services | None = field(default=None, repr=False)

    @property
    def services(self) -> Services:
        if self._services is None:
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
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # that area is not built yet
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xbot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """xbot: learning engine for an X account that posts gaming content.

    Settings come from the environment and .env (see .env.template). With DATABASE_URL and
    REDIS_URL unset, embedded Postgres and Redis run under XBOT_HOME (default .xbot/).
    """
    app = App(settings=load_settings())
    ctx.obj = app
    ctx.call_on_close(app.close)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(exc: XbotError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps XbotError to its exit code with a one-line message."""
    try:
        cli.main(args=argv, prog_name="xbot", standalone_mode=False)
    except XbotError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        # A server that is down or refuses us: one line and exit 4, not a driver traceback.
        _fail(ServiceUnavailable("postgres", _first_line(exc.orig or exc)))
    except (redis_lib.ConnectionError, redis_lib.TimeoutError) as exc:
        _fail(ServiceUnavailable("redis", _first_line(exc)))
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
