"""Where candidates come from: feeds, the template catalogue, and hand-written files.

Every source follows :class:`Source`: a name, a weight (enters the priority score) and
``fetch(ctx) -> FetchResult``. A source that cannot be read raises :class:`SourceError`; the
pipeline reports it with its error and carries on with the others. Bad rows inside a readable
file do not fail the source: they come back in ``FetchResult.errors``.

Sources are listed in ``config/sources.toml`` (see :func:`load_config`); ``package:`` locations
point into ``xbot/data`` (the shipped sample feeds, catalogue and hand-written candidates).

Feed text is turned into plain text here, before templating (:mod:`xbot.candidates.clean` says
how each escaping layer is undone exactly once); images are fetched through the refresh's
:class:`~xbot.candidates.media.MediaStore` and travel as ``RawItem.media``. A source-level
problem that is not an error (an empty feed) comes back in ``FetchResult.warnings``.
"""

from __future__ import annotations

import csv
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

import redis as redis_lib
import requests

from xbot.candidates.clean import clean_value, feed_text, plain_text
from xbot.candidates.feedparse import FeedParseTimeout, parse_with_limit
from xbot.candidates.media import (
    IMAGE_MAX_BYTES,
    IMAGE_TIMEOUT_S,
    MediaError,
    MediaStore,
    default_alt,
)
from xbot.errors import ValidationError, XbotError
from xbot.keys import Keys

KINDS = ("feed", "template", "file")
FEED_TIMEOUT_S = 10.0
#: A feed body over this many bytes is not parsed (the source is reported and skipped).
FEED_MAX_BYTES = 5_000_000
#: A feed body not parsed within this many seconds is given up (reported and skipped).
FEED_PARSE_TIMEOUT_S = 20.0
#: The columns a CSV file source may have (``text`` and ``topic`` are required).
CSV_COLUMNS = ("text", "topic", "tags", "format", "media", "alt")
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
    #: The image (see :mod:`xbot.candidates.media` for the fields), None for a text-only item.
    media: dict[str, Any] | None = field(default=None, compare=False)


@dataclass
class FetchResult:
    """What one source produced: items, bad items (``errors``, each refused and counted) and
    source-level warnings (an empty feed: read fine, but nothing to use, not a success)."""

    items: list[RawItem]
    errors: list[str] = field(default_factory=list)
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)


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
    #: Game name -> {"file": package path or path, "alt": alt text} (optional per game).
    images: dict[str, dict[str, str]] = field(default_factory=dict)

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
        images=_catalogue_images(raw.get("images", {}), topics),
    )


def _catalogue_images(raw: Any, topics: dict[str, Topic]) -> dict[str, dict[str, str]]:
    """``[images."<game>"]`` tables: each names a game of some topic and has a ``file``."""
    games = {g for t in topics.values() for g in t.games}
    images: dict[str, dict[str, str]] = {}
    for game, spec in dict(raw).items():
        if game not in games:
            raise ValidationError(f"images.{game!r}", game, "a game listed under some topic")
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise ValidationError(f"images.{game!r}.file", spec, "a path, package:<file> or URL")
        if not isinstance(spec.get("alt", ""), str):
            raise ValidationError(f"images.{game!r}.alt", spec.get("alt"), "a string")
        images[game] = {"file": spec["file"], "alt": spec.get("alt", "")}
    return images


@dataclass
class FetchContext:
    """What a fetch may use: the clock, the catalogue, Redis for the HTTP cache, and the image
    store (None: items carry no images)."""

    now: datetime
    catalogue: Catalogue
    redis: redis_lib.Redis | None = None
    keys: Keys | None = None
    media: MediaStore | None = None


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


_LINK_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)


def _image_refs(refs: list[dict[str, str]]) -> list[str]:
    """The http(s) URLs among an entry's media references that may be images (declared image
    type or medium, or nothing declared: the content decides), best first, no repeats."""
    urls: list[str] = []
    for ref in refs:
        declared = ref["type"] or ref["medium"]
        if declared and not declared.startswith("image"):
            continue
        if _LINK_RE.fullmatch(ref["url"]) and ref["url"] not in urls:
            urls.append(ref["url"])
    return urls


@dataclass
class FeedSource:
    """RSS/Atom via feedparser, from a local file or a URL (conditional GET, timeout).

    The body is capped at ``max_bytes`` and parsed in a child process within ``parse_timeout``
    seconds; over either, the source is reported and skipped.
    """

    name: str
    location: str
    weight: float
    topics: tuple[str, ...]
    base: Path = Path(".")
    timeout: float = FEED_TIMEOUT_S
    kind: str = "feed"
    max_bytes: int = FEED_MAX_BYTES
    parse_timeout: float = FEED_PARSE_TIMEOUT_S
    media_max_bytes: int = IMAGE_MAX_BYTES
    media_timeout: float = IMAGE_TIMEOUT_S

    def _too_big(self, size: int | str) -> SourceError:
        return SourceError(
            self.name, f"feed body of {size} bytes is over max_bytes={self.max_bytes}"
        )

    def _read_file(self) -> bytes:
        path = _resolve(self.location, self.base)
        try:
            with path.open("rb") as fh:
                body = fh.read(self.max_bytes + 1)
        except OSError as exc:
            raise SourceError(self.name, f"cannot read {path}: {exc.strerror}") from exc
        if len(body) > self.max_bytes:
            raise self._too_big(f"more than {self.max_bytes}")
        return body

    def _read(self, ctx: FetchContext) -> bytes | None:
        if not self.location.startswith(("http://", "https://")):
            return self._read_file()
        headers: dict[str, str] = {"User-Agent": "xbot (+feeds)"}
        cache_key = ctx.keys.feed_cache(self.name) if ctx.keys else None
        if ctx.redis is not None and cache_key:
            cached = ctx.redis.hgetall(cache_key)
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("modified"):
                headers["If-Modified-Since"] = cached["modified"]
        try:
            with requests.get(
                self.location, headers=headers, timeout=self.timeout, stream=True
            ) as resp:
                if resp.status_code == 304:
                    return None
                if resp.status_code != 200:
                    raise SourceError(self.name, f"HTTP {resp.status_code}")
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self._too_big(declared)
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_big(f"more than {self.max_bytes}")
                    chunks.append(chunk)
                fields = {
                    "etag": resp.headers.get("ETag", ""),
                    "modified": resp.headers.get("Last-Modified", ""),
                }
        except requests.RequestException as exc:
            raise SourceError(self.name, f"unreachable: {type(exc).__name__}") from exc
        if ctx.redis is not None and cache_key:
            ctx.redis.hset(cache_key, mapping=fields)
        return b"".join(chunks)

    def _image(
        self, ctx: FetchContext, entry: dict[str, Any], title: str, errors: list[str]
    ) -> dict[str, Any] | None:
        """The entry's first usable image; a refused one is reported and the next tried."""
        if ctx.media is None:
            return None
        described = entry["media_description"]
        description = plain_text(feed_text(described["value"], described))[0]
        alt = description or default_alt(title)
        for url in _image_refs(entry["media"])[:3]:
            try:
                return ctx.media.fetch(
                    url, alt=alt, max_bytes=self.media_max_bytes, timeout=self.media_timeout
                )
            except MediaError as exc:
                errors.append(f"image dropped: {exc}")
        return None

    def fetch(self, ctx: FetchContext) -> FetchResult:
        body = self._read(ctx)
        if body is None:
            return FetchResult([], not_modified=True)
        if not body.strip():
            return FetchResult([], warnings=["empty feed body (0 entries)"])
        try:
            parsed = parse_with_limit(body, self.parse_timeout)
        except FeedParseTimeout as exc:
            raise SourceError(self.name, f"parse_timeout: {exc}") from exc
        # A declared-vs-actual encoding mismatch is harmless; any other bozo flag means broken
        # XML, whose salvaged entries are not trusted.
        if parsed["problem"]:
            raise SourceError(self.name, f"malformed feed: {parsed['problem']}")
        if not parsed["entries"]:
            return FetchResult([], warnings=["feed has no entries"])
        items: list[RawItem] = []
        errors: list[str] = []
        formats = sorted(ctx.catalogue.feed_formats)
        for entry in parsed["entries"]:
            title = plain_text(feed_text(entry["title"], entry["title_detail"]))[0]
            if not title:
                errors.append("entry without a title")
                continue
            stamp = entry["published"]
            published = datetime(*stamp, tzinfo=UTC) if stamp else None
            if published is not None and ctx.now - published > FEED_MAX_AGE:
                continue
            summary = plain_text(feed_text(entry["summary"], entry["summary_detail"]))[0]
            topic = ctx.catalogue.topic_for(f"{title} {summary}", self.topics)
            if topic is None:
                continue
            link = entry["link"] if _LINK_RE.fullmatch(entry["link"]) else ""
            ident = entry["id"] or link or title
            fmt = formats[sum(ident.encode("utf-8", "replace")) % len(formats)]
            text = ctx.catalogue.feed_formats[fmt].format(title=title[:200].rstrip("."), link=link)
            items.append(
                RawItem(
                    text=" ".join(text.split()),
                    topic=topic,
                    format=fmt,
                    tags=ctx.catalogue.topics[topic].hashtags[:1],
                    source=self.name,
                    published_at=published,
                    metadata={"entry_id": ident, "link": link},
                    media=self._image(ctx, entry, title, errors),
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
        errors: list[str] = []
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
                    media=self._image(ctx, game, errors),
                )
            )
        return FetchResult(items, errors)

    def _image(self, ctx: FetchContext, game: str, errors: list[str]) -> dict[str, Any] | None:
        """The catalogue's image for ``game`` (``[images."<game>"]``), if it has one."""
        spec = ctx.catalogue.images.get(game)
        if spec is None or ctx.media is None:
            return None
        try:
            return ctx.media.fetch(spec["file"], alt=spec.get("alt") or default_alt(game))
        except MediaError as exc:
            errors.append(f"image dropped: {game}: {exc}")
            return None


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    """CSV rows, one per physical line, each parsed on its own.

    A row whose quoting is broken (an unclosed quote, text after a closing quote) is reported as
    that row's error; it is never allowed to swallow the following lines into one garbage record,
    which is what a reader over the whole file does. A quoted field therefore cannot span lines
    (line breaks in a post are collapsed anyway).
    """
    lines = text.removeprefix("\ufeff").split("\n")  # a spreadsheet's byte-order mark
    header_at = next((n for n, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        return []
    try:
        header = [h.strip() for h in next(csv.reader([lines[header_at]], strict=True))]
    except csv.Error as exc:
        return [(header_at + 1, f"header: broken CSV quoting ({exc})")]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "text" not in header or "topic" not in header:
        return [(header_at + 1, f"header {header}: columns must be among {', '.join(CSV_COLUMNS)}"
                 " and include text and topic")]  # fmt: skip
    rows: list[tuple[int, Any]] = []
    for n, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            records = list(csv.reader([line], strict=True))
        except csv.Error as exc:
            rows.append((n, f"broken CSV quoting ({exc})"))
            continue
        if len(records) != 1 or len(records[0]) != len(header):
            found = len(records[0]) if len(records) == 1 else 0
            rows.append((n, f"{found} fields where the header has {len(header)}"))
            continue
        rows.append((n, dict(zip(header, records[0], strict=True))))
    return rows


def _jsonl_rows(text: str) -> list[tuple[int, Any]]:
    """JSON objects, one per ``\\n``-separated line (a U+2028 inside a string is not a line
    break, unlike ``str.splitlines``)."""
    rows: list[tuple[int, Any]] = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((n, f"invalid JSON ({exc.msg})"))
    return rows


@dataclass
class FileSource:
    """Hand-written candidates from CSV (header: text,topic[,tags,format,media,alt]) or JSONL.

    ``tags`` is a list in JSONL and ``;``-separated in CSV. ``media`` is an image path (relative
    to the file) or http(s) URL, ``alt`` its alt text. A bad row is reported, not fatal.
    """

    name: str
    location: str
    weight: float
    topics: tuple[str, ...]
    base: Path = Path(".")
    kind: str = "file"
    media_max_bytes: int = IMAGE_MAX_BYTES
    media_timeout: float = IMAGE_TIMEOUT_S

    def _image(
        self, ctx: FetchContext, row: Mapping[str, Any], text: str, folder: Path
    ) -> dict[str, Any] | str | None:
        """The row's image metadata, None without one, or the reason it was refused."""
        location = (row.get("media") or "").strip()
        if not location or ctx.media is None:
            return None
        alt = plain_text(str(row.get("alt") or ""))[0] or default_alt(text)
        try:
            return ctx.media.fetch(
                location,
                alt=alt,
                base=folder,
                max_bytes=self.media_max_bytes,
                timeout=self.media_timeout,
            )
        except MediaError as exc:
            return f"image refused: {exc}"

    def fetch(self, ctx: FetchContext) -> FetchResult:
        path = _resolve(self.location, self.base)
        if path.suffix not in (".csv", ".jsonl"):
            raise SourceError(self.name, f"{path.name}: only .csv and .jsonl are supported")
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(self.name, f"cannot read {path}: {exc}") from exc
        rows = _csv_rows(text) if path.suffix == ".csv" else _jsonl_rows(text)
        items: list[RawItem] = []
        errors: list[str] = []
        for n, row in rows:
            problem = _row_problem(row, self.topics)
            if problem:
                errors.append(f"{path.name} row {n}: {problem}")
                continue
            tags = row.get("tags") or []
            if isinstance(tags, str):
                tags = [t.strip() for t in tags.split(";") if t.strip()]
            post = " ".join(row["text"].split())
            media = self._image(ctx, row, post, path.parent)
            if isinstance(media, str):
                # The operator asked for this image: the row is refused, not posted without it.
                errors.append(f"{path.name} row {n}: {media}")
                continue
            items.append(
                RawItem(
                    text=post,
                    topic=row["topic"],
                    format=row.get("format") or "post",
                    tags=tuple(str(t).lstrip("#") for t in tags),
                    source=self.name,
                    metadata={"row": n},
                    media=media,
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
    for key in ("media", "alt", "format"):
        if row.get(key) is not None and not isinstance(row.get(key), str):
            return f"{key} must be a string"
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
        media_limits = {
            "media_max_bytes": int(_setting(entry, name, "media_max_bytes", IMAGE_MAX_BYTES,
                                            1, 50_000_000, integer=True)),
            "media_timeout": _setting(entry, name, "media_timeout", IMAGE_TIMEOUT_S, 0.1, 120),
        }  # fmt: skip
        if kind == "feed":
            sources.append(
                FeedSource(
                    name,
                    location,
                    float(weight),
                    topics,
                    path.parent,
                    timeout=_setting(entry, name, "timeout", FEED_TIMEOUT_S, 0.1, 120),
                    max_bytes=int(
                        _setting(
                            entry, name, "max_bytes", FEED_MAX_BYTES, 1, 100_000_000, integer=True
                        )
                    ),
                    parse_timeout=_setting(
                        entry, name, "parse_timeout", FEED_PARSE_TIMEOUT_S, 0.01, 600
                    ),
                    **media_limits,
                )
            )
        else:
            sources.append(
                FileSource(name, location, float(weight), topics, path.parent, **media_limits)
            )
    return SourcesConfig(tuple(sources), catalogue, path)


def _setting(
    entry: Mapping[str, Any],
    source: str,
    key: str,
    default: float,
    low: float,
    high: float,
    *,
    integer: bool = False,
) -> float:
    """A numeric per-source setting in [low, high] (an integer if ``integer``), else the
    ValidationError naming the source, the key and the allowed range."""
    value = entry.get(key, default)
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise ValidationError(f"{source}.{key}", value, f"{what} from {low:g} to {high:g}")
    return float(value)


def sanitize_item(item: RawItem) -> tuple[RawItem | None, int]:
    """``item`` made safe to store and post, and how many control characters were removed.

    Every source's output passes here (a source written tomorrow included): text becomes
    :func:`~xbot.candidates.clean.plain_text`, tags, topic, format and metadata lose their
    control characters (Postgres refuses NUL in text and jsonb). None when nothing postable is
    left: the item is refused and counted, never allowed to fail the refresh's batch insert.
    """
    text, removed = plain_text(item.text)
    tags, n_tags = clean_value(tuple(item.tags))
    topic, n_topic = clean_value(item.topic)
    fmt, n_fmt = clean_value(item.format)
    metadata, n_meta = clean_value(dict(item.metadata))
    media, n_media = clean_value(dict(item.media)) if item.media else (None, 0)
    removed += n_tags + n_topic + n_fmt + n_meta + n_media
    if not text:
        return None, removed
    clean = RawItem(
        text=text,
        topic=topic,
        format=fmt,
        tags=tuple(t for t in tags if t.strip()),
        source=item.source,
        published_at=item.published_at,
        metadata=metadata,
        media=media,
    )
    return clean, removed
