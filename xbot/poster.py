"""Posting to X: the ``Poster`` interface, where metrics come from, and the single-poster lock.

Three ways a pick can leave (or not leave) the machine:

- :class:`xbot.x_client.XPoster` talks to the X API v2 through tweepy (OAuth 1.0a user
  context to post, the bearer token to read);
- :class:`xbot.sim_poster.SimPoster` is the **simulated** X of the demo: it keeps its "remote"
  timeline in Redis and scores posts with :class:`xbot.sim.SimWorld`; nothing leaves the machine;
- shadow mode has no poster at all (the scheduler only logs).

:mod:`xbot.outbox` is why a post can never go out twice; :mod:`xbot.poster_state` records why
posting is paused; :mod:`xbot.x_errors` names X's refusals.

Only one scheduler posts at a time: :class:`xbot.locks.RedisLock` (owner token + lease).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from xbot.errors import PosterError, ValidationError
from xbot.services import Services
from xbot.settings import Settings

log = logging.getLogger("xbot.poster")


@dataclass(frozen=True)
class RemotePost:
    """A post as the account's timeline shows it."""

    id: str
    text: str
    created_at: datetime | None


IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's limit for images through the simple upload


@dataclass(frozen=True)
class Media:
    """An image to attach, as the candidate's ``metadata["media"]`` describes it.

    The agreed shape (written by the sources pipeline): ``path`` of the downloaded file,
    ``sha256`` of its bytes, ``mime`` (checked by content when it was downloaded), ``bytes``,
    ``alt`` text and the ``source_url`` it came from.
    """

    path: str
    sha256: str
    mime: str
    bytes: int
    alt: str = ""
    source_url: str = ""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Media | None:
        """The image of a candidate's metadata, or None when ``has_media`` is not true."""
        if not metadata.get("has_media"):
            return None
        raw = metadata.get("media")
        if not isinstance(raw, Mapping):
            raise ValidationError("metadata.media", raw, "an object with path, sha256, mime")
        try:
            media = cls(
                path=str(raw["path"]), sha256=str(raw["sha256"]), mime=str(raw["mime"]),
                bytes=int(raw.get("bytes") or 0), alt=str(raw.get("alt") or ""),
                source_url=str(raw.get("source_url") or ""),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                "metadata.media", dict(raw), "path, sha256, mime (bytes, alt, source_url)"
            ) from None
        if media.mime not in IMAGE_TYPES:
            raise ValidationError("metadata.media.mime", media.mime, ", ".join(IMAGE_TYPES))
        return media

    def read(self) -> bytes:
        """The image bytes, refused when the file is gone, too big or not the one hashed."""
        try:
            raw = Path(self.path).read_bytes()
        except OSError as exc:
            raise PosterError(f"image {self.path} unreadable: {exc.strerror}") from exc
        if len(raw) > MAX_IMAGE_BYTES:
            raise PosterError(f"image {self.path} is {len(raw)} bytes; X takes at most 5 MB")
        if hashlib.sha256(raw).hexdigest() != self.sha256:
            raise PosterError(f"image {self.path} changed since it was hashed")
        return raw

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "mime": self.mime,
                "bytes": self.bytes, "alt": self.alt, "source_url": self.source_url}  # fmt: skip


def media_sha256(metadata: Mapping[str, Any]) -> str | None:
    """The SHA-256 of the image a candidate's metadata attaches (None: none, or unreadable --
    :meth:`Media.from_metadata` is where malformed media is refused)."""
    raw = metadata.get("media") if metadata.get("has_media") else None
    sha = raw.get("sha256") if isinstance(raw, Mapping) else None
    return str(sha) if sha else None


class Poster(Protocol):
    """What the scheduler and the learning loop need from an X (real or simulated)."""

    name: str

    def create_post(self, text: str, media_ids: list[str] | None = None) -> str:
        """Post ``text`` (with uploaded media); return the tweet id. Raises PosterError."""
        ...

    def upload_media(self, media: Media) -> str:
        """Upload one image with its alt text; return the media id to attach."""
        ...

    def recent_posts(self, limit: int = 100) -> list[RemotePost]:
        """The account's most recent posts, newest first (reconciliation reads these)."""
        ...

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        """tweet id -> {likes, retweets, replies, quotes, bookmarks, impressions, ...}."""
        ...


def parse_x_time(raw: str | None) -> datetime | None:
    """X's ISO-8601 ``created_at`` (``...Z``) as aware UTC; None when absent."""
    if not raw:
        return None
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


def metrics_source(services: Services, settings: Settings, timezone: str) -> tuple[Poster, str]:
    """Where learning reads engagement: the one rule the CLI, the timetable and notebooks share.

    X (tweepy) when credentials are set; else the simulated X, but only where the demo left a
    simulated world under this REDIS_PREFIX (its posts are the only ones without X); else a
    clear error, because there is nothing real to learn from.
    """
    from xbot.sim_poster import SimPoster, saved_sim_world
    from xbot.x_client import XPoster

    if settings.has_user_context or settings.x_bearer_token:
        return XPoster(settings, services), "x"
    world = saved_sim_world(services)
    if world is not None:
        return SimPoster(services, world, lambda: datetime.now(UTC), timezone=timezone), "simulated"
    raise PosterError(
        "no metrics source: set X credentials (X_BEARER_TOKEN or the four OAuth 1.0a values), "
        "or run `xbot demo` for the simulated X"
    )
