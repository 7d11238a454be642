"""Images on candidates: typed by content, capped, timed out, stored once by SHA-256; from feed
enclosures / media:content / media:thumbnail, a file source's media column, the catalogue."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from image_server import GIF, JPEG, WEBP, ImageServer, png_bytes

from xbot.candidates.media import MediaError, MediaStore, sniff_image
from xbot.candidates.sources import (
    FeedSource,
    FetchContext,
    FileSource,
    SourceError,
    TemplateSource,
    load_catalogue,
)

NOW = datetime(2026, 11, 29, 3, tzinfo=UTC)
PNG = png_bytes()


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "home" / "media", timeout=2.0)


def _ctx(store: MediaStore | None) -> FetchContext:
    return FetchContext(now=NOW, catalogue=load_catalogue(), media=store)


@pytest.mark.parametrize(
    ("data", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
     (b"<html>not found</html>", None), (b"", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
     (b"BM\x00\x00", None), (b"\x89PNG", None)],
)  # fmt: skip
def test_type_comes_from_magic_bytes(data: bytes, mime: str | None) -> None:
    assert sniff_image(data) == mime


def test_download_is_stored_by_sha256_and_once(
    image_server: ImageServer, store: MediaStore, tmp_path: Path
) -> None:
    url = image_server.add(
        "/a/photo.png", PNG, content_type="text/html"
    )  # the header is not trusted
    media = store.fetch(url, alt="  A   red square ")
    digest = hashlib.sha256(PNG).hexdigest()
    assert media == {
        "path": str(tmp_path / "home" / "media" / digest[:2] / f"{digest}.png"),
        "sha256": digest,
        "mime": "image/png",
        "bytes": len(PNG),
        "alt": "A red square",
        "source_url": url,
    }
    assert Path(media["path"]).read_bytes() == PNG
    # The same bytes under another name land in the same file.
    other = store.fetch(image_server.add("/b/copy.jpg", PNG), alt="x")
    assert other["path"] == media["path"] and other["mime"] == "image/png"
    assert len(list((tmp_path / "home" / "media").rglob("*.png"))) == 1


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/page.png", {"body": b"<html>oops</html>"}, "not a PNG, JPEG, GIF or WEBP"),
        ("/big.png", {"body": PNG + b"\x00" * 5000}, "over 1000"),
        ("/big-stream.png", {"body": PNG + b"\x00" * 5000, "send_length": False}, "over 1000"),
        ("/gone.png", {"body": b"", "status": 404}, "HTTP 404"),
        ("/slow.png", {"body": PNG, "delay_s": 2.0}, "unreachable (ReadTimeout)"),
    ],
)
def test_unusable_downloads_are_refused(
    image_server: ImageServer, tmp_path: Path, path: str, kwargs: dict, message: str
) -> None:
    url = image_server.add(path, **kwargs)
    store = MediaStore(tmp_path / "media", max_bytes=1000, timeout=0.5)
    with pytest.raises(MediaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.fetch(url, alt="x")
    assert not list((tmp_path / "media").rglob("*.*"))


def test_local_paths_and_schemes(store: MediaStore, tmp_path: Path) -> None:
    (tmp_path / "pic.gif").write_bytes(GIF)
    assert store.fetch("pic.gif", alt="g", base=tmp_path)["mime"] == "image/gif"
    with pytest.raises(MediaError, match="only http"):
        store.fetch("ftp://127.0.0.1/x.png", alt="x")
    with pytest.raises(MediaError, match="cannot read"):
        store.fetch("missing.png", alt="x", base=tmp_path)


_FEED = """<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<item><title>Valorant via media content</title><guid>1</guid>
  <media:content url="{content}" medium="image"><media:description type="html">Jett &lt;b&gt;dashing&lt;/b&gt; &amp;amp; more</media:description></media:content>
  <enclosure url="{unused}" type="image/png" length="1"/></item>
<item><title>Valorant via enclosure</title><guid>2</guid>
  <media:title>Plain &amp;amp; literal</media:title>
  <enclosure url="{enclosure}" type="image/jpeg" length="1"/></item>
<item><title>Valorant via thumbnail</title><guid>3</guid><media:thumbnail url="{thumb}"/></item>
<item><title>Valorant audio only</title><guid>4</guid>
  <enclosure url="{audio}" type="audio/mpeg" length="1"/></item>
<item><title>Valorant broken first, thumbnail second</title><guid>5</guid>
  <enclosure url="{html}" type="image/png" length="1"/><media:thumbnail url="{thumb}"/></item>
</channel></rss>"""


def test_feed_items_carry_their_image(
    image_server: ImageServer, store: MediaStore, tmp_path: Path
) -> None:
    urls = {
        "content": image_server.add("/f/content.png", png_bytes(rgb=(1, 2, 3))),
        "unused": image_server.add("/f/unused.png", PNG),
        "enclosure": image_server.add("/f/enc.jpg", JPEG),
        "thumb": image_server.add("/f/thumb.webp", WEBP),
        "audio": image_server.add("/f/a.mp3", b"ID3"),
        "html": image_server.add("/f/html.png", b"<html></html>"),
    }
    path = tmp_path / "feed.xml"
    path.write_text(_FEED.format(**urls), "utf-8")
    result = FeedSource("f", str(path), 1.0, ("gaming_fps",)).fetch(_ctx(store))
    by_title = {i.metadata["entry_id"]: i.media for i in result.items}
    assert by_title["1"]["source_url"] == urls["content"]
    assert by_title["1"]["alt"] == "Jett dashing & more"  # type="html": HTML layer undone
    assert by_title["2"]["mime"] == "image/jpeg"
    assert by_title["2"]["alt"] == "Plain &amp; literal"  # plain (the default): text as written
    assert by_title["3"]["alt"] == "Image for: Valorant via thumbnail"
    assert by_title["3"]["mime"] == "image/webp"
    assert by_title["4"] is None  # an audio enclosure is not an image
    assert by_title["5"]["mime"] == "image/webp"
    assert any("image dropped" in e and "html.png" in e for e in result.errors)
    # media:content won, so the enclosure of item 1 was never fetched; nor was the audio file.
    assert "/f/unused.png" not in image_server.hits and "/f/a.mp3" not in image_server.hits
    # Without a store (a dry fetch) nothing is downloaded.
    plain = FeedSource("f", str(path), 1.0, ("gaming_fps",)).fetch(_ctx(None))
    assert all(i.media is None for i in plain.items)


def test_file_source_media_column(
    image_server: ImageServer, store: MediaStore, tmp_path: Path
) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "clutch.png").write_bytes(PNG)
    url = image_server.add("/file/shot.gif", GIF)
    path = tmp_path / "posts.csv"
    path.write_text(
        "text,topic,media,alt\n"
        "Local image post,gaming_fps,img/clutch.png,A clutch moment\n"
        f"URL image post,gaming_fps,{url},\n"
        "Text only post,gaming_fps,,\n"
        "Broken image post,gaming_fps,img/missing.png,\n",
        "utf-8",
    )
    result = FileSource("csv", str(path), 1.0, ("gaming_fps",)).fetch(_ctx(store))
    items = {i.text: i.media for i in result.items}
    assert items["Local image post"]["alt"] == "A clutch moment"
    assert items["Local image post"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert items["URL image post"]["mime"] == "image/gif"
    assert items["URL image post"]["alt"] == "Image for: URL image post"
    assert items["Text only post"] is None
    assert "Broken image post" not in items  # the operator asked for it: refused, not stripped
    assert len(result.errors) == 1 and "row 5: image refused" in result.errors[0]


def test_catalogue_games_carry_their_image(store: MediaStore) -> None:
    catalogue = load_catalogue()
    assert {"Valorant", "Stardew Valley"} <= set(catalogue.images)
    source = TemplateSource("cat", 1.0, tuple(catalogue.topics), per_refresh=120)
    result = source.fetch(_ctx(store))
    assert result.errors == []
    with_image = [i for i in result.items if i.media]
    assert with_image, "some templates name a game with an image"
    for item in result.items:
        game = item.metadata["game"]
        if game in catalogue.images:
            assert item.media and item.media["alt"] == catalogue.images[game]["alt"]
            assert Path(item.media["path"]).is_file()
        else:
            assert item.media is None


@pytest.mark.parametrize("send_length", [True, False])
def test_feed_over_http_is_capped_with_or_without_content_length(
    image_server: ImageServer, send_length: bool
) -> None:
    items = "".join(f"<item><title>Valorant {n}</title><guid>{n}</guid></item>" for n in range(40))
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    url = image_server.add(f"/feeds/big-{send_length}.xml", body, send_length=send_length)
    capped = FeedSource("big", url, 1.0, ("gaming_fps",), max_bytes=len(body) - 1)
    with pytest.raises(SourceError, match="over max_bytes"):
        capped.fetch(_ctx(None))
    fits = FeedSource("big", url, 1.0, ("gaming_fps",), max_bytes=len(body))
    assert len(fits.fetch(_ctx(None)).items) == 40
    empty = FeedSource("empty", image_server.add(f"/feeds/empty-{send_length}.xml", b""), 1.0, ())
    assert empty.fetch(_ctx(None)).warnings == ["empty feed body (0 entries)"]
