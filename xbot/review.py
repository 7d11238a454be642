"""The human approval gate: a person sees, approves, rejects or edits what xbot would post.

Why: early in a rollout an operator wants a person to see every post before it goes out. With
the ``require_approval`` flag on, a live cycle posts only candidates approved here; a shadow
cycle still runs (so learning and OPE keep their data) but leaves approved candidates for the
live cycles, so an approval is never spent on a shadow slot.

Review state lives in Postgres beside the candidate (``candidates.review_state``, ``reviewed_by``,
``reviewed_at``, ``review_note``): Postgres is the source of truth, and the Redis queue can be
rebuilt without losing an approval. Every action writes one ``audit_log`` row naming who did
what. Input is checked in full before anything is written: an unknown id, a candidate that is
no longer queued, an empty reason or an edited text the guard refuses changes nothing.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from xbot import audit
from xbot.bandit_store import BanditStore
from xbot.candidates.prep import NearDuplicateIndex, content_hash
from xbot.candidates.queue import Candidate, CandidateQueue
from xbot.clock import as_utc
from xbot.errors import PosterError, ValidationError
from xbot.features import candidate_arms
from xbot.flags import Flags, check_environment, load_flags
from xbot.link_policy import final_text
from xbot.model import flag_prior
from xbot.poster import Media
from xbot.safety import SafetyGuard
from xbot.services import Services

#: How long a reviewer's action holds a candidate while it is rejected or replaced.
_CLAIM_LEASE_S = 60.0
MAX_REASON = 500
PENDING = "pending"
APPROVED = "approved"


def default_reviewer() -> str:
    """The OS user running the command (``--by`` overrides it), for the audit row."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no LOGNAME/USER/LNAME/USERNAME and no passwd entry
        return "unknown"


@dataclass(frozen=True)
class ReviewItem:
    """One queued candidate as a reviewer sees it (``rank`` 1 = V2's most likely pick)."""

    rank: int
    id: int
    state: str  # pending | approved
    expected: float | None
    priority: float
    verdict: str  # "ok" or the guard's reason codes
    topic: str
    format: str
    tags: tuple[str, ...]
    source: str
    text: str
    reviewed_by: str | None
    expires_at: datetime


@dataclass(frozen=True)
class ReviewQueue:
    """The pending queue in V2's order, with the context a reviewer needs to read it."""

    environment: str
    hour: int
    require_approval: bool
    items: list[ReviewItem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "hour": self.hour,
            "require_approval": self.require_approval,
            "items": [
                {
                    **item.__dict__,
                    "tags": list(item.tags),
                    "expires_at": item.expires_at.isoformat(),
                }
                for item in self.items
            ],
        }


def guard_codes(
    guard: SafetyGuard,
    text: str,
    candidate: Candidate,
    recent: NearDuplicateIndex | None = None,
) -> tuple[str, ...]:
    """The guard's reason codes for a candidate's final text and its image's alt text (() = ok):
    what a scheduling cycle refuses and what ``xbot review list`` shows, computed one way.

    Alt text is what screen readers say: the guard judges it with the post. An image that
    cannot be posted (malformed metadata; the file gone, over X's size or no longer the bytes
    hashed) is ``media_invalid``: refused here, once, rather than failing at X every cycle.
    """
    try:
        media = Media.from_metadata(candidate.metadata)
        if media is not None:
            media.read()
    except (ValidationError, PosterError):
        return ("media_invalid",)
    alt = media.alt if media is not None and media.alt else None
    verdict = guard.validate(text, candidate.tags, recent=recent, alt_text=alt)
    return () if verdict.ok else tuple(verdict.codes)


def approved_hashes(conn: sa.Connection, environment: str, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` a person approved (what a live cycle may post under the gate)."""
    if not hashes:
        return set()
    rows = conn.execute(
        sa.text(
            "select content_hash from candidates where environment = :e"
            " and review_state = 'approved' and content_hash = any(:h)"
        ),
        {"e": environment, "h": list(hashes)},
    )
    return {r.content_hash for r in rows}


def pending(
    services: Services, environment: str, *, now: datetime | None = None, limit: int = 500
) -> ReviewQueue:
    """The queue as V2 would pick it at ``now``'s local hour: highest expected success first.

    Expected success is the bandit's posterior-mean chance that the post beats the reward
    baseline (:meth:`FeatureBandit.predict_expectations`), the quantity Thompson sampling draws
    around, with the prior the flags ask for; ties go to the higher V1 priority. The text shown
    and judged is the one that would be posted (``link_policy``); the guard's verdict is
    computed fresh with the current flags (:func:`guard_codes`, as the cycle does).
    """
    at = as_utc(now)
    check_environment(environment)
    with services.engine.connect() as conn:
        fl = load_flags(conn, environment)
    hour = at.astimezone(ZoneInfo(fl.timezone)).hour
    queue = CandidateQueue(services, environment)
    pool = queue.peek(limit, now=at)
    expected: list[float | None] = [None] * len(pool)
    if pool:
        prior = flag_prior(services, environment, fl, at)
        bandit = BanditStore(services, environment).load(
            epsilon=fl.epsilon, decay=fl.decay, prior=prior
        )
        expected = list(bandit.predict_expectations([candidate_arms(c, hour) for c in pool]))
    guard = SafetyGuard.from_flags(fl, services.settings)
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select content_hash, review_state, reviewed_by from candidates"
                " where environment = :e and content_hash = any(:h)"
            ),
            {"e": environment, "h": [c.content_hash for c in pool]},
        ).all()
    review = {r.content_hash: r for r in rows}
    order = sorted(range(len(pool)), key=lambda i: (-(expected[i] or 0.0), -pool[i].priority, i))
    items = []
    for rank, i in enumerate(order, start=1):
        c = pool[i]
        text = final_text(c.text, fl.link_policy)
        codes = guard_codes(guard, text, c)
        row = review.get(c.content_hash)
        items.append(
            ReviewItem(
                rank=rank,
                id=int(c.db_id or 0),
                state=APPROVED if row is not None and row.review_state == APPROVED else PENDING,
                expected=expected[i],
                priority=c.priority,
                verdict=",".join(codes) or "ok",
                topic=c.topic,
                format=c.format,
                tags=c.tags,
                source=c.source,
                text=text,
                reviewed_by=row.reviewed_by if row is not None else None,
                expires_at=c.expires_at,
            )
        )
    return ReviewQueue(environment, hour, fl.require_approval, items)


# -- actions -----------------------------------------------------------------------------------


def _check_ids(ids: Sequence[int]) -> list[int]:
    allowed = "one or more candidate ids (positive integers, as `xbot review list` shows)"
    if not ids:
        raise ValidationError("id", list(ids), allowed)
    out: list[int] = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("id", value, allowed)
        if value not in out:
            out.append(value)
    return out


def _check_reviewer(by: str) -> str:
    clean = by.strip() if isinstance(by, str) else ""
    if not clean or len(clean) > 100 or not clean.isprintable():
        raise ValidationError("by", by, "a reviewer name of 1-100 printable characters")
    return clean


def _queued_rows(conn: sa.Connection, environment: str, ids: list[int]) -> dict[int, Any]:
    """The rows of ``ids``, refusing (before anything is written) any that is not queued."""
    rows = {
        r.id: r
        for r in conn.execute(
            sa.text(
                "select id, content_hash, status, review_state, text, topic, format, tags,"
                " source, priority, created_at, expires_at, metadata from candidates"
                " where environment = :e and id = any(:ids)"
            ),
            {"e": environment, "ids": ids},
        )
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ValidationError("id", missing, f"ids of candidates in {environment}")
    busy = [i for i in ids if rows[i].status != "queued"]
    if busy:
        states = ", ".join(f"{i} is {rows[i].status}" for i in busy)
        raise ValidationError(
            "id", busy, f"queued candidates ({states}; a claimed one is in a running cycle)"
        )
    return rows


def approve(
    services: Services,
    environment: str,
    ids: Sequence[int],
    *,
    by: str,
    now: datetime | None = None,
) -> list[int]:
    """Approve queued candidates for live posting; returns the ids approved (one audit row)."""
    at = as_utc(now)
    check_environment(environment)
    wanted, who = _check_ids(ids), _check_reviewer(by)
    with services.engine.begin() as conn:
        _queued_rows(conn, environment, wanted)
        conn.execute(
            sa.text(
                "update candidates set review_state = 'approved', reviewed_by = :by,"
                " reviewed_at = :at, review_note = null where environment = :e and id = any(:ids)"
            ),
            {"by": who, "at": at, "e": environment, "ids": wanted},
        )
        audit.record(
            conn, "CANDIDATES_APPROVED", "review", environment,
            {"ids": wanted}, {"actor": who}, ts=at,
        )  # fmt: skip
    return wanted


def _take(queue: CandidateQueue, rows: dict[int, Any], at: datetime) -> dict[int, Any]:
    """Claim each row's candidate from the Redis queue (so no cycle picks it meanwhile).

    A row Postgres holds as queued but Redis lost is handled in Postgres alone; one that a cycle
    claimed between the check and now releases what was taken and is refused.
    """
    claims: dict[int, Any] = {}
    for pk, row in rows.items():
        claim = queue.claim(row.content_hash, _CLAIM_LEASE_S, now=at)
        if claim is None and queue.in_flight(row.content_hash):
            for taken in claims.values():
                if taken is not None:
                    queue.ack(taken, "returned")
            raise ValidationError("id", pk, "a queued candidate (a running cycle just took it)")
        claims[pk] = claim
    return claims


def _retire(
    conn: sa.Connection,
    environment: str,
    ids: list[int],
    state: str,
    who: str,
    at: datetime,
    note: str,
) -> None:
    """Rows leave the queue for good (status ``rejected``) with the reviewer's state and why."""
    conn.execute(
        sa.text(
            "update candidates set status = 'rejected', review_state = :state,"
            " reviewed_by = :by, reviewed_at = :at, review_note = :note"
            " where environment = :e and id = any(:ids)"
        ),
        {"state": state, "by": who, "at": at, "note": note, "e": environment, "ids": ids},
    )


def reject(
    services: Services,
    environment: str,
    ids: Sequence[int],
    *,
    reason: str,
    by: str,
    now: datetime | None = None,
) -> list[int]:
    """Remove exactly these candidates from the queue, as a guard rejection does.

    Their rows become ``rejected`` with the reviewer's reason; the dedup markers stay, so the
    same text is not generated again.
    """
    at = as_utc(now)
    check_environment(environment)
    wanted, who = _check_ids(ids), _check_reviewer(by)
    note = reason.strip() if isinstance(reason, str) else ""
    if not note or len(note) > MAX_REASON:
        raise ValidationError("reason", reason, f"a reason of 1-{MAX_REASON} characters")
    queue = CandidateQueue(services, environment)
    with services.engine.connect() as conn:
        rows = _queued_rows(conn, environment, wanted)
    claims = _take(queue, rows, at)
    for claim in claims.values():
        if claim is not None:
            queue.ack(claim, "rejected")
    with services.engine.begin() as conn:
        _retire(conn, environment, wanted, "rejected", who, at, note)
        audit.record(
            conn, "CANDIDATES_REJECTED", "review", environment,
            {"ids": wanted, "reason": note}, {"actor": who}, ts=at,
        )  # fmt: skip
    return wanted


@dataclass(frozen=True)
class EditResult:
    old_id: int
    new_id: int
    text: str
    approved: bool


def _guard_edit(services: Services, fl: Flags, text: str, tags: tuple[str, ...]) -> None:
    verdict = SafetyGuard.from_flags(fl, services.settings).validate(text, tags)
    if not verdict.ok:
        raise ValidationError(
            "text",
            text,
            "text the safety guard accepts (refused: " + ", ".join(verdict.codes) + ")",
        )


def edit(
    services: Services,
    environment: str,
    candidate_id: int,
    text: str,
    *,
    by: str,
    approve_it: bool = False,
    now: datetime | None = None,
) -> EditResult:
    """Replace a queued candidate's text: the new text is guarded and deduplicated like a
    refresh's, and queued as a new candidate (its content hash is the text's) that keeps the
    old one's topic, format, tags, source, priority and expiry. The old row becomes
    ``rejected`` with review state ``edited``. With ``approve_it`` the new one is approved.
    """
    from xbot.candidates.pipeline import dedup_index

    at = as_utc(now)
    check_environment(environment)
    (pk,) = _check_ids([candidate_id])
    who = _check_reviewer(by)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("text", text, "a non-empty post text")
    new_text = text.strip()
    queue = CandidateQueue(services, environment)
    with services.engine.connect() as conn:
        fl = load_flags(conn, environment)
        row = _queued_rows(conn, environment, [pk])[pk]
    tags = tuple(row.tags)
    claim = _take(queue, {pk: row}, at)[pk]
    try:
        index = dedup_index(
            services, queue, fl.near_duplicate_threshold, at, exclude=frozenset([row.content_hash])
        )
        media = row.metadata.get("media") if isinstance(row.metadata, dict) else None
        sha = str(media.get("sha256") or "") if isinstance(media, dict) else ""
        digest = content_hash(new_text, sha or None)  # an edit keeps the candidate's image
        if digest == row.content_hash:
            raise ValidationError("text", text, "a text that differs from the candidate's")
        status = index.check(digest, new_text, sha)
        if status == "duplicate":
            raise ValidationError("text", text, "a text not already queued or recently posted")
        if status == "near":
            raise ValidationError("text", text, "a text that is not a near duplicate of another")
        _guard_edit(services, fl, new_text, tags)
        metadata = {**dict(row.metadata), "edited_from": pk, "edited_by": who}
        fresh = Candidate(
            content_hash=digest,
            db_id=None,
            text=new_text,
            topic=row.topic,
            format=row.format,
            tags=tags,
            source=row.source,
            priority=float(row.priority),
            created_at=at,
            expires_at=row.expires_at,
            metadata=metadata,
        )
        result = queue.enqueue([fresh])
        if not result.accepted:
            raise ValidationError(
                "text", text, "a text that is not a duplicate of another candidate"
            )
    except BaseException:
        if claim is not None:
            queue.ack(claim, "returned")
        raise
    new = replace(fresh, db_id=result.accepted[0].db_id)
    if claim is not None:
        queue.ack(claim, "rejected")
    with services.engine.begin() as conn:
        _retire(conn, environment, [pk], "edited", who, at, f"edited into {new.db_id}")
        if approve_it:
            conn.execute(
                sa.text(
                    "update candidates set review_state = 'approved', reviewed_by = :by,"
                    " reviewed_at = :at where environment = :e and id = :id"
                ),
                {"by": who, "at": at, "e": environment, "id": new.db_id},
            )
        audit.record(
            conn, "CANDIDATE_EDITED", "review", environment,
            {"old_id": pk, "new_id": new.db_id, "old_text": row.text, "new_text": new_text,
             "approved": approve_it},
            {"actor": who}, ts=at,
        )  # fmt: skip
    return EditResult(pk, int(new.db_id or 0), new_text, approve_it)
