"""The safety guard: X's weighted length (conformance file), banned terms however spelled, PII,
spam shapes, bad input, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xbot.flags import Flags
from xbot.safety import SafetyGuard, Verdict, hashtags
from xbot.x_text import parse_length, weighted_length

CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"
SECTIONS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")


def _cases() -> list[tuple[str, dict]]:
    data = yaml.safe_load((CONFORMANCE / "twitter-text-validate.yml").read_text("utf-8"))
    return [(f"{s}: {c['description']}", c) for s in SECTIONS for c in data["tests"][s]]


CASES = _cases()


def test_conformance_file_has_both_sections() -> None:
    assert len(CASES) == 24


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_weighted_length_matches_twitter_text(case: dict) -> None:
    info = parse_length(case["text"])
    assert info.weighted == case["expected"]["weightedLength"]
    assert info.valid == case["expected"]["valid"]
    assert weighted_length(case["text"]) == case["expected"]["weightedLength"]


@pytest.fixture(scope="module")
def guard() -> SafetyGuard:
    return SafetyGuard(max_hashtags=3)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Check the link in bio", "spam_phrase"),
        ("LINK-IN-BIO!", "spam_phrase"),
        ("linkinbio", "spam_phrase"),
        ("l1nk 1n b10", "spam_phrase"),
        ("follow4follow", "spam_phrase"),
        ("f0ll0w 4 f0ll0w", "spam_phrase"),
        ("sub4sub anyone", "spam_phrase"),
        ("s u b 4 s u b", "spam_phrase"),
        ("DM me for cheap followers", "selling"),
        ("free v-bucks here", "scam"),
        ("FR33 V-BUCK$", "scam"),
        ("fr\u200bee vbu\u200bcks", "scam"),  # zero-width spaces
        ("ｆｒｅｅ ｒｏｂｕｘ", "scam"),  # full-width
        ("frее rоbuх", "scam"),  # Cyrillic е, о, х
        ("undetected aimbot for sale", "selling"),
    ],
)
def test_spam_survives_spelling_tricks(guard: SafetyGuard, text: str, code: str) -> None:
    verdict = guard.validate(text)
    assert not verdict.ok
    assert code in verdict.codes
    assert verdict.risk == "high"


@pytest.mark.parametrize("text", ["fuck this patch", "F.U.C.K", "fμck", "sh1t game"])
def test_profanity(guard: SafetyGuard, text: str) -> None:
    assert "profanity" in guard.validate(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "Best sniper rifles in Warzone right now",
        "Kill streak guide for Valorant: hold angles, trade your duelist",
        "Assassin's Creed or Hell Let Loose tonight?",
        "Patch 1.2.3 drops 2026-11-29 at 10:00 UTC, 12 agents changed",
        "GG WP, what a grand final. #Esports",
        "Valorant patch 9.11 trims Jett's dash https://playvalorant.com/news",
    ],
)
def test_ordinary_gaming_posts_pass(guard: SafetyGuard, text: str) -> None:
    verdict = guard.validate(text)
    assert verdict == Verdict(True, "low", ())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("mail me at pro.gamer@example.com", "pii_email"),
        ("call +1 (415) 555-2671 now", "pii_phone"),
        ("card 4111 1111 1111 1111", "pii_card"),
        ("login https://bob:hunter2@example.com/x", "credential_in_url"),
        ("my key sk-abcdefghijklmnopqrstuvwxyz123456", "api_key"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
        ("THIS IS THE BEST GAME EVER MADE", "shouting"),
        ("sooooooo good", "repeated_characters"),
        ("what?!?!?!", "punctuation_run"),
        ("#a #b #c #d", "too_many_hashtags"),
        ("x" * 281, "too_long"),
        ("   ", "empty"),
        ("ABC\uffffABC", "invalid_characters"),
    ],
)
def test_checks(guard: SafetyGuard, text: str, code: str) -> None:
    assert code in guard.validate(text).codes


def test_card_needs_luhn(guard: SafetyGuard) -> None:
    assert "pii_card" not in guard.validate("order 4111 1111 1111 1112").codes


def test_hashtags_count_inline_and_attached_once() -> None:
    assert hashtags("GG #Valorant #fps", ["valorant", "#Esports"]) == ["valorant", "fps", "esports"]
    assert not SafetyGuard(max_hashtags=3).validate("GG #Valorant #fps", ("Esports",)).codes
    verdict = SafetyGuard(max_hashtags=2).validate("GG #Valorant #fps", ("Esports",))
    assert verdict.codes == ("too_many_hashtags",)


def test_from_flags_uses_max_hashtags() -> None:
    assert SafetyGuard.from_flags(Flags(max_hashtags=1)).validate("#a #b").codes == (
        "too_many_hashtags",
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "None"),
        (b"scam", "bytes"),
        (42, "int"),
        ("a" * 1_000_000, "1000000 characters"),
        ("bad \ud800 text", "lone surrogate"),
    ],
)
def test_bad_input_is_refused_clearly(guard: SafetyGuard, value: object, fragment: str) -> None:
    verdict = guard.validate(value)
    assert verdict.codes == ("invalid_input",)
    assert fragment in verdict.reasons[0][1]
    assert not verdict.ok and verdict.risk == "high"


def test_bad_tags_are_refused(guard: SafetyGuard) -> None:
    assert guard.validate("ok", "notalist").codes == ("invalid_input",)
    assert guard.validate("ok", [b"x"]).codes == ("invalid_input",)


def test_bad_configuration_is_refused() -> None:
    from xbot.errors import ValidationError

    with pytest.raises(ValidationError, match="max_hashtags"):
        SafetyGuard(max_hashtags=-1)


def test_verdicts_do_not_depend_on_call_order(guard: SafetyGuard) -> None:
    texts = ["scam!", "GG", "link in bio", "fine post", "scam!", "GG"]
    first = [guard.validate(t) for t in texts]
    again = [guard.validate(t) for t in reversed(texts)][::-1]
    assert first == again
    assert first[0] == first[4] and first[1] == first[5]


def test_near_duplicate_of_recent_post(guard: SafetyGuard) -> None:
    from xbot.candidates.prep import NearDuplicateIndex

    recent = NearDuplicateIndex(0.85)
    recent.add("h1", "Hot take: Valorant has the best gunplay of any shooter right now")
    assert (
        "near_duplicate"
        in guard.validate(
            "hot take - valorant has the best gunplay of any shooter, right now!", recent=recent
        ).codes
    )
    assert guard.validate("Apex Legends zone timing feels great", recent=recent).ok
