"""``xbot schedule``: one cycle that can never post (``test``), real cycles (``run``), and
``resume`` after X refused our credentials or answered 402. Runbook: ``npm run schedule:test``."""

from __future__ import annotations

import re
import signal
import threading
from types import FrameType

import click
import redis as redis_lib

from xbot.cli import App
from xbot.cli.locking import operation_lock, wait_option
from xbot.cli.output import echo_json
from xbot.errors import XbotError
from xbot.poster import Poster
from xbot.poster_state import clear_poster_state, poster_state
from xbot.scheduler import DecisionRecord, record_redis_refusal, run_cycle
from xbot.x_client import XPoster

_DURATION = re.compile(r"^(\d+)([smh]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_every(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """'30s', '5m', '1h' or plain seconds; at least 10 seconds, at most a day."""
    match = _DURATION.match(value.strip())
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)] if match else 0
    if not 10 <= seconds <= 86_400:
        raise click.BadParameter(f"{value!r}: use e.g. 30s, 5m or 1h (10 s to 24 h)")
    return float(seconds)


def _show(record: DecisionRecord, as_json: bool) -> None:
    if as_json:
        echo_json(record.to_dict())
    else:
        click.echo(record.line())


@click.group()
def schedule() -> None:
    """Scheduling cycles: gates, engine pick, safety guard, post or shadow."""


@schedule.command("test")
@click.option("--json", "as_json", is_flag=True, help="Print the decision row as JSON.")
@click.pass_obj
def test_cycle(app: App, as_json: bool) -> None:
    """One dry-run cycle that can never post, whatever LIVE_POSTS and the flags say.

    It passes the same gates and shows the engine's pick and the guard's verdict; the pick is
    returned to the queue and the cycle does not count as a posting slot.
    """
    _show(run_cycle(app.services, app.settings, poster=None, never_post=True), as_json)


@schedule.command("run")
@click.option("--loop", is_flag=True, help="Keep running a cycle every --every until stopped.")
@click.option("--every", default="5m", show_default=True, callback=parse_every,
              help="Time between cycles with --loop (30s, 5m, 1h).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print decision rows as JSON.")
@wait_option()
@click.pass_obj
def run(app: App, loop: bool, every: float, as_json: bool, wait_s: float) -> None:
    """Run real cycles: posts to X when LIVE_POSTS=true and the post_fraction coin says so.

    With --loop, SIGINT/SIGTERM stop it cleanly between cycles (a cycle in progress finishes,
    so no post is left half-recorded). In a loop an xbot error is reported and the next cycle
    still runs; a single cycle exits with the error's code. Each cycle holds the timetable's
    schedule lock (the one ``xbot scheduler`` takes), waiting up to --wait seconds for it.
    """
    poster: Poster | None = XPoster(app.settings, app.services) if app.settings.live_posts else None

    def cycle() -> None:
        started = False
        try:
            with operation_lock(app, "schedule", wait_s=wait_s):
                started = True
                record = run_cycle(app.services, app.settings, poster=poster)
        except redis_lib.RedisError as exc:  # the lock itself: Redis down, OOM, read-only
            if started:
                raise
            raise record_redis_refusal(app.services, app.settings, exc) from exc
        _show(record, as_json)

    if not loop:
        cycle()
        return
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.is_set():
            try:
                cycle()
            except XbotError as exc:
                click.echo(f"error: {exc}", err=True)
            stop.wait(every)
        click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@schedule.command("resume")
@click.pass_obj
def resume(app: App) -> None:
    """Allow posting again after X refused our credentials or ran out of credits (402).

    Fix the credentials or top up the credits first: the next cycle calls X again.
    """
    state = poster_state(app.services)
    if clear_poster_state(app.services):
        click.echo(f"posting resumed (was {state.get('state')}: {state.get('reason', '')})")
    else:
        click.echo("posting was not stopped")
