"""Parsing a feed body under a time limit, in a child process that can be killed.

feedparser is pure Python: a 5 MB body takes 10+ s on a busy two-core machine, and a thread
cannot be stopped once it is over its time. So the parse runs in a forked child process
(``fork``: no re-import of the caller's ``__main__`` as ``spawn``/``forkserver`` would do, and a
few milliseconds instead of a fresh interpreter; the child touches no inherited connection and
leaves with ``os._exit``) and sends back the few fields a source needs as plain dicts. Over the limit, the child is killed and the
caller gets :class:`FeedParseTimeout`.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from xbot.errors import XbotError


class FeedParseTimeout(XbotError):
    """The feed body was not parsed within the source's ``parse_timeout``."""


def _media_refs(entry: Any) -> list[dict[str, str]]:
    """Image references of an entry, best first: media:content, enclosure, media:thumbnail."""
    refs: list[dict[str, str]] = []
    for m in entry.get("media_content") or []:
        refs.append(
            {"url": str(m.get("url", "")), "type": str(m.get("type", "")),
             "medium": str(m.get("medium", "")), "via": "media:content"}
        )  # fmt: skip
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure":
            refs.append(
                {"url": str(link.get("href", "")), "type": str(link.get("type", "")),
                 "medium": "", "via": "enclosure"}
            )  # fmt: skip
    for m in entry.get("media_thumbnail") or []:
        refs.append(
            {"url": str(m.get("url", "")), "type": "", "medium": "image", "via": "media:thumbnail"}
        )
    return [r for r in refs if r["url"]]


_MRSS = "{http://search.yahoo.com/mrss/}"
#: RSS 2.0 item, Atom entry, RSS 1.0 (RDF) item.
_ITEM_TAGS = ("item", "{http://www.w3.org/2005/Atom}entry", "{http://purl.org/rss/1.0/}item")


def _media_descriptions(body: bytes, count: int) -> list[dict[str, str]]:
    """Per item/entry in document order, its Media RSS ``media:description`` (else
    ``media:title``) as ``{"value", "type"}`` (Media RSS ``type="plain"`` is the default, else
    ``html``): the image's own description. feedparser folds these into the entry's summary or
    content where they cannot be told apart from the article's text, so they are read here from
    the XML; empty values when the document cannot be read or the counts disagree."""
    import xml.etree.ElementTree as ET  # expat with its entity-amplification protection

    empty = {"value": "", "type": "text/plain"}
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return [empty] * count
    items = [el for el in root.iter() if el.tag in _ITEM_TAGS]
    if len(items) != count:
        return [empty] * count
    out: list[dict[str, str]] = []
    for item in items:
        found = [
            {
                "value": (el.text or "").strip(),
                "type": "text/html" if el.get("type") == "html" else "text/plain",
            }
            for tag in ("description", "title")
            for el in item.iter(_MRSS + tag)
        ]
        out.append(next((d for d in found if d["value"]), empty))
    return out


def parse_entries(body: bytes) -> dict[str, Any]:
    """The fields of every entry a source uses, as picklable plain values.

    ``problem`` is the text of feedparser's bozo exception when the XML is broken (a
    declared-vs-actual encoding mismatch is harmless and not reported).
    """
    import feedparser

    parsed = feedparser.parse(body)
    problem = getattr(parsed, "bozo_exception", None)
    broken = parsed.bozo and not isinstance(problem, feedparser.CharacterEncodingOverride)
    entries = []
    descriptions = _media_descriptions(body, len(parsed.entries)) if not broken else []
    for n, e in enumerate(parsed.entries):
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        entries.append(
            {
                "title": e.get("title", ""),
                "title_detail": dict(e.get("title_detail") or {}),
                "summary": e.get("summary", ""),
                "summary_detail": dict(e.get("summary_detail") or {}),
                "id": str(e.get("id") or ""),
                "link": str(e.get("link") or ""),
                "published": tuple(stamp[:6]) if stamp else None,
                "media": _media_refs(e),
                "media_description": descriptions[n] if descriptions else {"value": ""},
            }
        )
    return {"problem": str(problem) if broken else None, "entries": entries}


def _child(conn: Connection, body: bytes) -> None:
    try:
        conn.send(("ok", parse_entries(body)))
    except Exception as exc:  # the parent reports it as the source's error
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def parse_with_limit(body: bytes, timeout_s: float) -> dict[str, Any]:
    """:func:`parse_entries` in a child process; :class:`FeedParseTimeout` after ``timeout_s``."""
    import feedparser  # noqa: F401  (imported before the fork, never inside the child)

    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, body), daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise FeedParseTimeout(f"not parsed within {timeout_s:g} s", timeout_s=timeout_s)
        try:
            status, payload = receiver.recv()
        except EOFError as exc:
            raise XbotError(f"feed parser exited with code {proc.exitcode}") from exc
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if status != "ok":
        raise XbotError(f"feed parser failed: {payload}")
    return payload
