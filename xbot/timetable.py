"""The runbook's timetable: what runs when, with one Redis lock per job.

| job      | when (in the ``timezone`` flag)  | what                                        |
|----------|----------------------------------|---------------------------------------------|
| schedule | every 5 minutes                  | one scheduling cycle (post or shadow)       |
| learn    | every 15 minutes                 | one learning cycle (needs an X metrics read) |
| morning  | 09:00                            | candidates refresh + morning reports        |
| evening  | 18:00                            | candidates refresh + evening reports        |
| prune    | 03:30                            | delete reports older than XBOT_REPORT_KEEP_DAYS |

Every trigger is a cron expression, so the fire times are the same whether APScheduler runs
them (``xbot scheduler``) or cron does (the lines in docs/reports.md), and a test can compute a
whole day's fire times and run them in order with the fire time as ``now``: a fast clock that
is still the real code. A job that finds its lock held (the previous run is still going, or
cron and ``xbot scheduler`` both run) is skipped and says so; it never runs twice at once.

The locks are per operation (:data:`xbot.locks.TIMETABLE_OPERATIONS`), and the CLI commands
behind each job (``xbot schedule run``, ``xbot learn run``, ``xbot candidates refresh``,
``xbot report daily``, ``xbot job NAME``) take the same locks when cron or a person runs them:
they wait ``--wait`` seconds for a busy lock, then exit 7 naming the holder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from xbot import reports
from xbot.errors import LockBusy, PosterError, ValidationError, XbotError
from xbot.flags import load_flags
from xbot.locks import hold
from xbot.poster import Poster, metrics_source
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_client import XPoster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One line of the timetable: a cron expression, a lock lease and what to run.

    ``operations`` are the timetable operations the job runs (default: its name); it holds
    their locks (``timetable:<operation>``) while it runs, the same locks that the CLI
    commands of those operations take.
    """

    name: str
    cron: str  # minute hour day month day-of-week, as in crontab
    lease_s: float
    command: str  # the equivalent CLI command (for cron and for the docs)
    run: Callable[[Runner, datetime | None], str]
    operations: tuple[str, ...] = ()

    @property
    def locks(self) -> tuple[str, ...]:
        return self.operations or (self.name,)

    def trigger(self, timezone: str) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=ZoneInfo(timezone))


@dataclass(frozen=True)
class JobRun:
    """What one firing did: ``ok``, ``skipped`` (lock held / nothing to do) or ``failed``.

    ``started_at``/``finished_at`` (wall clock, UTC) bound the work done under the locks;
    None when the job never got them.
    """

    job: str
    at: datetime | None
    status: str
    detail: str
    seconds: float
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "at": self.at.isoformat() if self.at else None,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


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
        summary += f"{len(records)} reports in {reports.resolve_runs_dir(r.runs_dir, r.settings)}"
        if failed:
            raise XbotError(summary + "; failed: " + ", ".join(failed))
        return summary

    return run


def _prune(r: Runner, now: datetime | None) -> str:
    today = None if now is None else now.astimezone(UTC).date()  # day folders are UTC dates
    root = reports.resolve_runs_dir(r.runs_dir, r.settings)
    return reports.prune(root, r.settings.report_keep_days, today=today).line()


JOBS: tuple[Job, ...] = (
    Job("schedule", "*/5 * * * *", 120, "xbot schedule run", _schedule),
    Job("learn", "*/15 * * * *", 600, "xbot learn run", _learn),
    Job("morning", "0 9 * * *", 3600,
        "xbot candidates refresh && xbot report daily --slot morning", _checklist("morning"),
        ("refresh", "report")),
    Job("evening", "0 18 * * *", 3600,
        "xbot candidates refresh && xbot report daily --slot evening", _checklist("evening"),
        ("refresh", "report")),
    Job("prune", "30 3 * * *", 600, "xbot report prune", _prune, ("report",)),
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


def job_named(name: str) -> Job:
    """The timetable job called ``name``; a ValidationError lists the jobs there are."""
    for job in JOBS:
        if job.name == name:
            return job
    raise ValidationError("job", name, "one of " + ", ".join(j.name for j in JOBS))


def execute(
    runner: Runner,
    job: Job,
    now: datetime | None = None,
    *,
    wait_s: float = 0.0,
    command: str | None = None,
) -> JobRun:
    """Run ``job`` once under its locks, waiting up to ``wait_s`` for them.

    Raises :class:`LockBusy` (naming the holder) when the locks stay busy, and whatever the
    job raises. ``command`` is what other processes see as the holder.
    """
    started = time.monotonic()
    who = command or f"xbot scheduler (job {job.name})"
    with hold(runner.services, job.locks, command=who, wait_s=wait_s, lease_s=job.lease_s):
        started_at = datetime.now(UTC)
        detail = job.run(runner, now)
        finished_at = datetime.now(UTC)
    status = "skipped" if detail.startswith("skipped") else "ok"
    return JobRun(
        job.name, now, status, detail, time.monotonic() - started, started_at, finished_at
    )


def run_job(runner: Runner, job: Job, now: datetime | None = None) -> JobRun:
    """Run ``job`` once under its locks; never raises (the result says what happened)."""
    started = time.monotonic()
    try:
        return execute(runner, job, now)
    except LockBusy as exc:
        detail = f"skipped: lock held by {exc.context.get('owner')}"
        return JobRun(job.name, now, "skipped", detail, time.monotonic() - started)
    except Exception as exc:  # a scheduler must outlive one bad run; the result records it
        log.exception("job %s failed", job.name)
        detail = f"{type(exc).__name__}: {exc}"
        return JobRun(job.name, now, "failed", detail, time.monotonic() - started)


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
    log.log(
        level, "%s %s (%.1fs): %s", job.name, result.status, result.seconds, result.detail,
        extra={"job_run": result},
    )  # fmt: skip


def describe(jobs: tuple[Job, ...] = JOBS) -> list[dict[str, Any]]:
    return [{"job": j.name, "cron": j.cron, "command": j.command} for j in jobs]
