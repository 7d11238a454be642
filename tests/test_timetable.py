"""The timetable: a day's fire times from the cron triggers, run in order on a fast clock."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from xbot import flags, reports, timetable
from xbot.locks import RedisLock


def _day(tz: str, y: int, m: int, d: int) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, in UTC (23 or 25 hours on DST days)."""
    zone = ZoneInfo(tz)
    day = date(y, m, d)
    start = datetime.combine(day, clock_time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), clock_time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def test_a_day_of_fire_times_in_the_flag_timezone():
    start, end = _day("Europe/Berlin", 2026, 11, 30)
    firings = timetable.fire_times(start, end, "Europe/Berlin")
    counts = Counter(job.name for _, job in firings)
    assert counts == {"schedule": 288, "learn": 96, "morning": 1, "evening": 1, "prune": 1}
    local = {job.name: at.astimezone(ZoneInfo("Europe/Berlin")) for at, job in firings}
    assert (local["morning"].hour, local["morning"].minute) == (9, 0)
    assert (local["prune"].hour, local["prune"].minute) == (3, 30)
    assert (local["evening"].hour, local["evening"].minute) == (18, 0)
    assert [at for at, _ in firings] == sorted(at for at, _ in firings)
    # jobs that fire together run in table order: the cycle before learning before reports
    at_nine = [job.name for at, job in firings if at == local["morning"]]
    assert at_nine == ["schedule", "learn", "morning"]


def test_dst_day_has_23_hours_of_cycles():
    start, end = _day("Europe/Berlin", 2026, 3, 29)
    counts = Counter(job.name for _, job in timetable.fire_times(start, end, "Europe/Berlin"))
    assert counts["schedule"] == 23 * 12 and counts["learn"] == 23 * 4
    assert counts["morning"] == counts["evening"] == 1


def test_a_held_lock_skips_the_job_instead_of_running_it_twice(services, settings):
    runner = timetable.Runner(services, settings)
    job = next(j for j in timetable.JOBS if j.name == "schedule")
    other = RedisLock(services, "timetable:schedule", 60)
    assert other.acquire()
    try:
        result = timetable.run_job(runner, job, datetime(2026, 11, 30, 12, tzinfo=UTC))
    finally:
        other.release()
    assert result.status == "skipped" and "lock held" in result.detail
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decisions")).scalar() == 0


@pytest.mark.slow
def test_the_timetable_runs_a_whole_day_on_a_fast_clock(services, settings, tmp_path):
    with services.engine.begin() as conn:
        flags.set_flag(conn, settings.environment, "timezone", "Europe/Berlin", actor="test")
        flags.set_flag(conn, settings.environment, "post_interval_min", 60, actor="test")
    runs = tmp_path / "runs"
    runner = timetable.Runner(services, settings, runs_dir=runs, report_timeout=300)
    start, end = _day("Europe/Berlin", 2026, 11, 24)

    results = timetable.simulate(runner, start, end)

    by_job = Counter(r.job for r in results)
    assert by_job == {"schedule": 288, "learn": 96, "morning": 1, "evening": 1, "prune": 1}
    failed = [r for r in results if r.status == "failed"]
    assert failed == []
    # shadow-only, no X credentials, no demo world: learning has nothing to read, says so
    assert all(r.detail.startswith("skipped: no metrics") for r in results if r.job == "learn")
    with services.engine.connect() as conn:
        rows = conn.execute(sa.text("select ts, outcome, reason from decisions order by ts")).all()
    assert len(rows) == 288  # one decision row per cycle, stamped with the fast clock
    assert rows[0].ts == start and rows[-1].ts < end
    outcomes = Counter(r.reason for r in rows)
    assert outcomes["quiet_hours"] == 4 * 12  # quiet hours 2-5 local
    assert Counter(r.outcome for r in rows)["shadow"] >= 15  # a slot an hour outside quiet hours
    recorded = reports.list_runs(runs)
    assert sorted(r.notebook for r in recorded) == sorted(
        reports.DAILY["morning"] + reports.DAILY["evening"]
    )
    assert all(r.ok and r.parameters["run_date"] == "2026-11-24" for r in recorded)


@pytest.mark.parametrize("job", timetable.JOBS, ids=lambda j: j.name)
def test_every_job_has_a_cron_line_and_command(job):
    assert len(job.cron.split()) == 5 and job.command.startswith("xbot ")


def _intervals(runs: list[dict]) -> list[tuple[datetime, datetime, str]]:
    return sorted(
        (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"]), who)
        for r, who in runs
        if r["started_at"] is not None
    )


@pytest.mark.slow
def test_cron_lines_and_the_scheduler_never_run_a_cycle_at_once(
    services, settings, env_vars, caplog
):
    """Real cron-style processes (`xbot job schedule`, `xbot schedule run`) started together
    while `xbot scheduler`'s APScheduler fires the same job again and again in this process."""
    caplog.set_level(logging.INFO, logger="xbot.timetable")
    job = timetable.job_named("schedule")
    runner = timetable.Runner(services, settings)
    sched = timetable.build_scheduler(runner, jobs=(job,))
    thread = threading.Thread(target=sched.start, daemon=True)
    thread.start()
    env = {**os.environ, **env_vars}
    lines = [("job", "schedule")] * 2 + [("schedule", "run")]
    cron = [
        subprocess.Popen(
            [sys.executable, "-m", "xbot", *line, "--wait", "120", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in lines
    ]
    try:
        while any(p.poll() is None for p in cron):
            sched.modify_job("schedule", next_run_time=datetime.now(UTC))  # fire now, again
            time.sleep(0.4)
        outputs = [p.communicate() for p in cron]
    finally:
        sched.shutdown(wait=True)
        thread.join(timeout=30)
    for p, (_, err) in zip(cron, outputs, strict=True):
        assert p.returncode == 0, err
    scheduled = [r.job_run.to_dict() for r in caplog.records if hasattr(r, "job_run")]
    ran = [r for r in scheduled if r["started_at"]]
    assert ran, "the scheduler ran the job at least once"
    runs = [(json.loads(out), "cron job") for out, _ in outputs[:2]]
    runs += [(r, "scheduler") for r in ran]
    spans = _intervals(runs)
    for (_, end, who), (start, _, next_who) in itertools.pairwise(spans):
        assert start >= end, f"{who} and {next_who} overlapped"
    with services.engine.connect() as conn:
        reasons = Counter(
            r.reason for r in conn.execute(sa.text("select reason from decisions")).all()
        )
    # every cycle ran whole: none was turned away by the cycle's own lock ("locked")
    assert reasons["locked"] == 0
    assert sum(reasons.values()) == len(ran) + len(cron)


@pytest.mark.parametrize("doc", ["README.md", "docs/reports.md"])
def test_the_documented_crontab_runs_every_job_and_logs_each_line_whole(doc):
    text = (Path(__file__).resolve().parents[1] / doc).read_text(encoding="utf-8")
    block = text.split("```cron\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("CRON_TZ=") and "#" not in lines[0]  # crontab allows no comment
    entries = {}
    for line in lines[1:]:
        fields = line.split(maxsplit=5)
        command = fields[5]
        assert command.startswith("{ ") and "; } >> " in command and command.endswith(" 2>&1")
        assert command.count("bin/xbot ") == 1  # one command per line: nothing unlogged in a chain
        entries[command.split("xbot job ", 1)[1].split(";")[0]] = " ".join(fields[:5])
    assert entries == {job.name: job.cron for job in timetable.JOBS}


def test_xbot_job_runs_a_job_names_a_busy_holder_and_refuses_unknown_jobs(services, xbot):
    unknown = xbot("job", "nope")
    assert unknown.exit_code == 2 and "schedule, learn, morning, evening" in unknown.stderr
    ran = xbot("job", "learn", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "skipped"  # no metrics source: says so, exit 0
    holder = RedisLock(services, "timetable:learn", command="xbot scheduler (job learn)")
    assert holder.acquire()
    try:
        busy = xbot("job", "learn")
    finally:
        holder.release()
    assert busy.exit_code == 7
    assert "'timetable:learn' is held by 'xbot scheduler (job learn)'" in busy.stderr
