"""The runbook's timetable: what runs when, with one Redis lock per job.

| job      | when (in the ``timezone`` flag)  | what                                        |
|----------|----------------------------------|---------------------------------------------|
| schedule | every 5 minutes                  | one scheduling cycle (post or shadow)       |
| learn    | every 15 minutes                 | one learning cycle (needs an X metrics read) |
| morning  | 09:00                            | candidates refresh + morning reports        |
| evening  | 18:00                            | candidates refresh + evening reports        |

Every trigger is a cron expression, so the fire times are the same whether APScheduler runs
them (``xbot scheduler``) or cron does (the lines in docs/reports.md), and a test can compute a
whole day's fire times and run them in order with the fire time as ``now``: a fast clock that
is still the real code. A job that finds its lock held (the previous run is still going, or
cron and ``xbot scheduler`` both run) is skipped and says so; it never runs twice at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from xbot import reports
from xbot.errors import PosterError, XbotError
from xbot.flags import load_flags
from xbot.poster import Poster, RedisLock, metrics_source
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_client import XPoster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One line of the timetable: a cron expression, a lock lease and what to run."""

    name: str
    cron: str  # minute hour day month day-of-week, as in crontab
    lease_s: float
    command: str  # the equivalent CLI command (for cron and for the docs)
    run: Callable[[Runner, datetime | None], str]

    def trigger(self, timezone: str) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=ZoneInfo(timezone))


@dataclass(frozen=True)
class JobRun:
    """What one firing did: ``ok``, ``skipped`` (lock held / nothing to do) or ``failed``."""

    job: str
    at: datetime | None
    status: str
    detail: str
    seconds: float


@dataclass
class Runner:
    """What the jobs run against. ``poster`` posts and reads metrics (None: shadow only)."""

    services: Services
    settings: Settings
    poster: Poster | None = None
    runs_dir: Path | None = None
    report_timeout: int = reports.DEFAULT_TIMEOUT_S


def _schedule(r: Runner, now: datetime | None) -> str:
    from xbot.scheduler import run_cycle

    return run_cycle(r.services, r.settings, poster=r.poster, now=now).line()


def _learn(r: Runner, now: datetime | None) -> str:
    from xbot.learning import run_learning_cycle

    try:
        source, _ = metrics_source(r.services, r.settings, timezone_of(r.services, r.settings))
    except PosterError as exc:  # shadow-only staging: nothing posted, nothing to read
        return f"skipped: {exc}"
    report = run_learning_cycle(r.services, r.settings.environment, source, now=now)
    return f"processed {report.tweets_processed} posts, {report.bandit_updates} bandit updates"


def _checklist(slot: str) -> Callable[[Runner, datetime | None], str]:
    def run(r: Runner, now: datetime | None) -> str:
        from xbot.candidates.pipeline import refresh

        fresh = refresh(r.services, r.settings.environment, now=now).to_dict()
        records = reports.run_daily(
            r.services, r.settings, slot=slot, timeout=r.report_timeout, runs_dir=r.runs_dir,
            now=now,
        )  # fmt: skip
        failed = [f"{x.notebook} ({x.ename})" for x in records if not x.ok]
        summary = f"refresh accepted {fresh['accepted']}, queue {fresh['queue_depth']}; "
        summary += f"{len(records)} reports in {reports.resolve_runs_dir(r.runs_dir)}"
        if failed:
            raise XbotError(summary + "; failed: " + ", ".join(failed))
        return summary

    return run


JOBS: tuple[Job, ...] = (
    Job("schedule", "*/5 * * * *", 120, "xbot schedule run", _schedule),
    Job("learn", "*/15 * * * *", 600, "xbot learn run", _learn),
    Job("morning", "0 9 * * *", 3600,
        "xbot candidates refresh && xbot report daily --slot morning", _checklist("morning")),
    Job("evening", "0 18 * * *", 3600,
        "xbot candidates refresh && xbot report daily --slot evening", _checklist("evening")),
)  # fmt: skip


def timezone_of(services: Services, settings: Settings) -> str:
    """The ``timezone`` flag: quiet hours, hour arms and this timetable share one clock."""
    with services.engine.connect() as conn:
        return load_flags(conn, settings.environment).timezone


def default_poster(services: Services, settings: Settings) -> Poster | None:
    """X when LIVE_POSTS=true or a bearer token allows metrics reads; else None (shadow)."""
    if settings.has_user_context or settings.x_bearer_token:
        return XPoster(settings, services)
    return None


def run_job(runner: Runner, job: Job, now: datetime | None = None) -> JobRun:
    """Run ``job`` once under its lock; never raises (the result says what happened)."""
    started = time.monotonic()
    lock = RedisLock(runner.services, f"timetable:{job.name}", job.lease_s)
    if not lock.acquire():
        detail = f"skipped: lock held by {lock.owner()}"
        return JobRun(job.name, now, "skipped", detail, time.monotonic() - started)
    try:
        detail = job.run(runner, now)
        status = "skipped" if detail.startswith("skipped") else "ok"
    except Exception as exc:  # a scheduler must outlive one bad run; the result records it
        log.exception("job %s failed", job.name)
        status, detail = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        lock.release()
    return JobRun(job.name, now, status, detail, time.monotonic() - started)


def fire_times(
    start: datetime, end: datetime, timezone: str, jobs: tuple[Job, ...] = JOBS
) -> list[tuple[datetime, Job]]:
    """Every firing in ``[start, end)`` in time order (jobs firing together in table order)."""
    firings: list[tuple[datetime, int, Job]] = []
    for order, job in enumerate(jobs):
        trigger = job.trigger(timezone)
        at = trigger.get_next_fire_time(None, start)
        while at is not None and at < end:
            firings.append((at, order, job))
            at = trigger.get_next_fire_time(at, at + timedelta(seconds=1))
    firings.sort(key=lambda f: (f[0], f[1]))
    return [(at, job) for at, _, job in firings]


def simulate(
    runner: Runner, start: datetime, end: datetime, *, jobs: tuple[Job, ...] = JOBS
) -> list[JobRun]:
    """Run every firing between ``start`` and ``end`` in order, with its fire time as ``now``."""
    tz = timezone_of(runner.services, runner.settings)
    return [run_job(runner, job, at) for at, job in fire_times(start, end, tz, jobs)]


def build_scheduler(runner: Runner, jobs: tuple[Job, ...] = JOBS) -> BlockingScheduler:
    """A BlockingScheduler with the timetable; each job runs on the real clock (now=None).

    ``coalesce`` and ``max_instances=1`` keep a slow run from piling up firings in this
    process; the Redis lock keeps other processes (cron, a second scheduler) out.
    """
    tz = timezone_of(runner.services, runner.settings)
    scheduler = BlockingScheduler(timezone=ZoneInfo(tz))
    for job in jobs:
        scheduler.add_job(
            _log_run,
            job.trigger(tz),
            args=(runner, job),
            id=job.name,
            name=job.command,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60,
        )
    return scheduler


def _log_run(runner: Runner, job: Job) -> None:
    result = run_job(runner, job)
    level = logging.ERROR if result.status == "failed" else logging.INFO
    log.log(level, "%s %s (%.1fs): %s", job.name, result.status, result.seconds, result.detail)


def describe(jobs: tuple[Job, ...] = JOBS) -> list[dict[str, Any]]:
    return [{"job": j.name, "cron": j.cron, "command": j.command} for j in jobs]
