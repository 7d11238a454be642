"""The SIMULATED X of the demo and benchmarks: nothing leaves the machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from xbot.candidates.prep import content_hash
from xbot.poster import RemotePost, parse_x_time
from xbot.services import Services
from xbot.sim import SimWorld
from xbot.x_errors import DuplicateContent


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
            RemotePost(p["id"], p["text"], parse_x_time(p["created_at"]))
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
