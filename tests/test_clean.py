"""Source text made safe: control characters, HTML to plain text, escaping undone exactly once."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xbot.candidates.clean import clean_value, feed_text, html_to_text, plain_text, strip_controls
from xbot.candidates.sources import RawItem, sanitize_item

_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>")


@pytest.mark.parametrize(
    "raw",
    ["a\x00b", "a\x01b", "a\x07b", "a\x1bb", "a\x7fb", "a\x80b", "a\x9fb", "a\ud800b", "a\udfffb",
     "a\ufffeb", "a\uffffb", "a\ufdd0b", "a\U0001fffeb"],
)  # fmt: skip
def test_control_characters_are_removed_and_counted(raw: str) -> None:
    assert strip_controls(raw) == ("ab", 1)


def test_line_breaks_and_tabs_become_spaces_and_emoji_survive() -> None:
    assert strip_controls("a\tb\nc\r\nd\x0be\x85f") == ("a b c  d e f", 0)
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467 GG"  # ZWJ (Cf) is not a control
    assert strip_controls(family) == (family, 0)


@given(st.text())
def test_plain_text_never_holds_controls_or_tags_and_is_idempotent(text: str) -> None:
    out, _ = plain_text(text)
    assert not any(ch in out for ch in "\x00\n\r\t")
    assert not _TAG.search(out)
    out.encode("utf-8")  # no lone surrogate survives
    assert plain_text(out) == (out, 0)


@given(st.text())
def test_html_to_text_never_raises_or_leaves_script(text: str) -> None:
    html = f"<p>{text}</p><script>var secret = 1;</script>"
    assert "secret" not in html_to_text(html)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("Patch &amp; notes", "Patch & notes"),
        ("Patch &amp;amp; notes", "Patch &amp; notes"),  # one HTML layer undone, not two
        ("caf&#233; &#x263A; &eacute;", "café ☺ é"),
        ("<b>Bold</b> and <i>it<u>alic</u></i>", "Bold and italic"),
        ("<p>one</p><p>two</p>three<br>four<br/>five", "one two three four five"),
        ("before<script>alert('x')</script>after", "beforeafter"),
        ("a<style>p { color: red }</style>b", "ab"),
        ("a<SCRIPT type='x'>evil()</SCRIPT>b", "ab"),
        ("keep<script>never closed <b>x</b>", "keep"),
        ("x<!-- hidden -->y", "xy"),
        ("<div><p>unclosed <b>nest</div> end", "unclosed nest end"),
        ("  lots\n\n of \t space  ", "lots of space"),
        ("a &lt;b&gt; tag shown as text", "a <b> tag shown as text"),
        ("&#0;&#1;&#x7f;ok", "\ufffdok"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_double_escaped_markup_is_dropped_not_decoded_twice() -> None:
    # ``&lt;b&gt;`` decodes to a literal tag: the tag goes, ``&amp;`` (literal text) stays.
    text = html_to_text("&lt;b&gt;Valorant&lt;/b&gt; &amp;amp; &lt;script&gt;x()&lt;/script&gt;")
    assert plain_text(text)[0] == "Valorant &amp;"


def test_feed_text_follows_the_declared_type() -> None:
    assert feed_text("A &amp; B <b>x</b>", {"type": "text/html"}) == "A & B x"
    assert feed_text("A &amp; B", {"type": "application/xhtml+xml"}) == "A & B"
    # Atom type="text": already text, no HTML layer to undo.
    assert feed_text("A &amp; B", {"type": "text/plain"}) == "A &amp; B"
    assert feed_text(None, {}) == ""


def test_clean_value_walks_containers() -> None:
    value, n = clean_value({"a\x00": ["x\x01", ("y\x02",)], "n": 3})
    assert value == {"a": ["x", ("y",)], "n": 3} and n == 3


def test_sanitize_item_refuses_what_has_no_text_left() -> None:
    item = RawItem("\x00\x01<b></b>", "gaming_fps", "post", ("FPS",), "hand")
    assert sanitize_item(item) == (None, 2)
    dirty = RawItem(
        "Valorant\x00 <i>maps</i>", "gaming_fps", "post", ("FP\x00S", "\x01"), "hand",
        metadata={"note": "a\x00b"},
    )  # fmt: skip
    clean, removed = sanitize_item(dirty)
    assert clean is not None and removed == 4
    assert (clean.text, clean.tags, clean.metadata) == ("Valorant maps", ("FPS",), {"note": "ab"})
