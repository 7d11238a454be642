"""The tweets table as an outbox: why a post can never go out twice.

Before ``create_post`` the :class:`Outbox` commits a ``tweets`` row in state ``claimed`` whose
``idempotency_key`` (:func:`post_key`: the normalised content hash of the posted text and of
its image, the identity dedup gives a candidate) is unique per environment; after the call it
records the tweet id as ``posted``. A process that dies in between leaves ``claimed``; the next
cycle, holding the scheduler lock, turns such rows into ``in_doubt`` and reconciles them
against the account's recent posts (matched by normalised text hash, among the posts no other
row owns: the same text with another image is another row) before anything else is
posted. An in-doubt text is never re-sent blindly: it is re-queued only once the timeline read
shows it is not there, and X's own 403 "duplicate content" answer is a second guard that we
treat as final.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot import audit
from xbot.candidates.prep import content_hash
from xbot.candidates.queue import CandidateQueue
from xbot.clock import as_utc
from xbot.errors import PosterError
from xbot.poster import Media, Poster, RemotePost
from xbot.poster_state import mark_auth_failed, record_rate_limit
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_client import rate_limit_reset
from xbot.x_errors import (
    AuthFailed,
    BudgetExceeded,
    CreditsDepleted,
    DuplicateContent,
    MediaRejected,
    PosterUnavailable,
    RateLimited,
)

log = logging.getLogger("xbot.poster")

CRASH_STEPS = ("queue_claimed", "claimed", "sent", "recorded")


def crash_point(settings: Settings, step: str) -> None:
    """Test hook: SIGKILL this process at ``step`` when ``XBOT_CRASH_AT=<step>``
    (``Settings.crash_at``).

    The crash-injection test needs a real, un-catchable death at each point between claim,
    HTTP call and record; the hook costs production one string comparison.
    """
    if settings.crash_at == step:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Published:
    """What became of one publish attempt. ``status`` is the tweets row's final state."""

    tweet_pk: int
    status: str  # posted | failed | in_doubt
    tweet_id: str | None
    reason: str  # posted | duplicate_content | rate_limited | auth_failed | credits_depleted
    #              | budget | media_rejected | error | in_doubt


@dataclass(frozen=True)
class Resolution:
    """One reconciled row: what the queue must now do with its candidate.

    ``content_hash`` is the candidate's own hash (through ``tweets.candidate_id``; the row's key
    when it has no candidate), the one the queue knows it by.
    """

    tweet_pk: int
    content_hash: str
    action: str  # posted | rejected | returned


def post_key(text: str, media_sha256: str | None) -> str:
    """The outbox's idempotency key for posting ``text`` with the image of ``media_sha256``.

    The same identity dedup gives a candidate (:func:`~xbot.candidates.prep.content_hash`), so
    the same text with another image is another post to the outbox, and the same text with
    the same image the same one.
    """
    return content_hash(text, media_sha256)


class Outbox:
    """The tweets table as an outbox: claim -> create_post -> record, and reconciliation.

    Callers must hold the scheduler :class:`RedisLock`: reconciliation treats every
    ``claimed`` row as orphaned, which is only true when no other poster is mid-call.
    """

    def __init__(
        self,
        services: Services,
        environment: str,
        poster: Poster,
        *,
        attempts: int = 3,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.environment = environment
        self.poster = poster
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep

    # -- rows ----------------------------------------------------------------------------------
    def claim(
        self,
        *,
        text: str,
        candidate_id: int | None,
        metadata: Mapping[str, Any],
        learning_metadata: Mapping[str, Any],
        media_sha256: str | None = None,
        now: datetime | None = None,
    ) -> int | None:
        """Commit a ``claimed`` row for ``text`` (with the image ``media_sha256``); None if this
        text with this image was ever claimed/posted.

        Only a ``failed`` row (the timeline showed it was never published) may be claimed again.
        """
        at = as_utc(now)
        with self.services.engine.begin() as conn:
            return conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, candidate_id, text, status,"
                    " created_at, updated_at, metadata, learning_metadata) values (:e, :k, :c, :t,"
                    " 'claimed', :now, :now, cast(:m as jsonb), cast(:l as jsonb))"
                    " on conflict (environment, idempotency_key) do update set status = 'claimed',"
                    " candidate_id = excluded.candidate_id, text = excluded.text,"
                    " created_at = excluded.created_at, updated_at = excluded.updated_at,"
                    " metadata = excluded.metadata, learning_metadata = excluded.learning_metadata,"
                    " tweet_id = null, posted_at = null where tweets.status = 'failed'"
                    " returning id"
                ),
                {
                    "e": self.environment,
                    "k": post_key(text, media_sha256),
                    "c": candidate_id,
                    "t": text,
                    "now": at,
                    "m": json.dumps(dict(metadata)),
                    "l": json.dumps(dict(learning_metadata)),
                },
            ).scalar_one_or_none()

    def _set(
        self,
        pk: int,
        status: str,
        now: datetime,
        *,
        tweet_id: str | None = None,
        posted_at: datetime | None = None,
        note: Mapping[str, Any] | None = None,
    ) -> None:
        with self.services.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "update tweets set status = :s, updated_at = :now,"
                    " tweet_id = coalesce(:tid, tweet_id), posted_at = coalesce(:pat, posted_at),"
                    " metadata = metadata || cast(:note as jsonb)"
                    " where id = :pk and status in ('claimed', 'in_doubt')"
                ),
                {
                    "s": status,
                    "now": now,
                    "tid": tweet_id,
                    "pat": posted_at,
                    "note": json.dumps({"outbox": dict(note)} if note else {}),
                    "pk": pk,
                },
            )
            audit.record(
                conn,
                "POST_" + status.upper(),
                "poster",
                self.environment,
                {"tweet_pk": pk, "tweet_id": tweet_id, **(note or {})},
                {"poster": self.poster.name},
            )

    # -- publishing ------------------------------------------------------------------------------
    def publish(
        self, pk: int, text: str, *, media: Media | None = None, now: datetime | None = None
    ) -> Published:
        """Send the claimed row ``pk``; every outcome leaves the row in a recorded state.

        Transient failures (5xx, timeouts) are retried at most ``attempts`` times with
        exponential backoff, and each retry first reads the timeline: the failed call may have
        been published. If every attempt fails the row stays ``in_doubt`` for the next cycle.

        With ``media`` the image is uploaded once, before the first post attempt, and its id
        reused by retries. Exactly-once is unchanged: the row, not the upload, decides whether
        the text may go out, so an upload whose post never happened is orphaned at X (it
        expires there), never posted twice.
        """
        at = as_utc(now)
        crash_point(self.services.settings, "claimed")
        media_ids: list[str] | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                if media is not None and media_ids is None:
                    media_ids = [self.poster.upload_media(media)]
                tweet_id = self.poster.create_post(text, media_ids)
            except DuplicateContent as exc:
                found = self._find(pk, text)
                if found is not None:
                    self._record_posted(pk, found, at, "duplicate_content")
                    return Published(pk, "posted", found.id, "duplicate_content")
                self._set(pk, "in_doubt", at, note={"reason": "duplicate_content", "final": True})
                log.warning("duplicate content not yet on the timeline: %s", exc)
                return Published(pk, "in_doubt", None, "duplicate_content")
            except RateLimited as exc:
                record_rate_limit(self.services, exc.headers, exc.reset_at)
                self._set(pk, "failed", at, note={"reason": "rate_limited"})
                return Published(pk, "failed", None, "rate_limited")
            except BudgetExceeded as exc:
                # refused before any call: X never saw it, the candidate goes back to the queue
                self._set(pk, "failed", at, note={"reason": "budget", "error": str(exc)})
                return Published(pk, "failed", None, "budget")
            except CreditsDepleted as exc:
                # X said 402 and did not post: the row fails (never in doubt), the candidate is
                # returned to the queue, and the poster state (set by the client) pauses posting.
                self._set(pk, "failed", at, note={"reason": "credits_depleted", "error": str(exc)})
                return Published(pk, "failed", None, "credits_depleted")
            except AuthFailed as exc:
                mark_auth_failed(self.services, str(exc), now=at)
                self._set(pk, "failed", at, note={"reason": "auth_failed", "status": exc.status})
                return Published(pk, "failed", None, "auth_failed")
            except PosterUnavailable as exc:
                log.warning("create_post attempt %d failed: %s", attempt, exc)
                try:
                    found = self._find(pk, text)
                except PosterError:
                    found = None
                if found is not None:
                    self._record_posted(pk, found, at, "found_after_error")
                    return Published(pk, "posted", found.id, "posted")
                if attempt < self.attempts:
                    self.sleep(self.backoff_s * 2 ** (attempt - 1))
                    continue
                self._set(pk, "in_doubt", at, note={"reason": "unavailable", "error": str(exc)})
                return Published(pk, "in_doubt", None, "in_doubt")
            except MediaRejected as exc:
                # X refused the image and did not post: final for this candidate (rejected by
                # the caller), never re-sent with the same image nor without it
                note = {"reason": "media_rejected", "error": str(exc), "media_ids": media_ids}
                self._set(pk, "failed", at, note=note)
                return Published(pk, "failed", None, "media_rejected")
            except PosterError as exc:
                # a 400 or other definite refusal: X did not publish it
                self._set(pk, "failed", at, note={"reason": "error", "error": str(exc)})
                return Published(pk, "failed", None, "error")
            crash_point(self.services.settings, "sent")
            headers = getattr(self.poster, "last_rate_headers", {})
            if headers:
                self._remember_window(headers, at)
            note = {"media_ids": media_ids} if media_ids else None
            self._set(pk, "posted", at, tweet_id=tweet_id, posted_at=at, note=note)
            crash_point(self.services.settings, "recorded")
            return Published(pk, "posted", tweet_id, "posted")
        raise AssertionError("unreachable")  # pragma: no cover

    def _remember_window(self, headers: Mapping[str, int], now: datetime) -> None:
        """After a success, stop before X has to say 429: record an exhausted window."""
        if headers.get("x-rate-limit-remaining") == 0 or (
            headers.get("x-user-limit-24hour-remaining") == 0
        ):
            str_headers = {k: str(v) for k, v in headers.items()}
            record_rate_limit(self.services, headers, rate_limit_reset(str_headers, now))

    def _record_posted(self, pk: int, remote: RemotePost, now: datetime, how: str) -> None:
        self._set(
            pk,
            "posted",
            now,
            tweet_id=remote.id,
            posted_at=remote.created_at or now,
            note={"reason": how},
        )

    def _owned_ids(self, *, besides: int | None = None) -> set[str]:
        """Tweet ids other rows already own: a timeline post of the same text that is one of
        these is that row's post (the same text with another image), never this row's."""
        with self.services.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.text(
                        "select tweet_id from tweets where environment = :e"
                        " and tweet_id is not null and id <> coalesce(:pk, -1)"
                    ),
                    {"e": self.environment, "pk": besides},
                ).scalars()
            )

    def _find(self, pk: int, text: str) -> RemotePost | None:
        digest, owned = content_hash(text), self._owned_ids(besides=pk)
        for post in self.poster.recent_posts(100):
            if content_hash(post.text) == digest and post.id not in owned:
                return post
        return None

    # -- reconciliation --------------------------------------------------------------------------
    def reconcile(self, *, now: datetime | None = None) -> list[Resolution]:
        """Resolve every claimed/in-doubt row against the timeline. Raises if X can't be read.

        Found on the timeline -> ``posted`` with its real id. Not found -> ``failed`` and the
        candidate may be queued again (X never showed it), except after a 403 duplicate, which
        is final: the candidate is rejected.
        """
        at = as_utc(now)
        with self.services.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "with doubt as (update tweets set status = 'in_doubt', updated_at = :now"
                    " where environment = :e and status in ('claimed', 'in_doubt')"
                    " returning id, idempotency_key, candidate_id, text, metadata)"
                    # the candidate's own hash: the row's key is the posted text's, which
                    # link_policy=strip and an image make differ from it
                    " select doubt.*, coalesce(c.content_hash, doubt.idempotency_key) as candidate"
                    " from doubt left join candidates c on c.id = doubt.candidate_id"
                ),
                {"e": self.environment, "now": at},
            ).all()
        if not rows:
            return []
        owned = self._owned_ids()
        remote: dict[str, list[RemotePost]] = {}
        for post in self.poster.recent_posts(100):
            if post.id not in owned:
                remote.setdefault(content_hash(post.text), []).append(post)
        out = []
        for row in sorted(rows, key=lambda r: r.id):
            same_text = remote.get(content_hash(row.text)) or []
            found = same_text.pop() if same_text else None  # the oldest; one post, one row
            if found is not None:
                self._record_posted(row.id, found, at, "reconciled")
                out.append(Resolution(row.id, row.candidate, "posted"))
            elif (row.metadata.get("outbox") or {}).get("final"):
                self._set(row.id, "failed", at, note={"reason": "duplicate_content", "final": True})
                out.append(Resolution(row.id, row.candidate, "rejected"))
            else:
                self._set(row.id, "failed", at, note={"reason": "not_on_timeline"})
                out.append(Resolution(row.id, row.candidate, "returned"))
        log.info("reconciled %d outbox rows: %s", len(out), [r.action for r in out])
        return out

    def settle(self, queue: CandidateQueue, resolutions: list[Resolution], now: datetime) -> None:
        """Apply reconciliation to the queue: posted/rejected candidates leave it for good.

        "returned" needs nothing: the candidate is queued, or comes back when its lease expires.
        """
        for res in resolutions:
            if res.action == "returned":
                continue
            claim = queue.claim(res.content_hash, now=now)
            if claim is not None:
                queue.ack(claim, "posted" if res.action == "posted" else "rejected")


def unresolved_count(services: Services, environment: str) -> int:
    """Rows claimed or in doubt: while this is > 0 nothing may be posted (reconcile first)."""
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select count(*) from tweets where environment = :e"
                " and status in ('claimed', 'in_doubt')"
            ),
            {"e": environment},
        ).scalar_one()


def blocked_hashes(services: Services, environment: str, hashes: list[str]) -> dict[str, str]:
    """Of ``hashes``, those that must not be picked: hash -> 'posted' | 'rejected' | 'busy'.

    A candidate whose text is already posted (or finally refused as a duplicate) must leave
    the queue; one whose row is claimed or in doubt must wait for reconciliation. This is
    the Postgres-side guard: it holds even when Redis was rebuilt or a claim was lost.
    """
    if not hashes:
        return {}
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select idempotency_key, status, metadata -> 'outbox' ->> 'final' as final"
                " from tweets where environment = :e and idempotency_key = any(:h)"
            ),
            {"e": environment, "h": hashes},
        ).all()
    out = {}
    for row in rows:
        if row.status == "posted":
            out[row.idempotency_key] = "posted"
        elif row.status in ("claimed", "in_doubt"):
            out[row.idempotency_key] = "busy"
        elif row.final == "true":
            out[row.idempotency_key] = "rejected"
    return out
