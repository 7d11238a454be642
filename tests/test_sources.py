"""Sources: shipped feeds and catalogue, file rows, config validation, failure isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from xbot.candidates.sources import (
    FeedSource,
    FetchContext,
    FileSource,
    SourceError,
    TemplateSource,
    load_catalogue,
    load_config,
)
from xbot.errors import ValidationError

NOW = datetime(2026, 11, 29, 3, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ctx() -> FetchContext:
    return FetchContext(now=NOW, catalogue=load_catalogue())


def test_shipped_config_covers_six_topics(ctx: FetchContext) -> None:
    config = load_config(REPO / "config" / "sources.toml")
    items = [i for s in config.sources for i in s.fetch(ctx).items]
    assert 20 <= len(items) <= 40
    assert len({i.topic for i in items}) >= 6


def test_feed_items_get_topics_and_formats(ctx: FetchContext) -> None:
    source = FeedSource("pw", "package:feeds/patchwatch.xml", 1.0, tuple(ctx.catalogue.topics))
    items = source.fetch(ctx).items
    assert len(items) == 6
    by_text = {i.text: i for i in items}
    valorant = next(i for t, i in by_text.items() if "Valorant" in t)
    assert valorant.topic == "gaming_fps"
    assert {i.format for i in items} <= {"news", "hot_take", "question"}
    stale = source.fetch(FetchContext(now=NOW + timedelta(days=5), catalogue=ctx.catalogue))
    assert stale.items == []


def test_malformed_feed_raises_source_error(tmp_path: Path, ctx: FetchContext) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<rss><channel><item><title>unclosed", "utf-8")
    with pytest.raises(SourceError, match="malformed feed"):
        FeedSource("bad", str(bad), 1.0, ("gaming_fps",)).fetch(ctx)
    with pytest.raises(SourceError, match="cannot read"):
        FeedSource("gone", str(tmp_path / "missing.xml"), 1.0, ("gaming_fps",)).fetch(ctx)


def test_templates_are_seeded_by_slot(ctx: FetchContext) -> None:
    source = TemplateSource("cat", 1.0, tuple(ctx.catalogue.topics), per_refresh=20)
    first = [i.text for i in source.fetch(ctx).items]
    assert first == [i.text for i in source.fetch(ctx).items]
    later = FetchContext(now=NOW + timedelta(days=1), catalogue=ctx.catalogue)
    assert set(first).isdisjoint(i.text for i in source.fetch(later).items)
    assert all("{" not in t for t in first)


def test_file_source_reports_bad_rows(tmp_path: Path, ctx: FetchContext) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"text": "Good one", "topic": "gaming_fps", "tags": ["FPS"], "format": "tip"}\n'
        "not json\n"
        '{"text": "", "topic": "gaming_fps"}\n'
        '{"text": "Wrong topic", "topic": "cooking"}\n',
        "utf-8",
    )
    result = FileSource("hand", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    assert [i.text for i in result.items] == ["Good one"]
    assert len(result.errors) == 3
    assert "row 2: invalid JSON" in result.errors[0]
    csv_path = tmp_path / "posts.csv"
    csv_path.write_text("text,topic,tags,format\nHello there,gaming_fps,FPS;Gaming,tip\n", "utf-8")
    (item,) = FileSource("csv", str(csv_path), 1.0, ("gaming_fps",)).fetch(ctx).items
    assert item.tags == ("FPS", "Gaming")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('name = "x"\nkind = "rss"', "x.kind"),
        ('name = "x"\nkind = "feed"\nweight = 0', "x.weight"),
        ('name = "x"\nkind = "feed"', "x.location"),
        ('name = "x"\nkind = "template"\ntopics = ["cooking"]', "x.topics"),
        ('name = "Bad Name"\nkind = "template"', "source[0].name"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, entry: str, field: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(f"[[source]]\n{entry}\n", "utf-8")
    with pytest.raises(ValidationError) as err:
        load_config(path)
    assert err.value.field == field
