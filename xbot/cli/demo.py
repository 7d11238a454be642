"""``xbot demo``: simulated days of the whole system (see :mod:`xbot.demo`), then the daily
report and the health line."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
import sqlalchemy as sa
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from xbot import flags, health, migrate
from xbot.cli import App
from xbot.cli.output import print_table
from xbot.demo import DayStats, DemoResult, run_demo


def _run(
    app: App, days: int, seed: int, model_fits: bool, x_budget: float | None = None
) -> DemoResult:
    if not sys.stdout.isatty():

        def line(done: int, total: int, day: DayStats | None) -> None:
            if day is not None:
                click.echo(day.line())

        return run_demo(app.services, app.settings, days=days, seed=seed,
                        model_fits=model_fits, x_daily_budget_usd=x_budget,
                        on_progress=line)  # fmt: skip
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(f"simulating {days} days", total=1)

        def tick(done: int, total: int, day: DayStats | None) -> None:
            bar.update(task, completed=done, total=total)
            if day is not None:
                bar.console.print(day.line())

        return run_demo(app.services, app.settings, days=days, seed=seed,
                        model_fits=model_fits, x_daily_budget_usd=x_budget,
                        on_progress=tick)  # fmt: skip


@click.command()
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 60),
              help="Simulated days to run.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0),
              help="Seed of the simulated world and of every random draw.")  # fmt: skip
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write the daily report (papermill notebooks) at the end.")  # fmt: skip
@click.option("--model/--no-model", "model_fits", default=True, show_default=True,
              help="Refit the PyMC model every simulated night.")  # fmt: skip
@click.option("--x-daily-budget-usd", "x_budget", type=click.FloatRange(0, 1_000_000),
              default=None, help="Daily X API budget of the simulated account (flag "
              "x_daily_budget_usd); the demo prints its simulated spend either way.")  # fmt: skip
@click.pass_obj
def demo(
    app: App, days: int, seed: int, report: bool, model_fits: bool, x_budget: float | None
) -> None:
    """Run DAYS simulated days through the real code: refreshes, a scheduling cycle every
    15 minutes, hourly learning, a model refit every simulated night and the runbook's rollout
    phases, with a SIMULATED X. Resets the development environment and this REDIS_PREFIX
    first."""
    click.echo(
        f"xbot demo: {days} simulated days, seed {seed}, APP_ENV={app.settings.environment}, "
        f"REDIS_PREFIX={app.settings.redis_prefix} (reset first); X is simulated"
    )
    # Like `make demo`: a fresh XBOT_HOME (or database) needs the schema before anything runs.
    applied = migrate.migrate(app.services.engine, app.settings.migrations_dir)
    with app.services.engine.begin() as conn:
        flags.seed_defaults(conn, app.settings.environment)
    if applied:
        click.echo(f"applied {len(applied)} migration(s)")
    result = _run(app, days, seed, model_fits, x_budget)
    totals = result.totals()
    click.echo(
        f"simulated {days} days in {result.elapsed_s:.0f}s: posted {totals['posted']}, "
        f"shadow {totals['shadow']}, skipped {totals['skipped']}; "
        f"{result.learning_cycles} learning cycles; {result.model_fits} model fits"
    )
    print_table("decisions by reason", ["reason", "cycles"], sorted(result.reasons.items()))
    click.echo(result.lift.line())
    _spend(app, result, days)
    if report:
        from xbot.reports import run_daily  # papermill and nbconvert: only when asked

        records = run_daily(app.services, app.settings, now=result.end - timedelta(seconds=1))
        for rec in records:
            where = f"{rec.html}" if rec.ok else f"{rec.ipynb} (failed: {rec.ename})"
            click.echo(f"report {rec.notebook}: {rec.status}: {where}")
        if records:
            click.echo(f"daily report: {records[0].html.parent}")
    else:
        _summary(app)
    click.echo(health.check(app.services, app.settings).line())


def _spend(app: App, result: DemoResult, days: int) -> None:
    """The simulated X API spend per UTC day against the budget: what links cost, and the
    cycles the budget refused."""
    from xbot.x_usage import daily_spend

    env = app.settings.environment
    with app.services.engine.connect() as conn:
        fl = flags.load_flags(conn, env)
    rows = daily_spend(app.services, env, since=result.start, until=result.end)
    budget = "none" if fl.x_daily_budget_usd is None else f"${fl.x_daily_budget_usd:.2f}"
    print_table(
        f"simulated X API spend per UTC day (daily budget {budget})",
        ["day", "spend", "link posts", "link $", "link-free posts", "link-free $", "reads/media $",
         "budget skips"],
        [(r["day"], f"{r['spend_usd']:.3f}", r["link_posts"], f"{r['link_usd']:.3f}",
          r["plain_posts"], f"{r['plain_usd']:.3f}", f"{r['other_usd']:.3f}", r["budget_skips"])
         for r in rows],
    )  # fmt: skip
    total = sum(r["spend_usd"] for r in rows)
    link = sum(r["link_usd"] for r in rows)
    plain = sum(r["plain_usd"] for r in rows)
    click.echo(
        f"simulated X API spend: ${total:.2f} over {days} days (${total / days:.3f} per day) at "
        f"{fl.x_plan} prices (config/x_pricing.toml): {sum(r['link_posts'] for r in rows)} link "
        f"posts ${link:.2f}, {sum(r['plain_posts'] for r in rows)} link-free posts ${plain:.2f}; "
        f"{sum(r['budget_skips'] for r in rows)} cycles skipped for budget"
    )


def _summary(app: App) -> None:
    """Without the notebooks: the runbook's views as tables."""
    env = app.settings.environment
    with app.services.engine.connect() as conn:
        topics = conn.execute(
            sa.text(
                "select topic, posts, measured_posts, round(avg_engagement_rate::numeric, 4)"
                " from vw_topics_perf_7d where environment = :e"
                " order by avg_engagement_rate desc nulls last"
            ),
            {"e": env},
        ).all()
        days = conn.execute(
            sa.text(
                "select day, posts, v1_posts, v2_posts, round(avg_engagement_rate::numeric, 4)"
                " from vw_learning_performance where environment = :e order by day"
            ),
            {"e": env},
        ).all()
    print_table("vw_topics_perf_7d", ["topic", "posts", "measured", "avg rate"], topics)
    print_table("vw_learning_performance", ["day", "posts", "v1", "v2", "avg rate"], days)
