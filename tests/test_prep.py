"""Normalisation, content hash, near duplicates and the priority score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xbot.candidates.prep import NearDuplicateIndex, content_hash, normalise, priority_score
from xbot.errors import ValidationError


def test_normalise_folds_what_x_ignores() -> None:
    assert normalise("  GG  @someone   https://t.co/abc  WP\n") == "gg wp"
    assert normalise("ＧＧ ｗｐ") == "gg wp"  # NFKC full-width
    assert normalise("Straße") == "strasse"  # casefold


def test_content_hash_is_sha256_of_normalised() -> None:
    import hashlib

    assert content_hash("GG WP") == hashlib.sha256(b"gg wp").hexdigest()
    assert content_hash("gg   wp https://x.com/1") == content_hash("GG WP")
    assert content_hash("gg wp!") != content_hash("gg wp")


def test_normalise_refuses_non_text() -> None:
    with pytest.raises(ValidationError, match="text"):
        normalise(b"x")  # type: ignore[arg-type]


def test_near_duplicates_by_word_overlap() -> None:
    index = NearDuplicateIndex(0.85)
    index.add("a", "Hot take: Valorant has the best gunplay of any shooter right now. Agree?")
    reworded = "Agree? Right now Valorant has the best gunplay of any shooter. Hot take"
    assert index.most_similar(reworded) == ("a", 1.0)
    one_word_swapped = "Hot take: Overwatch has the best gunplay of any shooter right now. Agree?"
    assert index.most_similar(one_word_swapped) == ("a", 12 / 14)  # substantially similar
    different = "Hot take: Apex Legends has the best zone timing of any battle royale. Agree?"
    assert index.most_similar(different) is None
    assert NearDuplicateIndex(0.9).most_similar(one_word_swapped) is None  # empty index
    strict = NearDuplicateIndex(0.9)
    strict.add("a", "Hot take: Valorant has the best gunplay of any shooter right now. Agree?")
    assert strict.most_similar(one_word_swapped) is None


def test_near_duplicate_threshold_is_validated() -> None:
    with pytest.raises(ValidationError, match="near_duplicate_threshold"):
        NearDuplicateIndex(0.0)


def test_priority_formula() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert priority_score(1.5, 1.2, None, now) == 1.8
    assert priority_score(1.0, 1.0, now - timedelta(hours=12), now) == 0.5
    assert priority_score(1.0, 1.0, now - timedelta(hours=24), now) == 0.25
    assert priority_score(1.0, 1.0, now + timedelta(hours=1), now) == 1.0  # future = fresh
    with pytest.raises(ValidationError):
        priority_score(-1.0, 1.0, None, now)
