"""The ``link_policy`` flag: a post whose text has a URL costs 13x more (config/x_pricing.toml).

- ``keep``: post the text as it is (a URL is priced ``post_create_url``);
- ``strip``: remove the URLs before posting; the guard, dedup and the outbox see the final
  text, so what is judged and remembered is exactly what goes out;
- ``avoid``: keep the text, but a candidate with a URL is picked only when no link-free
  candidate is eligible in this cycle (V1 and V2 alike). The cost difference (0.185 USD a
  post at pay-per-use rates) is larger than any engagement gain the bandit can estimate from a
  handful of posts, so the rule does not try to trade one against the other.

URLs are found as X finds them (:func:`xbot.x_text.find_urls`, the t.co rule).
"""

from __future__ import annotations

import re

from xbot.x_text import find_urls

POLICIES = ("keep", "strip", "avoid")
_SPACES = re.compile(r"[ \t]{2,}")


def has_url(text: str) -> bool:
    return bool(find_urls(text))


def strip_urls(text: str) -> str:
    """``text`` without its URLs, runs of spaces collapsed, trailing separators dropped."""
    spans = find_urls(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(out).splitlines()]
    return "\n".join(line for line in lines if line).rstrip(" :-—|")


def final_text(text: str, policy: str) -> str:
    """What will be posted for ``text`` under ``policy``."""
    return strip_urls(text) if policy == "strip" else text
