"""X's weighted length: count a post the way X counts it (twitter-text configuration v3).

Code points in the light ranges weigh 1, all others 2; each URL X would shorten to t.co counts
23; each emoji sequence counts 2; the text is NFC-normalised first; U+FFFE, U+FEFF and U+FFFF
make a post invalid. The first implementation counted characters, and X refused what it thought
fitted. Checked against the twitter-text conformance file (tests/data/conformance).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

MAX_WEIGHTED_LENGTH = 280
TRANSFORMED_URL_LENGTH = 23
MAX_URL_LENGTH = 4096
MAX_LABEL_LENGTH = 63
_SCALE = 100
_DEFAULT_WEIGHT = 200
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # weight 100
_INVALID_CHARS = re.compile("[\ufffe\ufeff\uffff]")

# Emoji sequences (UTS #51 shapes): keycaps, flag pairs, pictographs with optional VS16 / skin
# tone / tag sequence, joined by ZWJ. Pictographs are the Extended_Pictographic blocks; the two
# Latin-1 ones (© ®) count as emoji only in emoji presentation (followed by U+FE0F).
_PICT = (
    "(?:[\u00a9\u00ae]\ufe0f|["
    "\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf\u23e9-\u23f3"
    "\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001faff\U0001fc00-\U0001fffd])"
)
_ELEMENT = _PICT + "(?:\ufe0f|[\U0001f3fb-\U0001f3ff])*(?:[\U000e0020-\U000e007e]+\U000e007f)?"
EMOJI_RE = re.compile(
    "[0-9#*]\ufe0f?\u20e3|[\U0001f1e6-\U0001f1ff]{2}|" + _ELEMENT + "(?:\u200d" + _ELEMENT + ")*"
)


@functools.cache
def tlds() -> tuple[frozenset[str], frozenset[str]]:
    """(all TLDs, country-code TLDs) from the IANA root zone list shipped in xbot/data.

    IDN TLDs are listed as ``xn--`` labels; both that form and the Unicode form are accepted.
    """
    text = resources.files("xbot").joinpath("data", "tlds-alpha-by-domain.txt").read_text("ascii")
    out: set[str] = set()
    for line in text.splitlines():
        name = line.strip().lower()
        if not name or name.startswith("#"):
            continue
        out.add(name)
        if name.startswith("xn--"):
            out.add(name[4:].encode("ascii").decode("punycode").casefold())
    cc = frozenset(t for t in out if len(t) == 2 and t.isascii())
    return frozenset(out), cc


def _trie_pattern(words: frozenset[str]) -> str:
    """One regex matching exactly ``words``, factored by prefix, longest alternative first.

    A flat alternation of ~1,500 TLDs is retried alternative by alternative at every
    backtracking step; "a.a.a.a..." (5,000 labels) then took minutes. The trie costs one step
    per character and matches the same language with the same preference (longer TLD first).
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + build(trie) + ")"


@functools.cache
def _url_re() -> re.Pattern[str]:
    tld = _trie_pattern(tlds()[0])
    # DNS bounds (a label is 1-63 characters, a name at most 127 labels) keep matching linear.
    label = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
    path_chars = r"[A-Za-z0-9\u00c0-\u024f\u0400-\u04ff!*';:=+,.$/%#\[\]\-\u2013_~&|@()]"
    query_chars = r"[A-Za-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@]"
    return re.compile(
        r"(?<![A-Za-z0-9@\uff20$#\uff03])"
        # Right after a dot only with a protocol: find_urls drops a bare domain there anyway,
        # and trying every label of "a.a.a.a..." as a start made matching quadratic.
        r"(?:(?<!\.)|(?=https?://))"
        r"(?P<url>(?P<protocol>https?://)?"
        rf"(?P<domain>(?:{label}\.){{1,126}}{tld})(?=[^\w@+-]|$)"
        r"(?::\d{1,5})?"
        rf"(?P<path>/{path_chars}*)?"
        rf"(?:\?{query_chars}*)?)",
        re.IGNORECASE,
    )


def _strip_url_tail(url: str) -> str:
    """Drop trailing punctuation that ends a sentence rather than the URL (and unmatched ')')."""
    while url and url[-1] in ".,:;!?'\")]":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _domain_is_valid(domain: str) -> bool:
    for label in domain.split("."):
        encoded = label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        if not 1 <= len(encoded) <= MAX_LABEL_LENGTH:
            return False
    return True


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL X would shorten to t.co (and so count as 23)."""
    cc_tlds = tlds()[1]
    spans: list[tuple[int, int]] = []
    for m in _url_re().finditer(text):
        url = _strip_url_tail(m.group("url"))
        protocol, domain = m.group("protocol") or "", m.group("domain")
        if len(url) > len(domain) + len(protocol):
            path = url[len(protocol) + len(domain) :]
        else:
            url, path = url[: len(protocol) + len(domain)], ""
        if not _domain_is_valid(domain):
            continue
        punycode_len = sum(
            len(lbl) if lbl.isascii() else 4 + len(lbl.encode("punycode"))
            for lbl in domain.split(".")
        ) + domain.count(".")
        if len(protocol) + len(url) - len(domain) + punycode_len > MAX_URL_LENGTH:
            continue
        start = m.start("url")
        if not protocol:
            if not domain.isascii() or (start > 0 and text[start - 1] in "-_./"):
                continue
            labels = domain.lower().split(".")
            if not path and len(labels) == 2 and labels[1] in cc_tlds and domain.lower() != "t.co":
                continue  # "bit.ly"-style bare short domains are not linked without a path
        spans.append((start, start + len(url)))
    return spans


def _char_weight(ch: str) -> int:
    code = ord(ch)
    for lo, hi in _LIGHT_RANGES:
        if lo <= code <= hi:
            return _SCALE
    return _DEFAULT_WEIGHT


@dataclass(frozen=True)
class LengthInfo:
    """What X says about a text's length: ``weighted`` in characters and whether it may post."""

    weighted: int
    valid: bool
    invalid_characters: bool


def parse_length(text: str) -> LengthInfo:
    """Count ``text`` as twitter-text v3 ``parseTweet`` does (weightedLength and valid)."""
    normal = unicodedata.normalize("NFC", text)
    urls = dict(find_urls(normal))
    emoji = {m.start(): m.end() for m in EMOJI_RE.finditer(normal)}
    units = 0
    i = 0
    while i < len(normal):
        if i in urls:
            units += TRANSFORMED_URL_LENGTH * _SCALE
            i = urls[i]
        elif i in emoji:
            units += _DEFAULT_WEIGHT
            i = emoji[i]
        else:
            units += _char_weight(normal[i])
            i += 1
    weighted = math.ceil(units / _SCALE)
    bad = _INVALID_CHARS.search(normal) is not None
    return LengthInfo(weighted, 0 < weighted <= MAX_WEIGHTED_LENGTH and not bad, bad)


def weighted_length(text: str) -> int:
    """The length X counts for ``text`` (at most 280 may be posted)."""
    return parse_length(text).weighted
