"""A local HTTP server speaking the X API v2 shapes tweepy uses (tests only; X is unreachable).

It is a stand-in for X, not for any xbot component: tweepy really sends its HTTP requests
here (through X_API_BASE_URL). Shapes follow the X API v2 documentation: 201
``{"data": {"id", "text"}}``, 403 duplicate content, 429 with ``x-rate-limit-*`` and
``x-user-limit-24hour-*`` headers, ``GET /2/tweets`` with ``public_metrics``,
``GET /2/users/:id/tweets`` and ``GET /2/users/me``.

``script`` is a list of behaviours consumed by successive ``POST /2/tweets`` calls:
``"ok"``, ``"500"``, ``"503"``, ``"401"``, ``"403"`` (not permitted), ``"429"``,
``"429day"`` (24-hour cap), ``"402"`` (credits depleted; X's body is undocumented, this one is
a guess and code must not depend on it), ``"hang"`` (no answer within the client timeout,
nothing created), ``"create_then_hang"`` (created, but the answer comes too late) and
``"400media"`` (X refuses the post's media: 400 "Your media IDs are invalid."). Once it
is empty every call is ``"ok"`` (with X's own duplicate-content refusal). A ``POST /2/tweets``
signed with an app-only bearer token gets X's 403 "Application-Only is forbidden".

``get_script`` does the same for GET calls: ``"ok"``, ``"500"``, ``"503"``, ``"402"``, and for
``/2/users/me`` the refusals ``xbot x check`` explains: ``"401"``, ``"403enroll"``
(client-not-enrolled), ``"403perm"`` (tokens older than the app's permissions) and ``"453"``.

Shapes added for the 2026 API (docs/x-api.md lists the sources):

- ``repost_field`` names the repost count in ``public_metrics``: ``"retweet_count"`` (the docs
  page) or ``"repost_count"`` (the OpenAPI spec since August 2026); ``omit_metrics`` leaves
  fields out entirely.
- ``GET /2/users/:id/tweets`` pages newest first, ``max_results`` 5..100, ``meta.next_token``
  while older posts remain and ``pagination_token`` to continue; only the newest
  ``timeline_limit`` posts are reachable (X: 3,200), older ones only by ``GET /2/tweets?ids=``.
- ``POST /2/media/upload`` (JSON body: base64 ``media``, ``media_category``, ``media_type``) ->
  200 ``{"data": {"id", "media_key", "size", "expires_after_secs"}}``; ``media_script`` takes
  ``"ok"``, ``"400"``, ``"500"``, ``"402"``. ``POST /2/media/metadata`` stores alt text.
  ``POST /2/tweets`` with ``media.media_ids`` accepts only ids uploaded here (else 400).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
USER_ID = "4242"
APP_ONLY = {
    "title": "Unsupported Authentication",
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
}
CREDITS = {"title": "Payment Required", "detail": "Your account has no API credits left.",
           "status": 402}  # fmt: skip
ME_REFUSALS = {
    "401": (401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}),
    "403enroll": (403, {
        "title": "Client Forbidden",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project.",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
        "status": 403,
    }),
    "403perm": (403, {
        "title": "Forbidden",
        "detail": "Your client app is not configured with the appropriate oauth1 app "
        "permissions for this endpoint.",
        "status": 403,
    }),
    "453": (403, {"errors": [{
        "code": 453,
        "message": "You currently have access to a subset of X API V2 endpoints and limited "
        "v1.1 endpoints only. If you need access to this endpoint, you may need a different "
        "access level.",
    }]}),
}  # fmt: skip


class XServer:
    def __init__(self, hang_s: float = 1.0) -> None:
        self.hang_s = hang_s
        self.lock = threading.Lock()
        self.tweets: list[dict[str, str]] = []  # oldest first
        self.script: list[str] = []
        self.get_script: list[str] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, path, auth scheme)
        self.post_attempts = 0
        self.metrics: dict[str, dict[str, int]] = {}
        self.repost_field = "retweet_count"
        self.omit_metrics: set[str] = set()
        self.timeline_limit = 3200
        self.media: dict[str, dict[str, object]] = {}  # media id -> bytes, mime, category, alt
        self.media_script: list[str] = []
        self.next_id = 1_800_000_000_000_000_000
        self.reset_epoch = int(time.time()) + 900
        self.day_reset_epoch = int(time.time()) + 86_400
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # stamps created_at
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> XServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_tweet(self, text: str, media_ids: list[str] | None = None) -> str:
        """Publish directly (as if an earlier, crashed process had posted)."""
        with self.lock:
            self.next_id += 1
            tweet = {
                "id": str(self.next_id),
                "text": text,
                "created_at": self.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            if media_ids:
                tweet["attachments"] = {"media_keys": [f"3_{m}" for m in media_ids]}
            self.tweets.append(tweet)
            return tweet["id"]

    def public_metrics(self, tweet_id: str) -> dict[str, int]:
        """The ``public_metrics`` block X would send for one post (see ``repost_field``)."""
        m = self.metrics.get(tweet_id, {})
        block = {
            self.repost_field: m.get("retweets", 0),
            "reply_count": m.get("replies", 0),
            "like_count": m.get("likes", 0),
            "quote_count": m.get("quotes", 0),
            "bookmark_count": m.get("bookmarks", 0),
            "impression_count": m.get("impressions", 0),
        }
        return {k: v for k, v in block.items() if k not in self.omit_metrics}

    def calls(self, method: str, path: str) -> int:
        """How many requests hit ``method path`` (what the cost tests count)."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests if (m, p) == (method, path))

    def texts(self) -> list[str]:
        with self.lock:
            return [t["text"] for t in self.tweets]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        x = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                raw = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json; charset=utf-8")
                    self.send_header("content-length", str(len(raw)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, str(v))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) or was killed

            def _auth(self) -> str:
                return (self.headers.get("authorization") or "").split(" ", 1)[0]

            def _limits(self, remaining: int, day_remaining: int) -> dict[str, int]:
                return {
                    "x-rate-limit-limit": 100,
                    "x-rate-limit-remaining": remaining,
                    "x-rate-limit-reset": x.reset_epoch,
                    "x-user-limit-24hour-limit": 17,
                    "x-user-limit-24hour-remaining": day_remaining,
                    "x-user-limit-24hour-reset": x.day_reset_epoch,
                }

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with x.lock:
                    x.requests.append(("POST", path, self._auth()))
                if path == "/2/media/upload":
                    return self._upload(body)
                if path == "/2/media/metadata":
                    return self._metadata(body)
                if path != "/2/tweets":
                    return self._send(404, {"title": "Not Found"})
                if self._auth() == "Bearer":
                    return self._send(403, APP_ONLY)
                with x.lock:
                    x.post_attempts += 1
                    step = x.script.pop(0) if x.script else "ok"
                if step == "402":
                    return self._send(402, CREDITS)
                if step in ("500", "503"):
                    return self._send(int(step), {"title": "Service Unavailable"})
                if step == "401":
                    return self._send(401, {"title": "Unauthorized", "status": 401})
                if step == "403":
                    return self._send(
                        403,
                        {
                            "title": "Forbidden",
                            "status": 403,
                            "detail": "You are not permitted to perform this action.",
                        },
                    )
                if step == "429":
                    return self._send(429, {"title": "Too Many Requests"}, self._limits(0, 5))
                if step == "429day":
                    return self._send(429, {"title": "Too Many Requests"}, self._limits(50, 0))
                if step == "hang":
                    time.sleep(x.hang_s)
                    return self._send(503, {"title": "late"})
                text = body.get("text", "")
                media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
                with x.lock:
                    if any(t["text"] == text for t in x.tweets):
                        return self._send(403, DUPLICATE)
                    unknown = [m for m in media_ids if m not in x.media]
                if unknown or step == "400media":
                    return self._send(400, {"errors": [{"message": "Your media IDs are invalid."}],
                                            "title": "Invalid Request", "status": 400})  # fmt: skip
                x_id = x.add_tweet(text, media_ids)
                if step == "create_then_hang":
                    time.sleep(x.hang_s)
                self._send(201, {"data": {"id": x_id, "text": text}}, self._limits(99, 16))

            def _with_metrics(self, tweet: dict, fields: list[str]) -> dict:
                """A post with public (and, for its owner, non-public) metrics."""
                m = x.metrics.get(tweet["id"], {})
                item = {**tweet, "public_metrics": x.public_metrics(tweet["id"])}
                if "non_public_metrics" in fields and self._auth() == "OAuth":
                    item["non_public_metrics"] = {
                        "impression_count": m.get("private_impressions", 0),
                        "url_link_clicks": m.get("clicks", 0),
                        "user_profile_clicks": 0,
                    }
                return item

            def _upload(self, body: dict) -> None:
                with x.lock:
                    step = x.media_script.pop(0) if x.media_script else "ok"
                if step == "402":
                    return self._send(402, CREDITS)
                if step == "500":
                    return self._send(500, {"title": "Internal Server Error"})
                try:
                    raw = base64.b64decode(body.get("media", ""), validate=True)
                except ValueError:
                    raw = b""
                if step == "400" or not raw:
                    return self._send(400, {"title": "Invalid Request", "status": 400,
                                            "detail": "media type unrecognized."})  # fmt: skip
                with x.lock:
                    x.next_id += 1
                    media_id = str(x.next_id)
                    x.media[media_id] = {"bytes": raw, "mime": body.get("media_type"),
                                         "category": body.get("media_category"), "alt": None}  # fmt: skip
                self._send(200, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                          "size": len(raw), "expires_after_secs": 86400}})  # fmt: skip

            def _metadata(self, body: dict) -> None:
                media_id = str(body.get("id", ""))
                alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
                with x.lock:
                    if media_id not in x.media:
                        return self._send(400, {"title": "Invalid Request", "status": 400})
                    x.media[media_id]["alt"] = alt
                self._send(200, {"data": {"id": media_id, "associated_metadata":
                                          {"alt_text": {"text": alt}}}})  # fmt: skip

            def _timeline(self, query: dict[str, str], tweets: list[dict]) -> None:
                n = max(5, min(int(query.get("max_results", 10)), 100))
                start = int(query.get("pagination_token") or 0)
                reachable = list(reversed(tweets))[: x.timeline_limit]
                page = reachable[start : start + n]
                fields = query.get("tweet.fields", "").split(",")
                if "public_metrics" in fields:
                    page = [self._with_metrics(t, fields) for t in page]
                meta: dict[str, object] = {"result_count": len(page)}
                if page:
                    meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
                if start + n < len(reachable):
                    meta["next_token"] = str(start + n)
                self._send(200, {"data": page, "meta": meta} if page else {"meta": meta},
                           self._limits(1499, 16))  # fmt: skip

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with x.lock:
                    x.requests.append(("GET", parts.path, self._auth()))
                    step = x.get_script.pop(0) if x.get_script else "ok"
                    tweets = list(x.tweets)
                if step in ("500", "503"):
                    return self._send(int(step), {"title": "Service Unavailable"})
                if step == "402":
                    return self._send(402, CREDITS)
                if parts.path == "/2/users/me":
                    if step in ME_REFUSALS:
                        return self._send(*ME_REFUSALS[step])
                    if self._auth() == "Bearer":
                        return self._send(403, APP_ONLY)
                    return self._send(200, {"data": {"id": USER_ID, "username": "xbot"}},
                                      self._limits(74, 16))  # fmt: skip
                if parts.path == f"/2/users/{USER_ID}/tweets":
                    return self._timeline(query, tweets)
                if parts.path == "/2/tweets":
                    ids = query.get("ids", "").split(",")
                    fields = query.get("tweet.fields", "").split(",")
                    data = []
                    for t in tweets:
                        if t["id"] not in ids:
                            continue
                        data.append(self._with_metrics(t, fields))
                    return self._send(200, {"data": data})
                self._send(404, {"title": "Not Found"})

        return Handler
