"""The real X: the X API v2 through tweepy, and the translation of its answers into our errors.

tweepy sends every request through :class:`_RoutedSession` (base URL + timeout). Posting and
the media upload use OAuth 1.0a user context; reads use the bearer token when there is one,
except the account's own timeline, read with user context when we have it (an "owned read",
the cheaper rate). Every request is recorded in ``x_api_usage`` through :mod:`xbot.x_usage`
and passes its budget gate first.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from xbot.errors import PosterError
from xbot.poster import Media, RemotePost, parse_x_time
from xbot.poster_state import CREDITS_DEPLETED, mark_credits_depleted, poster_state
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_errors import (
    AuthFailed,
    BudgetExceeded,
    CreditsDepleted,
    DuplicateContent,
    MediaRejected,
    PosterUnavailable,
    RateLimited,
)
from xbot.x_text import find_urls
from xbot.x_usage import Reservation, XUsage

log = logging.getLogger("xbot.poster")

CHATTY_LOGGERS = ("tweepy.client", "requests_oauthlib", "oauthlib")
X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
METRIC_NAMES = {
    "like_count": "likes",
    "repost_count": "retweets",  # the OpenAPI name since August 2026
    "retweet_count": "retweets",  # the name the docs page (and older answers) still use
    "reply_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "bookmarks",
    "impression_count": "impressions",
}


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
    """X's own words, with its error codes and problem ``reason`` (e.g. client-not-enrolled)."""
    text = "; ".join(str(m) for m in exc.api_messages) or str(exc).splitlines()[0]
    if exc.api_codes:
        text = f"code {', '.join(str(c) for c in exc.api_codes)}: {text}"
    try:
        reason = exc.response.json().get("reason")
    except (ValueError, AttributeError):
        reason = None
    return f"{text} ({reason})" if isinstance(reason, str) and reason else text


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
    if isinstance(exc, tweepy.HTTPException) and exc.response.status_code == 402:
        return CreditsDepleted(_detail(exc))
    if isinstance(exc, tweepy.HTTPException):
        status = exc.response.status_code
        return PosterError(f"X API error {status}: {_detail(exc)}", status=status)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return PosterUnavailable(f"X unreachable: {type(exc).__name__}")
    return PosterError(f"X call failed: {type(exc).__name__}: {exc}")


def _media_refusal(err: PosterError, *, upload: bool) -> PosterError:
    """X's plain 4xx about an image as :class:`MediaRejected`; every other error unchanged.

    Any such answer to the upload is about the file; an answer to a post with media is about
    the media only when X says so (a 400 for the text itself stays a plain refusal).
    """
    if type(err) is not PosterError or err.status is None or not 400 <= err.status < 500:
        return err
    if upload or "media" in str(err).lower():
        return MediaRejected(f"X refused the image: {err}", status=err.status)
    return err


def _metrics(tweet: Mapping[str, Any]) -> dict[str, int]:
    """Our metric names from one post's answer; a field X left out counts 0, not an error.

    ``repost_count`` and ``retweet_count`` are the same count under its 2026 and older names:
    whichever is present is used (the first listed in METRIC_NAMES when both are).
    """
    out = {name: 0 for name in METRIC_NAMES.values()}
    seen: set[str] = set()
    for field, name in METRIC_NAMES.items():
        value = (tweet.get("public_metrics") or {}).get(field)
        if isinstance(value, int) and not isinstance(value, bool) and name not in seen:
            out[name] = value
            seen.add(name)
    for block in ("non_public_metrics", "organic_metrics"):
        for field, value in (tweet.get(block) or {}).items():
            if isinstance(value, int):
                out[f"{block.removesuffix('_metrics')}_{field}"] = value
    private = (tweet.get("non_public_metrics") or {}).get("impression_count")
    if isinstance(private, int):
        out["impressions"] = max(out["impressions"], private)
    return out


class XPoster:
    """The X API v2 through tweepy. Reads retry transient failures; ``create_post`` never does.

    A POST that timed out may have been published, so retrying it here would be blind;
    :class:`Outbox` retries only after reading the timeline. After a 402 (credits depleted)
    no call is made at all, by this process or any other sharing the poster state, until
    ``xbot schedule resume``. ``reread_same_day`` reads metrics again even when this UTC day
    already read them (X bills nothing for it, but it is a call).
    """

    name = "x"

    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        reread_same_day: bool = False,
    ) -> None:
        if not settings.has_user_context and not settings.x_bearer_token:
            raise PosterError(
                "X credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
                "X_ACCESS_TOKEN_SECRET (posting) or X_BEARER_TOKEN (reads)"
            )
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self._settings = settings
        self._services = services
        self.usage = XUsage(services, settings.environment)
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep
        self.clock = clock or (lambda: datetime.now(UTC))
        self._reread = reread_same_day
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

    def _check_paused(self) -> None:
        state = poster_state(self._services)
        if state.get("state") == CREDITS_DEPLETED:
            raise CreditsDepleted(f"paused since {state.get('since', '?')}; no call made")

    def _attempt(
        self,
        endpoint: str,
        operation: str,
        purpose: str,
        max_resources: int,
        fn: Callable[..., requests.Response],
        *args: Any,
        gate: bool = True,
        **kwargs: Any,
    ) -> tuple[requests.Response, Reservation]:
        """One HTTP request: budget gate and usage row first, then the call; a 402 pauses all.

        A refused call is settled as not billed; a write without an answer (timeout) keeps
        its estimate, because X may have done it. The caller settles a success.
        """
        self._check_paused()
        reservation = self.usage.reserve(
            endpoint=endpoint, operation=operation, purpose=purpose, resources=max_resources,
            now=self.clock(), gate=gate,
        )  # fmt: skip
        try:
            response = fn(*args, **kwargs)
        except Exception as exc:
            err = _translate(exc, self.clock())
            if isinstance(err, CreditsDepleted):
                mark_credits_depleted(self._services, err.detail, now=self.clock())
            unanswered = err.status is None and operation.startswith(("post_create", "media"))
            self.usage.settle(reservation, status=err.status, resources=0,
                              billed=max_resources if unanswered else 0)  # fmt: skip
            raise err from exc
        self.last_rate_headers = _rate_headers(response.headers)
        return response, reservation

    def _read(
        self,
        endpoint: str,
        operation: str,
        purpose: str,
        max_resources: int,
        fn: Callable[..., requests.Response],
        *args: Any,
        gate: bool = True,
        **kwargs: Any,
    ) -> tuple[Any, Reservation]:
        """An idempotent read with bounded exponential backoff on transient failures."""
        for attempt in range(1, self._attempts + 1):
            try:
                response, reservation = self._attempt(
                    endpoint, operation, purpose, max_resources, fn, *args, gate=gate, **kwargs
                )
            except PosterError as err:
                if not isinstance(err, PosterUnavailable) or attempt == self._attempts:
                    raise
                delay = self._backoff_s * 2 ** (attempt - 1)
                log.warning("X read failed (%s); retry %d in %.1fs", err, attempt, delay)
                self._sleep(delay)
                continue
            try:
                return response.json(), reservation
            except ValueError as exc:
                self.usage.settle(reservation, status=response.status_code, resources=0, billed=0)
                raise PosterError(f"X answered {response.status_code} without JSON") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writes ------------------------------------------------------------------------------
    def upload_media(self, media: Media) -> str:
        """Upload one image through ``POST /2/media/upload`` and set its alt text; its id.

        tweepy 4.17 uploads only through the deprecated v1.1 endpoint, so this calls the v2
        one through tweepy's own request path (its OAuth 1.0a signing and our routed session):
        a JSON body with the image base64-encoded, as the v2 endpoint accepts. Never retried
        here: an upload is cheap to redo and an orphaned one simply expires at X.
        """
        if not self._settings.has_user_context:
            raise AuthFailed(None, "uploading media needs the four OAuth 1.0a credentials")
        raw = media.read()
        try:
            response, reservation = self._attempt(
                "POST /2/media/upload", "media_upload", "media", 1, self.client.request, "POST",
                "/2/media/upload", json={"media": base64.b64encode(raw).decode(),
                                         "media_category": "tweet_image", "media_type": media.mime},
                user_auth=True,
            )  # fmt: skip
        except PosterError as err:
            raise _media_refusal(err, upload=True) from err
        self.usage.settle(reservation, status=response.status_code, resources=1, billed=1)
        try:
            media_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PosterError(f"X answered {response.status_code} without a media id") from exc
        if media.alt:
            response, reservation = self._attempt(
                "POST /2/media/metadata", "media_metadata", "media", 1, self.client.request,
                "POST", "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": media.alt}}},
                user_auth=True,
            )  # fmt: skip
            self.usage.settle(reservation, status=response.status_code, resources=1, billed=1)
        return media_id

    def create_post(self, text: str, media_ids: list[str] | None = None) -> str:
        if not self._settings.has_user_context:
            raise AuthFailed(None, "posting needs the four OAuth 1.0a user-context credentials")
        operation = "post_create_url" if find_urls(text) else "post_create"
        kwargs: dict[str, Any] = {"text": text, "user_auth": True}
        if media_ids:
            kwargs["media_ids"] = list(media_ids)
        try:
            response, reservation = self._attempt(
                "POST /2/tweets", operation, "post", 1, self.client.create_tweet, **kwargs
            )
        except PosterError as err:
            raise (_media_refusal(err, upload=False) if media_ids else err) from err
        self.usage.settle(reservation, status=response.status_code, resources=1, billed=1)
        try:
            return str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PosterError(f"X answered {response.status_code} without a tweet id") from exc

    # -- reads -------------------------------------------------------------------------------
    def me(self) -> tuple[dict[str, Any], dict[str, int]]:
        """``GET /2/users/me`` (user context): the account, and the rate-limit headers seen."""
        body, reservation = self._read(
            "GET /2/users/me", "user_read", "check", 1, self.client.get_me, user_auth=True,
            gate=False,
        )  # fmt: skip
        self.usage.settle(reservation, status=200, resources=1, billed=1)
        return dict(body.get("data") or {}), dict(self.last_rate_headers)

    def user_id(self) -> str:
        """The posting account's id: X_USER_ID, else asked once from /2/users/me."""
        if not self._user_id:
            self._user_id = str(self.me()[0]["id"])
        return self._user_id

    def _timeline_operation(self) -> tuple[str, bool]:
        """Owned read with user context (X's cheaper rate), else a plain read by bearer."""
        if self._settings.has_user_context:
            return "owned_read", True
        return "post_read", False

    def _timeline_page(
        self, purpose: str, max_results: int, token: str | None, fields: list[str], gate: bool
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the account's own posts, newest first; billed per post returned."""
        operation, user_auth = self._timeline_operation()
        kwargs: dict[str, Any] = {"max_results": max_results, "tweet_fields": fields,
                                  "user_auth": user_auth}  # fmt: skip
        if token:
            kwargs["pagination_token"] = token
        body, reservation = self._read(
            "GET /2/users/:id/tweets", operation, purpose, max_results,
            self.client.get_users_tweets, self.user_id(), gate=gate, **kwargs,
        )  # fmt: skip
        data = list(body.get("data") or [])
        with_metrics = "public_metrics" in fields
        billed = self.usage.log_reads(
            {str(t["id"]): (_metrics(t) if with_metrics else None) for t in data},
            owned=user_auth, now=self.clock(),
        )  # fmt: skip
        self.usage.settle(reservation, status=200, resources=len(data), billed=billed)
        return data, (body.get("meta") or {}).get("next_token")

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        """The newest posts (reconciliation): recorded but never refused by a budget."""
        data, _ = self._timeline_page(
            "reconcile", max(5, min(limit, 100)), None, ["created_at"], gate=False
        )
        return [
            RemotePost(str(t["id"]), t.get("text", ""), parse_x_time(t.get("created_at")))
            for t in data[:limit]
        ]

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        """Metrics of our own posts, the cheap way (see docs/learning.md, "Reading metrics").

        1. Posts already read this UTC day come from ``x_read_log``: no call, no cost.
        2. The account's timeline is paged (100 per page, owned reads) from the newest post
           back to the oldest one asked for; every post on those pages is logged, so the
           next batch of the same cycle is served by step 1.
        3. Only what the timeline did not return (older than its 3,200 posts, or not ours)
           is looked up by id (``GET /2/tweets``, 100 ids per call, regular reads).

        A budget refusal stops the reads (BudgetExceeded); what was read is kept.
        """
        wanted = list(dict.fromkeys(str(t) for t in tweet_ids))
        out: dict[str, dict[str, int]] = {}
        if not self._reread:
            out.update(self.usage.read_today(wanted, self.clock()))
        missing = [t for t in wanted if t not in out]
        if missing:
            out.update(self._metrics_from_timeline(missing))
        rest = [t for t in wanted if t not in out]
        for start in range(0, len(rest), 100):
            out.update(self._metrics_by_id(rest[start : start + 100]))
        return {t: out[t] for t in wanted if t in out}

    def _fields(self) -> tuple[list[str], list[str]]:
        public = ["public_metrics", "created_at"]
        return public, [*public, "non_public_metrics", "organic_metrics"]

    def _metrics_from_timeline(self, wanted: list[str]) -> dict[str, dict[str, int]]:
        try:
            oldest = min(int(t) for t in wanted)
        except ValueError:
            return {}  # not X ids: nothing on the timeline to page back to
        public, private = self._fields()
        fields = private if self._settings.has_user_context else public
        remaining, found, token = set(wanted), {}, None
        while remaining:
            try:
                data, token = self._timeline_page("learn", 100, token, fields, gate=True)
            except (RateLimited, PosterUnavailable, CreditsDepleted, BudgetExceeded):
                raise
            except PosterError as exc:
                if fields is public:
                    raise
                log.info("private metrics refused on the timeline (%s); reading public", exc)
                fields = public
                continue
            for tweet in data:
                tid = str(tweet["id"])
                if tid in remaining:
                    found[tid] = _metrics(tweet)
                    remaining.discard(tid)
            if not token or not data or min(int(t["id"]) for t in data) <= oldest:
                break
        return found

    def _metrics_by_id(self, batch: list[str]) -> dict[str, dict[str, int]]:
        """One ``GET /2/tweets?ids=`` batch; private metrics with user context, else public.

        If X refuses the private fields, the batch falls back to public metrics rather than
        losing the read.
        """
        public, private = self._fields()
        body = None
        if self._settings.has_user_context:
            try:
                body = self._lookup(batch, private, user_auth=True)
            except (RateLimited, PosterUnavailable, CreditsDepleted, BudgetExceeded):
                raise
            except PosterError as exc:
                log.info("private metrics refused (%s); reading public metrics", exc)
        if body is None or not body.get("data"):
            body = self._lookup(batch, public, user_auth=self._read_auth())
        return {str(t["id"]): _metrics(t) for t in body.get("data") or []}

    def _lookup(self, batch: list[str], fields: list[str], *, user_auth: bool) -> Any:
        body, reservation = self._read(
            "GET /2/tweets", "post_read", "learn", len(batch), self.client.get_tweets, batch,
            tweet_fields=fields, user_auth=user_auth,
        )  # fmt: skip
        data = list(body.get("data") or [])
        billed = self.usage.log_reads({str(t["id"]): _metrics(t) for t in data}, owned=False,
                                      now=self.clock())  # fmt: skip
        self.usage.settle(reservation, status=200, resources=len(data), billed=billed)
        return body
