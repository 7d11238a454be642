"""``xbot health``: the runbook's one-line health check (exit 0/1/2)."""

from __future__ import annotations

import sys

import click

from xbot import health as health_mod
from xbot.cli import App
from xbot.cli.output import echo_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def health(app: App, as_json: bool) -> None:
    """Print the health line; exit 0 HEALTHY, 1 DEGRADED, 2 UNHEALTHY."""
    report = health_mod.check(app.services, app.settings)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.line())
    app.close()
    sys.exit(report.exit_code)
