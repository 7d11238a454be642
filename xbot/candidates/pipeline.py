"""``candidates refresh``: sources -> guard -> dedup (exact, near) -> score -> queue + Postgres.

One refresh reads the flags fresh (max_hashtags, near_duplicate_threshold), returns expired
claims to the queue, prunes expired candidates and heals the Redis queue if it drifted from
Postgres (so candidates queued in Postgres but lost by Redis are in the queue, and counted as
duplicates, before anything new is generated), asks every source for items (a failing source
is reported with its error; the others carry on), and queues what survives. Counts are kept per
source in Redis for ``xbot sources stats``. Every number in the report is counted, never assumed:
the first implementation printed "33 generated" while queueing none.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from xbot import audit
from xbot.candidates.prep import (
    CANDIDATE_TTL,
    RECENT_WINDOW,
    NearDuplicateIndex,
    content_hash,
    priority_score,
)
from xbot.candidates.queue import Candidate, CandidateQueue, as_utc
from xbot.candidates.sources import FetchContext, SourceError, load_config
from xbot.flags import check_environment, load_flags
from xbot.safety import SafetyGuard
from xbot.services import Services

T = TypeVar("T")

_RECENT_SQL = sa.text(
    """
    select content_hash, text from candidates
     where environment = :e and status in ('claimed', 'posted', 'shadowed') and created_at > :since
    union all
    select idempotency_key, text from tweets
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


def _config_path(path: Path | None) -> Path | None:
    if path is not None:
        return path
    env = os.environ.get("XBOT_SOURCES")
    return Path(env) if env else None


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
    config = load_config(_config_path(config_path))
    with services.engine.connect() as conn:
        flags = load_flags(conn, environment)
        recent = conn.execute(_RECENT_SQL, {"e": environment, "since": now - RECENT_WINDOW}).all()
    guard = SafetyGuard.from_flags(flags)
    queue = CandidateQueue(services, environment)
    report = RefreshReport()
    report.claims_returned = queue.reclaim_expired(now=now)
    report.expired_pruned = queue.prune_expired(now=now)
    report.queue_healed = queue.heal(now=now)

    index = NearDuplicateIndex(flags.near_duplicate_threshold)
    for c in queue.snapshot():
        index.add(c.content_hash, c.text)
    for row in recent:
        index.add(row.content_hash, row.text)

    ctx = FetchContext(
        now=now, catalogue=config.catalogue, redis=services.redis, keys=services.keys
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
                last_error[source.name] = result.errors[-1]
            for item in result.items:
                report.generated += 1
                verdict = guard.validate(item.text, item.tags)
                if not verdict.ok:
                    rejected[verdict.codes[0]] += 1
                    st["rejected:" + verdict.codes[0]] += 1
                    continue
                digest = content_hash(item.text)
                if digest in index:
                    report.duplicates_exact += 1
                    st["duplicates"] += 1
                    continue
                if index.most_similar(item.text) is not None:
                    report.duplicates_near += 1
                    st["duplicates_near"] += 1
                    continue
                index.add(digest, item.text)
                topic = config.catalogue.topics.get(item.topic)
                batch.append(
                    Candidate(
                        content_hash=digest,
                        db_id=None,
                        text=item.text,
                        topic=item.topic,
                        format=item.format,
                        tags=item.tags,
                        source=item.source,
                        priority=priority_score(
                            source.weight, topic.prior if topic else 1.0, item.published_at, now
                        ),
                        created_at=now,
                        expires_at=now + CANDIDATE_TTL,
                        metadata=item.metadata,
                    )
                )
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
    _save_stats(services, stats, last_error, report.source_errors, now)
    with services.engine.begin() as conn:
        audit.record(conn, "CANDIDATES_REFRESHED", "candidates", environment, report.to_dict())
    return report


def _save_stats(
    services: Services,
    stats: dict[str, Counter[str]],
    last_error: dict[str, str],
    failed: dict[str, str],
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
        if name not in failed:
            pipe.hset(key, "last_success", now.isoformat())
    pipe.execute()


def source_stats(services: Services, config_path: Path | None = None) -> list[dict[str, Any]]:
    """Per configured source: fetched, accepted, duplicates, rejected by reason, errors, last
    success and last error (the runbook's ``getSourceStats``)."""
    config = load_config(_config_path(config_path))
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
                "last_success": raw.get("last_success"),
                "last_error": raw.get("last_error"),
            }
        )
    return out
