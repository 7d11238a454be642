"""``xbot rollout status``: the explorer notebook's rollout recommendation on the command line."""

from __future__ import annotations

import click

from xbot.cli import App
from xbot.cli.config import env_option
from xbot.cli.output import echo_json


@click.group()
def rollout() -> None:
    """V2-versus-V1 evidence and the next step of the runbook's rollout."""


@rollout.command("status")
@env_option
@click.option(
    "--window-days", type=click.FloatRange(min=1, max=365), default=14.0, show_default=True,
    help="Days of posts and decisions the evidence is drawn from.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status(app: App, environment: str | None, window_days: float, as_json: bool) -> None:
    """The current phase, the recommended next step (with the exact `xbot config set`
    commands) and the evidence behind it. Changes nothing."""
    from xbot.rollout import status as rollout_status

    env = app.environment(environment)
    rec = rollout_status(app.services, env, window_days=window_days)
    if as_json:
        echo_json(rec.to_dict())
        return
    click.echo(f"environment:    {env}")
    click.echo(f"phase:          {rec.phase}")
    click.echo(f"recommendation: {rec.action}")
    click.echo(f"evidence used:  {rec.basis}")
    click.echo("commands:" + ("" if rec.commands else "       none"))
    for command in rec.commands:
        click.echo(f"  {command}")
    click.echo("evidence:")
    for line in rec.evidence:
        click.echo(f"  - {line}")
