"""The real X: the X API v2 through tweepy, and the translation of its answers into our errors.

tweepy sends every request through :class:`_RoutedSession` (base URL + timeout). Posting uses
OAuth 1.0a user context; reads use the bearer token when there is one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from xbot.errors import PosterError
from xbot.poster import RemotePost, parse_x_time
from xbot.poster_state import CREDITS_DEPLETED, mark_credits_depleted, poster_state
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_errors import (
    AuthFailed,
    CreditsDepleted,
    DuplicateContent,
    PosterUnavailable,
    RateLimited,
)

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
    if isinstance(exc, tweepy.HTTPException) and exc.response.status_code == 402:
        return CreditsDepleted(_detail(exc))
    if isinstance(exc, tweepy.HTTPException):
        status = exc.response.status_code
        return PosterError(f"X API error {status}: {_detail(exc)}", status=status)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return PosterUnavailable(f"X unreachable: {type(exc).__name__}")
    return PosterError(f"X call failed: {type(exc).__name__}: {exc}")


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
    ``xbot schedule resume``.
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

    def _send(self, fn: Callable[..., requests.Response], *args: Any, **kwargs: Any) -> Any:
        """One HTTP call, unless the credits are known to be depleted; a 402 pauses posting."""
        state = poster_state(self._services)
        if state.get("state") == CREDITS_DEPLETED:
            raise CreditsDepleted(f"paused since {state.get('since', '?')}; no call made")
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            err = _translate(exc, self._clock())
            if isinstance(err, CreditsDepleted):
                mark_credits_depleted(self._services, err.detail, now=self._clock())
            raise err from exc

    def _call(self, fn: Callable[..., requests.Response], *args: Any, **kwargs: Any) -> Any:
        """Run an idempotent read with bounded exponential backoff on transient failures."""
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._send(fn, *args, **kwargs)
            except PosterError as err:
                if not isinstance(err, PosterUnavailable) or attempt == self._attempts:
                    raise
                delay = self._backoff_s * 2 ** (attempt - 1)
                log.warning("X read failed (%s); retry %d in %.1fs", err, attempt, delay)
                self._sleep(delay)
                continue
            try:
                return response.json()
            except ValueError as exc:
                raise PosterError(f"X answered {response.status_code} without JSON") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def create_post(self, text: str) -> str:
        if not self._settings.has_user_context:
            raise AuthFailed(None, "posting needs the four OAuth 1.0a user-context credentials")
        response = self._send(self.client.create_tweet, text=text, user_auth=True)
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
            RemotePost(str(t["id"]), t.get("text", ""), parse_x_time(t.get("created_at")))
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
                except (RateLimited, PosterUnavailable, CreditsDepleted):
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
