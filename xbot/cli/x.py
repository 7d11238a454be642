"""``xbot x``: the X API account: ``check`` before going live, ``usage`` for what it costs."""

from __future__ import annotations

import sys

import click

from xbot.cli import App
from xbot.cli.output import echo_json, print_table


@click.group()
def x() -> None:
    """The X API: credentials check, spend and budgets (prices: config/x_pricing.toml)."""


@x.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check(app: App, as_json: bool) -> None:
    """Verify the credentials (GET /2/users/me) and say whether a live post is possible.

    Shows which auth each operation uses, rate-limit headroom, the plan and this month's
    estimated spend, and plain advice for X's common refusals. Exit 0 only when a live post
    would be possible, 6 otherwise.
    """
    from xbot.x_check import check_x

    report = check_x(app.services, app.settings)
    if as_json:
        echo_json(report.to_dict())
    else:
        for line in report.lines():
            click.echo(line)
    app.close()
    sys.exit(0 if report.can_post else 6)


@x.command("usage")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366),
              help="Days of history (UTC), today included.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--env", "environment", default=None, help="Environment (default APP_ENV).")
@click.pass_obj
def usage(app: App, days: int, as_json: bool, environment: str | None) -> None:
    """Estimated X API spend by day and endpoint against the budgets, and a month-end projection.

    Estimates come from config/x_pricing.toml and X's billing rules; the developer console
    has the bill.
    """
    from xbot.x_usage import usage_report

    report = usage_report(app.services, app.environment(environment), days=days)
    if as_json:
        echo_json(report.to_dict())
        return
    print_table(
        f"X API usage, {report.environment}, last {days} day(s), plan {report.plan}",
        ["day", "endpoint", "calls", "billed", "cost USD", "refused", "simulated"],
        [
            (
                r["day"],
                r["endpoint"],
                r["calls"],
                r["billed"],
                f"{r['cost_usd']:.3f}",
                r["refused"],
                "yes" if r["simulated"] else "",
            )
            for r in report.rows
        ],
    )

    def budget(value: float | None) -> str:
        return "no ceiling" if value is None else f"${value:.2f}"

    click.echo(f"today ${report.today_usd:.3f} of {budget(report.daily_budget_usd)} (daily)")
    click.echo(
        f"this month ${report.month_usd:.3f} of {budget(report.monthly_budget_usd)} (monthly);"
        f" month-end projection ${report.month_projection_usd:.2f}"
    )
    if report.simulated_usd:
        click.echo(f"of which simulated (demo) ${report.simulated_usd:.3f}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
