"""Helpers several test modules share: constants, the one queue-candidate builder, and the
scheduling-cycle helpers (enqueue, flags, posters, cycles).

Importable as ``helpers`` because pytest's default ``prepend`` import mode puts ``tests/`` on
``sys.path`` (there is no ``tests/__init__.py``); fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from x_server import USER_ID

from xbot import flags
from xbot.candidates.prep import CANDIDATE_TTL, content_hash
from xbot.candidates.queue import Candidate, CandidateQueue
from xbot.scheduler import DecisionRecord, run_cycle
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_client import XPoster

ENV = "development"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday afternoon, outside quiet hours
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)  # the queue tests' clock
CREDS = {
    "X_API_KEY": "k",
    "X_API_SECRET": "s",
    "X_ACCESS_TOKEN": "t",
    "X_ACCESS_TOKEN_SECRET": "ts",
    "X_USER_ID": USER_ID,
}


def candidate(text: str, priority: float = 1.0, *, now: datetime = NOW, **fields: Any) -> Candidate:
    """A queue candidate of ``text`` created at ``now`` with the queue's TTL; ``fields``
    override any other Candidate field (topic, format, tags, metadata, expires_at, ...)."""
    values: dict[str, Any] = {
        "content_hash": content_hash(text),
        "db_id": None,
        "text": text,
        "topic": "gaming_fps",
        "format": "tip",
        "tags": ("FPS",),
        "source": "test",
        "priority": priority,
        "created_at": now,
        "expires_at": now + CANDIDATE_TTL,
        "metadata": {},
    }
    return Candidate(**{**values, **fields})


class TableMetrics:
    """A MetricsSource over a dict: what an analyst's CSV export or a recorded X read gives."""

    def __init__(self, table: dict[str, dict]) -> None:
        self.table = table
        self.calls: list[list[str]] = []

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        self.calls.append(list(tweet_ids))
        return {t: self.table[t] for t in tweet_ids if t in self.table}


_seq = iter(range(10**6))


def add_posts(services, n, *, posted_at, topic="fps", hour=14, fmt="text", tags=("fps",)):
    """Insert ``n`` posted tweets as the scheduler writes them; return their tweet ids."""
    ids = []
    with services.engine.begin() as conn:
        for _ in range(n):
            i = next(_seq)
            tid = str(9_000_000 + i)
            meta = {"topic": topic, "hour": hour, "format": fmt, "tags": list(tags),
                    "engine": "v2", "environment": ENV, "source": "test"}  # fmt: skip
            conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, tweet_id, text, status, "
                    "posted_at, metadata, learning_metadata) values (:e, :k, :t, :x, 'posted', "
                    ":p, cast(:m as jsonb), cast(:l as jsonb))"
                ),
                {"e": ENV, "k": f"k{i}", "t": tid, "x": f"post {i}", "p": posted_at,
                 "m": json.dumps(meta), "l": json.dumps({"propensity": 0.5})},
            )  # fmt: skip
            ids.append(tid)
    return ids


def metrics(engagements: int, impressions: int) -> dict[str, int]:
    return {"likes": engagements, "retweets": 0, "replies": 0, "quotes": 0, "bookmarks": 0,
            "impressions": impressions}  # fmt: skip


def set_flags(services: Services, **values: Any) -> None:
    with services.engine.begin() as conn:
        for name, value in values.items():
            flags.set_flag(conn, ENV, name, value, actor="test")


def enqueue(
    services: Services,
    texts: list[str],
    *,
    priority: float = 1.0,
    topic: str = "gaming_fps",
    format: str = "news",
    tags: Iterable[str] = ("gaming",),
    metadata: dict[str, Any] | None = None,
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> None:
    """Queue ``texts`` in falling priority (the first is V1's pick); all must be accepted."""
    items = [
        candidate(
            text,
            priority - i * 0.01,
            now=created_at,
            expires_at=created_at + timedelta(days=365),
            topic=topic,
            format=format,
            tags=tuple(tags),
            metadata=dict(metadata or {}),
        )
        for i, text in enumerate(texts)
    ]
    assert len(CandidateQueue(services, ENV).enqueue(items).accepted) == len(items)


def texts(n: int, stem: str = "Patch notes") -> list[str]:
    games = ["Valorant", "Apex", "Fortnite", "Overwatch", "Warzone", "Halo", "CS2", "Dota"]
    return [f"{stem} {i}: {games[i % len(games)]} meta shift number {i} is here" for i in range(n)]


def poster(services: Services, settings: Settings | None = None) -> XPoster:
    chosen = settings or services.settings
    return XPoster(chosen, services, backoff_s=0.0, timeout_s=2.0, sleep=lambda s: None)


def usage(services: Services) -> list[sa.Row]:
    """The X API usage ledger (x_api_usage), oldest first, with the cost as a float."""
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select endpoint, operation, purpose, resources, billed_resources,"
                " estimated_cost_usd::float as cost, http_status from x_api_usage order by id"
            )
        ).all()


def audit_rows(services: Services, event_type: str) -> list[sa.Row]:
    """Every audit_log row of ``event_type``, oldest first."""
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select * from audit_log where event_type = :t order by id"), {"t": event_type}
        ).all()


def store_model_fit(services: Services, rates: dict[str, float]) -> None:
    """A fit as xbot.model.fit_model stores it: one model_fits row, per-topic effects."""
    with services.engine.begin() as conn:
        fit_id = conn.execute(
            sa.text(
                "insert into model_fits (environment, fitted_at, method, draws, n_posts, "
                "seconds, diagnostics) values (:e, :t, 'advi', 100, 500, 1.0, "
                "'{\"kappa_mean\": 200.0}') returning id"
            ),
            {"e": ENV, "t": T0},
        ).scalar_one()
        for topic, rate in rates.items():
            conn.execute(
                sa.text(
                    "insert into model_effects (fit_id, level, topic, mean, hdi_low, hdi_high, "
                    "posts) values (:f, 'topic', :topic, :m, :m, :m, 250)"
                ),
                {"f": fit_id, "topic": topic, "m": rate},
            )


def cycle(services: Services, settings: Settings, when: datetime, **kw: Any) -> DecisionRecord:
    kw.setdefault("poster", poster(services, settings) if settings.live_posts else None)
    return run_cycle(services, settings, now=when, rng=np.random.default_rng(7), **kw)
