"""Sources: shipped feeds and catalogue, file rows, config validation, failure isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xbot.candidates.sources import (
    FeedSource,
    FetchContext,
    FileSource,
    SourceError,
    TemplateSource,
    _csv_rows,
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
        ('name = "x"\nkind = "feed"\nlocation = "f.xml"\nmax_bytes = 0', "x.max_bytes"),
        ('name = "x"\nkind = "feed"\nlocation = "f.xml"\nmax_bytes = 1.5', "x.max_bytes"),
        ('name = "x"\nkind = "feed"\nlocation = "f.xml"\nparse_timeout = "1"', "x.parse_timeout"),
        ('name = "x"\nkind = "feed"\nlocation = "f.xml"\ntimeout = 1e9', "x.timeout"),
        (
            'name = "x"\nkind = "file"\nlocation = "f.csv"\nmedia_max_bytes = -1',
            "x.media_max_bytes",
        ),
        ('name = "x"\nkind = "file"\nlocation = "f.csv"\nmedia_timeout = true', "x.media_timeout"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, entry: str, field: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(f"[[source]]\n{entry}\n", "utf-8")
    with pytest.raises(ValidationError) as err:
        load_config(path)
    assert err.value.field == field


# -- feed text is plain text (#10 §4) ---------------------------------------------------------------

_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>t</title><link>https://t.example/</link><description>d</description>
{items}
</channel></rss>"""
_ITEM = """<item><title>{title}</title><guid>{n}</guid><link>https://t.example/{n}</link>
<pubDate>Sun, 29 Nov 2026 01:00:00 +0000</pubDate><description>Valorant news</description></item>"""


def _rss(tmp_path: Path, titles: list[str], name: str = "feed.xml") -> Path:
    path = tmp_path / name
    items = "".join(_ITEM.format(title=t, n=n) for n, t in enumerate(titles))
    path.write_text(_RSS.format(items=items), "utf-8")
    return path


def _texts(path: Path, ctx: FetchContext) -> list[str]:
    result = FeedSource("t", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    return [i.text for i in result.items]


@pytest.mark.parametrize(
    ("xml_title", "plain"),
    [
        # XML layer undone by the parser, HTML layer by us: each exactly once.
        ("Valorant patch &amp;amp; notes", "Valorant patch & notes"),
        ("Valorant patch &amp;amp;amp; notes", "Valorant patch &amp; notes"),
        ("Valorant &lt;b&gt;bold&lt;/b&gt; move", "Valorant bold move"),
        ("<![CDATA[Valorant <i>CDATA</i> &amp; more]]>", "Valorant CDATA & more"),
        ("Valorant &#233;t&#xE9; &amp;#8482;", "Valorant été ™"),
        ("Valorant &lt;script&gt;alert(1)&lt;/script&gt; drop", "Valorant drop"),
        ("<![CDATA[Valorant <style>b{}</style><script>x()</script> clean]]>", "Valorant clean"),
        ("Valorant &lt;b&gt;unclosed &lt;i&gt;nest&lt;/b&gt;", "Valorant unclosed nest"),
        ("Valorant &amp;lt;b&amp;gt;double&amp;lt;/b&amp;gt;", "Valorant double"),
        ("  Valorant \n\t  spaced  ", "Valorant spaced"),
    ],
)
def test_rss_titles_become_plain_text(
    tmp_path: Path, ctx: FetchContext, xml_title: str, plain: str
) -> None:
    (text,) = _texts(_rss(tmp_path, [xml_title]), ctx)
    assert plain in text
    assert "<" not in text.replace(plain, "") and "&amp;" not in text.replace(plain, "")


def test_atom_text_and_html_titles_are_unescaped_by_their_type(
    tmp_path: Path, ctx: FetchContext
) -> None:
    entry = (
        '<entry><title type="{kind}">{title}</title><id>{n}</id>'
        "<updated>2026-11-29T01:00:00Z</updated><summary>Valorant</summary></entry>"
    )
    entries = [
        ("text", "Valorant A &amp;amp; B"),  # the text is literally "A &amp; B"
        ("html", "Valorant C &amp;amp; D &lt;b&gt;E&lt;/b&gt;"),  # the HTML "C &amp; D <b>E</b>"
        ("xhtml", '<div xmlns="http://www.w3.org/1999/xhtml">Valorant F &amp; <b>G</b></div>'),
    ]
    body = "".join(entry.format(kind=k, title=t, n=n) for n, (k, t) in enumerate(entries))
    path = tmp_path / "feed.atom"
    path.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
        f"<id>x</id><updated>2026-11-29T01:00:00Z</updated>{body}</feed>",
        "utf-8",
    )
    texts = " | ".join(_texts(path, ctx))
    assert "Valorant A &amp; B" in texts
    assert "Valorant C & D E" in texts
    assert "Valorant F & G" in texts


def test_control_characters_in_feed_titles_are_stripped(tmp_path: Path, ctx: FetchContext) -> None:
    # XML 1.0 cannot carry most C0 controls; numeric references to C1 controls can.
    (text,) = _texts(_rss(tmp_path, ["Valorant&#x85;line&#x9f; &#x80;end"]), ctx)
    assert not any(0x80 <= ord(c) <= 0x9F for c in text)


def test_links_that_are_not_plain_urls_are_dropped(tmp_path: Path, ctx: FetchContext) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(
        _RSS.format(
            items="<item><title>Valorant maps</title><guid>1</guid>"
            "<link>javascript:alert(1)</link><description>Valorant</description></item>"
        ),
        "utf-8",
    )
    (item,) = FeedSource("t", str(path), 1.0, ("gaming_fps",)).fetch(ctx).items
    assert "javascript" not in item.text and item.metadata["link"] == ""


# -- empty feeds, size cap, parse time limit ---------------------------------------------------------


@pytest.mark.parametrize("body", ["", "  \n\t", _RSS.format(items="")])
def test_empty_feed_is_a_warning_not_a_success(
    tmp_path: Path, ctx: FetchContext, body: str
) -> None:
    path = tmp_path / "empty.xml"
    path.write_text(body, "utf-8")
    result = FeedSource("e", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    assert result.items == [] and result.errors == []
    assert result.warnings and ("empty" in result.warnings[0] or "no entries" in result.warnings[0])


def test_feed_over_max_bytes_is_refused(tmp_path: Path, ctx: FetchContext) -> None:
    path = _rss(tmp_path, ["Valorant news"] * 50)
    size = path.stat().st_size
    source = FeedSource("big", str(path), 1.0, ("gaming_fps",), max_bytes=size - 1)
    with pytest.raises(SourceError, match="over max_bytes"):
        source.fetch(ctx)
    assert FeedSource("ok", str(path), 1.0, ("gaming_fps",), max_bytes=size).fetch(ctx).items


def test_feed_over_parse_timeout_is_refused(tmp_path: Path, ctx: FetchContext) -> None:
    path = _rss(tmp_path, [f"Valorant news {n}" for n in range(3000)])  # ~1 s to parse
    source = FeedSource("slow", str(path), 1.0, ("gaming_fps",), parse_timeout=0.05)
    with pytest.raises(SourceError, match="parse_timeout"):
        source.fetch(ctx)


# -- CSV quoting, JSONL lines ----------------------------------------------------------------------


def test_csv_row_with_broken_quoting_is_a_bad_row_not_merged(
    tmp_path: Path, ctx: FetchContext
) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "text,topic\n"
        '"Unclosed quote about Valorant,gaming_fps\n'
        "Next row survives,gaming_fps\n"
        '"Quoted" then text,gaming_fps\n'
        '"Fine, with a comma",gaming_fps\n'
        "Too,many,fields\n"
        "Lonely field\n"
        "Nul\x00byte row,gaming_fps\r\n"
        "Last one,gaming_fps\n",
        "utf-8",
    )
    result = FileSource("csv", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    texts = [i.text for i in result.items]
    assert texts[:3] == ["Next row survives", "Fine, with a comma", "Nul\x00byte row"]
    assert texts[3:] == ["Last one"]
    assert len(result.errors) == 4, result.errors
    assert "row 2: broken CSV quoting" in result.errors[0]
    assert "row 4: broken CSV quoting" in result.errors[1]
    assert "row 6: 3 fields" in result.errors[2] and "row 7: 1 fields" in result.errors[3]


def test_csv_header_must_name_known_columns(tmp_path: Path, ctx: FetchContext) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("txt,topic\nHello,gaming_fps\n", "utf-8")
    result = FileSource("csv", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    assert result.items == [] and "header" in result.errors[0]
    path.write_text("\ufefftext,topic\r\nHello,gaming_fps\r\n", "utf-8")  # Excel's BOM + CRLF
    result = FileSource("csv", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    assert [i.text for i in result.items] == ["Hello"] and result.errors == []


def test_jsonl_line_separator_inside_a_string_is_not_a_new_row(
    tmp_path: Path, ctx: FetchContext
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text('{"text": "Valorant\u2028maps\u0085ok", "topic": "gaming_fps"}\n', "utf-8")
    result = FileSource("j", str(path), 1.0, ("gaming_fps",)).fetch(ctx)
    assert result.errors == [] and len(result.items) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet='ab,"\\ \r\x00', max_size=12), min_size=1, max_size=8))
def test_csv_lines_are_never_merged(lines: list[str]) -> None:
    """Whatever the quoting, each non-empty line is exactly one row (good or bad)."""
    body = "text,topic\n" + "\n".join(lines) + "\n"
    expected = [n for n, line in enumerate(lines, start=2) if line.removesuffix("\r").strip()]
    assert [n for n, _ in _csv_rows(body)] == expected
