"""Lease locks in Redis: only one process at a time runs a given operation.

Only one scheduler posts at a time, and no timetable operation (a scheduling cycle, a learning
cycle, a candidates refresh, the daily reports) ever runs twice at once, whether it was started
by ``xbot scheduler``, by cron or by hand: each takes the same :class:`RedisLock` through
:func:`hold`. A lock is an owner token plus a lease, released and extended only by its owner
through compare-and-delete / compare-and-pexpire Lua scripts; :func:`hold` keeps the lease
alive from a background thread for as long as the work runs, so a long report keeps its lock
and a crashed host loses it within one lease.

The token says who holds the lock (``host/pid/uuid/since/command``), so a process that finds
the lock taken can name the holder in its error (exit 7).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from xbot.clock import as_utc
from xbot.errors import LockBusy
from xbot.services import Services

log = logging.getLogger("xbot.locks")

# The timetable's operations. Each takes the lock ``timetable:<operation>`` whoever starts it
# (xbot scheduler, cron, a person); a timetable job takes the locks of every operation it runs.
TIMETABLE_OPERATIONS = ("schedule", "learn", "refresh", "report")
# How long a lease lasts without renewal: what a crashed holder on another host costs at most.
DEFAULT_LEASE_S = 120.0
_POLL_S = 0.2
_COMMAND_MAX = 120

_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_EXTEND = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


def operation_lock(operation: str) -> str:
    """The lock name of a timetable operation (see :data:`TIMETABLE_OPERATIONS`)."""
    return f"timetable:{operation}"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, parsed from its token (older tokens carry only host and pid)."""

    host: str
    pid: int | None
    since: datetime | None
    command: str | None

    @classmethod
    def parse(cls, token: str) -> Holder:
        parts = token.split("/", 4)
        host = parts[0]
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        since = None
        if len(parts) > 3:
            try:
                since = datetime.fromisoformat(parts[3])
            except ValueError:
                since = None
        command = parts[4] if len(parts) > 4 and parts[4] else None
        return cls(host, pid, since, command)

    def describe(self, now: datetime | None = None) -> str:
        """``'xbot learn run' (pid 4242 on web-1) since 2026-12-01 09:00:00 UTC (12s ago)``."""
        what = repr(self.command) if self.command else "a process"
        text = f"{what} (pid {self.pid if self.pid is not None else '?'} on {self.host})"
        if self.since is not None:
            ago = (as_utc(now) - self.since).total_seconds()
            text += f" since {self.since:%Y-%m-%d %H:%M:%S} UTC ({max(ago, 0):.0f}s ago)"
        return text


def _owner_alive(owner: str) -> bool:
    """False only when ``owner`` is a process on this host that no longer exists."""
    holder = Holder.parse(owner)
    if holder.host != socket.gethostname() or holder.pid is None:
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RedisLock:
    """A lease lock: ``SET key token NX PX lease``; released/extended only by its owner.

    The token is ``host/pid/uuid/since/command``. A lock whose owner is a dead process on this
    host is broken at once (compare-and-delete on that exact token) instead of waiting out the
    lease, so a scheduler restarted after a crash does not lose a slot; owners on other hosts
    are trusted until their lease expires.
    """

    def __init__(
        self,
        services: Services,
        name: str,
        lease_s: float = DEFAULT_LEASE_S,
        *,
        command: str | None = None,
    ) -> None:
        self._redis = services.redis
        self.key = services.keys.lock(name)
        self.name = name
        self.lease_ms = int(lease_s * 1000)
        self.command = " ".join((command or "").split())[:_COMMAND_MAX]
        self.token = self._new_token()
        self.held = False

    def _new_token(self) -> str:
        since = datetime.now(UTC).isoformat(timespec="seconds")
        return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex}/{since}/{self.command}"

    def acquire(self) -> bool:
        self.token = self._new_token()  # "since" is when this acquisition happened
        if self._redis.set(self.key, self.token, nx=True, px=self.lease_ms):
            self.held = True
            return True
        owner = self._redis.get(self.key)
        if owner and not _owner_alive(owner) and self._redis.eval(_RELEASE, 1, self.key, owner):
            log.warning("broke lock %s of dead owner %s", self.name, owner)
            self.held = bool(self._redis.set(self.key, self.token, nx=True, px=self.lease_ms))
        return self.held

    def extend(self) -> bool:
        """Renew the lease; False means we lost the lock and must not act on it."""
        self.held = bool(self._redis.eval(_EXTEND, 1, self.key, self.token, self.lease_ms))
        return self.held

    def release(self) -> bool:
        released = bool(self._redis.eval(_RELEASE, 1, self.key, self.token))
        self.held = False
        return released

    def owner(self) -> str | None:
        return self._redis.get(self.key)

    def holder(self) -> str:
        """Who holds the lock now, for a message ("nobody" if it was just released)."""
        owner = self.owner()
        return Holder.parse(owner).describe() if owner else "nobody (released just now)"

    def __enter__(self) -> RedisLock:
        if not self.acquire():
            raise LockBusy(self.name, self.holder())
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _acquire_within(lock: RedisLock, deadline: float) -> None:
    while not lock.acquire():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockBusy(lock.name, lock.holder())
        time.sleep(min(_POLL_S, left))


@contextmanager
def _keepalive(locks: list[RedisLock], lease_s: float) -> Iterator[None]:
    """Renew every lease each third of a lease while the caller works."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_s / 3):
            for lock in locks:
                if not lock.extend():
                    log.error("lost lock %s (lease expired while working)", lock.name)

    thread = threading.Thread(target=renew, name="xbot-lock-keepalive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def hold(
    services: Services,
    operations: Iterable[str],
    *,
    command: str,
    wait_s: float = 0.0,
    lease_s: float = DEFAULT_LEASE_S,
) -> Iterator[list[RedisLock]]:
    """Hold the lock of every operation in ``operations`` (see :func:`operation_lock`).

    Waits up to ``wait_s`` seconds in all, then raises :class:`LockBusy` naming the holder
    (host, pid, command, since); what was already taken is released. Locks are taken in name
    order, so two callers needing overlapping sets cannot deadlock. ``command`` is recorded in
    the token for other processes' messages: pass the command line without secrets.
    """
    names = sorted({operation_lock(op) for op in operations})
    deadline = time.monotonic() + wait_s
    taken: list[RedisLock] = []
    try:
        for name in names:
            lock = RedisLock(services, name, lease_s, command=command)
            _acquire_within(lock, deadline)
            taken.append(lock)
        with _keepalive(taken, lease_s):
            yield taken
    finally:
        for lock in reversed(taken):
            lock.release()
