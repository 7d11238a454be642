"""Posting to X: the ``Poster`` interface, the real and simulated X, and the outbox.

Three ways a pick can leave (or not leave) the machine:

- :class:`XPoster` talks to the X API v2 through tweepy (OAuth 1.0a user context to post,
  the bearer token to read);
- :class:`SimPoster` is the **simulated** X of the demo: it keeps its "remote" timeline in
  Redis and scores posts with :class:`xbot.sim.SimWorld`; nothing leaves the machine;
- shadow mode has no poster at all (the scheduler only logs).

The :class:`Outbox` is why a post can never go out twice. Before ``create_post`` it commits a
``tweets`` row in state ``claimed`` whose ``idempotency_key`` (the normalised content hash) is
unique per environment; after the call it records the tweet id as ``posted``. A process that
dies in between leaves ``claimed``; the next cycle, holding the scheduler lock, turns such rows
into ``in_doubt`` and reconciles them against the account's recent posts (matched by normalised
text hash) before anything else is posted. An in-doubt text is never re-sent blindly: it is
re-queued only once the timeline read shows it is not there, and X's own 403 "duplicate
content" answer is a second guard that we treat as final.

Only one scheduler posts at a time: :class:`xbot.locks.RedisLock` (owner token + lease).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa
import tweepy

from xbot import audit
from xbot.candidates.prep import content_hash
from xbot.candidates.queue import CandidateQueue
from xbot.clock import as_utc
from xbot.errors import PosterError
from xbot.services import Services
from xbot.settings import Settings
from xbot.sim import SimWorld

log = logging.getLogger("xbot.poster")

CRASH_STEPS = ("queue_claimed", "claimed", "sent", "recorded")
TWEETS_ENDPOINT = "create_post"
CHATTY_LOGGERS = ("tweepy.client", "requests_oauthlib", "oauthlib")
X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
METRIC_NAMES = {
    "like_count": "likes",
    "retweet_count": "retweets",
    "reply_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "bookmarks",
    "impression_count": "impressions",
}


def crash_point(settings: Settings, step: str) -> None:
    """Test hook: SIGKILL this process at ``step`` when ``XBOT_CRASH_AT=<step>``
    (``Settings.crash_at``).

    The crash-injection test needs a real, un-catchable death at each point between claim,
    HTTP call and record; the hook costs production one string comparison.
    """
    if settings.crash_at == step:
        os.kill(os.getpid(), signal.SIGKILL)


# -- errors -------------------------------------------------------------------------------------


class DuplicateContent(PosterError):
    """X answered 403 "duplicate content": final, never retried; reconciled by timeline read."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"X refused duplicate content: {detail}", status=403)


class AuthFailed(PosterError):
    """401, or 403 other than duplicate: our credentials or app permissions are refused."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"X refused our credentials ({status}): {detail}", status=status)
        self.detail = detail


class RateLimited(PosterError):
    """429: no call until ``reset_at`` (the later of the 15-minute and 24-hour windows)."""

    def __init__(
        self, reset_at: datetime, detail: str, headers: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(f"X rate limit until {reset_at.isoformat()}: {detail}", status=429)
        self.reset_at = reset_at
        self.headers = dict(headers or {})


class PosterUnavailable(PosterError):
    """5xx, timeout or connection error: transient, retried with bounded backoff."""


@dataclass(frozen=True)
class RemotePost:
    """A post as the account's timeline shows it."""

    id: str
    text: str
    created_at: datetime | None


class Poster(Protocol):
    """What the scheduler and the learning loop need from an X (real or simulated)."""

    name: str

    def create_post(self, text: str) -> str:
        """Post ``text``; return the tweet id. Raises a :class:`PosterError` subclass."""
        ...

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        """The account's most recent posts, newest first (reconciliation reads these)."""
        ...

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        """tweet id -> {likes, retweets, replies, quotes, bookmarks, impressions, ...}."""
        ...


# -- the real X ---------------------------------------------------------------------------------


class _RoutedSession(requests.Session):
    """A requests Session that sends tweepy's hard-coded host to ``base_url``, with a timeout.

    tweepy 4.x builds every URL as ``"https://api.twitter.com" + route`` inside
    ``BaseClient.request`` and calls ``self.session.request`` without a timeout. Replacing
    ``client.session`` with this session is the one seam that both points tweepy at a local
    test server (X_API_BASE_URL) and bounds every call; OAuth 1.0a signatures are computed
    by requests after the rewrite, so they match the URL actually requested.
    """

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        text_url = url.decode() if isinstance(url, bytes) else url
        for host in X_HOSTS:
            if text_url.startswith(host + "/"):
                text_url = self.base_url + text_url[len(host) :]
                break
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, text_url, *args, **kwargs)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def rate_limit_reset(headers: Mapping[str, str], now: datetime) -> datetime:
    """When posting may resume after a 429: the later of the exhausted windows.

    X sends the 15-minute window (``x-rate-limit-*``) and, for posting, the 24-hour user window
    (``x-user-limit-24hour-*``). A 429 caused by the 24-hour cap has a 15-minute reset that is
    minutes away; honouring only that would produce a retry storm all day.
    """
    resets = []
    window_reset = _header_int(headers, "x-rate-limit-reset")
    if window_reset is not None and _header_int(headers, "x-rate-limit-remaining") in (0, None):
        resets.append(window_reset)
    day_reset = _header_int(headers, "x-user-limit-24hour-reset")
    if day_reset is not None and _header_int(headers, "x-user-limit-24hour-remaining") == 0:
        resets.append(day_reset)
    if not resets:
        return now + timedelta(minutes=15)
    return max(now, datetime.fromtimestamp(max(resets), UTC))


def _rate_headers(headers: Mapping[str, str]) -> dict[str, int]:
    names = ("limit", "remaining", "reset")
    wanted = [f"x-rate-limit-{n}" for n in names] + [f"x-user-limit-24hour-{n}" for n in names]
    return {n: v for n in wanted if (v := _header_int(headers, n)) is not None}


def _detail(exc: tweepy.HTTPException) -> str:
    return "; ".join(str(m) for m in exc.api_messages) or str(exc).splitlines()[0]


def _translate(exc: Exception, now: datetime) -> PosterError:
    """Map tweepy/requests failures onto our error classes (one place, so policy is uniform)."""
    if isinstance(exc, tweepy.TooManyRequests):
        headers = exc.response.headers
        return RateLimited(rate_limit_reset(headers, now), _detail(exc), _rate_headers(headers))
    if isinstance(exc, tweepy.Forbidden):
        detail = _detail(exc)
        if "duplicate" in detail.lower():
            return DuplicateContent(detail)
        return AuthFailed(403, detail)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthFailed(401, _detail(exc))
    if isinstance(exc, tweepy.TwitterServerError):
        return PosterUnavailable(f"X server error: {_detail(exc)}", status=exc.response.status_code)
    if isinstance(exc, tweepy.HTTPException):
        status = exc.response.status_code
        return PosterError(f"X API error {status}: {_detail(exc)}", status=status)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return PosterUnavailable(f"X unreachable: {type(exc).__name__}")
    return PosterError(f"X call failed: {type(exc).__name__}: {exc}")


def _metrics(tweet: Mapping[str, Any]) -> dict[str, int]:
    out = {name: 0 for name in METRIC_NAMES.values()}
    for field, name in METRIC_NAMES.items():
        value = (tweet.get("public_metrics") or {}).get(field)
        if isinstance(value, int):
            out[name] = value
    for block in ("non_public_metrics", "organic_metrics"):
        for field, value in (tweet.get(block) or {}).items():
            if isinstance(value, int):
                out[f"{block.removesuffix('_metrics')}_{field}"] = value
    private = (tweet.get("non_public_metrics") or {}).get("impression_count")
    if isinstance(private, int):
        out["impressions"] = max(out["impressions"], private)
    return out


def _parse_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


class XPoster:
    """The X API v2 through tweepy. Reads retry transient failures; ``create_post`` never does.

    A POST that timed out may have been published, so retrying it here would be blind;
    :class:`Outbox` retries only after reading the timeline.
    """

    name = "x"

    def __init__(
        self,
        settings: Settings,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not settings.has_user_context and not settings.x_bearer_token:
            raise PosterError(
                "X credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
                "X_ACCESS_TOKEN_SECRET (posting) or X_BEARER_TOKEN (reads)"
            )
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self._settings = settings
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(UTC))
        self._user_id = settings.x_user_id
        self.client = tweepy.Client(
            bearer_token=settings.x_bearer_token.reveal() or None,
            consumer_key=settings.x_api_key.reveal() or None,
            consumer_secret=settings.x_api_secret.reveal() or None,
            access_token=settings.x_access_token.reveal() or None,
            access_token_secret=settings.x_access_token_secret.reveal() or None,
            return_type=requests.Response,
            wait_on_rate_limit=False,  # we record the reset and skip; sleeping here blocks a slot
        )
        self.client.session = _RoutedSession(settings.x_api_base_url, timeout_s)
        # tweepy, requests-oauthlib and oauthlib log headers, tokens and signature base strings
        # at DEBUG: secrets never reach the logs, whatever level the root logger is at.
        for name in CHATTY_LOGGERS:
            chatty = logging.getLogger(name)
            if chatty.getEffectiveLevel() < logging.INFO:
                chatty.setLevel(logging.INFO)
        self.last_rate_headers: dict[str, int] = {}

    def _read_auth(self) -> bool:
        """user_auth flag for reads: the bearer token when we have one, else user context."""
        return not bool(self._settings.x_bearer_token)

    def _call(self, fn: Callable[..., requests.Response], *args: Any, **kwargs: Any) -> Any:
        """Run an idempotent read with bounded exponential backoff on transient failures."""
        for attempt in range(1, self._attempts + 1):
            try:
                return fn(*args, **kwargs).json()
            except Exception as exc:
                err = _translate(exc, self._clock())
                if not isinstance(err, PosterUnavailable) or attempt == self._attempts:
                    raise err from exc
                delay = self._backoff_s * 2 ** (attempt - 1)
                log.warning("X read failed (%s); retry %d in %.1fs", err, attempt, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_post(self, text: str) -> str:
        if not self._settings.has_user_context:
            raise AuthFailed(None, "posting needs the four OAuth 1.0a user-context credentials")
        try:
            response = self.client.create_tweet(text=text, user_auth=True)
        except Exception as exc:
            raise _translate(exc, self._clock()) from exc
        self.last_rate_headers = _rate_headers(response.headers)
        try:
            return str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PosterError(f"X answered {response.status_code} without a tweet id") from exc

    def user_id(self) -> str:
        """The posting account's id: X_USER_ID, else asked once from /2/users/me."""
        if not self._user_id:
            body = self._call(self.client.get_me, user_auth=True)
            self._user_id = str(body["data"]["id"])
        return self._user_id

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        body = self._call(
            self.client.get_users_tweets,
            self.user_id(),
            max_results=max(5, min(limit, 100)),
            tweet_fields=["created_at"],
            user_auth=self._read_auth(),
        )
        return [
            RemotePost(str(t["id"]), t.get("text", ""), _parse_time(t.get("created_at")))
            for t in (body.get("data") or [])[:limit]
        ]

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        """Metrics in batches of 100 ids (the endpoint's maximum).

        With user context we also ask for non_public and organic metrics (only the owner can
        read them, and only for 30 days); if X refuses that, the batch falls back to public
        metrics rather than losing the read.
        """
        out: dict[str, dict[str, int]] = {}
        fields = ["public_metrics", "created_at"]
        private = [*fields, "non_public_metrics", "organic_metrics"]
        for start in range(0, len(tweet_ids), 100):
            batch = tweet_ids[start : start + 100]
            body = None
            if self._settings.has_user_context:
                try:
                    body = self._call(
                        self.client.get_tweets, batch, tweet_fields=private, user_auth=True
                    )
                except (RateLimited, PosterUnavailable):
                    raise
                except PosterError as exc:
                    log.info("private metrics refused (%s); reading public metrics", exc)
            if body is None or not body.get("data"):
                body = self._call(
                    self.client.get_tweets,
                    batch,
                    tweet_fields=fields,
                    user_auth=self._read_auth(),
                )
            for tweet in body.get("data") or []:
                out[str(tweet["id"])] = _metrics(tweet)
        return out


# -- the simulated X ----------------------------------------------------------------------------


class SimPoster:
    """SIMULATED X for the demo and benchmarks: nothing leaves the machine.

    Its "remote" timeline lives in Redis under this prefix, so reconciliation and metrics
    reads go through the same code as with the real X. Engagement comes from
    :class:`xbot.sim.SimWorld`, which scores a post by what it is about (topic, format) and the
    local hour it went out; the topic and format are looked up from the ``candidates`` row of
    the post's content hash, the way a real audience reads a post's content.
    """

    name = "sim"

    def __init__(
        self,
        services: Services,
        world: SimWorld,
        clock: Callable[[], datetime],
        *,
        timezone: str = "UTC",
    ) -> None:
        self._services = services
        self._world = world
        self._clock = clock
        self._tz = ZoneInfo(timezone)

    def _posts(self) -> list[dict[str, str]]:
        raw = self._services.redis.hvals(self._services.keys.sim_posts())
        posts = [json.loads(v) for v in raw]
        return sorted(posts, key=lambda p: int(p["id"]), reverse=True)

    def create_post(self, text: str) -> str:
        digest = content_hash(text)
        if any(content_hash(p["text"]) == digest for p in self._posts()):
            raise DuplicateContent("You are not allowed to create a Tweet with duplicate content.")
        keys, r = self._services.keys, self._services.redis
        tweet_id = str(10**15 + int(r.incr(keys.sim_post_seq())))
        post = {"id": tweet_id, "text": text, "created_at": self._clock().isoformat()}
        r.hset(keys.sim_posts(), tweet_id, json.dumps(post))
        return tweet_id

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        return [
            RemotePost(p["id"], p["text"], _parse_time(p["created_at"]))
            for p in self._posts()[:limit]
        ]

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        keys, r = self._services.keys, self._services.redis
        found = [json.loads(v) for v in r.hmget(keys.sim_posts(), tweet_ids) if v]
        if not found:
            return {}
        hashes = {content_hash(p["text"]): p for p in found}
        with self._services.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select content_hash, topic, format from candidates "
                    "where environment = :e and content_hash = any(:h)"
                ),
                {"e": self._services.settings.environment, "h": list(hashes)},
            ).all()
        about = {row.content_hash: (row.topic, row.format) for row in rows}
        now = self._clock()
        out: dict[str, dict[str, int]] = {}
        for digest, post in hashes.items():
            if digest not in about:
                continue
            topic, fmt = about[digest]
            posted_at = _parse_time(post["created_at"]) or now
            out[post["id"]] = self._world.metrics_for(
                post["id"], topic, posted_at.astimezone(self._tz).hour, fmt, posted_at, now
            )
        return out


def save_sim_world(services: Services, seed: int, start: datetime, horizon_days: float) -> None:
    """Remember the simulated world the demo posts into, so later reads use the same one."""
    services.redis.hset(
        services.keys.sim_world(),
        mapping={"seed": seed, "start": start.isoformat(), "horizon_days": horizon_days},
    )


def saved_sim_world(services: Services) -> SimWorld | None:
    """The world :func:`save_sim_world` stored under this prefix, or None (no demo ran here)."""
    saved = services.redis.hgetall(services.keys.sim_world())
    if not saved:
        return None
    return SimWorld(
        int(saved["seed"]),
        start=datetime.fromisoformat(saved["start"]),
        horizon_days=float(saved["horizon_days"]),
    )


def metrics_source(services: Services, settings: Settings, timezone: str) -> tuple[Poster, str]:
    """Where learning reads engagement: the one rule the CLI, the timetable and notebooks share.

    X (tweepy) when credentials are set; else the simulated X, but only where the demo left a
    simulated world under this REDIS_PREFIX (its posts are the only ones without X); else a
    clear error, because there is nothing real to learn from.
    """
    if settings.has_user_context or settings.x_bearer_token:
        return XPoster(settings), "x"
    world = saved_sim_world(services)
    if world is not None:
        return SimPoster(services, world, lambda: datetime.now(UTC), timezone=timezone), "simulated"
    raise PosterError(
        "no metrics source: set X credentials (X_BEARER_TOKEN or the four OAuth 1.0a values), "
        "or run `xbot demo` for the simulated X"
    )


# -- poster state in Redis (health reads it) ---------------------------------------------------


def poster_state(services: Services) -> dict[str, str]:
    """The poster status hash ({} when healthy); ``state == "auth_failed"`` stops posting."""
    return dict(services.redis.hgetall(services.keys.poster_status()))


def mark_auth_failed(services: Services, reason: str, *, now: datetime | None = None) -> None:
    """Stop all posting until an operator runs ``xbot schedule resume`` (health: DEGRADED)."""
    services.redis.hset(
        services.keys.poster_status(),
        mapping={"state": "auth_failed", "reason": reason, "since": as_utc(now).isoformat()},
    )


def clear_poster_state(services: Services) -> bool:
    """Clear ``auth_failed`` (after fixing credentials). Returns whether anything was set."""
    return bool(services.redis.delete(services.keys.poster_status()))


def record_rate_limit(services: Services, headers: Mapping[str, int], reset_at: datetime) -> None:
    """Remember X's window so no cycle calls again before ``reset_at`` (no retry storm)."""
    mapping: dict[str, str] = {"reset_at": reset_at.isoformat()}
    for name in ("limit", "remaining"):
        if f"x-rate-limit-{name}" in headers:
            mapping[name] = str(headers[f"x-rate-limit-{name}"])
        if f"x-user-limit-24hour-{name}" in headers:
            mapping[f"day_{name}"] = str(headers[f"x-user-limit-24hour-{name}"])
    services.redis.hset(services.keys.rate_limit(TWEETS_ENDPOINT), mapping=mapping)


def rate_limited_until(services: Services, *, now: datetime | None = None) -> datetime | None:
    """The recorded reset time if it is still in the future, else None."""
    raw = services.redis.hget(services.keys.rate_limit(TWEETS_ENDPOINT), "reset_at")
    if not raw:
        return None
    reset_at = datetime.fromisoformat(raw)
    return reset_at if reset_at > as_utc(now) else None


# -- the outbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What became of one publish attempt. ``status`` is the tweets row's final state."""

    tweet_pk: int
    status: str  # posted | failed | in_doubt
    tweet_id: str | None
    reason: str  # posted | duplicate_content | rate_limited | auth_failed | error | in_doubt


@dataclass(frozen=True)
class Resolution:
    """One reconciled row: what the queue must now do with its candidate."""

    tweet_pk: int
    content_hash: str
    action: str  # posted | rejected | returned


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
        now: datetime | None = None,
    ) -> int | None:
        """Commit a ``claimed`` row for ``text``; None if this text was ever claimed/posted.

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
                    "k": content_hash(text),
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
    def publish(self, pk: int, text: str, *, now: datetime | None = None) -> Published:
        """Send the claimed row ``pk``; every outcome leaves the row in a recorded state.

        Transient failures (5xx, timeouts) are retried at most ``attempts`` times with
        exponential backoff, and each retry first reads the timeline: the failed call may have
        been published. If every attempt fails the row stays ``in_doubt`` for the next cycle.
        """
        at = as_utc(now)
        crash_point(self.services.settings, "claimed")
        for attempt in range(1, self.attempts + 1):
            try:
                tweet_id = self.poster.create_post(text)
            except DuplicateContent as exc:
                found = self._find(text)
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
            except AuthFailed as exc:
                mark_auth_failed(self.services, str(exc), now=at)
                self._set(pk, "failed", at, note={"reason": "auth_failed", "status": exc.status})
                return Published(pk, "failed", None, "auth_failed")
            except PosterUnavailable as exc:
                log.warning("create_post attempt %d failed: %s", attempt, exc)
                try:
                    found = self._find(text)
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
            except PosterError as exc:
                # a 400 or other definite refusal: X did not publish it
                self._set(pk, "failed", at, note={"reason": "error", "error": str(exc)})
                return Published(pk, "failed", None, "error")
            crash_point(self.services.settings, "sent")
            headers = getattr(self.poster, "last_rate_headers", {})
            if headers:
                self._remember_window(headers, at)
            self._set(pk, "posted", at, tweet_id=tweet_id, posted_at=at)
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

    def _find(self, text: str) -> RemotePost | None:
        digest = content_hash(text)
        for post in self.poster.recent_posts(100):
            if content_hash(post.text) == digest:
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
                    "update tweets set status = 'in_doubt', updated_at = :now"
                    " where environment = :e and status in ('claimed', 'in_doubt')"
                    " returning id, idempotency_key, text, metadata"
                ),
                {"e": self.environment, "now": at},
            ).all()
        if not rows:
            return []
        remote = {content_hash(p.text): p for p in self.poster.recent_posts(100)}
        out = []
        for row in sorted(rows, key=lambda r: r.id):
            found = remote.get(row.idempotency_key)
            if found is not None:
                self._record_posted(row.id, found, at, "reconciled")
                out.append(Resolution(row.id, row.idempotency_key, "posted"))
            elif (row.metadata.get("outbox") or {}).get("final"):
                self._set(row.id, "failed", at, note={"reason": "duplicate_content", "final": True})
                out.append(Resolution(row.id, row.idempotency_key, "rejected"))
            else:
                self._set(row.id, "failed", at, note={"reason": "not_on_timeline"})
                out.append(Resolution(row.id, row.idempotency_key, "returned"))
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
