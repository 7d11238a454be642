"""The bandit's live state in Redis, kept equal to the replay of Postgres' learning cycles.

Postgres is the source of truth: each learning cycle is a ``learning_cycles`` row (with the decay
it applied) and each post it taught carries ``tweets.learned_cycle_id`` and its reward. The Redis
hashes ``bandit:<family>:<arm>`` {alpha, beta, pulls} hold the *evidence* (discounted successes,
discounted failures, raw update count) without any prior, so the prior (pooled, (1, 1), or seeded
from the PyMC model) can change without rewriting state. The state after cycle k is::

    alpha_k = decay_k * alpha_{k-1} + sum of rewards taught in cycle k
    beta_k  = decay_k * beta_{k-1}  + sum of (1 - reward) taught in cycle k

for every arm known so far (decay first, then the cycle's increments; a new arm starts at 0).
When the change detector (flag ``drift_check``, :mod:`xbot.drift`) restarted a family in that
cycle, the restart recorded in ``learning_cycles.drift`` comes last: the flagged arms' evidence
becomes the outcomes since the change, every other arm of the family is multiplied by ``keep``.

Applying a cycle is one Lua script: it runs only when Redis' last applied cycle
(``bandit_meta:cycle``) is the cycle just before it, so a replay is idempotent and in order, and a
crash between the Postgres commit and Redis only delays the update until the next :meth:`sync`.
:meth:`BanditStore.rebuild` recomputes the same numbers in Python (same operations, same order,
so the doubles are bit-identical) and swaps them in with one MULTI.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats

from xbot import audit
from xbot.clock import as_utc
from xbot.drift import Restart
from xbot.errors import LockBusy, ValidationError
from xbot.flags import check_environment
from xbot.policies import DEFAULT_FAMILIES, FeatureBandit, pooled_prior
from xbot.services import Services

FAMILIES: tuple[str, ...] = DEFAULT_FAMILIES
# FeatureBandit's prior argument: "pooled", one (a, b) pair, or {family: {arm: (a, b)}}.
Prior: TypeAlias = str | tuple[float, float] | Mapping[str, Mapping[str, tuple[float, float]]]
CI_MASS = 0.94

# Applies one learning cycle. KEYS[1] = last applied cycle, KEYS[2] = set of arm keys,
# KEYS[3..] = arm keys updated by this cycle. ARGV = cycle id, previous cycle id (0 = none),
# decay, the family restarts as JSON ([{prefix, keep, evidence: {key: [s, f]}}], see
# _restart_args), then (successes, failures, pulls) per updated key. Returns 1 if applied, 0 if
# this cycle was already applied, -1 if Redis is not at the previous cycle (caller rebuilds).
_APPLY_LUA = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local cycle = tonumber(ARGV[1])
if last >= cycle then return 0 end
if last ~= tonumber(ARGV[2]) then return -1 end
local decay = tonumber(ARGV[3])
local function fmt(x) return string.format('%.17g', x) end
if decay ~= 1 then
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local v = redis.call('HMGET', key, 'alpha', 'beta')
    redis.call('HSET', key, 'alpha', fmt(tonumber(v[1] or '0') * decay),
               'beta', fmt(tonumber(v[2] or '0') * decay))
  end
end
for i = 3, #KEYS do
  local key = KEYS[i]
  local j = 5 + (i - 3) * 3
  local v = redis.call('HMGET', key, 'alpha', 'beta', 'pulls')
  redis.call('HSET', key,
             'alpha', fmt(tonumber(v[1] or '0') + tonumber(ARGV[j])),
             'beta', fmt(tonumber(v[2] or '0') + tonumber(ARGV[j + 1])),
             'pulls', string.format('%d', tonumber(v[3] or '0') + tonumber(ARGV[j + 2])))
  redis.call('SADD', KEYS[2], key)
end
for _, restart in ipairs(cjson.decode(ARGV[4])) do
  local keep = tonumber(restart['keep'])
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if string.sub(key, 1, #restart['prefix']) == restart['prefix'] then
      local v = redis.call('HMGET', key, 'alpha', 'beta')
      local a, b = tonumber(v[1] or '0') * keep, tonumber(v[2] or '0') * keep
      local since = restart['evidence'][key]
      if since then a, b = tonumber(since[1]), tonumber(since[2]) end
      redis.call('HSET', key, 'alpha', fmt(a), 'beta', fmt(b))
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# An atomic snapshot of every arm: KEYS[1] = set of arm keys. Returns {key, alpha, beta, pulls}*.
_SNAPSHOT_LUA = """
local out = {}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', key, 'alpha', 'beta', 'pulls')
  table.insert(out, key)
  table.insert(out, v[1] or '0')
  table.insert(out, v[2] or '0')
  table.insert(out, v[3] or '0')
end
return out
"""


@dataclass(frozen=True)
class ArmUpdate:
    """What one learning cycle adds to one arm: discounted-evidence increments."""

    successes: float
    failures: float
    pulls: int


@dataclass(frozen=True)
class ArmRow:
    """One line of ``xbot bandit report``: posterior Beta(alpha, beta) = prior + evidence."""

    family: str
    arm: str
    alpha: float
    beta: float
    mean: float
    ci_low: float
    ci_high: float
    pulls: int


def features_of(metadata: Mapping[str, Any]) -> dict[str, list[str]]:
    """The bandit arms a post (or a candidate) belongs to, one list per feature family.

    This is the single mapping from ``tweets.metadata`` (topic, hour, format, tags) to arm names,
    so what the scheduler scores and what learning updates are the same arms: the hour arm is
    the decimal local hour ("14"), tags are lower-cased without a leading '#'. Missing or
    malformed features give no arm (the post still counts as learned).
    """
    out: dict[str, list[str]] = {}
    topic = metadata.get("topic")
    if isinstance(topic, str) and topic.strip():
        out["topic"] = [topic.strip()]
    hour = metadata.get("hour")
    if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23:
        out["hour"] = [str(hour)]
    fmt = metadata.get("format")
    if isinstance(fmt, str) and fmt.strip():
        out["format"] = [fmt.strip()]
    tags = metadata.get("tags")
    if isinstance(tags, list):
        clean = {t.strip().lstrip("#").lower() for t in tags if isinstance(t, str)}
        clean.discard("")
        if clean:
            out["tag"] = sorted(clean)
    return out


# The metadata fields ``features_of`` reads, projected in SQL so that a scan of many posts sends
# (and Python decodes) only these, as JSON text: few distinct values, each decoded once.
FEATURES_SQL = (
    "jsonb_build_object('topic', metadata -> 'topic', 'hour', metadata -> 'hour', "
    "'format', metadata -> 'format', 'tags', metadata -> 'tags')::text"
)


def _arm_set(features: Mapping[str, list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((family, arm) for family, arms in features.items() for arm in arms)


def _sum_groups(
    arm_sets: list[tuple[tuple[str, str], ...]], groups: np.ndarray, rewards: np.ndarray
) -> dict[tuple[str, str], ArmUpdate]:
    """Per-arm increments from posts grouped by their arm set (groups numbered by first post).

    np.bincount adds each group's rewards in post order, then each arm adds its groups in group
    order: a fixed order given the posts, so every caller gets the same doubles for the same
    rows (and 0/1 rewards sum exactly in any order).
    """
    k = len(arm_sets)
    succ = np.bincount(groups, weights=rewards, minlength=k)
    fail = np.bincount(groups, weights=1.0 - rewards, minlength=k)
    pulls = np.bincount(groups, minlength=k)
    totals: dict[tuple[str, str], list[Any]] = {}
    for g, arms in enumerate(arm_sets):
        for key in arms:
            v = totals.setdefault(key, [0.0, 0.0, 0])
            v[0] = v[0] + float(succ[g])
            v[1] = v[1] + float(fail[g])
            v[2] = v[2] + int(pulls[g])
    return {k: ArmUpdate(*totals[k]) for k in sorted(totals)}


def _grouped(
    arm_sets_by_item: list[tuple[tuple[str, str], ...]], item_codes: np.ndarray
) -> tuple[list[tuple[tuple[str, str], ...]], np.ndarray]:
    """Number distinct arm sets by first appearance (items are in first-appearance order)."""
    index: dict[tuple[tuple[str, str], ...], int] = {}
    mapping = np.empty(len(arm_sets_by_item), dtype=np.int64)
    for i, arms in enumerate(arm_sets_by_item):
        mapping[i] = index.setdefault(arms, len(index))
    return list(index), mapping[item_codes] if len(item_codes) else item_codes


def aggregate(posts: Iterable[tuple[Mapping[str, Any], float]]) -> dict[tuple[str, str], ArmUpdate]:
    """Sum (metadata, reward) pairs into per-arm increments (see :func:`aggregate_features`)."""
    metas, rewards = [], []
    for metadata, reward in posts:
        metas.append(_arm_set(features_of(metadata)))
        rewards.append(reward)
    arm_sets, groups = _grouped(metas, np.arange(len(metas), dtype=np.int64))
    return _sum_groups(arm_sets, groups, np.asarray(rewards, dtype=float))


def aggregate_features(feature_json: Any, rewards: np.ndarray) -> dict[tuple[str, str], ArmUpdate]:
    """Per-arm increments of posts given as ``FEATURES_SQL`` texts (in id order) and rewards.

    Vectorised: each distinct text is decoded and mapped to arms once, the sums are bincounts.
    Equal to :func:`aggregate` on the same posts in the same order; the incremental path and
    the rebuild both call it on the rows ordered by tweet id, so their doubles are identical.
    """
    rewards = np.asarray(rewards, dtype=float)
    if rewards.size == 0:
        return {}
    codes, uniques = pd.factorize(np.asarray(feature_json, dtype=object), sort=False)
    arm_sets_by_text = [_arm_set(features_of(json.loads(u))) for u in uniques]
    arm_sets, groups = _grouped(arm_sets_by_text, codes.astype(np.int64))
    return _sum_groups(arm_sets, groups, rewards)


def outcomes_by_family(
    feature_json: Any, rewards: np.ndarray
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each family's outcomes in post order, as (arm per outcome, reward per outcome).

    The change detector's input (posts given as ``FEATURES_SQL`` texts, in id order); each
    distinct text is decoded once, as in :func:`aggregate_features`.
    """
    rewards = np.asarray(rewards, dtype=float)
    if rewards.size == 0:
        return {}
    codes, uniques = pd.factorize(np.asarray(feature_json, dtype=object), sort=False)
    arm_sets = [_arm_set(features_of(json.loads(u))) for u in uniques]
    arms: dict[str, list[str]] = {}
    values: dict[str, list[float]] = {}
    for code, reward in zip(codes.tolist(), rewards.tolist(), strict=True):
        for family, arm in arm_sets[code]:
            arms.setdefault(family, []).append(arm)
            values.setdefault(family, []).append(reward)
    return {family: (arms[family], np.asarray(values[family])) for family in arms}


def _check_decay(decay: float) -> float:
    if isinstance(decay, bool) or not isinstance(decay, (int, float)):
        raise ValidationError("decay", decay, "a number greater than 0.0 and at most 1.0")
    if not (math.isfinite(decay) and 0.0 < decay <= 1.0):
        raise ValidationError("decay", decay, "a number greater than 0.0 and at most 1.0")
    return float(decay)


def _check_update(family: str, arm: str, update: ArmUpdate) -> None:
    if family not in FAMILIES:
        raise ValidationError("family", family, "one of " + ", ".join(FAMILIES))
    if not isinstance(arm, str) or not arm:
        raise ValidationError("arm", arm, "a non-empty string")
    for name in ("successes", "failures"):
        value = getattr(update, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValidationError(name, value, "a finite number >= 0")
    if not (isinstance(update.pulls, int) and update.pulls >= 0):
        raise ValidationError("pulls", update.pulls, "an integer >= 0")


class BanditStore:
    """Read, update and rebuild one environment's bandit state (Redis under REDIS_PREFIX)."""

    def __init__(self, services: Services, environment: str) -> None:
        self.services = services
        self.environment = check_environment(environment)
        self.keys = services.keys
        self._apply_script = services.redis.register_script(_APPLY_LUA)
        self._snapshot_script = services.redis.register_script(_SNAPSHOT_LUA)

    # -- locking ------------------------------------------------------------------------------
    @contextmanager
    def cycle_lock(self) -> Iterator[None]:
        """Hold the environment's learning lock (a Postgres transaction-level advisory lock).

        Learning cycles and rebuilds of one environment never overlap; a second one fails fast
        with :class:`LockBusy` instead of waiting behind a slow metrics fetch. The lock lives
        in a transaction kept open on a connection of its own for the whole cycle: a session
        lock would not survive a transaction-mode pooler (the unlock could reach another
        server connection and the lock would leak), a transaction pins its server connection.
        If this process dies the transaction ends and the lock goes with it.
        """
        digest = hashlib.sha256(f"xbot.learning:{self.environment}".encode()).hexdigest()
        key = int(digest[:15], 16)
        with self.services.engine.connect() as conn, conn.begin():
            got = conn.execute(sa.text("select pg_try_advisory_xact_lock(:k)"), {"k": key})
            if not got.scalar():
                raise LockBusy(f"learning:{self.environment}")
            yield

    # -- reading ------------------------------------------------------------------------------
    def _parse_key(self, key: str) -> tuple[str, str]:
        base = self.keys.bandit_pattern().removesuffix("*:*")
        family, arm = key[len(base) :].split(":", 1)
        return family, arm

    def state(self) -> dict[str, dict[str, dict[str, float]]]:
        """Evidence per arm, read atomically: {family: {arm: {alpha, beta, pulls}}}."""
        flat = self._snapshot_script(keys=[self.keys.bandit_arms()])
        out: dict[str, dict[str, dict[str, float]]] = {}
        for i in range(0, len(flat), 4):
            family, arm = self._parse_key(flat[i])
            out.setdefault(family, {})[arm] = {
                "alpha": float(flat[i + 1]),
                "beta": float(flat[i + 2]),
                "pulls": int(flat[i + 3]),
            }
        return out

    def arm_count(self) -> int:
        """How many arms have evidence (health prints it; 0 before the first learning cycle)."""
        return int(self.services.redis.scard(self.keys.bandit_arms()))

    def last_applied_cycle(self) -> int:
        raw = self.services.redis.get(self.keys.bandit_cycle())
        return int(raw) if raw else 0

    # -- writing ------------------------------------------------------------------------------
    def apply_cycle(
        self,
        cycle_id: int,
        previous: int,
        decay: float,
        updates: Mapping[tuple[str, str], ArmUpdate],
        restarts: Mapping[str, Restart] | None = None,
    ) -> int:
        """Run the Lua apply: 1 applied, 0 already applied, -1 Redis is not at ``previous``."""
        keys = [self.keys.bandit_cycle(), self.keys.bandit_arms()]
        args: list[Any] = [cycle_id, previous, decay, self._restart_args(restarts or {})]
        for (family, arm), update in updates.items():
            keys.append(self.keys.bandit(family, arm))
            args.extend((float(update.successes), float(update.failures), int(update.pulls)))
        return int(self._apply_script(keys=keys, args=args))

    def _restart_args(self, restarts: Mapping[str, Restart]) -> str:
        """The Lua script's restarts: per family its key prefix, keep and flagged keys."""
        return json.dumps(
            [
                {
                    "prefix": self.keys.bandit(family, ""),
                    "keep": r.keep,
                    "evidence": {
                        self.keys.bandit(family, a): list(v) for a, v in r.evidence.items()
                    },
                }
                for family, r in sorted(restarts.items())
            ]
        )

    def apply(
        self, updates: Mapping[tuple[str, str], ArmUpdate], *, decay: float, cycle_id: int
    ) -> bool:
        """Apply learning cycle ``cycle_id`` (decay, then ``updates``) atomically, exactly once.

        ``updates`` must be what Postgres records for that cycle (see :func:`aggregate`); the
        learning loop calls :meth:`sync`, which derives them. Returns False when the cycle was
        already applied. If Redis is not at the cycle just before this one, the state is
        rebuilt from Postgres instead (which includes this cycle once it is committed).
        """
        decay = _check_decay(decay)
        for (family, arm), update in updates.items():
            _check_update(family, arm, update)
        with self.services.engine.connect() as conn:
            previous = conn.execute(
                sa.text(
                    "select coalesce(max(id), 0) from learning_cycles "
                    "where environment = :e and id < :c"
                ),
                {"e": self.environment, "c": cycle_id},
            ).scalar_one()
        result = self.apply_cycle(cycle_id, previous, decay, updates)
        if result == -1:
            self.rebuild()
            return True
        return result == 1

    def _cycle_updates(
        self, conn: sa.Connection, cycle_id: int
    ) -> dict[tuple[str, str], ArmUpdate]:
        rows = conn.execute(
            sa.text(
                f"select {FEATURES_SQL} as features, reward from tweets where environment = :e "
                "and learned_cycle_id = :c and reward is not null order by id"
            ),
            {"e": self.environment, "c": cycle_id},
        ).all()
        return aggregate_features([r[0] for r in rows], np.array([r[1] for r in rows]))

    def sync(self) -> int:
        """Bring Redis up to Postgres: apply committed cycles it has not seen, in order.

        Returns how many cycles were applied. Rebuilds when Redis is ahead of or unrelated to
        Postgres (e.g. restored from another backup), or when its arms were lost.
        """
        last = self.last_applied_cycle()
        with self.services.engine.connect() as conn:
            known = last == 0 or bool(
                conn.execute(
                    sa.text("select 1 from learning_cycles where id = :c and environment = :e"),
                    {"c": last, "e": self.environment},
                ).first()
            )
            if not known or (last and self.arm_count() == 0):
                return int(self.rebuild()["cycles"])
            pending = conn.execute(
                sa.text(
                    "select id, decay, prev, restarts from (select id, decay, "
                    "drift -> 'restarts' as restarts, "
                    "coalesce(lag(id) over (order by id), 0) as prev from learning_cycles "
                    "where environment = :e) c where id > :last order by id"
                ),
                {"e": self.environment, "last": last},
            ).all()
            for cycle in pending:
                updates = self._cycle_updates(conn, cycle.id)
                restarts = restarts_from_json(cycle.restarts)
                if self.apply_cycle(cycle.id, cycle.prev, cycle.decay, updates, restarts) == -1:
                    return int(self.rebuild()["cycles"])
        return len(pending)

    def rebuild(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Recompute the whole state from Postgres only and swap it into Redis atomically.

        Replays every learning cycle in id order with the decay it recorded, using the same
        arithmetic as the Lua script, so the result equals the incremental state exactly.
        """
        now = as_utc(now)
        with self.services.engine.connect() as conn:
            cycles = conn.execute(
                sa.text(
                    "select id, decay, drift -> 'restarts' as restarts from learning_cycles "
                    "where environment = :e order by id"
                ),
                {"e": self.environment},
            ).all()
            rows = conn.execute(
                sa.text(
                    f"select learned_cycle_id, {FEATURES_SQL}, reward from tweets "
                    "where environment = :e and learned_cycle_id is not null "
                    "and reward is not null order by learned_cycle_id, id"
                ),
                {"e": self.environment},
            ).all()
        cycle_of = np.array([r[0] for r in rows], dtype=np.int64)
        features = np.array([r[1] for r in rows], dtype=object)
        rewards = np.array([r[2] for r in rows], dtype=float)
        starts = np.searchsorted(cycle_of, [c.id for c in cycles], side="left")
        ends = np.searchsorted(cycle_of, [c.id for c in cycles], side="right")
        state: dict[tuple[str, str], list[Any]] = {}
        for cycle, lo, hi in zip(cycles, starts, ends, strict=True):
            if cycle.decay != 1.0:
                for v in state.values():
                    v[0] = v[0] * cycle.decay
                    v[1] = v[1] * cycle.decay
            for key, update in aggregate_features(features[lo:hi], rewards[lo:hi]).items():
                v = state.setdefault(key, [0.0, 0.0, 0])
                v[0] = v[0] + update.successes
                v[1] = v[1] + update.failures
                v[2] = v[2] + update.pulls
            for family, restart in sorted(restarts_from_json(cycle.restarts).items()):
                for (fam, arm), v in state.items():
                    if fam == family:
                        v[0], v[1] = restart.evidence.get(arm, (v[0] * restart.keep,
                                                                v[1] * restart.keep))  # fmt: skip

        redis = self.services.redis
        stale = set(redis.smembers(self.keys.bandit_arms()))
        stale.update(redis.scan_iter(match=self.keys.bandit_pattern(), count=1000))
        pipe = redis.pipeline(transaction=True)
        pipe.delete(self.keys.bandit_arms(), self.keys.bandit_cycle(), *stale)
        for (family, arm), (a, b, p) in state.items():
            key = self.keys.bandit(family, arm)
            pipe.hset(key, mapping={"alpha": repr(a), "beta": repr(b), "pulls": str(p)})
            pipe.sadd(self.keys.bandit_arms(), key)
        if cycles:
            pipe.set(self.keys.bandit_cycle(), str(cycles[-1].id))
        pipe.execute()
        result = {
            "environment": self.environment,
            "cycles": len(cycles),
            "posts": len(rows),
            "arms": len(state),
            "last_cycle_id": cycles[-1].id if cycles else None,
            "rebuilt_at": now.isoformat(),
        }
        with self.services.engine.begin() as conn:
            audit.record(conn, "BANDIT_REBUILT", "learning", self.environment, result)
        return result

    # -- the policy and the report ------------------------------------------------------------
    def load(
        self,
        *,
        epsilon: float,
        decay: float,
        seed: int | None = None,
        prior: Prior | None = None,
    ) -> FeatureBandit:
        """The scheduler's policy, built from the current evidence (after :meth:`sync`).

        ``prior`` None means the bandit's default (pooled per family); pass
        :func:`xbot.model.prior_from_model` when the ``model_priors`` flag is on.
        """
        self.sync()
        hyper: dict[str, Any] = {"epsilon": epsilon, "decay": decay, "seed": seed}
        if prior is not None:
            hyper["prior"] = prior
        return FeatureBandit.from_state(self.state(), **hyper)

    def report(self, *, prior: Prior | None = None) -> list[ArmRow]:
        """Per arm: posterior Beta(alpha, beta) = prior + evidence, mean, 94% interval, pulls.

        The prior is the one :meth:`load` would use (pooled per family unless given), so the
        means are the policy's own expectations; the interval is equal-tailed, as the bandit's.
        """
        state = self.state()
        rows: list[ArmRow] = []
        for family in sorted(state):
            arms = sorted(state[family], key=lambda a: (len(a), a) if a.isdigit() else (99, a))
            ev_a = np.array([state[family][a]["alpha"] for a in arms])
            ev_b = np.array([state[family][a]["beta"] for a in arms])
            pooled = pooled_prior(ev_a, ev_b)
            for i, arm in enumerate(arms):
                pa, pb = _prior_of(prior, family, arm, pooled)
                a, b = pa + ev_a[i], pb + ev_b[i]
                lo, hi = stats.beta.ppf([(1 - CI_MASS) / 2, (1 + CI_MASS) / 2], a, b)
                rows.append(
                    ArmRow(
                        family=family,
                        arm=arm,
                        alpha=float(a),
                        beta=float(b),
                        mean=float(a / (a + b)),
                        ci_low=float(lo),
                        ci_high=float(hi),
                        pulls=int(state[family][arm]["pulls"]),
                    )
                )
        return rows


def restarts_from_json(data: Mapping[str, Any] | None) -> dict[str, Restart]:
    """``learning_cycles.drift -> 'restarts'`` as {family: Restart} (None: no restart)."""
    return {family: Restart.from_json(r) for family, r in (data or {}).items()}


def _prior_of(
    prior: Prior | None, family: str, arm: str, pooled: tuple[float, float]
) -> tuple[float, float]:
    """The prior FeatureBandit gives ``arm``: a fixed pair, a per-arm pair, else pooled."""
    if prior is None or isinstance(prior, str):
        return pooled
    if isinstance(prior, Mapping):
        pair = prior.get(family, {}).get(arm)
        return (float(pair[0]), float(pair[1])) if pair is not None else pooled
    return float(prior[0]), float(prior[1])
