"""The ``link_policy`` flag: a post whose text has a URL costs 13x more (config/x_pricing.toml).

- ``keep``: post the text as it is (a URL is priced ``post_create_url``);
- ``strip``: remove the URLs before posting; the guard, dedup and the outbox see the final
  text, so what is judged and remembered is exactly what goes out;
- ``avoid``: keep the text, but prefer link-free candidates unless the expected gain pays for
  the difference in price (:func:`links_that_pay`). V2's Thompson draw picks among the
  link-free candidates and the linked ones whose expected success (the bandit's posterior
  mean) beats the best link-free one's by enough that ``x_value_per_success_usd`` times the
  difference covers the URL surcharge of the ``x_plan`` (0.185 USD at pay-per-use rates). The
  epsilon branch stays uniform over every eligible candidate, links included, so each keeps
  probability >= epsilon / n for off-policy evaluation. V1 has no expectations: it picks a
  linked candidate only when no link-free one is eligible.

URLs are found as X finds them (:func:`xbot.x_text.find_urls`, the t.co rule).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

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


def links_that_pay(
    eligible: Sequence[int],
    linked: Collection[int],
    expected: Sequence[float],
    value_per_success_usd: float,
    surcharge_usd: float,
) -> list[int]:
    """Of ``eligible``, the candidates V2 may exploit under ``avoid``: every link-free one, and
    a linked one only when ``value_per_success_usd * (its expected success - the best
    link-free one's) >= surcharge_usd``.

    ``expected`` is per candidate index (:meth:`FeatureBandit.predict_expectations`). With no
    link-free candidate, or a plan where a URL costs nothing more, every candidate may be
    drawn. At the default value 0 a link never pays while a link-free candidate is eligible.
    """
    free = [i for i in eligible if i not in linked]
    if not free or surcharge_usd <= 0:
        return list(eligible)
    best = max(expected[i] for i in free)
    return [
        i
        for i in eligible
        if i not in linked or value_per_success_usd * (expected[i] - best) >= surcharge_usd
    ]
