"""The candidate queue: a Redis projection of the Postgres ``candidates`` rows, with claims.

Postgres is the authority (DESIGN.md): a row ``queued`` and unexpired is a candidate that can be
posted, a row ``claimed`` carries its claim's token and lease end (``claim_token``,
``claim_until``). Redis holds the fast projection, every key from :class:`xbot.keys.Keys`:

* ``queue:candidates`` - sorted set, member = content hash, score = priority;
* ``queue:expiry`` - the same members scored by expiry (unix seconds), for pruning;
* ``candidate:<hash>`` - hash with the payload (text, topic, format, tags, metadata, ...);
* ``queue:inflight`` - sorted set of claimed members scored by lease end;
* ``claim:<hash>`` - the token of the current claim;
* ``content_hash:<hash>`` - marker with a TTL: "Postgres has this hash" (the fast dedup filter).

Claiming moves a member from the queue to the in-flight set in one Lua script (two schedulers
never get the same candidate), then takes the row in Postgres only if it is still ``queued`` and
unexpired: a stale projection (Redis restored from an old snapshot) can never hand out a
candidate twice. Acknowledging writes Postgres first (only the holder of the row's token can),
then Redis; a Redis failure after that commit loses nothing, the projection is healed.

:meth:`CandidateQueue.requeue` rebuilds the projection from Postgres, idempotently;
:meth:`CandidateQueue.heal` compares a count and a checksum of the queued, unexpired candidates
on both sides (cheap: one aggregate query, two range reads) and rebuilds only on drift. Every
refresh and every scheduling cycle calls it, so Redis losing its data loses time, never data.
Claims whose Redis state vanished go back to ``queued`` once their lease has passed
(:meth:`CandidateQueue.reclaim_expired`), and expiry is enforced on the rows
(:meth:`CandidateQueue.prune_expired`).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import redis as redis_lib
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from xbot import audit
from xbot.candidates.fingerprint import FINGERPRINT_SQL, redis_fingerprint
from xbot.clock import as_utc
from xbot.errors import ServiceUnavailable, ValidationError
from xbot.services import Services

log = logging.getLogger("xbot.queue")

Outcome = Literal["posted", "shadowed", "rejected", "returned"]
OUTCOMES: tuple[str, ...] = ("posted", "shadowed", "rejected", "returned")
#: How long the exact-dedup marker lives in Redis (Postgres keeps the hash for ever).
CONTENT_HASH_TTL_S = 14 * 24 * 3600

# Dedup markers for a batch: SET EX per hash (ARGV[1] = TTL, ARGV[2] = key prefix). Written only
# after Postgres holds the rows, so a marker always means "Postgres has this hash".
_MARK = """
for i = 3, #ARGV do
  redis.call('SET', ARGV[2] .. ARGV[i], '1', 'EX', ARGV[1])
end
return 1
"""

# Project a batch. KEYS = queue, expiry, inflight. ARGV[1] = payload key prefix, ARGV[2] = claim
# key prefix, ARGV[3] = payload field/value parts per item, ARGV[4] / ARGV[5] = offsets of the
# priority / expires_ts values in those parts; then per item: hash, kind ('q' queued, or 'f' in
# flight followed by lease_until and token), payload parts. A queued item never overwrites a
# live claim (a claim between the Postgres read and this write wins). Returns how many items
# were not in Redis before.
_PROJECT = """
local n = tonumber(ARGV[3])
local po, eo = tonumber(ARGV[4]), tonumber(ARGV[5])
local added = 0
local i = 6
while i <= #ARGV do
  local h = ARGV[i]
  if ARGV[i + 1] == 'q' then
    local b = i + 2
    if not redis.call('ZSCORE', KEYS[3], h) then
      if not redis.call('ZSCORE', KEYS[1], h) then added = added + 1 end
      redis.call('HSET', ARGV[1] .. h, unpack(ARGV, b, b + n - 1))
      redis.call('ZADD', KEYS[1], ARGV[b + po], h)
      redis.call('ZADD', KEYS[2], ARGV[b + eo], h)
    end
    i = b + n
  else
    local b = i + 4
    if not redis.call('ZSCORE', KEYS[3], h) then
      added = added + 1
      redis.call('HSET', ARGV[1] .. h, unpack(ARGV, b, b + n - 1))
      redis.call('ZADD', KEYS[3], ARGV[i + 2], h)
      redis.call('SET', ARGV[2] .. h, ARGV[i + 3])
    end
    redis.call('ZREM', KEYS[1], h)
    redis.call('ZREM', KEYS[2], h)
    i = b + n
  end
end
return added
"""

# KEYS = queue, inflight, payload, claim token. ARGV = hash, token, lease_until, now. A member
# that is also in flight (a projection raced a claim) is dropped from the queue, not handed out.
_CLAIM = """
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return false
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
local exp = tonumber(redis.call('HGET', KEYS[3], 'expires_ts') or '0')
if exp <= tonumber(ARGV[4]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[2])
return redis.call('HGETALL', KEYS[3])
"""

# Follow a claim's end in Redis once Postgres has decided it. KEYS = queue, inflight, payload,
# claim token, expiry. ARGV = hash, token, action, priority, expires_ts, then payload parts (for
# 'returned'). 'returned' / 'done': Postgres said the claim was ours, so whatever Redis holds
# about it is replaced; 'stale': Postgres refused the claim, so only our own token's traces go.
_SETTLE = """
local h = ARGV[1]
if ARGV[3] == 'stale' and redis.call('GET', KEYS[4]) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], h)
if ARGV[3] == 'returned' then
  if #ARGV > 5 then redis.call('HSET', KEYS[3], unpack(ARGV, 6)) end
  redis.call('ZADD', KEYS[1], ARGV[4], h)
  redis.call('ZADD', KEYS[5], ARGV[5], h)
else
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[1], h)
  redis.call('ZREM', KEYS[5], h)
end
return 1
"""

_RECLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, h in ipairs(due) do
  redis.call('ZREM', KEYS[1], h)
  redis.call('DEL', ARGV[3] .. h)
  local p = redis.call('HGET', ARGV[2] .. h, 'priority')
  if p then redis.call('ZADD', KEYS[2], p, h) end
end
return #due
"""

# Remove members from the queue (KEYS[1]) and expiry set (KEYS[2]) with their payloads, unless
# in flight (KEYS[3]). ARGV[1] = payload prefix, ARGV[2] = 'due' then ARGV[3] = now: the members
# of the expiry set due by then; or ARGV[2] = 'list' then the members to drop.
_DROP = """
local members
if ARGV[2] == 'due' then
  members = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
else
  members = {unpack(ARGV, 3)}
end
local gone = 0
for _, h in ipairs(members) do
  if not redis.call('ZSCORE', KEYS[3], h) then
    gone = gone + redis.call('ZREM', KEYS[1], h)
    redis.call('ZREM', KEYS[2], h)
    redis.call('DEL', ARGV[1] .. h)
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
_ROW_COLUMNS = (
    "id, content_hash, text, topic, format, tags, source, priority, created_at, expires_at, "
    "metadata, claim_token, claim_until"
)
_QUEUED = "status = 'queued' and (expires_at is null or expires_at > :now)"


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

    @classmethod
    def from_row(cls, row: Any) -> Candidate:
        """The candidate a ``candidates`` row holds, the whole stored payload (metadata included,
        so fields added to it by sources survive a rebuild). A row without ``expires_at`` (none
        are written so) lives 48 h from its creation, as every candidate does."""
        created = row.created_at.astimezone(UTC)
        expires = row.expires_at or created + timedelta(hours=48)
        return cls(
            content_hash=row.content_hash,
            db_id=row.id,
            text=row.text,
            topic=row.topic,
            format=row.format,
            tags=tuple(row.tags or ()),
            source=row.source,
            priority=float(row.priority),
            created_at=created,
            expires_at=expires.astimezone(UTC),
            metadata=dict(row.metadata or {}),
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


@dataclass(frozen=True)
class Drift:
    """The drift check: queued, unexpired candidates as Postgres and Redis count them."""

    postgres: int
    redis: int
    postgres_checksum: int
    redis_checksum: int

    @property
    def in_sync(self) -> bool:
        return (self.postgres, self.postgres_checksum) == (self.redis, self.redis_checksum)

    def describe(self) -> str:
        if self.postgres != self.redis:
            return f"Redis queue has {self.redis}, Postgres {self.postgres} queued"
        return f"Redis queue and Postgres both hold {self.postgres} but not the same candidates"


@dataclass
class RequeueReport:
    """What :meth:`CandidateQueue.requeue` did (``xbot candidates requeue --json``).

    ``queued``: rows queued and unexpired, all now in the Redis queue; ``added``: of those, the
    ones Redis did not hold; ``removed``: Redis members Postgres does not hold as queued;
    ``in_flight``: live claims written back to the in-flight set; ``claims_returned``: claims
    whose lease had passed, back to queued; ``expired``: rows past ``expires_at`` marked expired;
    ``markers``: dedup markers written; ``orphans``: payloads of no member, deleted.
    """

    environment: str
    queued: int = 0
    added: int = 0
    removed: int = 0
    in_flight: int = 0
    claims_returned: int = 0
    expired: int = 0
    markers: int = 0
    orphans: int = 0
    drift_before: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = ("text", "topic", "format", "tags", "source", "priority", "created_at", "expires_at",
           "expires_ts", "db_id", "metadata")  # fmt: skip
#: Where a field's value sits among a payload's field/value parts (0-based), for _PROJECT.
_VALUE_AT = {name: 2 * i + 1 for i, name in enumerate(_FIELDS)}
#: Items per Lua call: bounds how long one script blocks Redis (about a millisecond).
_CHUNK = 1000


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _flat_payload(candidate: Candidate) -> list[str]:
    return [part for item in candidate.payload().items() for part in item]


def _pg_error(exc: SQLAlchemyError) -> ServiceUnavailable:
    return ServiceUnavailable("postgres", str(exc).splitlines()[0])


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
            raise ServiceUnavailable.from_redis(exc) from exc

    def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Run one Postgres statement in its own transaction and return its rows."""
        try:
            with self.services.engine.begin() as conn:
                result = conn.execute(sa.text(sql), {"e": self.environment, **params})
                return result.all() if result.returns_rows else []
        except SQLAlchemyError as exc:
            raise _pg_error(exc) from exc

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

        1. one Redis pipeline of ``MGET content_hash:<h>...`` (the fast filter, read only);
        2. one Postgres statement inserting every survivor, ``on conflict do nothing`` (the
           authority: it alone decides between two refreshes at once, and a hash Redis forgot
           is still refused here);
        3. one Redis pipeline of Lua calls writing payloads and both sorted sets (each call
           atomic, so a reader never sees a queued member without its payload), then the
           markers of every hash Postgres now holds.

        Markers are written only after Postgres holds the rows, so a Redis failure anywhere
        can never make a candidate look like a duplicate of nothing. If step 3 fails, the rows
        are queued in Postgres and the next :meth:`heal` projects them.
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
                pipe.mget([k.content_hash(c.content_hash) for c in chunk])
            marks = [flag for part in pipe.execute() for flag in part]
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable.from_redis(exc) from exc
        fresh = [c for c, mark in zip(unique, marks, strict=True) if mark is None]
        duplicates.extend(c.content_hash for c, mark in zip(unique, marks, strict=True) if mark)
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
            raise _pg_error(exc) from exc
        accepted: list[Candidate] = []
        for c in fresh:
            db_id = inserted.get(c.content_hash)
            if db_id is None:
                duplicates.append(c.content_hash)
            else:
                accepted.append(replace(c, db_id=db_id))
        try:
            pipe = self._r.pipeline(transaction=False)
            self._project(pipe, [(c, "q", 0.0, "") for c in accepted])
            for chunk in _chunks(fresh):
                pipe.eval(_MARK, 0, CONTENT_HASH_TTL_S, k.content_hash(""),
                          *(c.content_hash for c in chunk))  # fmt: skip
            pipe.execute()
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable.from_redis(exc) from exc
        return EnqueueResult(accepted, duplicates)

    def _project(self, pipe: Any, items: Sequence[tuple[Candidate, str, float, str]]) -> None:
        """Queue :data:`_PROJECT` calls on ``pipe`` for (candidate, kind, lease_until, token).

        Priority and expiry are read from the payload parts by the script (one copy of each
        argument: encoding arguments is most of an enqueue's client time)."""
        k = self.keys
        for chunk in _chunks(items):
            args: list[Any] = []
            for c, kind, lease_until, token in chunk:
                args += [c.content_hash, "q"] if kind == "q" else [
                    c.content_hash, "f", repr(lease_until), token]  # fmt: skip
                for item in c.payload().items():
                    args += item
            pipe.eval(_PROJECT, 3, k.queue(), k.queue_expiry(), k.inflight(), k.payload(""),
                      k.claim_token(""), 2 * len(_FIELDS), _VALUE_AT["priority"],
                      _VALUE_AT["expires_ts"], *args)  # fmt: skip

    def claim(
        self, content_hash: str, lease_seconds: float = 300, *, now: datetime | None = None
    ) -> Claim | None:
        """Atomically take one queued candidate; None if it is not queued (or has expired).

        Redis moves it to the in-flight set; then its row must still be ``queued`` and
        unexpired in Postgres, which records the token and the lease end. A member Postgres
        does not hold as queued is a stale projection: it is dropped from Redis, never handed
        out.
        """
        if not isinstance(content_hash, str) or not content_hash:
            raise ValidationError("content_hash", content_hash, "a non-empty content hash")
        if isinstance(lease_seconds, bool) or not 0 < float(lease_seconds) <= 86400:
            raise ValidationError(
                "lease_seconds", lease_seconds, "a number of seconds in (0, 86400]"
            )
        at = as_utc(now)
        ts = at.timestamp()
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
        try:
            taken = self._rows(
                "update candidates set status = 'claimed', claim_token = :t, claim_until = :u "
                f"where environment = :e and content_hash = :h and {_QUEUED} returning id",
                {"t": token, "u": datetime.fromtimestamp(lease_until, UTC), "h": content_hash,
                 "now": at},
            )  # fmt: skip
        except ServiceUnavailable:
            self._settle_redis(candidate, token, "returned")  # Postgres never saw the claim
            raise
        if not taken:
            self._settle_redis(candidate, token, "dropped")
            return None
        return Claim(replace(candidate, db_id=taken[0].id), token, lease_until)

    def _settle_redis(self, candidate: Candidate, token: str, action: str) -> None:
        """Make Redis follow what Postgres decided about a claim; best effort.

        ``returned``: back in the queue; ``done``: gone; ``dropped``: gone only if the claim
        in Redis is still this token's. A Redis failure here is logged, not raised: Postgres
        has the truth and the next :meth:`heal` (or lease) makes Redis agree.
        """
        k = self.keys
        h = candidate.content_hash
        payload = candidate.payload()
        script_action = {"returned": "returned", "done": "done", "dropped": "stale"}[action]
        args: list[Any] = [h, token, script_action, payload["priority"], payload["expires_ts"]]
        if action == "returned":
            args += _flat_payload(candidate)
        try:
            self._r.eval(_SETTLE, 5, k.queue(), k.inflight(), k.payload(h), k.claim_token(h),
                         k.queue_expiry(), *args)  # fmt: skip
        except redis_lib.RedisError as exc:
            log.warning("queue: Redis did not follow %s of %s (%s); healed later",
                        action, h[:12], exc)  # fmt: skip

    def ack(self, claim: Claim, outcome: Outcome) -> bool:
        """Finish a claim. Only the claim's holder can; False if its lease was lost.

        posted/shadowed/rejected remove exactly that candidate; returned puts it back in the
        queue with its priority. Postgres decides first (the row's token must be this claim's);
        Redis follows, and a Redis failure after that is healed, never lost.
        """
        if outcome not in OUTCOMES:
            raise ValidationError("outcome", outcome, "one of " + ", ".join(OUTCOMES))
        if not isinstance(claim, Claim):
            raise ValidationError("claim", type(claim).__name__, "a Claim returned by claim()")
        h = claim.candidate.content_hash
        done = self._rows(
            "update candidates set status = :s, claim_token = null, claim_until = null "
            "where environment = :e and content_hash = :h and status = 'claimed' "
            "and claim_token = :t returning id",
            {"s": "queued" if outcome == "returned" else outcome, "h": h, "t": claim.token},
        )
        if not done:
            self._settle_redis(claim.candidate, claim.token, "dropped")
            return False
        self._settle_redis(claim.candidate, claim.token,
                           "returned" if outcome == "returned" else "done")  # fmt: skip
        return True

    def reclaim_expired(self, *, now: datetime | None = None) -> int:
        """Put claims whose lease has passed back in the queue; returns how many.

        Postgres decides (rows ``claimed`` with ``claim_until`` passed, whether or not Redis
        still knows the claim); the returned rows are projected back into the Redis queue.
        """
        at = as_utc(now)
        k = self.keys
        self._script(_RECLAIM, [k.inflight(), k.queue()],
                     [repr(at.timestamp()), k.payload(""), k.claim_token("")])  # fmt: skip
        rows = self._rows(
            "update candidates set status = 'queued', claim_token = null, claim_until = null "
            "where environment = :e and status = 'claimed' "
            "and (claim_until is null or claim_until <= :now) "
            f"returning {_ROW_COLUMNS}",
            {"now": at},
        )
        back = [Candidate.from_row(r) for r in rows]
        live = [(c, "q", 0.0, "") for c in back if c.expires_at > at]
        if live:
            try:
                pipe = self._r.pipeline(transaction=False)
                self._project(pipe, live)
                pipe.execute()
            except redis_lib.RedisError as exc:
                raise ServiceUnavailable.from_redis(exc) from exc
        return len(back)

    def prune_expired(self, *, now: datetime | None = None) -> int:
        """Rows queued past ``expires_at`` (48 h) become ``expired``; Redis drops them and any
        member its expiry set says is due. Returns how many rows expired."""
        at = as_utc(now)
        k = self.keys
        rows = self._rows(
            "update candidates set status = 'expired' where environment = :e "
            "and status = 'queued' and expires_at <= :now returning content_hash",
            {"now": at},
        )
        keys = [k.queue(), k.queue_expiry(), k.inflight()]
        self._script(_DROP, keys, [k.payload(""), "due", repr(at.timestamp())])
        for chunk in _chunks([r.content_hash for r in rows]):
            self._script(_DROP, keys, [k.payload(""), "list", *chunk])
        return len(rows)

    # -- the projection -------------------------------------------------------------------------
    def drift(self, *, now: datetime | None = None) -> Drift:
        """Count and checksum of the queued, unexpired candidates on both sides (cheap)."""
        at = as_utc(now)
        try:
            with self.services.engine.connect() as conn:
                pg_count, pg_sum = conn.exec_driver_sql(
                    FINGERPRINT_SQL, {"e": self.environment, "now": at}
                ).one()
        except SQLAlchemyError as exc:
            raise _pg_error(exc) from exc
        try:
            r_count, r_sum = redis_fingerprint(self._r, self.keys, at)
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable.from_redis(exc) from exc
        return Drift(int(pg_count), r_count, int(pg_sum), r_sum)

    def heal(self, *, now: datetime | None = None) -> dict[str, Any] | None:
        """The drift check of every refresh and scheduling cycle: None when Redis agrees with
        Postgres, else the rebuild's report (with ``drift_before``). Raises
        :class:`ServiceUnavailable` when Redis cannot be rebuilt (down, out of memory)."""
        before = self.drift(now=now)
        if before.in_sync:
            return None
        log.warning("queue drift: %s; rebuilding from Postgres", before.describe())
        report = self.requeue(now=now, drift_before=before)
        return report.to_dict()

    def requeue(
        self, *, now: datetime | None = None, drift_before: Drift | None = None
    ) -> RequeueReport:
        """Rebuild the Redis projection from Postgres: ``xbot candidates requeue``.

        Idempotent (a second run adds and removes nothing). Claims past their lease are
        returned and expired rows marked first; then every queued, unexpired row is written
        to the queue, expiry set and payloads (the full payload stored in Postgres), every live
        claim to the in-flight set, Redis members Postgres does not hold are removed, dedup
        markers are written for the last 14 days of hashes, and orphaned payloads are deleted.
        """
        at = as_utc(now)
        k = self.keys
        report = RequeueReport(environment=self.environment)
        if drift_before is not None:
            report.drift_before = {"postgres": drift_before.postgres, "redis": drift_before.redis}
        report.claims_returned = self.reclaim_expired(now=at)
        report.expired = self.prune_expired(now=at)
        rows = self._rows(f"select {_ROW_COLUMNS}, status from candidates where environment = :e "
                          f"and ({_QUEUED} or (status = 'claimed' and claim_until > :now))",
                          {"now": at})  # fmt: skip
        queued = [Candidate.from_row(r) for r in rows if r.status == "queued"]
        claimed = [r for r in rows if r.status == "claimed"]
        items = [(c, "q", 0.0, "") for c in queued] + [
            (Candidate.from_row(r), "f", r.claim_until.timestamp(), r.claim_token) for r in claimed
        ]
        recent = self._rows(
            "select content_hash, created_at from candidates where environment = :e "
            "and created_at > :since",
            {"since": at - timedelta(seconds=CONTENT_HASH_TTL_S)},
        )
        try:
            report.removed = self._remove_stale({c.content_hash for c in queued},
                                                {r.content_hash for r in claimed}, at)  # fmt: skip
            pipe = self._r.pipeline(transaction=False)
            self._project(pipe, items)
            added = pipe.execute()
            report.queued = len(queued)
            report.added = sum(int(n) for n in added)
            report.in_flight = len(claimed)
            pipe = self._r.pipeline(transaction=False)
            for row in recent:
                ttl = CONTENT_HASH_TTL_S - int((at - row.created_at).total_seconds())
                if ttl > 0:
                    pipe.set(k.content_hash(row.content_hash), "1", ex=ttl)
                    report.markers += 1
            pipe.execute()
            report.orphans = self._delete_orphans()
        except redis_lib.RedisError as exc:
            raise ServiceUnavailable.from_redis(exc) from exc
        if report.added or report.removed or report.orphans or drift_before is not None:
            try:
                with self.services.engine.begin() as conn:
                    audit.record(conn, "QUEUE_REBUILT", "candidates", self.environment,
                                 report.to_dict(), {"redis_prefix": k.prefix})  # fmt: skip
            except SQLAlchemyError as exc:
                raise _pg_error(exc) from exc
        return report

    def _remove_stale(self, queued: set[str], claimed: set[str], at: datetime) -> int:
        """Drop Redis queue / in-flight members that Postgres does not hold as queued / claimed.

        Candidates are checked against Postgres once more after reading Redis, so a candidate
        enqueued (or returned) since the rebuild read its rows is never removed.
        """
        k = self.keys
        in_queue = set(self._r.zrange(k.queue(), 0, -1)) | set(
            self._r.zrange(k.queue_expiry(), 0, -1)
        )
        in_flight = set(self._r.zrange(k.inflight(), 0, -1))
        suspects = sorted((in_queue - queued) | (in_flight - claimed))
        if not suspects:
            return 0
        still = {
            (r.content_hash, r.status)
            for r in self._rows(
                "select content_hash, status from candidates where environment = :e "
                f"and content_hash = any(:h) and ({_QUEUED} or status = 'claimed')",
                {"h": suspects, "now": at},
            )
        }
        stale_flight = [h for h in in_flight - claimed if (h, "claimed") not in still]
        pipe = self._r.pipeline(transaction=False)
        for h in stale_flight:
            pipe.zrem(k.inflight(), h)
            pipe.delete(k.claim_token(h))
        pipe.execute()
        stale = [h for h in in_queue - queued if (h, "queued") not in still]
        removed = 0
        for chunk in _chunks(stale):
            removed += int(self._r.eval(_DROP, 3, k.queue(), k.queue_expiry(), k.inflight(),
                                        k.payload(""), "list", *chunk))  # fmt: skip
        return removed + len(stale_flight)

    def _delete_orphans(self) -> int:
        """Delete payload hashes of candidates neither queued nor in flight (SCAN, not KEYS)."""
        k = self.keys
        base = k.payload("")
        members = set(self._r.zrange(k.queue(), 0, -1)) | set(self._r.zrange(k.inflight(), 0, -1))
        orphans = [key for key in self._r.scan_iter(match=k.payload_pattern(), count=1000)
                   if key[len(base):] not in members]  # fmt: skip
        for chunk in _chunks(orphans):
            self._r.delete(*chunk)
        return len(orphans)
