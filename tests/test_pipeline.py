"""``candidates refresh`` end to end against real Redis and Postgres."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot.candidates.pipeline import RefreshReport, refresh, source_stats
from xbot.candidates.queue import CandidateQueue
from xbot.flags import set_flag
from xbot.services import Services
from xbot.settings import Settings

NOW = datetime(2026, 11, 29, 3, tzinfo=UTC)
ENV = "development"
REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "sources.toml"


def test_refresh_twice_reports_duplicates(services: Services) -> None:
    first = refresh(services, ENV, now=NOW, config_path=CONFIG)
    assert 20 <= first.generated <= 40
    assert first.accepted == first.queue_depth == first.generated - first.duplicates_near
    assert first.duplicates_exact == 0 and not first.source_errors
    assert len(first.top_topics) == 5
    second = refresh(services, ENV, now=NOW, config_path=CONFIG)
    assert second.accepted == 0
    assert second.duplicates_exact == second.generated
    assert second.queue_depth == first.queue_depth  # never doubles
    with services.engine.connect() as conn:
        rows = conn.execute(sa.text("select count(*) from candidates")).scalar_one()
    assert rows == first.accepted
    topics = {c.topic for c in CandidateQueue(services, ENV).peek(now=NOW)}
    assert len(topics) >= 6


def test_later_slots_keep_producing_fresh_candidates(services: Services) -> None:
    refresh(services, ENV, now=NOW, config_path=CONFIG)
    for day in range(1, 6):
        report = refresh(services, ENV, now=NOW + timedelta(days=day), config_path=CONFIG)
        assert report.accepted >= 15, report.to_dict()
        assert report.expired_pruned >= (1 if day >= 2 else 0)


def test_malformed_feed_next_to_good_ones(services: Services, tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_text("<rss><channel><item><title>oops", "utf-8")
    config = tmp_path / "sources.toml"
    config.write_text(
        CONFIG.read_text("utf-8")
        + '\n[[source]]\nname = "broken"\nkind = "feed"\nlocation = "broken.xml"\n'
        + '\n[[source]]\nname = "offline"\nkind = "feed"\nlocation = "http://127.0.0.1:9/feed"\n'
        + "timeout = 0.5\n",
        "utf-8",
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert set(report.source_errors) == {"broken", "offline"}
    assert "malformed feed" in report.source_errors["broken"]
    assert "unreachable" in report.source_errors["offline"]
    assert report.accepted >= 20
    stats = {s["source"]: s for s in source_stats(services, config)}
    assert stats["broken"]["errors"] == 1 and stats["broken"]["last_success"] is None
    assert stats["catalogue"]["accepted"] > 0 and stats["catalogue"]["last_success"]


def test_guard_rejections_are_counted_by_reason(services: Services, tmp_path: Path) -> None:
    (tmp_path / "posts.jsonl").write_text(
        '{"text": "Follow4follow, link in bio", "topic": "gaming_fps"}\n'
        '{"text": "Great clutch #a #b #c", "topic": "gaming_fps", "tags": ["FPS"]}\n'
        '{"text": "A perfectly fine post about Valorant maps", "topic": "gaming_fps"}\n',
        "utf-8",
    )
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "hand"\nkind = "file"\nlocation = "posts.jsonl"\n', "utf-8"
    )
    with services.engine.begin() as conn:
        set_flag(conn, ENV, "max_hashtags", 3)
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert report.rejected == {"spam_phrase": 1, "too_many_hashtags": 1}
    assert report.accepted == 1


def test_near_duplicates_are_counted_separately(services: Services, tmp_path: Path) -> None:
    (tmp_path / "posts.jsonl").write_text(
        '{"text": "Valorant has the best gunplay of any shooter right now", "topic": "gaming_fps"}\n'
        '{"text": "Right now Valorant has the best gunplay of any shooter!", "topic": "gaming_fps"}\n',
        "utf-8",
    )
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "hand"\nkind = "file"\nlocation = "posts.jsonl"\n', "utf-8"
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert (report.accepted, report.duplicates_near, report.duplicates_exact) == (1, 1, 0)


def test_two_refreshes_at_once_queue_each_candidate_once(settings: Settings) -> None:
    reports: list[RefreshReport] = []

    def run() -> None:
        with Services(settings) as svc:
            reports.append(refresh(svc, ENV, now=NOW, config_path=CONFIG))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 2
    with Services(settings) as svc:
        depth = CandidateQueue(svc, ENV).depth()
        with svc.engine.connect() as conn:
            rows = conn.execute(sa.text("select count(*) from candidates")).scalar_one()
    assert sum(r.accepted for r in reports) == depth == rows
    assert 20 <= depth <= 40


def test_cli_refresh_and_stats(xbot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = xbot("candidates", "refresh")
    assert result.exit_code == 0, result.output
    assert "Generated:" in result.stdout and "Queue depth:" in result.stdout
    assert "Top topics: gaming_" in result.stdout
    again = xbot("candidates", "refresh", "--json")
    data = json.loads(again.stdout)
    assert data["accepted"] == 0 and data["duplicates_exact"] == data["generated"]
    stats = json.loads(xbot("sources", "stats", "--json").stdout)
    assert {s["source"] for s in stats} >= {"catalogue", "patchwatch", "handwritten"}


def test_cli_safety(xbot) -> None:
    bad = xbot("safety", "check", "Free V-Bucks, link in bio!", "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["ok"] is False
    good = xbot("safety", "check", "GG WP, what a final")
    assert good.exit_code == 0 and good.stdout.startswith("OK")
    assert "max_hashtags: 3" in xbot("safety", "config").stdout
