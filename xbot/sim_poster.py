"""The SIMULATED X of the demo and benchmarks: nothing leaves the machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from xbot.candidates.prep import content_hash
from xbot.poster import Media, RemotePost, parse_x_time
from xbot.services import Services
from xbot.sim import SimWorld
from xbot.x_errors import DuplicateContent
from xbot.x_text import find_urls
from xbot.x_usage import XUsage


class SimPoster:
    """SIMULATED X for the demo and benchmarks: nothing leaves the machine.

    Its "remote" timeline lives in Redis under this prefix, so reconciliation and metrics
    reads go through the same code as with the real X. Engagement comes from
    :class:`xbot.sim.SimWorld`, which scores a post by what it is about (topic, format) and the
    local hour it went out; the topic and format are looked up from the ``candidates`` row of
    the post's content hash, the way a real audience reads a post's content.

    Its calls are priced and gated like the real X's (``x_api_usage`` rows marked
    ``simulated``, stamped with the simulated clock): the demo shows what the account would
    have cost and a budget flag holds in it. Metrics reads are priced as the real poster's
    cheap path: owned timeline reads, each post billed once per UTC day.
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
        self.clock = clock
        self._tz = ZoneInfo(timezone)
        self.usage = XUsage(services, services.settings.environment, simulated=True)

    def _posts(self) -> list[dict[str, str]]:
        raw = self._services.redis.hvals(self._services.keys.sim_posts())
        posts = [json.loads(v) for v in raw]
        return sorted(posts, key=lambda p: int(p["id"]), reverse=True)

    def upload_media(self, media: Media) -> str:
        media.read()  # the same checks as a real upload: the file, its size, its hash
        reservation = self.usage.reserve(endpoint="POST /2/media/upload",
                                         operation="media_upload", purpose="media",
                                         now=self.clock())  # fmt: skip
        self.usage.settle(reservation, status=200, resources=1, billed=1)
        return str(10**15 + int(self._services.redis.incr(self._services.keys.sim_post_seq())))

    def create_post(self, text: str, media_ids: list[str] | None = None) -> str:
        operation = "post_create_url" if find_urls(text) else "post_create"
        reservation = self.usage.reserve(endpoint="POST /2/tweets", operation=operation,
                                         purpose="post", now=self.clock())  # fmt: skip
        digest = content_hash(text)
        if any(content_hash(p["text"]) == digest for p in self._posts()):
            self.usage.settle(reservation, status=403, resources=0, billed=0)
            raise DuplicateContent("You are not allowed to create a Tweet with duplicate content.")
        self.usage.settle(reservation, status=201, resources=1, billed=1)
        keys, r = self._services.keys, self._services.redis
        tweet_id = str(10**15 + int(r.incr(keys.sim_post_seq())))
        post = {"id": tweet_id, "text": text, "created_at": self.clock().isoformat()}
        r.hset(keys.sim_posts(), tweet_id, json.dumps(post))
        return tweet_id

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        posts = self._posts()[:limit]
        self._bill_reads("reconcile", [p["id"] for p in posts], gate=False)
        return [RemotePost(p["id"], p["text"], parse_x_time(p["created_at"])) for p in posts]

    def _bill_reads(self, purpose: str, tweet_ids: list[str], *, gate: bool) -> None:
        """Price a read of ``tweet_ids`` as owned timeline reads (raises over a budget)."""
        if not tweet_ids:
            return
        now = self.clock()
        reservation = self.usage.reserve(endpoint="GET /2/users/:id/tweets",
                                         operation="owned_read", purpose=purpose,
                                         resources=len(tweet_ids), now=now, gate=gate)  # fmt: skip
        billed = self.usage.log_reads(dict.fromkeys(tweet_ids), owned=True, now=now)
        self.usage.settle(reservation, status=200, resources=len(tweet_ids), billed=billed)

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        keys, r = self._services.keys, self._services.redis
        found = [json.loads(v) for v in r.hmget(keys.sim_posts(), tweet_ids) if v]
        if not found:
            return {}
        self._bill_reads("learn", [p["id"] for p in found], gate=True)
        hashes = {content_hash(p["text"]): p for p in found}
        with self._services.engine.connect() as conn:
            # the candidate the post was made from: through the outbox row (its hash has the
            # image's sha in it, and link_policy=strip changed its text), else by its text
            rows = conn.execute(
                sa.text(
                    "select t.tweet_id, c.content_hash, c.topic, c.format from candidates c"
                    " left join tweets t on t.candidate_id = c.id and t.tweet_id = any(:ids)"
                    " where c.environment = :e and (t.id is not null or c.content_hash = any(:h))"
                ),
                {"e": self._services.settings.environment, "h": list(hashes),
                 "ids": [p["id"] for p in found]},
            ).all()  # fmt: skip
        by_id = {row.tweet_id: (row.topic, row.format) for row in rows if row.tweet_id}
        by_hash = {row.content_hash: (row.topic, row.format) for row in rows}
        now = self.clock()
        out: dict[str, dict[str, int]] = {}
        for digest, post in hashes.items():
            about = by_id.get(post["id"]) or by_hash.get(digest)
            if about is None:
                continue
            topic, fmt = about
            posted_at = parse_x_time(post["created_at"]) or now
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
