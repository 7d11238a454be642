"""Where candidates come from: feeds, the template catalogue, and hand-written files.

Every source follows :class:`Source`: a name, a weight (enters the priority score) and
``fetch(ctx) -> FetchResult``. A source that cannot be read raises :class:`SourceError`; the
pipeline reports it with its error and carries on with the others. Bad rows inside a readable
file do not fail the source: they come back in ``FetchResult.errors``.

Sources are listed in ``config/sources.toml`` (see :func:`load_config`); ``package:`` locations
point into ``xbot/data`` (the shipped sample feeds, catalogue and hand-written candidates).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import feedparser
import redis as redis_lib
import requests

from xbot.errors import ValidationError, XbotError
from xbot.keys import Keys

KINDS = ("feed", "template", "file")
FEED_TIMEOUT_S = 10.0
#: Feed entries older than this (relative to ``now``) are stale and skipped.
FEED_MAX_AGE = timedelta(hours=48)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SourceError(XbotError):
    """A source could not be read at all (unreachable, malformed XML, unreadable file)."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"source {source}: {detail}", source=source, detail=detail)
        self.source = source
        self.detail = detail


@dataclass(frozen=True)
class RawItem:
    """One post candidate as a source produced it (before hashing, scoring and the guard)."""

    text: str
    topic: str
    format: str
    tags: tuple[str, ...]
    source: str
    published_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class FetchResult:
    items: list[RawItem]
    errors: list[str] = field(default_factory=list)
    not_modified: bool = False


@dataclass(frozen=True)
class Topic:
    name: str
    prior: float
    hashtags: tuple[str, ...]
    keywords: tuple[str, ...]
    games: tuple[str, ...]
    aspects: tuple[str, ...]

    @property
    def display(self) -> str:
        return self.name.removeprefix("gaming_").replace("_", " ")


@dataclass(frozen=True)
class Catalogue:
    """The template catalogue (``xbot/data/catalogue.toml``)."""

    topics: dict[str, Topic]
    templates: tuple[dict[str, str], ...]
    hooks: tuple[str, ...]
    closers: tuple[str, ...]
    feed_formats: dict[str, str]

    def topic_for(self, text: str, allowed: tuple[str, ...]) -> str | None:
        """The allowed topic whose keywords and game names occur most in ``text`` (None if none)."""
        low = text.casefold()
        best: tuple[int, str] | None = None
        for name in allowed:
            topic = self.topics[name]
            words = {w.casefold() for w in (*topic.keywords, *topic.games)}
            hits = sum(1 for w in words if re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", low))
            if hits and (best is None or hits > best[0]):
                best = (hits, name)
        return best[1] if best else None


def load_catalogue(path: Path | None = None) -> Catalogue:
    if path is None:
        raw = tomllib.loads(
            resources.files("xbot").joinpath("data", "catalogue.toml").read_text("utf-8")
        )
    else:
        raw = tomllib.loads(path.read_text("utf-8"))
    topics = {
        name: Topic(
            name=name,
            prior=float(t.get("prior", 1.0)),
            hashtags=tuple(t.get("hashtags", ())),
            keywords=tuple(t.get("keywords", ())),
            games=tuple(t["games"]),
            aspects=tuple(t["aspects"]),
        )
        for name, t in raw["topics"].items()
    }
    return Catalogue(
        topics=topics,
        templates=tuple(raw["templates"]),
        hooks=tuple(raw["hooks"]),
        closers=tuple(raw["closers"]),
        feed_formats=dict(raw["feed_formats"]),
    )


@dataclass
class FetchContext:
    """What a fetch may use: the clock, the catalogue, and Redis for the HTTP cache."""

    now: datetime
    catalogue: Catalogue
    redis: redis_lib.Redis | None = None
    keys: Keys | None = None


class Source(Protocol):
    name: str
    kind: str
    weight: float
    topics: tuple[str, ...]

    def fetch(self, ctx: FetchContext) -> FetchResult: ...


def _resolve(location: str, base: Path) -> Path:
    if location.startswith("package:"):
        return Path(str(resources.files("xbot").joinpath("data", location[len("package:") :])))
    path = Path(location).expanduser()
    return path if path.is_absolute() else base / path


@dataclass
class FeedSource:
    """RSS/Atom via feedparser, from a local file or a URL (conditional GET, timeout)."""

    name: str
    location: str
    weight: float
    topics: tuple[str, ...]
    base: Path = Path(".")
    timeout: float = FEED_TIMEOUT_S
    kind: str = "feed"

    def _read(self, ctx: FetchContext) -> bytes | None:
        if not self.location.startswith(("http://", "https://")):
            path = _resolve(self.location, self.base)
            try:
                return path.read_bytes()
            except OSError as exc:
                raise SourceError(self.name, f"cannot read {path}: {exc.strerror}") from exc
        headers: dict[str, str] = {"User-Agent": "xbot (+feeds)"}
        cache_key = ctx.keys.feed_cache(self.name) if ctx.keys else None
        if ctx.redis is not None and cache_key:
            cached = ctx.redis.hgetall(cache_key)
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("modified"):
                headers["If-Modified-Since"] = cached["modified"]
        try:
            resp = requests.get(self.location, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SourceError(self.name, f"unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 304:
            return None
        if resp.status_code != 200:
            raise SourceError(self.name, f"HTTP {resp.status_code}")
        if ctx.redis is not None and cache_key:
            fields = {
                "etag": resp.headers.get("ETag", ""),
                "modified": resp.headers.get("Last-Modified", ""),
            }
            ctx.redis.hset(cache_key, mapping=fields)
        return resp.content

    def fetch(self, ctx: FetchContext) -> FetchResult:
        body = self._read(ctx)
        if body is None:
            return FetchResult([], not_modified=True)
        parsed = feedparser.parse(body)
        # A declared-vs-actual encoding mismatch is harmless; any other bozo flag means broken
        # XML, whose salvaged entries are not trusted.
        problem = getattr(parsed, "bozo_exception", None)
        if parsed.bozo and not isinstance(problem, feedparser.CharacterEncodingOverride):
            raise SourceError(self.name, f"malformed feed: {problem}")
        items: list[RawItem] = []
        errors: list[str] = []
        formats = sorted(ctx.catalogue.feed_formats)
        for entry in parsed.entries:
            title = " ".join(str(entry.get("title", "")).split())
            if not title:
                errors.append("entry without a title")
                continue
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            published = datetime(*stamp[:6], tzinfo=UTC) if stamp else None
            if published is not None and ctx.now - published > FEED_MAX_AGE:
                continue
            summary = str(entry.get("summary", ""))
            topic = ctx.catalogue.topic_for(f"{title} {summary}", self.topics)
            if topic is None:
                continue
            ident = str(entry.get("id") or entry.get("link") or title)
            fmt = formats[sum(ident.encode()) % len(formats)]
            text = ctx.catalogue.feed_formats[fmt].format(
                title=title[:200].rstrip("."), link=entry.get("link", "")
            )
            items.append(
                RawItem(
                    text=" ".join(text.split()),
                    topic=topic,
                    format=fmt,
                    tags=ctx.catalogue.topics[topic].hashtags[:1],
                    source=self.name,
                    published_at=published,
                    metadata={"entry_id": ident, "link": entry.get("link", "")},
                )
            )
        return FetchResult(items, errors)


@dataclass
class TemplateSource:
    """Curated templates filled from the catalogue, seeded by the date and 6-hour slot.

    The same slot always gives the same texts (a second refresh finds duplicates); a new slot
    gives a new draw, so a simulated clock keeps getting fresh candidates day after day.
    """

    name: str
    weight: float
    topics: tuple[str, ...]
    per_refresh: int = 24
    kind: str = "template"

    def fetch(self, ctx: FetchContext) -> FetchResult:
        cat = ctx.catalogue
        slot = f"{ctx.now:%Y-%m-%d}:{ctx.now.hour // 6}"
        rng = random.Random(f"{self.name}:{slot}")
        items: list[RawItem] = []
        for i in range(self.per_refresh):
            topic = cat.topics[self.topics[i % len(self.topics)]]
            template = cat.templates[rng.randrange(len(cat.templates))]
            game, game2 = rng.sample(topic.games, 2)
            text = template["text"].format(
                game=game,
                game2=game2,
                aspect=rng.choice(topic.aspects),
                n=rng.randint(2, 9),
                weekday=_WEEKDAYS[ctx.now.weekday()],
                hook=rng.choice(cat.hooks),
                closer=rng.choice(cat.closers),
                topic_name=topic.display,
            )
            items.append(
                RawItem(
                    text=" ".join(text.split()),
                    topic=topic.name,
                    format=template["format"],
                    tags=topic.hashtags[:1],
                    source=self.name,
                    metadata={"slot": slot, "game": game},
                )
            )
        return FetchResult(items)


@dataclass
class FileSource:
    """Hand-written candidates from CSV (header: text,topic,tags,format) or JSONL.

    ``tags`` is a list in JSONL and ``;``-separated in CSV. A bad row is reported, not fatal.
    """

    name: str
    location: str
    weight: float
    topics: tuple[str, ...]
    base: Path = Path(".")
    kind: str = "file"

    def _rows(self, text: str, suffix: str) -> list[tuple[int, Any]]:
        if suffix == ".csv":
            return list(enumerate(csv.DictReader(io.StringIO(text)), start=2))
        rows: list[tuple[int, Any]] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                rows.append((n, f"invalid JSON ({exc.msg})"))
        return rows

    def fetch(self, ctx: FetchContext) -> FetchResult:
        path = _resolve(self.location, self.base)
        if path.suffix not in (".csv", ".jsonl"):
            raise SourceError(self.name, f"{path.name}: only .csv and .jsonl are supported")
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(self.name, f"cannot read {path}: {exc}") from exc
        items: list[RawItem] = []
        errors: list[str] = []
        for n, row in self._rows(text, path.suffix):
            problem = _row_problem(row, self.topics)
            if problem:
                errors.append(f"{path.name} row {n}: {problem}")
                continue
            tags = row.get("tags") or []
            if isinstance(tags, str):
                tags = [t.strip() for t in tags.split(";") if t.strip()]
            items.append(
                RawItem(
                    text=" ".join(row["text"].split()),
                    topic=row["topic"],
                    format=row.get("format") or "post",
                    tags=tuple(str(t).lstrip("#") for t in tags),
                    source=self.name,
                    metadata={"row": n},
                )
            )
        return FetchResult(items, errors)


def _row_problem(row: Any, topics: tuple[str, ...]) -> str | None:
    if isinstance(row, str):
        return row
    if not isinstance(row, Mapping):
        return "not an object"
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return "text is missing or not a string"
    if row.get("topic") not in topics:
        return f"topic {row.get('topic')!r} is not one of {', '.join(topics)}"
    tags = row.get("tags") or []
    if not isinstance(tags, (str, list)) or not all(isinstance(t, str) for t in tags):
        return "tags must be a list of strings (JSONL) or ';'-separated (CSV)"
    return None


# -- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcesConfig:
    sources: tuple[Source, ...]
    catalogue: Catalogue
    path: Path


def default_config_path() -> Path:
    """``$XBOT_SOURCES`` is handled by the caller; this is the repository's config file."""
    for candidate in (
        Path.cwd() / "config" / "sources.toml",
        Path(__file__).resolve().parents[2] / "config" / "sources.toml",
    ):
        if candidate.is_file():
            return candidate
    raise ValidationError(
        "sources config", "config/sources.toml", "an existing file (set XBOT_SOURCES to its path)"
    )


def load_config(path: Path | None = None) -> SourcesConfig:
    """Read and validate the sources file; any bad entry raises ValidationError, naming it."""
    path = path or default_config_path()
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError("sources config", str(path), f"a readable TOML file ({exc})") from exc
    catalogue = load_catalogue()
    all_topics = tuple(catalogue.topics)
    sources: list[Source] = []
    names: set[str] = set()
    for i, entry in enumerate(raw.get("source", [])):
        where = f"source[{i}]"
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", name or ""):
            raise ValidationError(f"{where}.name", name, "1-40 chars of a-z 0-9 _ -")
        if name in names:
            raise ValidationError(f"{where}.name", name, "a name not used by another source")
        names.add(name)
        if not entry.get("enabled", True):
            continue
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ValidationError(f"{name}.kind", kind, "one of " + ", ".join(KINDS))
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 10:
            raise ValidationError(f"{name}.weight", weight, "a number in (0, 10]")
        topics = tuple(entry.get("topics") or all_topics)
        unknown = [t for t in topics if t not in catalogue.topics]
        if unknown:
            raise ValidationError(
                f"{name}.topics", unknown, "topics of the catalogue: " + ", ".join(all_topics)
            )
        if kind == "template":
            per = entry.get("per_refresh", 24)
            if isinstance(per, bool) or not isinstance(per, int) or not 1 <= per <= 200:
                raise ValidationError(f"{name}.per_refresh", per, "an integer from 1 to 200")
            sources.append(TemplateSource(name, float(weight), topics, per))
            continue
        location = entry.get("location")
        if not isinstance(location, str) or not location:
            raise ValidationError(f"{name}.location", location, "a path, package:<file> or URL")
        if kind == "feed":
            timeout = entry.get("timeout", FEED_TIMEOUT_S)
            sources.append(
                FeedSource(name, location, float(weight), topics, path.parent, float(timeout))
            )
        else:
            sources.append(FileSource(name, location, float(weight), topics, path.parent))
    return SourcesConfig(tuple(sources), catalogue, path)
