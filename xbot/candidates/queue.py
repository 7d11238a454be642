"""The candidate queue: a Redis sorted set with payloads beside it, and reliable claims.

Layout (every key from :class:`xbot.keys.Keys`, so under REDIS_PREFIX):

* ``queue:candidates`` - sorted set, member = content hash, score = priority;
* ``queue:expiry`` - the same members scored by expiry (unix seconds), for pruning;
* ``candidate:<hash>`` - hash with the payload (text, topic, format, tags, ...);
* ``queue:inflight`` - sorted set of claimed members scored by lease end;
* ``claim:<hash>`` - the token of the current claim; only its holder may acknowledge;
* ``content_hash:<hash>`` - SET NX marker with a TTL, the fast exact-dedup filter.

Claiming moves a member from the queue to the in-flight set in one Lua script, so two
schedulers never get the same candidate. A claim whose holder died goes back to the queue once
its lease has passed (:meth:`CandidateQueue.reclaim_expired`). Acknowledging removes exactly the
claimed candidate: the first implementation removed "the highest-priority item" on rejection,
which was not necessarily the rejected one.

Postgres ``candidates`` is the authority: a candidate is queued only after its row was inserted
(the unique (environment, content_hash) decides duplicates), and acks update its status.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import redis as redis_lib
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from xbot.clock import as_utc
from xbot.errors import ServiceUnavailable, ValidationError
from xbot.services import Services

Outcome = Literal["posted", "shadowed", "rejected", "returned"]
OUTCOMES: tuple[str, ...] = ("posted", "shadowed", "rejected", "returned")
#: How long the exact-dedup marker lives in Redis (Postgres keeps the hash for ever).
CONTENT_HASH_TTL_S = 14 * 24 * 3600

# Exact-dedup filter for a batch: SET NX EX per hash, 1 where it was new. One command for a
# whole chunk keeps the client's per-command cost (the bottleneck at 10k items) out of the loop.
_MARK = """
local out = {}
for i = 3, #ARGV do
  out[#out + 1] = redis.call('SET', ARGV[2] .. ARGV[i], '1', 'NX', 'EX', ARGV[1]) and 1 or 0
end
return out
"""

# Queue a batch: per item (hash, priority, expires_ts, then ARGV[2] payload field/value parts).
_WRITE = """
local n = tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
  local h = ARGV[i]
  redis.call('HSET', ARGV[1] .. h, unpack(ARGV, i + 3, i + 2 + n))
  redis.call('ZADD', KEYS[1], ARGV[i + 1], h)
  redis.call('ZADD', KEYS[2], ARGV[i + 2], h)
  i = i + 3 + n
end
return 1
"""

_CLAIM = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
local exp = tonumber(redis.call('HGET', KEYS[3], 'expires_ts') or '0')
if exp <= tonumber(ARGV[4]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[2])
return redis.call('HGETALL', KEYS[3])
"""

_ACK = """
if redis.call('GET', KEYS[4]) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] == 'returned' then
  local p = redis.call('HGET', KEYS[3], 'priority')
  if p then redis.call('ZADD', KEYS[1], p, ARGV[1]) end
else
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[5], ARGV[1])
end
return 1
"""

_RECLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local back = {}
for _, h in ipairs(due) do
  redis.call('ZREM', KEYS[1], h)
  redis.call('DEL', ARGV[3] .. h)
  local p = redis.call('HGET', ARGV[2] .. h, 'priority')
  if p then
    redis.call('ZADD', KEYS[2], p, h)
    table.insert(back, h)
  end
end
return back
"""

_PRUNE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local gone = {}
for _, h in ipairs(due) do
  if not redis.call('ZSCORE', KEYS[3], h) then
    redis.call('ZREM', KEYS[1], h)
    redis.call('ZREM', KEYS[2], h)
    redis.call('DEL', ARGV[2] .. h)
    table.insert(gone, h)
  end
end
return gone
"""

_INSERT_SQL = sa.text(
    """
    insert into candidates (environment, content_hash, text, topic, format, tags, source,
                            priority, status, created_at, expires_at, metadata)
    select :env, r.content_hash, r.text, r.topic, r.format,
           array(select jsonb_array_elements_text(r.tags)), r.source, r.priority, 'queued',
           r.created_at, r.expires_at, r.metadata
    from jsonb_to_recordset(cast(:rows as jsonb)) as r(
        content_hash text, text text, topic text, format text, tags jsonb, source text,
        priority double precision, created_at timestamptz, expires_at timestamptz, metadata jsonb)
    on conflict (environment, content_hash) do nothing
    returning id, content_hash
    """
)


@dataclass(frozen=True)
class Candidate:
    content_hash: str
    db_id: int | None
    text: str
    topic: str
    format: str
    tags: tuple[str, ...]
    source: str
    priority: float
    created_at: datetime
    expires_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def payload(self) -> dict[str, str]:
        """The Redis hash fields of this candidate."""
        return {
            "text": self.text,
            "topic": self.topic,
            "format": self.format,
            "tags": json.dumps(list(self.tags), ensure_ascii=False),
            "source": self.source,
            "priority": repr(float(self.priority)),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "expires_ts": repr(self.expires_at.timestamp()),
            "db_id": "" if self.db_id is None else str(self.db_id),
            "metadata": json.dumps(self.metadata, ensure_ascii=False, default=str),
        }

    @classmethod
    def from_payload(cls, content_hash: str, data: dict[str, str]) -> Candidate:
        return cls(
            content_hash=content_hash,
            db_id=int(data["db_id"]) if data.get("db_id") else None,
            text=data["text"],
            topic=data["topic"],
            format=data["format"],
            tags=tuple(json.loads(data.get("tags") or "[]")),
            source=data["source"],
            priority=float(data["priority"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            metadata=json.loads(data.get("metadata") or "{}"),
        )


@dataclass(frozen=True)
class Claim:
    candidate: Candidate
    token: str
    lease_until: float


@dataclass(frozen=True)
class EnqueueResult:
    """What :meth:`CandidateQueue.enqueue` did: the candidates now queued (with db ids) and
    the content hashes refused as exact duplicates (Redis marker or Postgres row existed)."""

    accepted: list[Candidate]
    duplicates: list[str]


_FIELDS = ("text", "topic", "format", "tags", "source", "priority", "created_at", "expires_at",
           "expires_ts", "db_id", "metadata")  # fmt: skip
#: Items per Lua call: bounds how long one script blocks Redis (about a millisecond).
_CHUNK = 1000


def _chunks(items: Sequence[Candidate]) -> list[Sequence[Candidate]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


class CandidateQueue:
    """The queue of one environment (Postgres rows) under one REDIS_PREFIX (Redis keys)."""

    def __init__(self, services: Services, environment: str) -> None:
        self.services = services
        self.environment = environment
        self.keys = services.keys

    @property
    def _r(self) -> redis_lib.Redis:
        return self.services.redis

    def _script(self, body: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return self._r.eval(body, len(keys), *keys, *args)
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable("redis", str(exc)) from exc

    def _set_status(self, hashes: Sequence[str], status: str) -> None:
        if not hashes:
            return
        try:
            with self.services.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "update candidates set status = :s "
                        "where environment = :e and content_hash = any(:h)"
                    ),
                    {"s": status, "e": self.environment, "h": list(hashes)},
                )
        except SQLAlchemyError as exc:
            raise ServiceUnavailable("postgres", str(exc).splitlines()[0]) from exc

    # -- reading ------------------------------------------------------------------------------
    def depth(self) -> int:
        """Number of queued (not claimed) candidates."""
        return int(self._r.zcard(self.keys.queue()))

    def inflight_count(self) -> int:
        return int(self._r.zcard(self.keys.inflight()))

    def in_flight(self, content_hash: str) -> bool:
        """Whether a claim on this candidate is open (a cycle or a reviewer holds it)."""
        return self._r.zscore(self.keys.inflight(), content_hash) is not None

    def peek(self, limit: int = 500, *, now: datetime | None = None) -> list[Candidate]:
        """Queued, unexpired candidates, highest priority first (ties by content hash)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError("limit", limit, "a positive integer")
        ts = as_utc(now).timestamp()
        out: list[Candidate] = []
        start = 0
        chunk = max(limit, 100)
        while len(out) < limit:
            members = self._r.zrevrange(self.keys.queue(), start, start + chunk - 1)
            if not members:
                break
            out.extend(c for c in self._load(members) if c.expires_at.timestamp() > ts)
            start += chunk
        out.sort(key=lambda c: (-c.priority, c.content_hash))
        return out[:limit]

    def _load(self, members: Sequence[str]) -> list[Candidate]:
        pipe = self._r.pipeline(transaction=False)
        for h in members:
            pipe.hgetall(self.keys.payload(h))
        return [
            Candidate.from_payload(h, data)
            for h, data in zip(members, pipe.execute(), strict=True)
            if data
        ]

    def snapshot(self) -> list[Candidate]:
        """Every candidate in the queue or in flight (for near-duplicate checks)."""
        members = self._r.zrange(self.keys.queue(), 0, -1) + self._r.zrange(
            self.keys.inflight(), 0, -1
        )
        return self._load(members)

    # -- writing ------------------------------------------------------------------------------
    def enqueue(self, candidates: Sequence[Candidate]) -> EnqueueResult:
        """Queue new candidates, refusing exact duplicates. Three round trips in all.

        1. one Redis pipeline of Lua calls doing ``SET content_hash:<h> NX EX`` per item (the
           fast filter), 1,000 items per call;
        2. one Postgres statement inserting every survivor, ``on conflict do nothing`` (the
           authority: a hash Redis forgot is still refused here);
        3. one Redis pipeline of Lua calls writing payloads and both sorted sets (each call
           atomic, so a reader never sees a queued member without its payload).

        If Postgres fails, the markers set in step 1 are removed again and nothing is queued.
        """
        if not candidates:
            return EnqueueResult([], [])
        seen: set[str] = set()
        unique: list[Candidate] = []
        duplicates: list[str] = []
        for c in candidates:
            if c.content_hash in seen:
                duplicates.append(c.content_hash)
            else:
                seen.add(c.content_hash)
                unique.append(c)
        k = self.keys
        try:
            pipe = self._r.pipeline(transaction=False)
            for chunk in _chunks(unique):
                pipe.eval(
                    _MARK,
                    0,
                    CONTENT_HASH_TTL_S,
                    k.content_hash(""),
                    *(c.content_hash for c in chunk),
                )
            marks = [flag for part in pipe.execute() for flag in part]
            fresh = [c for c, ok in zip(unique, marks, strict=True) if ok]
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable("redis", str(exc)) from exc
        fresh_hashes = {c.content_hash for c in fresh}
        duplicates.extend(c.content_hash for c in unique if c.content_hash not in fresh_hashes)
        if not fresh:
            return EnqueueResult([], duplicates)
        rows = [
            {
                "content_hash": c.content_hash,
                "text": c.text,
                "topic": c.topic,
                "format": c.format,
                "tags": list(c.tags),
                "source": c.source,
                "priority": c.priority,
                "created_at": c.created_at.isoformat(),
                "expires_at": c.expires_at.isoformat(),
                "metadata": c.metadata,
            }
            for c in fresh
        ]
        try:
            with self.services.engine.begin() as conn:
                inserted = dict(
                    (r.content_hash, r.id)
                    for r in conn.execute(
                        _INSERT_SQL,
                        {"env": self.environment, "rows": json.dumps(rows, default=str)},
                    )
                )
        except SQLAlchemyError as exc:
            self._r.delete(*(self.keys.content_hash(c.content_hash) for c in fresh))
            raise ServiceUnavailable("postgres", str(exc).splitlines()[0]) from exc
        accepted: list[Candidate] = []
        for c in fresh:
            db_id = inserted.get(c.content_hash)
            if db_id is None:
                duplicates.append(c.content_hash)
            else:
                accepted.append(replace(c, db_id=db_id))
        try:
            pipe = self._r.pipeline(transaction=False)
            for chunk in _chunks(accepted):
                args: list[str] = []
                for c in chunk:
                    payload = c.payload()
                    args += [c.content_hash, payload["priority"], payload["expires_ts"]]
                    args += [part for item in payload.items() for part in item]
                pipe.eval(
                    _WRITE, 2, k.queue(), k.queue_expiry(), k.payload(""), 2 * len(_FIELDS), *args
                )
            pipe.execute()
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable("redis", str(exc)) from exc
        return EnqueueResult(accepted, duplicates)

    def claim(
        self, content_hash: str, lease_seconds: float = 300, *, now: datetime | None = None
    ) -> Claim | None:
        """Atomically take one queued candidate; None if it is not queued (or has expired)."""
        if not isinstance(content_hash, str) or not content_hash:
            raise ValidationError("content_hash", content_hash, "a non-empty content hash")
        if isinstance(lease_seconds, bool) or not 0 < float(lease_seconds) <= 86400:
            raise ValidationError(
                "lease_seconds", lease_seconds, "a number of seconds in (0, 86400]"
            )
        ts = as_utc(now).timestamp()
        token = secrets.token_hex(16)
        lease_until = ts + float(lease_seconds)
        k = self.keys
        flat = self._script(
            _CLAIM,
            [k.queue(), k.inflight(), k.payload(content_hash), k.claim_token(content_hash)],
            [content_hash, token, repr(lease_until), repr(ts)],
        )
        if not flat:
            return None
        candidate = Candidate.from_payload(content_hash, _pairs(flat))
        self._set_status([content_hash], "claimed")
        return Claim(candidate, token, lease_until)

    def ack(self, claim: Claim, outcome: Outcome) -> bool:
        """Finish a claim. Only the claim's holder can; False if its lease was lost.

        posted/shadowed/rejected remove exactly that candidate; returned puts it back in the
        queue with its priority. The Postgres row's status follows.
        """
        if outcome not in OUTCOMES:
            raise ValidationError("outcome", outcome, "one of " + ", ".join(OUTCOMES))
        if not isinstance(claim, Claim):
            raise ValidationError("claim", type(claim).__name__, "a Claim returned by claim()")
        h = claim.candidate.content_hash
        k = self.keys
        done = self._script(
            _ACK,
            [k.queue(), k.inflight(), k.payload(h), k.claim_token(h), k.queue_expiry()],
            [h, claim.token, outcome],
        )
        if not done:
            return False
        self._set_status([h], "queued" if outcome == "returned" else outcome)
        return True

    def reclaim_expired(self, *, now: datetime | None = None) -> int:
        """Put claims whose lease has passed back in the queue; returns how many."""
        k = self.keys
        back = self._script(
            _RECLAIM,
            [k.inflight(), k.queue()],
            [repr(as_utc(now).timestamp()), k.payload(""), k.claim_token("")],
        )
        self._set_status(back, "queued")
        return len(back)

    def prune_expired(self, *, now: datetime | None = None) -> int:
        """Drop queued candidates past their expiry (48 h); their rows become 'expired'."""
        k = self.keys
        gone = self._script(
            _PRUNE,
            [k.queue_expiry(), k.queue(), k.inflight()],
            [repr(as_utc(now).timestamp()), k.payload("")],
        )
        self._set_status(gone, "expired")
        return len(gone)

    def clear(self) -> int:
        """Empty the queue and in-flight set (emergency clear-queue). Dedup markers stay, so
        cleared texts are not generated again. Returns the number of candidates removed."""
        k = self.keys
        members = self._r.zrange(k.queue(), 0, -1) + self._r.zrange(k.inflight(), 0, -1)
        pipe = self._r.pipeline(transaction=True)
        for h in members:
            pipe.delete(k.payload(h), k.claim_token(h))
        pipe.delete(k.queue(), k.inflight(), k.queue_expiry())
        pipe.execute()
        return len(members)
