"""``candidates refresh``: sources -> guard -> dedup (exact, near) -> score -> queue + Postgres.

One refresh reads the flags fresh (max_hashtags, near_duplicate_threshold), returns expired
claims to the queue, prunes expired candidates and heals the Redis queue if it drifted from
Postgres (so candidates queued in Postgres but lost by Redis are in the queue, and counted as
duplicates, before anything new is generated), asks every source for items (a failing source
is reported with its error; the others carry on), and queues what survives. Counts are kept per
source in Redis for ``xbot sources stats``. Every number in the report is counted, never assumed:
the first implementation printed "33 generated" while queueing none.

One bad item never fails the refresh: every item is sanitised (:func:`sanitize_item`: control
characters out, plain text) and handled inside its own isolation boundary; an item that cannot be
used is refused and counted in the source's ``errors``. Images are stored under
``$XBOT_HOME/media``; the image's hash is part of the content hash and near-duplicates are only
looked for among candidates with the same image (or none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from xbot import audit
from xbot.candidates.media import MediaStore
from xbot.candidates.prep import (
    CANDIDATE_TTL,
    RECENT_WINDOW,
    NearDuplicateIndex,
    content_hash,
    priority_score,
)
from xbot.candidates.queue import Candidate, CandidateQueue
from xbot.candidates.sources import (
    FetchContext,
    RawItem,
    SourceError,
    SourcesConfig,
    load_config,
    sanitize_item,
)
from xbot.clock import as_utc
from xbot.flags import check_environment, load_flags
from xbot.safety import SafetyGuard
from xbot.services import Services

T = TypeVar("T")

_RECENT_SQL = sa.text(
    """
    select content_hash, text, metadata -> 'media' ->> 'sha256' as media_sha256 from candidates
     where environment = :e and status in ('claimed', 'posted', 'shadowed') and created_at > :since
    union all
    select idempotency_key, text, null from tweets
     where environment = :e and status <> 'failed' and coalesce(posted_at, created_at) > :since
    """
)


@dataclass
class RefreshReport:
    generated: int = 0
    accepted: int = 0
    duplicates_exact: int = 0
    duplicates_near: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    queue_depth: int = 0
    top_topics: list[tuple[str, int]] = field(default_factory=list)
    source_errors: dict[str, str] = field(default_factory=dict)
    #: Sources that were read but gave nothing to use (an empty feed): not a success.
    source_warnings: dict[str, str] = field(default_factory=dict)
    #: Item-level problems: bad rows and images reported by sources, items refused here
    #: (nothing left after cleaning). Each is in the source's ``errors`` / ``last_error``.
    item_errors: int = 0
    #: Items whose control characters were stripped (and then went on).
    items_cleaned: int = 0
    expired_pruned: int = 0
    claims_returned: int = 0
    #: None when Redis agreed with Postgres; else what the rebuild did (``requeue``'s report).
    queue_healed: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top_topics"] = [list(t) for t in self.top_topics]
        return out


def _progress(items: list[T], enabled: bool) -> Iterable[T]:
    if not enabled:
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("fetching sources", total=len(items))
        for item in items:
            yield item
            bar.advance(task)


@dataclass
class DedupIndex:
    """What new text is checked against: exact content hashes, and near-duplicate indexes per
    image (texts are compared only among candidates that carry the same image, "" = none)."""

    threshold: float
    exact: set[str] = field(default_factory=set)
    near: dict[str, NearDuplicateIndex] = field(default_factory=dict)

    def add(self, digest: str, text: str, media_sha: str = "") -> None:
        self.exact.add(digest)
        if media_sha not in self.near:
            self.near[media_sha] = NearDuplicateIndex(self.threshold)
        self.near[media_sha].add(digest, text)

    def check(self, digest: str, text: str, media_sha: str = "") -> str:
        """ "duplicate" (same hash), "near" (a similar text with the same image) or "ok"."""
        if digest in self.exact:
            return "duplicate"
        index = self.near.get(media_sha)
        if index is not None and index.most_similar(text) is not None:
            return "near"
        return "ok"


def dedup_index(
    services: Services,
    queue: CandidateQueue,
    threshold: float,
    now: datetime,
    *,
    exclude: frozenset[str] = frozenset(),
) -> DedupIndex:
    """The queue, claims in flight, and what was picked or posted in the recent window. One
    place, so a refresh and a reviewer's edit (:mod:`xbot.review`, which ``exclude``s the
    candidate it replaces) refuse the same duplicates."""
    with services.engine.connect() as conn:
        recent = conn.execute(
            _RECENT_SQL, {"e": queue.environment, "since": now - RECENT_WINDOW}
        ).all()
    index = DedupIndex(threshold)
    for c in queue.snapshot():
        if c.content_hash not in exclude:
            index.add(c.content_hash, c.text, _media_sha(c.metadata.get("media")))
    for row in recent:
        if row.content_hash not in exclude:
            index.add(row.content_hash, row.text, row.media_sha256 or "")
    return index


def refresh(
    services: Services,
    environment: str,
    *,
    now: datetime | None = None,
    progress: bool = False,
    config_path: Path | None = None,
) -> RefreshReport:
    """Generate, check, dedup and queue candidates; return the counted summary."""
    now = as_utc(now)
    check_environment(environment)
    config = load_config(config_path or services.settings.sources_path)
    with services.engine.connect() as conn:
        flags = load_flags(conn, environment)
    guard = SafetyGuard.from_flags(flags, services.settings)
    queue = CandidateQueue(services, environment)
    report = RefreshReport()
    report.claims_returned = queue.reclaim_expired(now=now)
    report.expired_pruned = queue.prune_expired(now=now)
    report.queue_healed = queue.heal(now=now)
    index = dedup_index(services, queue, flags.near_duplicate_threshold, now)

    ctx = FetchContext(
        now=now,
        catalogue=config.catalogue,
        redis=services.redis,
        keys=services.keys,
        media=MediaStore(services.settings.xbot_home / "media"),
    )
    stats: dict[str, Counter[str]] = {s.name: Counter() for s in config.sources}
    last_error: dict[str, str] = {}
    rejected: Counter[str] = Counter()
    batch: list[Candidate] = []
    origin: dict[str, str] = {}
    for source in _progress(list(config.sources), progress):
        st = stats[source.name]
        try:
            result = source.fetch(ctx)
        except SourceError as exc:
            report.source_errors[source.name] = exc.detail
        except Exception as exc:  # isolation boundary: one broken source never stops a refresh
            report.source_errors[source.name] = f"{type(exc).__name__}: {exc}"
        else:
            st["fetched"] += len(result.items)
            if result.errors:
                st["errors"] += len(result.errors)
                report.item_errors += len(result.errors)
                last_error[source.name] = result.errors[-1]
            if result.warnings:
                st["warnings"] += len(result.warnings)
                report.source_warnings[source.name] = "; ".join(result.warnings)
            for n, raw in enumerate(result.items, start=1):
                report.generated += 1
                try:
                    item, removed = sanitize_item(raw)
                    if removed:
                        report.items_cleaned += 1
                        st["cleaned"] += 1
                    if item is None:
                        raise ValueError("no text left after removing control characters/markup")
                    status, digest = _screen(item, guard, index)
                except Exception as exc:  # isolation boundary: one bad item never stops a refresh
                    report.item_errors += 1
                    st["errors"] += 1
                    last_error[source.name] = f"item {n}: {type(exc).__name__}: {exc}"
                    continue
                if status == "duplicate":
                    report.duplicates_exact += 1
                    st["duplicates"] += 1
                elif status == "near":
                    report.duplicates_near += 1
                    st["duplicates_near"] += 1
                elif status != "ok":
                    rejected[status] += 1
                    st["rejected:" + status] += 1
                else:
                    batch.append(_candidate(item, digest, source.weight, config, now))
                    origin[digest] = source.name
            continue
        st["errors"] += 1
        last_error[source.name] = report.source_errors[source.name]

    result = queue.enqueue(batch)
    report.accepted = len(result.accepted)
    report.duplicates_exact += len(result.duplicates)
    for c in result.accepted:
        stats[origin[c.content_hash]]["accepted"] += 1
    for digest in result.duplicates:
        stats[origin[digest]]["duplicates"] += 1
    report.rejected = dict(rejected.most_common())

    queued = queue.snapshot()
    report.queue_depth = queue.depth()
    report.top_topics = Counter(c.topic for c in queued).most_common(5)
    _save_stats(services, stats, last_error, report, now)
    with services.engine.begin() as conn:
        audit.record(conn, "CANDIDATES_REFRESHED", "candidates", environment, report.to_dict())
    return report


def _media_sha(media: Any) -> str:
    """The image hash of a candidate's ``media`` metadata, "" for none."""
    return str(media.get("sha256") or "") if isinstance(media, dict) else ""


def _screen(item: RawItem, guard: SafetyGuard, index: DedupIndex) -> tuple[str, str]:
    """(verdict, content hash): "ok", "duplicate", "near" or the guard's first reason code.
    An accepted item is added to the dedup index."""
    verdict = guard.validate(item.text, item.tags)
    if not verdict.ok:
        return verdict.codes[0], ""
    sha = _media_sha(item.media)
    digest = content_hash(item.text, sha or None)
    status = index.check(digest, item.text, sha)
    if status == "ok":
        index.add(digest, item.text, sha)
    return status, digest


def _candidate(
    item: RawItem, digest: str, weight: float, config: SourcesConfig, now: datetime
) -> Candidate:
    """The queued candidate for an accepted item; its metadata carries ``has_media`` and
    ``media`` (the poster uploads ``media.path`` with ``media.alt``; features read
    ``has_media``), and so does the Postgres row the queue is rebuilt from."""
    topic = config.catalogue.topics.get(item.topic)
    return Candidate(
        content_hash=digest,
        db_id=None,
        text=item.text,
        topic=item.topic,
        format=item.format,
        tags=item.tags,
        source=item.source,
        priority=priority_score(weight, topic.prior if topic else 1.0, item.published_at, now),
        created_at=now,
        expires_at=now + CANDIDATE_TTL,
        metadata={**item.metadata, "has_media": item.media is not None, "media": item.media},
    )


def _save_stats(
    services: Services,
    stats: dict[str, Counter[str]],
    last_error: dict[str, str],
    report: RefreshReport,
    now: datetime,
) -> None:
    pipe = services.redis.pipeline(transaction=False)
    for name, counts in stats.items():
        key = services.keys.source_stats(name)
        pipe.hincrby(key, "refreshes", 1)
        for field_name, n in counts.items():
            pipe.hincrby(key, field_name, n)
        if name in last_error:
            pipe.hset(
                key, mapping={"last_error": last_error[name], "last_error_at": now.isoformat()}
            )
        if name in report.source_warnings:
            pipe.hset(
                key,
                mapping={
                    "last_warning": report.source_warnings[name],
                    "last_warning_at": now.isoformat(),
                },
            )
        if name not in report.source_errors and name not in report.source_warnings:
            pipe.hset(key, "last_success", now.isoformat())
    pipe.execute()


def source_stats(services: Services, config_path: Path | None = None) -> list[dict[str, Any]]:
    """Per configured source: fetched, accepted, duplicates, rejected by reason, errors, last
    success and last error (the runbook's ``getSourceStats``)."""
    config = load_config(config_path or services.settings.sources_path)
    pipe = services.redis.pipeline(transaction=False)
    for s in config.sources:
        pipe.hgetall(services.keys.source_stats(s.name))
    out: list[dict[str, Any]] = []
    for s, raw in zip(config.sources, pipe.execute(), strict=True):
        out.append(
            {
                "source": s.name,
                "kind": s.kind,
                "weight": s.weight,
                "refreshes": int(raw.get("refreshes", 0)),
                "fetched": int(raw.get("fetched", 0)),
                "accepted": int(raw.get("accepted", 0)),
                "duplicates": int(raw.get("duplicates", 0)),
                "duplicates_near": int(raw.get("duplicates_near", 0)),
                "rejected": {
                    k.split(":", 1)[1]: int(v) for k, v in raw.items() if k.startswith("rejected:")
                },
                "errors": int(raw.get("errors", 0)),
                "cleaned": int(raw.get("cleaned", 0)),
                "warnings": int(raw.get("warnings", 0)),
                "last_success": raw.get("last_success"),
                "last_error": raw.get("last_error"),
                "last_warning": raw.get("last_warning"),
            }
        )
    return out
