"""Fault injection at the Redis driver: real connections that break on the command you choose.

Same mechanism as ``benchmarks/bench_refresh.py``'s counting connection: a ``redis.Connection``
subclass given to the real client through its pool, so everything above it (xbot's queue,
scheduler, learning) runs unchanged. A :class:`Faults` object decides, per send (one command or
one pipeline), whether to fail it like a dropped network (``ConnectionError``) or to run an
action first, such as SIGKILLing a private redis-server, before or after the bytes go out.
"""

from __future__ import annotations

from collections.abc import Callable

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from xbot.services import Services


class Faults:
    """What to break. ``sends`` counts every send since the last :meth:`arm`."""

    def __init__(self) -> None:
        self.sends = 0
        self._at: int | None = None
        self._match: bytes | None = None
        self._action: Callable[[], None] | None = None
        self._after = False
        self.fired = False

    def arm(
        self,
        *,
        at: int | None = None,
        match: bytes | None = None,
        action: Callable[[], None] | None = None,
        after_send: bool = False,
    ) -> None:
        """Break send number ``at`` (1-based) or every send containing ``match``.

        ``action`` None: the send raises ConnectionError (the server keeps its data). Else the
        action runs (once) before the send, or after it when ``after_send`` (the server may have
        executed the command whose reply is lost).
        """
        self.sends = 0
        self._at, self._match, self._action, self._after = at, match, action, after_send
        self.fired = False

    def disarm(self) -> None:
        self._at = self._match = self._action = None

    def _hit(self, packed: bytes) -> bool:
        if self._match is not None:
            return self._match in packed
        return self._at is not None and self.sends == self._at

    def before(self, packed: bytes) -> None:
        self.sends += 1
        if not self._hit(packed):
            return
        if self._action is None:
            self.fired = True
            raise redis_lib.ConnectionError("injected fault: connection dropped")
        if not self._after and not self.fired:
            self.fired = True
            self._action()

    def after(self, packed: bytes) -> None:
        if self._after and self._action is not None and not self.fired and self._hit(packed):
            self.fired = True
            self._action()


class _AsksFaults:
    """Mixed into a real redis-py connection: asks its :class:`Faults` before and after each send."""

    def __init__(self, *args: object, faults: Faults, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.faults = faults

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        packed = command if isinstance(command, bytes) else b"".join(command)
        self.faults.before(packed)
        super().send_packed_command(command, check_health)
        self.faults.after(packed)


class FaultyConnection(_AsksFaults, redis_lib.Connection):
    """A real TCP connection that consults its faults."""


class FaultyUnixConnection(_AsksFaults, redis_lib.UnixDomainSocketConnection):
    """A real unix-socket connection (the embedded Redis) that consults its faults."""


class FaultyServices(Services):
    """The real Services, with a Redis client whose connections consult ``faults``.

    The client does not retry: a retry against a server that is down fails the same way, only
    seconds later (redis-py backs off), and the trials need the failure, not the wait.
    """

    def __init__(self, settings, faults: Faults) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.faults = faults

    @property
    def redis(self) -> redis_lib.Redis:
        if self._redis is None:
            url = self.redis_url()
            unix = url.startswith("unix:")
            pool = redis_lib.ConnectionPool.from_url(
                url,
                connection_class=FaultyUnixConnection if unix else FaultyConnection,
                decode_responses=True,
                socket_connect_timeout=2,
                socket_timeout=5,
                retry=Retry(NoBackoff(), 0),
                faults=self.faults,
            )
            self._redis = redis_lib.Redis(connection_pool=pool)
        return self._redis
