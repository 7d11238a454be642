"""``candidates refresh`` against bad source input and images (#10 §4, #12 images): real Redis
and Postgres, images served from 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from image_server import ImageServer, png_bytes

from xbot.candidates.pipeline import refresh, source_stats
from xbot.candidates.queue import CandidateQueue
from xbot.services import Services

NOW = datetime(2026, 11, 29, 3, tzinfo=UTC)
ENV = "development"


def _config(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(f"[[source]]\n{e}\n" for e in entries), "utf-8")
    return path


def _rows(services: Services) -> list[sa.Row]:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select text, tags, metadata, content_hash from candidates order by id")
        ).all()


_BAD_ROWS = [
    '{"text": "Valorant NUL\\u0000row", "topic": "gaming_fps"}',
    '{"text": "Valorant bell\\u0007 and escape\\u001b[31m", "topic": "gaming_fps"}',
    '{"text": "Valorant lone \\ud800 surrogate", "topic": "gaming_fps"}',
    '{"text": "Valorant C1 \\u0085\\u009b control", "topic": "gaming_fps"}',
    '{"text": "Valorant tag NUL", "topic": "gaming_fps", "tags": ["FP\\u0000S"]}',
    '{"text": "\\u0000\\u0001\\u0002", "topic": "gaming_fps"}',
    '{"text": "<script>only()</script>", "topic": "gaming_fps"}',
    '{"text": "A perfectly fine post about Valorant maps", "topic": "gaming_fps"}',
]


def test_control_characters_never_abort_a_refresh(services: Services, tmp_path: Path) -> None:
    (tmp_path / "posts.jsonl").write_text("\n".join(_BAD_ROWS) + "\n", "utf-8")
    config = _config(
        tmp_path,
        'name = "hand"\nkind = "file"\nlocation = "posts.jsonl"',
        'name = "catalogue"\nkind = "template"\nper_refresh = 5',
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert not report.source_errors
    texts = [r.text for r in _rows(services)]
    assert "Valorant NULrow" in texts and "Valorant lone surrogate" in texts
    assert "A perfectly fine post about Valorant maps" in texts
    assert sum(1 for t in texts if "Valorant" in t) >= 6
    for text in texts:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
    assert report.items_cleaned >= 5
    assert report.item_errors == 2  # nothing left of the all-control and the script-only rows
    stats = {s["source"]: s for s in source_stats(services, config)}
    assert stats["hand"]["errors"] == 2 and stats["hand"]["cleaned"] >= 5
    assert stats["catalogue"]["accepted"] == 5
    tags = {t for r in _rows(services) for t in r.tags}
    assert "FPS" in tags and not any("\x00" in t for t in tags)


def test_cli_refresh_with_a_nul_row_exits_0(xbot, tmp_path: Path) -> None:
    (tmp_path / "posts.jsonl").write_text(_BAD_ROWS[0] + "\n" + _BAD_ROWS[-1] + "\n", "utf-8")
    config = _config(tmp_path, 'name = "hand"\nkind = "file"\nlocation = "posts.jsonl"')
    result = xbot("candidates", "refresh", "--json", env={"XBOT_SOURCES": str(config)})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["accepted"] == 2 and data["items_cleaned"] == 1 and data["source_errors"] == {}


def test_empty_feed_is_a_warning_in_stats_and_json(
    services: Services, tmp_path: Path, xbot
) -> None:
    (tmp_path / "empty.xml").write_text("", "utf-8")
    config = _config(
        tmp_path,
        'name = "empty"\nkind = "feed"\nlocation = "empty.xml"',
        'name = "catalogue"\nkind = "template"\nper_refresh = 3',
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert report.source_warnings == {"empty": "empty feed body (0 entries)"}
    stats = {s["source"]: s for s in source_stats(services, config)}
    assert stats["empty"]["warnings"] == 1 and stats["empty"]["last_success"] is None
    assert stats["empty"]["last_warning"] == "empty feed body (0 entries)"
    assert stats["catalogue"]["last_success"]
    cli = xbot("sources", "stats", "--json", env={"XBOT_SOURCES": str(config)})
    rows = {r["source"]: r for r in json.loads(cli.stdout)}
    assert rows["empty"]["last_warning"] and rows["empty"]["warnings"] == 1
    text = xbot("sources", "stats", env={"XBOT_SOURCES": str(config)})
    assert "warning: empty: empty feed body" in text.output
    again = xbot("candidates", "refresh", env={"XBOT_SOURCES": str(config)})
    assert again.exit_code == 0 and "source warning: empty: empty feed body" in again.output


def test_oversized_and_slow_feeds_are_skipped_the_rest_goes_on(
    services: Services, tmp_path: Path
) -> None:
    item = "<item><title>Valorant news {n}</title><guid>{n}</guid></item>"
    body = "<rss version='2.0'><channel><title>t</title>{}</channel></rss>"
    (tmp_path / "big.xml").write_text(body.format(item.format(n=1) * 200), "utf-8")
    (tmp_path / "slow.xml").write_text(
        body.format("".join(item.format(n=n) for n in range(3000))), "utf-8"
    )
    config = _config(
        tmp_path,
        'name = "big"\nkind = "feed"\nlocation = "big.xml"\nmax_bytes = 1000',
        'name = "slow"\nkind = "feed"\nlocation = "slow.xml"\nparse_timeout = 0.05',
        'name = "catalogue"\nkind = "template"\nper_refresh = 4',
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert "over max_bytes=1000" in report.source_errors["big"]
    assert "parse_timeout" in report.source_errors["slow"]
    assert report.accepted == 4


def _feed(tmp_path: Path, entries: list[tuple[str, str]]) -> None:
    items = "".join(
        # One guid for all: the feed format is drawn from it, so equal titles give equal texts.
        f"<item><title>{title}</title><guid>same</guid>"
        f'<enclosure url="{url}" type="image/png" length="1"/></item>'
        for title, url in entries
    )
    (tmp_path / "feed.xml").write_text(
        f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>", "utf-8"
    )


def test_image_hash_is_part_of_dedup_and_payload(
    services: Services, tmp_path: Path, image_server: ImageServer
) -> None:
    red, blue = png_bytes(rgb=(255, 0, 0)), png_bytes(rgb=(0, 0, 255))
    red_url, blue_url = image_server.add("/r/red.png", red), image_server.add("/r/blue.png", blue)
    red_copy = image_server.add("/r/red-copy.png", red)
    title = "Valorant patch notes are out"
    _feed(tmp_path, [(title, red_url), (title, blue_url), (title, red_copy)])
    (tmp_path / "posts.csv").write_text('text,topic\n"Valorant, text only",gaming_fps\n', "utf-8")
    config = _config(
        tmp_path,
        'name = "feed"\nkind = "feed"\nlocation = "feed.xml"\ntopics = ["gaming_fps"]',
        'name = "hand"\nkind = "file"\nlocation = "posts.csv"',
    )
    report = refresh(services, ENV, now=NOW, config_path=config)
    rows = _rows(services)
    feed_rows = [r for r in rows if r.metadata.get("entry_id") is not None]
    # Same text + red, same text + blue: two candidates; red again (another URL): a duplicate.
    assert {r.metadata["media"]["sha256"] for r in feed_rows} == {
        hashlib.sha256(red).hexdigest(),
        hashlib.sha256(blue).hexdigest(),
    }
    assert report.duplicates_exact == 1
    for r in feed_rows:
        media = r.metadata["media"]
        assert r.metadata["has_media"] is True
        assert set(media) == {"path", "sha256", "mime", "bytes", "alt", "source_url"}
        assert media["mime"] == "image/png" and Path(media["path"]).is_file()
        assert Path(media["path"]).is_relative_to(services.settings.xbot_home / "media")
        assert media["alt"] == f"Image for: {title}"
    hand = [r for r in rows if "row" in r.metadata]
    assert len(hand) == 1 and hand[0].metadata == {"row": 2, "has_media": False, "media": None}
    # The queue's payload (Redis) carries the same, rebuilt from the Postgres row.
    queued = {c.content_hash: c for c in CandidateQueue(services, ENV).peek(now=NOW)}
    for r in rows:
        assert queued[r.content_hash].metadata["has_media"] == r.metadata["has_media"]
        assert queued[r.content_hash].metadata["media"] == r.metadata["media"]
    # A second refresh: everything (same text, same image) is a duplicate.
    again = refresh(services, ENV, now=NOW, config_path=config)
    assert again.accepted == 0 and again.duplicates_exact == again.generated


def test_arbitrary_unicode_rows_never_fail_a_refresh(services: Services, tmp_path: Path) -> None:
    """300 rows of random code points (controls, surrogates, noncharacters, markup, emoji, RTL)
    in one file: the refresh completes and accounts for every row, and nothing stored holds a
    control character."""
    import random

    rng = random.Random(10_4)
    alphabet = (
        [chr(c) for c in range(0, 0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
        + ["\ud800", "\udfff", "\ufffe", "\uffff", "\ufdd0", "\u200d", "\u202e", "\u2028"]
        + list("<>&;#/\"' ") + ["<b>", "</script>", "<script>", "&amp;", "&#0;", "\U0001f3ae"]
        + list("Valorant maps are great ")
    )  # fmt: skip
    rows = [
        json.dumps({"text": "".join(rng.choices(alphabet, k=rng.randint(1, 60))) + f" {n}",
                    "topic": "gaming_fps"})
        for n in range(300)
    ]  # fmt: skip
    (tmp_path / "posts.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    config = _config(tmp_path, 'name = "hand"\nkind = "file"\nlocation = "posts.jsonl"')
    report = refresh(services, ENV, now=NOW, config_path=config)
    assert not report.source_errors
    accounted = (
        report.accepted
        + report.duplicates_exact
        + report.duplicates_near
        + sum(report.rejected.values())
        + report.item_errors
    )
    assert report.generated == 300 and accounted == 300, report.to_dict()
    assert report.accepted > 100
    for row in _rows(services):
        assert not any(
            ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in row.text
        )
        assert "<script" not in row.text and "<b>" not in row.text
