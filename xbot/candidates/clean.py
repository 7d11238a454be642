"""Making source text safe to store and to post: control characters out, HTML to plain text.

Two layers of escaping reach us from a feed, and each is undone exactly once:

* the XML layer (``&amp;`` in the file, CDATA sections), undone by feedparser's XML parser;
* the HTML layer, present only when the element's content is HTML. feedparser labels every
  text construct it returns with a ``type``: RSS elements and Atom ``type="html"`` /
  ``type="xhtml"`` come back as ``text/html`` / ``application/xhtml+xml`` (markup, entities still
  escaped), Atom ``type="text"`` comes back as ``text/plain`` (already text).

So :func:`feed_text` runs :func:`html_to_text` (tags removed, ``<script>``/``<style>`` and their
content dropped, entities unescaped once) on HTML-typed values and leaves plain-typed values
alone. An RSS title written ``Patch &amp;amp; notes`` in the file is the HTML ``Patch &amp;
notes`` and becomes the text ``Patch & notes``; an Atom ``type="text"`` title written the same
way is the text ``Patch &amp; notes`` and stays so (its author wrote an ampersand-a-m-p).

Whatever a source produced, :func:`plain_text` is the last step before templating and queueing:
control characters removed, anything still shaped like a tag removed (double-escaped HTML such as
``&amp;lt;b&amp;gt;`` decodes to a literal ``<b>``: it is dropped, its entities are not decoded a
second time), whitespace collapsed. A post never carries markup.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

#: Elements whose content is never text a reader sees.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head"})
#: Elements that separate words when rendered (a space stands in for them).
_BREAKS = frozenset(
    {
        "br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4",
        "h5", "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd",
        "dt", "figcaption", "img",
    }
)  # fmt: skip
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SPACE_RE = re.compile(r"\s+")
_SKIPPED_BLOCK_RE = re.compile(
    r"<\s*(script|style)\b[^>]*>.*?(<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_TAG_LIKE_RE = re.compile(
    r"<!--.*?(-->|$)|<!\[CDATA\[.*?(\]\]>|$)|<\s*/?\s*[A-Za-z!?][^<>]*>", re.DOTALL
)


def _is_control(ch: str) -> bool:
    """C0/C1 controls, lone surrogates and Unicode noncharacters: never text a post may hold
    (Postgres refuses NUL outright, a lone surrogate cannot be encoded as UTF-8)."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):
        return True
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def strip_controls(text: str) -> tuple[str, int]:
    """``text`` without control characters (tab, newline and CR become spaces) and how many
    characters were removed, so the caller can count the item as cleaned."""
    out: list[str] = []
    removed = 0
    for ch in text:
        if ch in "\t\n\r\x0b\x0c\x85":
            out.append(" ")
        elif _is_control(ch):
            removed += 1
        else:
            out.append(ch)
    return "".join(out), removed


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text a reader of ``html`` sees: tags removed, script/style content dropped, entities
    (named and numeric) unescaped once, whitespace collapsed. Malformed markup never raises: an
    unclosed ``<script>`` drops everything after it."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _SPACE_RE.sub(" ", "".join(parser.parts)).strip()


def feed_text(value: Any, detail: Any) -> str:
    """A feedparser text construct as plain text, undoing the HTML layer only when the feed says
    the value is HTML (see the module docstring)."""
    text = "" if value is None else str(value)
    kind = detail.get("type", "text/html") if isinstance(detail, dict) else "text/html"
    return html_to_text(text) if kind in _HTML_TYPES else _SPACE_RE.sub(" ", text).strip()


def plain_text(text: str) -> tuple[str, int]:
    """The final form of any source text: controls removed (and counted), script/style blocks
    and tag-shaped leftovers removed, whitespace collapsed. Entities are left as they are."""
    cleaned, removed = strip_controls(text)
    cleaned = _SKIPPED_BLOCK_RE.sub(" ", cleaned)
    cleaned = _TAG_LIKE_RE.sub(" ", cleaned)
    return _SPACE_RE.sub(" ", cleaned).strip(), removed


def clean_value(value: Any) -> tuple[Any, int]:
    """``value`` (str, list, tuple, dict of them) with control characters stripped from every
    string, and the number removed; for metadata, which Postgres stores as jsonb (no NUL)."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, (list, tuple)):
        pairs = [clean_value(v) for v in value]
        return type(value)(v for v, _ in pairs), sum(n for _, n in pairs)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for k, v in value.items():
            key, n_key = clean_value(k) if isinstance(k, str) else (k, 0)
            val, n_val = clean_value(v)
            out[key] = val
            total += n_key + n_val
        return out, total
    return value, 0
