"""A local HTTP server speaking the X API v2 shapes tweepy uses (tests only; X is unreachable).

It is a stand-in for X, not for any xbot component: tweepy really sends its HTTP requests
here (through X_API_BASE_URL). Shapes follow the X API v2 documentation: 201
``{"data": {"id", "text"}}``, 403 duplicate content, 429 with ``x-rate-limit-*`` and
``x-user-limit-24hour-*`` headers, ``GET /2/tweets`` with ``public_metrics``,
``GET /2/users/:id/tweets`` and ``GET /2/users/me``.

``script`` is a list of behaviours consumed by successive ``POST /2/tweets`` calls:
``"ok"``, ``"500"``, ``"503"``, ``"401"``, ``"403"`` (not permitted), ``"429"``,
``"429day"`` (24-hour cap), ``"hang"`` (no answer within the client timeout, nothing created)
and ``"create_then_hang"`` (created, but the answer comes too late). Once it is empty every
call is ``"ok"`` (with X's own duplicate-content refusal).
"""

from __future__ import annotations

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

    def add_tweet(self, text: str) -> str:
        """Publish directly (as if an earlier, crashed process had posted)."""
        with self.lock:
            self.next_id += 1
            tweet = {
                "id": str(self.next_id),
                "text": text,
                "created_at": self.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            self.tweets.append(tweet)
            return tweet["id"]

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
                    if path != "/2/tweets":
                        return self._send(404, {"title": "Not Found"})
                    x.post_attempts += 1
                    step = x.script.pop(0) if x.script else "ok"
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
                with x.lock:
                    if any(t["text"] == text for t in x.tweets):
                        return self._send(403, DUPLICATE)
                x_id = x.add_tweet(text)
                if step == "create_then_hang":
                    time.sleep(x.hang_s)
                self._send(201, {"data": {"id": x_id, "text": text}}, self._limits(99, 16))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with x.lock:
                    x.requests.append(("GET", parts.path, self._auth()))
                    step = x.get_script.pop(0) if x.get_script else "ok"
                    tweets = list(x.tweets)
                if step in ("500", "503"):
                    return self._send(int(step), {"title": "Service Unavailable"})
                if parts.path == "/2/users/me":
                    return self._send(200, {"data": {"id": USER_ID, "username": "xbot"}})
                if parts.path == f"/2/users/{USER_ID}/tweets":
                    n = int(query.get("max_results", 10))
                    data = list(reversed(tweets))[:n]
                    return self._send(200, {"data": data, "meta": {"result_count": len(data)}})
                if parts.path == "/2/tweets":
                    ids = query.get("ids", "").split(",")
                    fields = query.get("tweet.fields", "").split(",")
                    data = []
                    for t in tweets:
                        if t["id"] not in ids:
                            continue
                        m = x.metrics.get(t["id"], {})
                        item = {
                            **t,
                            "public_metrics": {
                                "retweet_count": m.get("retweets", 0),
                                "reply_count": m.get("replies", 0),
                                "like_count": m.get("likes", 0),
                                "quote_count": m.get("quotes", 0),
                                "bookmark_count": m.get("bookmarks", 0),
                                "impression_count": m.get("impressions", 0),
                            },
                        }
                        if "non_public_metrics" in fields and self._auth() == "OAuth":
                            item["non_public_metrics"] = {
                                "impression_count": m.get("private_impressions", 0),
                                "url_link_clicks": m.get("clicks", 0),
                                "user_profile_clicks": 0,
                            }
                        data.append(item)
                    return self._send(200, {"data": data})
                self._send(404, {"title": "Not Found"})

        return Handler
