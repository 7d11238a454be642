"""Preparing candidates: normalisation and content hash (exact dedup), near-duplicate detection,
and the priority score.

Exact duplicates are texts whose :func:`normalise` form is equal, identified by
:func:`content_hash`. X also refuses and down-ranks *substantially similar* posts, so
:class:`NearDuplicateIndex` finds texts whose word sets overlap by at least a threshold (Jaccard),
using MinHash LSH from ``datasketch`` to find the few texts worth comparing and an exact Jaccard
to decide. The formula of :func:`priority_score` is documented in docs/candidates.md.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import datetime, timedelta

from datasketch import MinHash, MinHashLSH

from xbot.errors import ValidationError

#: A candidate leaves the queue this long after it was generated.
CANDIDATE_TTL = timedelta(hours=48)
#: Freshness halves every this many hours of age (feed items carry their publication time).
FRESHNESS_HALF_LIFE_HOURS = 12.0
#: The near-duplicate window over posted/shadowed candidates and tweets.
RECENT_WINDOW = timedelta(days=7)

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<!\w)[@\uff20]\w{1,15}")
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The form two texts share when X would call them the same post.

    Unicode NFKC (full-width, ligatures), casefold, URLs and @mentions removed (t.co rewrites
    links and a mention does not make a post new), whitespace collapsed.
    """
    if not isinstance(text, str):
        raise ValidationError("text", type(text).__name__, "a str")
    out = unicodedata.normalize("NFKC", text).casefold()
    out = _URL_RE.sub(" ", out)
    out = _MENTION_RE.sub(" ", out)
    return _SPACE_RE.sub(" ", out).strip()


def content_hash(text: str, media_sha256: str | None = None) -> str:
    """SHA-256 hex of :func:`normalise` (the dedup key in Redis and Postgres), and of the
    attached image's SHA-256 when there is one: the same text with another image is another
    candidate, the same text with the same image a duplicate. A text-only candidate keeps the
    hash it always had."""
    key = normalise(text)
    if media_sha256:
        key += "\nmedia:" + media_sha256  # normalise() never leaves a newline in the text
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def word_set(text: str) -> frozenset[str]:
    """The distinct words of the normalised text (hashtag words included, '#' dropped)."""
    return frozenset(_WORD_RE.findall(normalise(text)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NearDuplicateIndex:
    """Texts already queued or recently posted, searchable for substantially similar ones.

    Similarity is the Jaccard index of word sets: a reworded or reordered post scores near 1,
    while two templates that differ in the game named score well below 0.85. LSH proposes
    candidates (tuned below ``threshold`` so it rarely misses one); the exact Jaccard decides,
    so answers are deterministic for a given content.
    """

    def __init__(self, threshold: float, *, num_perm: int = 64) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValidationError("near_duplicate_threshold", threshold, "a number in (0, 1]")
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=max(0.3, threshold - 0.15), num_perm=num_perm)
        self._words: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, key: object) -> bool:
        return key in self._words

    def _minhash(self, words: frozenset[str]) -> MinHash:
        m = MinHash(num_perm=self.num_perm, seed=7)
        m.update_batch([w.encode("utf-8") for w in sorted(words)] or [b""])
        return m

    def add(self, key: str, text: str) -> None:
        """Index ``text`` under ``key`` (its content hash); a key already present is ignored."""
        if key in self._words:
            return
        words = word_set(text)
        self._words[key] = words
        self._lsh.insert(key, self._minhash(words))

    def most_similar(self, text: str) -> tuple[str, float] | None:
        """(key, similarity) of the closest indexed text at or above the threshold, else None."""
        words = word_set(text)
        best: tuple[str, float] | None = None
        for key in sorted(self._lsh.query(self._minhash(words))):
            score = jaccard(words, self._words[key])
            if score >= self.threshold and (best is None or score > best[1]):
                best = (key, score)
        return best


def priority_score(
    source_weight: float,
    topic_prior: float,
    published_at: datetime | None,
    now: datetime,
    *,
    half_life_hours: float = FRESHNESS_HALF_LIFE_HOURS,
) -> float:
    """priority = source_weight x topic_prior x 0.5 ** (age_hours / half_life_hours).

    ``published_at`` is when the underlying item appeared (a feed entry); None means it was made
    now (templates, hand-written files), freshness 1. Rounded to 6 places so equal inputs give
    equal scores on every machine.
    """
    if source_weight < 0 or topic_prior < 0 or not math.isfinite(source_weight * topic_prior):
        raise ValidationError("priority inputs", (source_weight, topic_prior), "finite and >= 0")
    age_h = 0.0
    if published_at is not None:
        age_h = max(0.0, (now - published_at).total_seconds() / 3600.0)
    return round(source_weight * topic_prior * 0.5 ** (age_h / half_life_hours), 6)
