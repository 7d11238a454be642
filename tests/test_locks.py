"""RedisLock: one owner at a time, only the owner releases, a dead local owner is broken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from xbot.errors import LockBusy
from xbot.locks import RedisLock
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
