"""``xbot job NAME``: one timetable job, exactly as ``xbot scheduler`` runs it (for cron).

One crontab line per job (README, docs/reports.md) runs the same code under the same locks as
the scheduler, so cron and ``xbot scheduler`` can never run an operation twice at once.
"""

from __future__ import annotations

import logging

import click

from xbot.cli import App
from xbot.cli.locking import wait_option
from xbot.cli.output import echo_json
from xbot.errors import XbotError

log = logging.getLogger("xbot.timetable")


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@wait_option(default=0.0)
@click.pass_obj
def job(app: App, name: str, as_json: bool, wait_s: float) -> None:
    """Run one timetable job NAME now under its locks (the crontab's command).

    NAME is a job of `xbot scheduler --once` (schedule, learn, morning, evening).

    With the default --wait 0 a job whose lock is held (the scheduler or another cron line is
    running it) exits 7 at once naming the holder, as the scheduler skips it; a job that fails
    exits 1.
    """
    from xbot import timetable

    runner = timetable.Runner(
        app.services, app.settings, poster=timetable.default_poster(app.services, app.settings)
    )
    command = click.get_current_context().command_path + f" {name}"
    try:
        result = timetable.execute(
            runner, timetable.job_named(name), wait_s=wait_s, command=command
        )
    except XbotError:
        raise
    except Exception as exc:  # the cron log gets the traceback, the exit code says "failed"
        log.exception("job %s failed", name)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise XbotError(f"job {name} failed: {type(exc).__name__}: {first_line}") from exc
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(f"{result.job} {result.status} ({result.seconds:.1f}s): {result.detail}")
