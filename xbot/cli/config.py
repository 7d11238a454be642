"""``xbot config show|set|reset``: the bot_config flags of one environment."""

from __future__ import annotations

import json

import click

from xbot import flags
from xbot.cli import App
from xbot.cli.output import echo_json, print_table
from xbot.settings import APP_ENVS

env_option = click.option(
    "--env",
    "environment",
    type=click.Choice(APP_ENVS),
    default=None,
    help="Environment whose rows to use (default: APP_ENV).",
)


@click.group()
def config() -> None:
    """Flags in bot_config (the runbook's SQL on bot_config works too)."""


@config.command("show")
@env_option
@click.option("--json", "as_json", is_flag=True, help="Print the flags as JSON.")
@click.pass_obj
def show(app: App, environment: str | None, as_json: bool) -> None:
    """Show the flags in effect, their defaults and allowed ranges, and any problems."""
    env = app.environment(environment)
    with app.services.engine.connect() as conn:
        current = flags.load_flags(conn, env)
    values = current.snapshot()
    if as_json:
        echo_json({"environment": env, "flags": values, "problems": list(current.problems)})
        return
    rows = [
        (name, json.dumps(values[name]), json.dumps(spec.default), spec.allowed)
        for name, spec in flags.SPECS.items()
    ]
    print_table(f"flags ({env})", ["flag", "value", "default", "allowed"], rows)
    for problem in current.problems:
        click.echo(f"problem: {problem}", err=True)


# ignore_unknown_options: a negative VALUE such as -0.1 is a value (refused with the flag's
# range), not an unknown option.
@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("value")
@env_option
@click.pass_obj
def set_(app: App, name: str, value: str, environment: str | None) -> None:
    """Set flag NAME to VALUE (validated; nothing is written when out of range).

    VALUE is JSON (0.1, true, "Europe/Berlin") or, for quiet_hours, a list like 2,3,4,5.
    """
    env = app.environment(environment)
    parsed = flags.parse_value(name, value)
    with app.services.engine.begin() as conn:
        clean = flags.set_flag(conn, env, name, parsed)
    click.echo(f"{name} = {json.dumps(clean)} ({env})")


@config.command("reset")
@click.argument("name", required=False)
@env_option
@click.pass_obj
def reset(app: App, name: str | None, environment: str | None) -> None:
    """Reset flag NAME (or every flag) to its default."""
    env = app.environment(environment)
    with app.services.engine.begin() as conn:
        names = flags.reset_flags(conn, env, name)
    click.echo(f"reset {', '.join(names)} ({env})")
