"""``xbot report run|daily|list|prune`` and ``xbot scheduler``: the workbench from the command line.

A failed notebook exits with ReportError's code (8) and names the cell and the error; its
partial notebook and HTML are already written and listed as failed in ``runs/index.html``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from xbot import reports, timetable
from xbot.cli import App
from xbot.cli.locking import takes_lock
from xbot.cli.output import echo_json, print_table
from xbot.errors import ReportError

_RUNS_DIR = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where runs go (default $XBOT_RUNS_DIR or ./runs).",
)
_TIMEOUT = click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=reports.DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds a notebook may run in total before it is interrupted.",
)


@click.group()
def report() -> None:
    """Run the workbench notebooks into dated HTML reports (papermill)."""


@report.command("run")
@click.argument("notebook")
@click.option(
    "-p", "--parameter", "parameters", type=(str, str), multiple=True,
    metavar="NAME VALUE", help="A notebook parameter (JSON values parse: 12, true, 0.1).",
)  # fmt: skip
@_TIMEOUT
@_RUNS_DIR
@click.pass_obj
def run_cmd(
    app: App,
    notebook: str,
    parameters: tuple[tuple[str, str], ...],
    timeout: int,
    runs_dir: Path | None,
) -> None:
    """Run NOTEBOOK (e.g. 04_health_report, or just `health`)."""
    params = {name: reports.parse_parameter(value) for name, value in parameters}
    record = reports.run_notebook(
        app.settings, notebook, params, timeout=timeout, runs_dir=runs_dir
    )
    click.echo(f"ok {record.notebook} in {record.duration_s:.1f}s: {record.html}")
    click.echo(f"index: {reports.resolve_runs_dir(runs_dir, app.settings) / 'index.html'}")


@report.command("daily")
@click.option(
    "--slot", type=click.Choice(list(reports.DAILY)), default="all", show_default=True,
    help="The runbook's morning or evening checklist, or every notebook.",
)  # fmt: skip
@_TIMEOUT
@_RUNS_DIR
@takes_lock("report")
@click.pass_obj
def daily_cmd(app: App, slot: str, timeout: int, runs_dir: Path | None) -> None:
    """Run the daily checklist's notebooks; exit non-zero if any of them failed."""
    records = reports.run_daily(
        app.services, app.settings, slot=slot, timeout=timeout, runs_dir=runs_dir
    )
    for r in records:
        where = r.html if r.ok else f"{r.html} (cell {r.cell_index}: {r.ename}: {r.evalue})"
        click.echo(f"{r.status:6} {r.notebook:26} {r.duration_s:6.1f}s  {where}")
    click.echo(f"index: {reports.resolve_runs_dir(runs_dir, app.settings) / 'index.html'}")
    failed = [r for r in records if not r.ok]
    if failed:
        first = failed[0]
        raise ReportError(first.notebook, first.cell_index, first.ename or "", first.evalue or "")


@report.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_RUNS_DIR
@click.pass_obj
def list_cmd(app: App, limit: int, as_json: bool, runs_dir: Path | None) -> None:
    """The recorded runs, newest first."""
    runs = reports.list_runs(reports.resolve_runs_dir(runs_dir, app.settings))[:limit]
    if as_json:
        echo_json([r.to_dict() for r in runs])
        return
    rows = [
        (f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.notebook, r.status, f"{r.duration_s:.1f}s",
         str(r.html) if r.ok else f"cell {r.cell_index}: {r.ename}")
        for r in runs
    ]  # fmt: skip
    print_table(
        "runs (newest first)", ["started (UTC)", "notebook", "status", "took", "report"], rows
    )


@report.command("prune")
@click.option(
    "--keep-days", type=click.IntRange(min=1), default=None,
    help="Days of reports to keep, today included (default $XBOT_REPORT_KEEP_DAYS or 30).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_RUNS_DIR
@takes_lock("report")  # never while a report is being written into the same tree
@click.pass_obj
def prune_cmd(
    app: App, keep_days: int | None, dry_run: bool, as_json: bool, runs_dir: Path | None
) -> None:
    """Delete day folders of runs older than the last N days; rewrite runs/index.html."""
    root = reports.resolve_runs_dir(runs_dir, app.settings)
    result = reports.prune(root, keep_days or app.settings.report_keep_days, dry_run=dry_run)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(result.line())


@click.command()
@click.option(
    "--once", is_flag=True,
    help="List the timetable with each job's next fire time, then exit (runs nothing).",
)  # fmt: skip
@_TIMEOUT
@_RUNS_DIR
@click.pass_obj
def scheduler(app: App, once: bool, timeout: int, runs_dir: Path | None) -> None:
    """Run the runbook's timetable (cycles every 5 min, learning every 15, reports 09:00/18:00,
    report retention 03:30)."""
    tz = timetable.timezone_of(app.services, app.settings)
    if once:
        now = datetime.now(UTC)
        firings = timetable.fire_times(now, now + timedelta(hours=24), tz)
        rows = []
        for job in timetable.JOBS:
            mine = [at for at, j in firings if j.name == job.name]
            nxt = f"{mine[0].astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M %Z}" if mine else "-"
            rows.append((job.name, job.cron, nxt, str(len(mine)), job.command))
        print_table(
            f"timetable ({tz}); nothing was run",
            ["job", "cron", "next", "next 24h", "equivalent command"],
            rows,
        )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    runner = timetable.Runner(
        app.services, app.settings, poster=timetable.default_poster(app.services, app.settings),
        runs_dir=runs_dir, report_timeout=timeout,
    )  # fmt: skip
    sched = timetable.build_scheduler(runner)
    click.echo(f"xbot scheduler: {len(timetable.JOBS)} jobs in {tz}; Ctrl-C stops it", err=True)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        sched.shutdown(wait=False)
