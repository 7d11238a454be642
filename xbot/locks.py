"""Lease locks in Redis: only one process runs a given job (the scheduler, a timetable job).

Only one scheduler posts at a time, and the timetable's jobs never run twice at once, through
:class:`RedisLock`: an owner token plus a lease, released and extended only by its owner through
compare-and-delete / compare-and-pexpire Lua scripts.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from xbot.errors import LockBusy
from xbot.services import Services

log = logging.getLogger("xbot.locks")

_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_EXTEND = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


def _owner_alive(owner: str) -> bool:
    """False only when ``owner`` is a process on this host that no longer exists."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RedisLock:
    """A lease lock: ``SET key token NX PX lease``; released/extended only by its owner.

    The token is ``host/pid/uuid``. A lock whose owner is a dead process on this host is
    broken at once (compare-and-delete on that exact token) instead of waiting out the lease,
    so a scheduler restarted after a crash does not lose a slot; owners on other hosts are
    trusted until their lease expires.
    """

    def __init__(self, services: Services, name: str, lease_s: float = 120.0) -> None:
        self._redis = services.redis
        self.key = services.keys.lock(name)
        self.name = name
        self.lease_ms = int(lease_s * 1000)
        self.token = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex}"
        self.held = False

    def acquire(self) -> bool:
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

    def __enter__(self) -> RedisLock:
        if not self.acquire():
            raise LockBusy(self.name, self.owner())
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
