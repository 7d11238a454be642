"""RedisLock: one owner at a time, only the owner releases, a dead local owner is broken."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from xbot.errors import LockBusy
from xbot.locks import Holder, RedisLock, hold
from xbot.services import Services


def test_lock_is_exclusive_and_only_its_owner_releases(services: Services) -> None:
    first = RedisLock(services, "scheduler", lease_s=5)
    second = RedisLock(services, "scheduler", lease_s=5)
    assert first.acquire()
    assert not second.acquire()
    assert not second.release()  # not the owner: the lock stays
    assert first.owner() == first.token
    with pytest.raises(LockBusy), second:
        pass
    assert first.extend()
    assert first.release()
    assert second.acquire() and second.release()
    assert not first.extend()


def test_lock_of_a_dead_process_is_broken(services: Services) -> None:
    key = services.keys.lock("scheduler")
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    dead_pid = int(proc.stdout)
    host = socket.gethostname()
    services.redis.set(key, f"{host}/{dead_pid}/abc", px=60_000)
    lock = RedisLock(services, "scheduler")
    assert lock.acquire() and lock.owner() == lock.token
    lock.release()
    services.redis.set(key, f"{host}/{os.getpid()}/live", px=60_000)
    assert not RedisLock(services, "scheduler").acquire()
    services.redis.set(key, f"other-host/{dead_pid}/abc", px=60_000)
    assert not RedisLock(services, "scheduler").acquire()


def test_the_token_names_host_pid_command_and_since(services: Services) -> None:
    lock = RedisLock(services, "timetable:learn", command="xbot learn run")
    assert lock.acquire()
    try:
        holder = Holder.parse(lock.owner() or "")
        assert (holder.host, holder.pid, holder.command) == (
            socket.gethostname(), os.getpid(), "xbot learn run",
        )  # fmt: skip
        assert (
            holder.since is not None and abs((datetime.now(UTC) - holder.since).total_seconds()) < 5
        )
        with pytest.raises(LockBusy) as busy, RedisLock(services, "timetable:learn"):
            pass
        message = str(busy.value)
        assert "'xbot learn run'" in message and f"pid {os.getpid()}" in message
        assert socket.gethostname() in message and " since " in message and "UTC" in message
    finally:
        lock.release()
    # a token from before this format (host/pid/uuid) still parses
    assert Holder.parse("web-1/42/abc").describe() == "a process (pid 42 on web-1)"


def test_hold_waits_a_bounded_time_then_names_the_holder(services: Services) -> None:
    other = RedisLock(services, "timetable:report", command="xbot report daily")
    assert other.acquire()
    try:
        started = time.monotonic()
        with (
            pytest.raises(LockBusy, match="xbot report daily"),
            hold(services, ["refresh", "report"], command="test", wait_s=0.6),
        ):
            pass
        assert 0.5 < time.monotonic() - started < 5
        # what was taken before the busy lock was released again
        assert services.redis.get(services.keys.lock("timetable:refresh")) is None
    finally:
        other.release()
    with hold(services, ["report"], command="test") as held:
        assert [lock.name for lock in held] == ["timetable:report"]
        assert held[0].owner() == held[0].token
    assert services.redis.get(services.keys.lock("timetable:report")) is None


def test_hold_renews_the_lease_while_the_work_runs(services: Services) -> None:
    with hold(services, ["learn"], command="slow work", lease_s=0.6) as (lock,):
        time.sleep(1.5)  # more than two leases
        assert lock.owner() == lock.token
    assert lock.owner() is None


def test_a_command_run_by_hand_waits_for_the_schedulers_lock_or_exits_7(
    services: Services, xbot_process, env_vars: dict[str, str]
) -> None:
    scheduler = RedisLock(services, "timetable:refresh", command="xbot scheduler (job morning)")
    assert scheduler.acquire()
    try:
        busy = xbot_process("candidates", "refresh", "--wait", "0")
        assert busy.returncode == 7, busy.stderr
        assert "lock 'timetable:refresh' is held by 'xbot scheduler (job morning)'" in busy.stderr
        assert (
            f"pid {os.getpid()} on {socket.gethostname()}" in busy.stderr and "since" in busy.stderr
        )
        with services.engine.connect() as conn:  # nothing ran
            assert conn.execute(sa.text("select count(*) from candidates")).scalar() == 0
        # released while the command waits: it runs
        waiting = subprocess.Popen(
            [sys.executable, "-m", "xbot", "candidates", "refresh", "--wait", "60", "--json"],
            env={**os.environ, **env_vars}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting for the lock
    finally:
        scheduler.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert json.loads(out)["accepted"] > 0
