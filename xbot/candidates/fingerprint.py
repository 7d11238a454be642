"""The drift check of the candidate queue: the same (count, checksum) from Postgres and Redis.

Its own module, free of SQLAlchemy, because ``xbot health`` runs it on its own psycopg
connection and must stay light to import. :class:`xbot.candidates.queue.CandidateQueue` uses
the same two halves for :meth:`~xbot.candidates.queue.CandidateQueue.drift`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import redis as redis_lib

from xbot.keys import Keys

#: The drift check's Postgres side: how many candidates are queued and unexpired, and the sum of
#: the first 32 bits of their hashes (see :func:`queue_checksum`). psycopg parameter style, so
#: health (psycopg) and the queue (SQLAlchemy ``exec_driver_sql``) run the same text.
FINGERPRINT_SQL = (
    "select count(*), coalesce(sum(case when content_hash ~ '^[0-9a-f]{8}' "
    "then ('x' || substr(content_hash, 1, 8))::bit(32)::bigint end), 0) "
    "from candidates where environment = %(e)s and status = 'queued' "
    "and (expires_at is null or expires_at > %(now)s)"
)
_HEX8 = re.compile(r"^[0-9a-f]{8}")


def queue_checksum(hashes: Iterable[str]) -> int:
    """Sum of the first 32 bits of each hex content hash: equal sets give equal sums, and a
    lost or stale member changes it. Matches :data:`FINGERPRINT_SQL` (non-hex members count 0)."""
    return sum(int(h[:8], 16) for h in hashes if _HEX8.match(h))


def redis_fingerprint(client: redis_lib.Redis, keys: Keys, now: datetime) -> tuple[int, int]:
    """(count, checksum) of the members of the Redis queue that are not due to expire by
    ``now`` (aware; a member without an expiry entry counts, so junk shows as drift).
    Read-only: works on a Redis that is out of memory or read-only."""
    pipe = client.pipeline(transaction=False)
    pipe.zrange(keys.queue(), 0, -1)
    pipe.zrangebyscore(keys.queue_expiry(), "-inf", repr(now.timestamp()))
    queued, due = pipe.execute()
    live = set(queued) - set(due)
    return len(live), queue_checksum(live)
