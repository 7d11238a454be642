"""One scheduling cycle: gates -> pick -> guard -> post or shadow -> exactly one decision row.

Semantics (DESIGN.md, "Cycle semantics"), in order, with flags read fresh every cycle:

1. Take the scheduler lock (only one cycle at a time per REDIS_PREFIX; a second one is
   recorded as ``skipped/locked``; a Redis that is down, out of memory or read-only is
   recorded as ``skipped/error:<Type>`` and raised as ServiceUnavailable, exit 4). Return
   expired queue claims, expire old candidates, heal the Redis queue if it drifted from
   Postgres, then reconcile the outbox: nothing is posted while a post of ours is claimed or
   in doubt.
2. Gates: ``quiet_hours`` (local hours in the ``timezone`` flag, DST-correct through
   zoneinfo), ``post_interval_min`` since the last slot, ``daily_cap`` live posts per local day.
3. A coin with probability ``post_fraction`` decides live vs shadow; live also needs
   ``LIVE_POSTS=true``, a poster, and not ``never_post``. A live cycle stops early when X
   refused our credentials (``auth_failed``) or answered 402 (``credits_depleted``), a
   rate-limit window is open (``rate_limited``), an X API budget has no room (``budget``) or
   the outbox is unresolved (``in_doubt``): the candidate stays queued. Under
   ``require_approval`` a live cycle picks among approved candidates only
   (``awaiting_approval`` when none is) and a shadow cycle among the others.
4. The engine picks: V2 (FeatureBandit through BanditStore) when ``learning_engine_v2``, else
   V1, the highest priority (propensity 1.0: deterministic under the logging policy). The pick
   is claimed atomically; the guard checks it; a rejection acks *that* candidate ``rejected``
   and the engine picks again among the rest, at most ``MAX_PICKS`` times.
5. Live: the outbox posts it (see :mod:`xbot.outbox`). Shadow: ``SHADOW MODE - Would post:``.

Slots. ``post_interval_min`` spaces *slots* (posted or shadow decisions), not only live posts,
so ``post_fraction`` is the share of slots that go out: at 0.1 the account posts about a tenth
as often, which is what a gradual rollout means. A shadowed candidate is acked ``shadowed``
(removed from the queue): shadow mode spends candidates as live mode would, so the next
shadow cycle shows a different one and the decision log is the counterfactual of posting.
``never_post`` cycles (``xbot schedule test``) are dry runs: they pass the same gates and show
the pick, but return the candidate to the queue and do not count as a slot.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import redis as redis_lib
import sqlalchemy as sa

from xbot import flags as flags_mod
from xbot.bandit_store import BanditStore
from xbot.candidates.prep import NearDuplicateIndex
from xbot.candidates.queue import Candidate, CandidateQueue, Claim, Outcome
from xbot.clock import as_utc
from xbot.errors import PosterError, ServiceUnavailable, XbotError
from xbot.features import candidate_arms, post_features
from xbot.link_policy import final_text, has_url, links_that_pay
from xbot.locks import RedisLock
from xbot.model import flag_prior
from xbot.outbox import Outbox, blocked_hashes, crash_point, post_key, unresolved_count
from xbot.poster import Media, Poster, media_sha256
from xbot.poster_state import PAUSED_STATES, poster_state, rate_limited_until
from xbot.review import approved_hashes, guard_codes
from xbot.safety import SafetyGuard
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_pricing import load_pricing

log = logging.getLogger("xbot.scheduler")

LOCK_NAME = "scheduler"
LOCK_LEASE_S = 120.0
CLAIM_LEASE_S = 300.0
MAX_PICKS = 5
PEEK_LIMIT = 500
RECENT_DAYS = 7


@dataclass
class DecisionRecord:
    """The decision row of one cycle, as written (``id`` is its primary key)."""

    id: int
    environment: str
    ts: datetime
    engine: str
    outcome: str  # posted | shadow | skipped
    reason: str
    content_hash: str | None = None
    candidate_id: int | None = None
    text: str | None = None
    topic: str | None = None
    format: str | None = None
    hour: int | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    propensity: float | None = None
    tweet_pk: int | None = None
    tweet_id: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One human line: what the CLI prints."""
        head = f"[{self.ts.isoformat(timespec='seconds')}] {self.engine} {self.outcome}"
        if self.outcome == "shadow":
            return f"{head}: SHADOW MODE - Would post: {self.text}"
        if self.outcome == "posted":
            return f"{head}: tweet {self.tweet_id}: {self.text}"
        return f"{head} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ts"] = self.ts.isoformat()
        return out


def local_day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of ``now``'s local day in ``tz``, as UTC (23 or 25 hours long across DST)."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)


class _Cycle:
    """The state of one cycle; ``run`` returns the decision row's values."""

    def __init__(
        self,
        services: Services,
        settings: Settings,
        poster: Poster | None,
        now: datetime,
        never_post: bool,
        rng: np.random.Generator,
        lock: RedisLock,
    ) -> None:
        self.lock = lock
        self.services = services
        self.settings = settings
        self.env = settings.environment
        self.poster = poster
        self.now = now
        self.never_post = never_post
        self.rng = rng
        self.queue = CandidateQueue(services, self.env)
        self.context: dict[str, Any] = {"dry_run": never_post}
        self.claim: Claim | None = None

    def _last_slot(self, conn: sa.Connection) -> datetime | None:
        return conn.execute(
            sa.text(
                "select greatest("
                " (select max(ts) from decisions where environment = :e"
                "   and outcome in ('posted', 'shadow')"
                "   and not coalesce((context ->> 'dry_run')::boolean, false)),"
                " (select max(coalesce(posted_at, created_at)) from tweets where environment = :e"
                "   and status in ('posted', 'claimed', 'in_doubt')))"
            ),
            {"e": self.env},
        ).scalar()

    def _posts_since(self, conn: sa.Connection, since: datetime) -> int:
        return conn.execute(
            sa.text(
                "select count(*) from tweets where environment = :e"
                " and status in ('posted', 'claimed', 'in_doubt')"
                " and coalesce(posted_at, created_at) >= :since"
            ),
            {"e": self.env, "since": since},
        ).scalar_one()

    def _recent_index(self, threshold: float) -> NearDuplicateIndex:
        index = NearDuplicateIndex(threshold)
        with self.services.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select idempotency_key, text from tweets where environment = :e"
                    " and status = 'posted' and posted_at >= :since"
                ),
                {"e": self.env, "since": self.now - timedelta(days=RECENT_DAYS)},
            ).all()
        for row in rows:
            index.add(row.idempotency_key, row.text)
        return index

    def _settle(self, content_hash: str, outcome: Outcome) -> None:
        claim = self.queue.claim(content_hash, CLAIM_LEASE_S, now=self.now)
        if claim is not None:
            self.queue.ack(claim, outcome)

    def run(self, fl: flags_mod.Flags) -> dict[str, Any]:
        tz = ZoneInfo(fl.timezone)
        hour = self.now.astimezone(tz).hour
        self.context["local_time"] = self.now.astimezone(tz).isoformat()
        engine = "v2" if fl.learning_engine_v2 else "v1"
        out: dict[str, Any] = {"engine": engine, "hour": hour}
        self.queue.reclaim_expired(now=self.now)
        self.queue.prune_expired(now=self.now)
        healed = self.queue.heal(now=self.now)
        if healed is not None:
            self.context["queue_healed"] = healed

        outbox = Outbox(self.services, self.env, self.poster) if self.poster else None
        if outbox is not None and unresolved_count(self.services, self.env):
            try:
                resolutions = outbox.reconcile(now=self.now)
                outbox.settle(self.queue, resolutions, self.now)
                self.context["reconciled"] = [r.action for r in resolutions]
            except PosterError as exc:
                self.context["reconcile_error"] = str(exc)
                log.warning("outbox reconciliation failed: %s", exc)

        if hour in fl.quiet_hours:
            return {**out, "outcome": "skipped", "reason": "quiet_hours"}
        with self.services.engine.connect() as conn:
            last = self._last_slot(conn)
            posts_today = self._posts_since(conn, local_day_start(self.now, tz))
        if last is not None and self.now - last < timedelta(minutes=fl.post_interval_min):
            self.context["last_slot"] = last.isoformat()
            return {**out, "outcome": "skipped", "reason": "interval"}
        if posts_today >= fl.daily_cap:
            self.context["posts_today"] = posts_today
            return {**out, "outcome": "skipped", "reason": "daily_cap"}

        coin = bool(self.rng.random() < fl.post_fraction)
        live = coin and self.settings.live_posts and not self.never_post and self.poster is not None
        self.context["live"] = live
        if live:
            state = poster_state(self.services)
            if state.get("state") in PAUSED_STATES:
                self.context["poster"] = state
                return {**out, "outcome": "skipped", "reason": state["state"]}
            until = rate_limited_until(self.services, now=self.now)
            if until is not None:
                self.context["rate_limited_until"] = until.isoformat()
                return {**out, "outcome": "skipped", "reason": "rate_limited"}
            if unresolved_count(self.services, self.env):
                return {**out, "outcome": "skipped", "reason": "in_doubt"}
            refusal = self._budget_refusal()
            if refusal is not None:
                self.context["budget"] = refusal
                return {**out, "outcome": "skipped", "reason": "budget"}

        picked = self._pick(fl, engine, hour, live)
        if "reason" in picked:
            return {**out, "outcome": "skipped", **picked}
        claim: Claim = picked.pop("claim")
        candidate = claim.candidate
        out.update(picked)
        out.update(
            content_hash=candidate.content_hash,
            candidate_id=candidate.db_id,
            text=picked.get("text", candidate.text),  # what goes out (link_policy)
            topic=candidate.topic,
            format=candidate.format,
        )
        if not live:
            log.info("SHADOW MODE - Would post: %s", candidate.text)
            self.queue.ack(claim, "returned" if self.never_post else "shadowed")
            self.claim = None
            return {
                **out,
                "outcome": "shadow",
                "reason": "dry_run" if self.never_post else "shadow",
            }
        return {**out, **self._post(outbox, claim, fl, engine, hour, out)}

    def _budget_refusal(self) -> str | None:
        """Early budget gate: not even the cheapest post fits (the exact gate is at the call)."""
        usage = getattr(self.poster, "usage", None)
        clock = getattr(self.poster, "clock", None)
        if usage is None or clock is None:
            return None
        return usage.refusal("post_create", now=clock())

    def _model_prior(self, fl: flags_mod.Flags) -> dict[str, dict[str, tuple[float, float]]] | None:
        """The prior the flags ask for (:func:`xbot.model.flag_prior`), noted in the context."""
        prior = flag_prior(self.services, self.env, fl, self.now)
        if fl.model_priors:
            self.context["prior"] = "model" if prior else "pooled (no model fit yet)"
        return prior

    def _approval_gate(self, pool: list[Candidate], live: bool) -> list[Candidate]:
        """Under ``require_approval`` a live cycle picks among approved candidates only, and a
        shadow cycle among the others: approvals are kept for the live slots they are for."""
        with self.services.engine.connect() as conn:
            approved = approved_hashes(conn, self.env, [c.content_hash for c in pool])
        self.context["approved"] = len(approved)
        return [c for c in pool if (c.content_hash in approved) == live]

    def _pick(self, fl: flags_mod.Flags, engine: str, hour: int, live: bool) -> dict[str, Any]:
        pool = self.queue.peek(PEEK_LIMIT, now=self.now)
        # the outbox keys a post by what is posted (link_policy may change the text) and its image
        posted_key = {c.content_hash: post_key(final_text(c.text, fl.link_policy),
                                               media_sha256(c.metadata))
                      for c in pool}  # fmt: skip
        keys = sorted({c.content_hash for c in pool} | set(posted_key.values()))
        blocked_keys = blocked_hashes(self.services, self.env, keys)
        blocked = {}
        for c in pool:
            what = blocked_keys.get(c.content_hash) or blocked_keys.get(posted_key[c.content_hash])
            if what is not None:
                blocked[c.content_hash] = what
        for digest, what in blocked.items():
            if what != "busy":  # already posted, or finally refused by X: leaves the queue
                self._settle(digest, "posted" if what == "posted" else "rejected")
        pool = [c for c in pool if c.content_hash not in blocked]
        if fl.require_approval and not self.never_post:
            queued = len(pool)
            pool = self._approval_gate(pool, live)
            if live and queued and not pool:
                return {"reason": "awaiting_approval"}
        self.context["eligible"] = len(pool)
        self.context["eligible_topics"] = dict(Counter(c.topic for c in pool))
        # (topic, format) of every eligible candidate: with the slot's hour, what a simulated
        # truth needs to name the best candidate of the slot (xbot.demo.lift_captured)
        self.context["eligible_pairs"] = dict(Counter(f"{c.topic}|{c.format}" for c in pool))
        self.context["v1_choice"] = pool[0].content_hash if pool else None
        if not pool:
            return {"reason": "queue_empty"}
        guard = SafetyGuard.from_flags(fl, self.services.settings)
        recent = self._recent_index(fl.near_duplicate_threshold)
        bandit, encoded = None, None
        if engine == "v2":
            seed = int(self.rng.integers(2**31))
            bandit = BanditStore(self.services, self.env).load(
                epsilon=fl.epsilon, decay=fl.decay, seed=seed, prior=self._model_prior(fl)
            )
        feats = [candidate_arms(c, hour) for c in pool]  # the slot's hour, not the best one
        if bandit is not None:
            encoded = bandit.encode(feats)  # once for every re-pick
        eligible = list(range(len(pool)))
        linked = {i for i, c in enumerate(pool) if has_url(c.text)}
        avoid = fl.link_policy == "avoid" and 0 < len(linked) < len(pool)
        expected, surcharge = None, 0.0
        if avoid and bandit is not None:  # the rule of xbot.link_policy.links_that_pay
            expected = bandit.predict_expectations(feats)
            plan = load_pricing().plan(fl.x_plan)
            surcharge = plan.post_cost(True) - plan.post_cost(False)
        rejected: list[dict[str, Any]] = []
        self.context["rejected"] = rejected
        last_codes: tuple[str, ...] = ()
        for _ in range(MAX_PICKS):
            exploit = None
            if avoid and bandit is None and any(i not in linked for i in eligible):
                eligible = [i for i in eligible if i not in linked]  # V1: see xbot.link_policy
                self.context["link_avoided"] = len(linked)
            elif expected is not None and eligible:
                drawn = links_that_pay(eligible, linked, expected, fl.x_value_per_success_usd,
                                       surcharge)  # fmt: skip
                self.context["link_avoided"] = len(eligible) - len(drawn)
                exploit = drawn if len(drawn) < len(eligible) else None
            if not eligible:
                break
            if bandit is None or encoded is None:
                index, propensity = eligible[0], 1.0
                scores: dict[str, Any] = {"priority": pool[index].priority}
            else:
                choice = bandit.choose(encoded, eligible, exploit)
                index, propensity = choice.index, choice.propensity
                scores = {"score": choice.scores[index], "explored": choice.explored}
            eligible.remove(index)
            candidate = pool[index]
            claim = self.queue.claim(candidate.content_hash, CLAIM_LEASE_S, now=self.now)
            if claim is None:
                continue  # taken or expired since the peek
            self.claim = claim
            text = final_text(candidate.text, fl.link_policy)
            codes = guard_codes(guard, text, candidate, recent)
            if not codes:
                self.context["arms"] = feats[index]  # what was scored = what learning updates
                return {"claim": claim, "scores": scores, "propensity": propensity, "text": text}
            self.queue.ack(claim, "rejected")
            self.claim = None
            last_codes = codes
            rejected.append({"content_hash": candidate.content_hash, "codes": list(codes)})
            log.info("guard rejected %s: %s", candidate.content_hash[:12], codes)
        if rejected:
            return {"reason": "safety_rejected:" + ",".join(last_codes)}
        return {"reason": "queue_empty"}

    def _post(
        self,
        outbox: Outbox | None,
        claim: Claim,
        fl: flags_mod.Flags,
        engine: str,
        hour: int,
        picked: dict[str, Any],
    ) -> dict[str, Any]:
        assert outbox is not None
        candidate = claim.candidate
        text = picked.get("text", candidate.text)
        media = Media.from_metadata(candidate.metadata)
        crash_point(self.services.settings, "queue_claimed")
        pk = outbox.claim(
            text=text,
            candidate_id=candidate.db_id,
            metadata={
                **post_features(candidate, hour),  # what learning reads back: the arms scored
                "source": candidate.source,
                "engine": engine,
                "environment": self.env,
                # has_media comes from post_features (only when the candidate says): the arms
                # learning reads back must be the arms the decision scored
                **({"media": media.to_json()} if media is not None else {}),
                "has_url": has_url(text),
                "link_policy": fl.link_policy,
                **({"original_text": candidate.text} if text != candidate.text else {}),
            },
            learning_metadata={
                "scores": picked["scores"],
                "policy": "thompson" if engine == "v2" else "priority",
                "propensity": picked["propensity"],
                "epsilon": fl.epsilon,
            },
            media_sha256=media.sha256 if media is not None else None,
            now=self.now,
        )
        if pk is None:  # this text (with this image) was claimed or posted by an earlier attempt
            self.queue.ack(claim, "returned")
            self.claim = None
            return {"outcome": "skipped", "reason": "in_doubt"}
        if not self.lock.extend():  # a slow cycle lost its lease: another may be posting
            self.queue.ack(claim, "returned")
            self.claim = None
            return {"tweet_pk": pk, "outcome": "skipped", "reason": "locked"}
        result = outbox.publish(pk, text, media=media, now=self.now)
        out: dict[str, Any] = {"tweet_pk": pk, "tweet_id": result.tweet_id}
        if result.status == "posted":
            self.queue.ack(claim, "posted")
            self.claim = None
            if result.reason == "duplicate_content":
                return {**out, "outcome": "skipped", "reason": "duplicate_content"}
            return {**out, "outcome": "posted", "reason": "posted"}
        if result.reason == "media_rejected":  # X refused the image: it never goes out
            self.queue.ack(claim, "rejected")
            self.claim = None
            return {**out, "outcome": "skipped", "reason": "media_rejected"}
        # failed (X refused: may be queued again) or in doubt (blocked until reconciled)
        self.queue.ack(claim, "returned")
        self.claim = None
        return {**out, "outcome": "skipped", "reason": result.reason}


def _write(
    services: Services,
    environment: str,
    now: datetime,
    values: dict[str, Any],
    fl: flags_mod.Flags | None,
    context: dict[str, Any],
) -> DecisionRecord:
    record = DecisionRecord(
        id=0,
        environment=environment,
        ts=now,
        engine=values.get("engine", "v1"),
        outcome=values["outcome"],
        reason=values["reason"],
        content_hash=values.get("content_hash"),
        candidate_id=values.get("candidate_id"),
        text=values.get("text"),
        topic=values.get("topic"),
        format=values.get("format"),
        hour=values.get("hour"),
        scores=values.get("scores") or {},
        propensity=values.get("propensity"),
        tweet_pk=values.get("tweet_pk"),
        tweet_id=values.get("tweet_id"),
        flags=fl.snapshot() if fl is not None else {},
        context=context,
    )
    with services.engine.begin() as conn:
        record.id = conn.execute(
            sa.text(
                "insert into decisions (environment, ts, slot_at, engine, outcome, reason,"
                " candidate_id, content_hash, topic, format, hour, scores, propensity, flags,"
                " tweet_pk, context) values (:e, :ts, :ts, :engine, :outcome, :reason, :cid,"
                " :hash, :topic, :format, :hour, cast(:scores as jsonb), :p,"
                " cast(:flags as jsonb), :tpk, cast(:ctx as jsonb)) returning id"
            ),
            {
                "e": environment,
                "ts": now,
                "engine": record.engine,
                "outcome": record.outcome,
                "reason": record.reason,
                "cid": record.candidate_id,
                "hash": record.content_hash,
                "topic": record.topic,
                "format": record.format,
                "hour": record.hour,
                "scores": json.dumps(record.scores, default=float),
                "p": record.propensity,
                "flags": json.dumps(record.flags),
                "tpk": record.tweet_pk,
                "ctx": json.dumps(context, default=str),
            },
        ).scalar_one()
    return record


def record_redis_refusal(
    services: Services,
    settings: Settings,
    exc: redis_lib.RedisError,
    *,
    now: datetime | None = None,
    never_post: bool = False,
) -> ServiceUnavailable:
    """Write the ``skipped/error:<Type>`` decision row of a cycle Redis refused before it could
    start (down, out of memory, read-only; also when the command's own timetable lock could
    not be taken), and return the ServiceUnavailable (exit 4) for the caller to raise."""
    at = as_utc(now)
    env = settings.environment
    with services.engine.connect() as conn:
        fl = flags_mod.load_flags(conn, env)
    values = {"engine": "v2" if fl.learning_engine_v2 else "v1", "outcome": "skipped",
              "reason": f"error:{type(exc).__name__}"}  # fmt: skip
    _write(services, env, at, values, fl, {"error": str(exc), "dry_run": never_post})
    return ServiceUnavailable.from_redis(exc)


def run_cycle(
    services: Services,
    settings: Settings,
    *,
    poster: Poster | None,
    now: datetime | None = None,
    never_post: bool = False,
    rng: np.random.Generator | None = None,
) -> DecisionRecord:
    """Run one scheduling cycle and write its one decision row (see the module docstring).

    ``poster`` None is the shadow path (nothing can leave the machine). ``rng`` drives the
    post_fraction coin and seeds the bandit draw, so a seeded demo is reproducible.
    Errors are recorded as ``skipped/error:<Type>`` and then raised (Redis errors as
    :class:`~xbot.errors.ServiceUnavailable`, so the CLI exits 4 with one line).
    """
    at = as_utc(now)
    env = settings.environment
    generator = rng if rng is not None else np.random.default_rng()
    with services.engine.connect() as conn:
        fl = flags_mod.load_flags(conn, env)
    engine = "v2" if fl.learning_engine_v2 else "v1"
    lock = RedisLock(services, LOCK_NAME, LOCK_LEASE_S)
    try:
        acquired = lock.acquire()
    except redis_lib.RedisError as exc:  # down, out of memory, read-only: no cycle can run
        raise record_redis_refusal(services, settings, exc, now=at, never_post=never_post) from exc
    if not acquired:
        context = {"lock_owner": lock.owner(), "dry_run": never_post}
        values = {"engine": engine, "outcome": "skipped", "reason": "locked"}
        return _write(services, env, at, values, fl, context)
    cycle = _Cycle(services, settings, poster, at, never_post, generator, lock)
    try:
        values = cycle.run(fl)
    except Exception as exc:
        values = {"engine": engine, "outcome": "skipped", "reason": f"error:{type(exc).__name__}"}
        cycle.context["error"] = str(exc)
        if cycle.claim is not None:
            try:
                cycle.queue.ack(cycle.claim, "returned")
            except XbotError as ack_exc:  # the lease returns it; the first error is the story
                cycle.context["return_error"] = str(ack_exc)
        _write(services, env, at, values, fl, cycle.context)
        if isinstance(exc, redis_lib.RedisError):
            raise ServiceUnavailable.from_redis(exc) from exc
        raise
    finally:
        try:
            lock.release()
        except redis_lib.RedisError as exc:  # the lease frees it; never hide the cycle's result
            log.warning("scheduler lock not released (%s); it expires with its lease", exc)
    record = _write(services, env, at, values, fl, cycle.context)
    if fl.problems:
        log.warning("flag problems: %s", "; ".join(fl.problems))
    return record
