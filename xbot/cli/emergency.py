"""``xbot emergency disable-v2|stop-posting|clear-queue``: the runbook's emergency procedures."""

from __future__ import annotations

import click

from xbot import emergency as ops
from xbot.cli import App
from xbot.cli.config import env_option
from xbot.cli.output import echo_json


@click.group()
def emergency() -> None:
    """Emergency brakes; each writes an audit_log row."""


@emergency.command("disable-v2")
@env_option
@click.pass_obj
def disable_v2(app: App, environment: str | None) -> None:
    """Immediate rollback to V1: learning_engine_v2 = false."""
    env = app.environment(environment)
    ops.disable_v2(app.services, env)
    click.echo(f"learning_engine_v2 = false ({env}); V1 picks from the next cycle")


@emergency.command("stop-posting")
@env_option
@click.pass_obj
def stop_posting(app: App, environment: str | None) -> None:
    """Emergency brake: post_fraction = 0 (no cycle posts from now on)."""
    env = app.environment(environment)
    ops.stop_posting(app.services, env)
    click.echo(f"post_fraction = 0 ({env}); nothing will be posted")


@emergency.command("clear-queue")
@env_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def clear_queue(app: App, environment: str | None, as_json: bool) -> None:
    """Delete this REDIS_PREFIX's queue, claims, payloads and content hashes (SCAN, not KEYS)."""
    env = app.environment(environment)
    counts = ops.clear_queue(app.services, env)
    if as_json:
        echo_json({"environment": env, "redis_prefix": app.settings.redis_prefix, **counts})
        return
    click.echo(f"cleared queue under {app.settings.redis_prefix} ({env}):")
    for name, n in counts.items():
        click.echo(f"  {name}: {n}")
