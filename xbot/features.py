"""The one mapping from a candidate or a post to its bandit arms, and its per-arm aggregates.

What the scheduler scores and what learning updates must be the same arms, or evidence never
reaches a decision (the tag bug of issue 13: the scheduler scored ``FPS`` while learning
taught ``fps``). So every path goes through :func:`arms_of`:

* the scheduler scores :func:`candidate_arms` = ``arms_of(post_features(candidate, hour))``;
* the post it becomes stores :func:`post_features` in ``tweets.metadata``;
* learning, ``xbot learn rebuild`` and the change detector read those fields back with
  :data:`FEATURES_SQL` and map them with :func:`arms_of` (:func:`aggregate_features`,
  :func:`outcomes_by_family`); the model's priors name their arms with it too.

Families: ``topic``, ``hour`` (the slot's local hour as a decimal string), ``format``, ``tag``
(a list: stripped, leading ``#`` removed, lower-cased, deduplicated, sorted) and ``media``
(``"yes"``/``"no"`` from the candidate's ``has_media`` metadata). A missing or malformed value
gives no arm for that family: the bandit centres every family on its pooled mean, so an absent
family counts as an average arm. In particular a candidate *without* ``has_media`` (queued
before sources recorded it) gets no media arm rather than ``"no"``: unknown is not "text
only", and posts learned before the family existed keep replaying to the same evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from xbot.candidates.queue import Candidate

FAMILIES: tuple[str, ...] = ("topic", "hour", "format", "tag", "media")
MEDIA_ARMS = {True: "yes", False: "no"}

# The metadata fields ``arms_of`` reads, projected in SQL so that a scan of many posts sends
# (and Python decodes) only these, as JSON text: few distinct values, each decoded once.
FEATURES_SQL = (
    "jsonb_build_object('topic', metadata -> 'topic', 'hour', metadata -> 'hour', "
    "'format', metadata -> 'format', 'tags', metadata -> 'tags', "
    "'has_media', metadata -> 'has_media')::text"
)

ArmSet = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ArmUpdate:
    """What one learning cycle adds to one arm: discounted-evidence increments."""

    successes: float
    failures: float
    pulls: int


def normalise_tag(tag: str) -> str:
    """A tag as an arm name: ``" #IndieGame "`` -> ``"indiegame"`` (empty: no arm)."""
    return tag.strip().lstrip("#").lower()


def arms_of(metadata: Mapping[str, Any]) -> dict[str, list[str]]:
    """The bandit arms a post (or a candidate) belongs to, one list per feature family.

    ``metadata`` has the fields :func:`post_features` writes (topic, hour, format, tags,
    has_media); missing or malformed fields give no arm (the post still counts as learned).
    """
    out: dict[str, list[str]] = {}
    topic = metadata.get("topic")
    if isinstance(topic, str) and topic.strip():
        out["topic"] = [topic.strip()]
    hour = metadata.get("hour")
    if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23:
        out["hour"] = [str(hour)]
    fmt = metadata.get("format")
    if isinstance(fmt, str) and fmt.strip():
        out["format"] = [fmt.strip()]
    tags = metadata.get("tags")
    if isinstance(tags, (list, tuple)):
        clean = {normalise_tag(t) for t in tags if isinstance(t, str)}
        clean.discard("")
        if clean:
            out["tag"] = sorted(clean)
    media = metadata.get("has_media")
    if isinstance(media, bool):
        out["media"] = [MEDIA_ARMS[media]]
    return out


def post_features(candidate: Candidate, hour: int) -> dict[str, Any]:
    """The feature fields of the post ``candidate`` becomes in a slot at local ``hour``.

    The scheduler writes these into ``tweets.metadata``, so learning reads back exactly what
    the decision scored. ``has_media`` is copied only when the candidate's metadata has a bool.
    """
    out: dict[str, Any] = {
        "topic": candidate.topic,
        "hour": hour,
        "format": candidate.format,
        "tags": list(candidate.tags),
    }
    media = candidate.metadata.get("has_media") if isinstance(candidate.metadata, Mapping) else None
    if isinstance(media, bool):
        out["has_media"] = media
    return out


def candidate_arms(candidate: Candidate, hour: int) -> dict[str, str | list[str]]:
    """What the scheduler scores for ``candidate`` in a slot at local ``hour``.

    :func:`arms_of` of the post it would become, with single-valued families as a plain
    string (FeatureBandit's fast column parse) and ``tag`` as a list.
    """
    arms = arms_of(post_features(candidate, hour))
    return {family: names if family == "tag" else names[0] for family, names in arms.items()}


def arm_set(arms: Mapping[str, list[str]]) -> ArmSet:
    """``arms_of``'s result as one hashable tuple of (family, arm) pairs."""
    return tuple((family, arm) for family, names in arms.items() for arm in names)


def _sum_groups(
    arm_sets: list[ArmSet], groups: np.ndarray, rewards: np.ndarray
) -> dict[tuple[str, str], ArmUpdate]:
    """Per-arm increments from posts grouped by their arm set (groups numbered by first post).

    np.bincount adds each group's rewards in post order, then each arm adds its groups in group
    order: a fixed order given the posts, so every caller gets the same doubles for the same
    rows (and 0/1 rewards sum exactly in any order).
    """
    k = len(arm_sets)
    succ = np.bincount(groups, weights=rewards, minlength=k)
    fail = np.bincount(groups, weights=1.0 - rewards, minlength=k)
    pulls = np.bincount(groups, minlength=k)
    totals: dict[tuple[str, str], list[Any]] = {}
    for g, arms in enumerate(arm_sets):
        for key in arms:
            v = totals.setdefault(key, [0.0, 0.0, 0])
            v[0] = v[0] + float(succ[g])
            v[1] = v[1] + float(fail[g])
            v[2] = v[2] + int(pulls[g])
    return {k: ArmUpdate(*totals[k]) for k in sorted(totals)}


def _grouped(
    arm_sets_by_item: list[ArmSet], item_codes: np.ndarray
) -> tuple[list[ArmSet], np.ndarray]:
    """Number distinct arm sets by first appearance (items are in first-appearance order)."""
    index: dict[ArmSet, int] = {}
    mapping = np.empty(len(arm_sets_by_item), dtype=np.int64)
    for i, arms in enumerate(arm_sets_by_item):
        mapping[i] = index.setdefault(arms, len(index))
    return list(index), mapping[item_codes] if len(item_codes) else item_codes


def aggregate(posts: Iterable[tuple[Mapping[str, Any], float]]) -> dict[tuple[str, str], ArmUpdate]:
    """Sum (metadata, reward) pairs into per-arm increments (see :func:`aggregate_features`)."""
    metas, rewards = [], []
    for metadata, reward in posts:
        metas.append(arm_set(arms_of(metadata)))
        rewards.append(reward)
    arm_sets, groups = _grouped(metas, np.arange(len(metas), dtype=np.int64))
    return _sum_groups(arm_sets, groups, np.asarray(rewards, dtype=float))


def _decoded(feature_json: Any) -> tuple[np.ndarray, list[ArmSet]]:
    """Codes per post and the arm set of each distinct ``FEATURES_SQL`` text (decoded once)."""
    codes, uniques = pd.factorize(np.asarray(feature_json, dtype=object), sort=False)
    return codes.astype(np.int64), [arm_set(arms_of(json.loads(u))) for u in uniques]


def aggregate_features(feature_json: Any, rewards: np.ndarray) -> dict[tuple[str, str], ArmUpdate]:
    """Per-arm increments of posts given as ``FEATURES_SQL`` texts (in id order) and rewards.

    Vectorised: each distinct text is decoded and mapped to arms once, the sums are bincounts.
    Equal to :func:`aggregate` on the same posts in the same order; the incremental path and
    the rebuild both call it on the rows ordered by tweet id, so their doubles are identical.
    """
    rewards = np.asarray(rewards, dtype=float)
    if rewards.size == 0:
        return {}
    codes, arm_sets_by_text = _decoded(feature_json)
    arm_sets, groups = _grouped(arm_sets_by_text, codes)
    return _sum_groups(arm_sets, groups, rewards)


def outcomes_by_family(
    feature_json: Any, rewards: np.ndarray
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each family's outcomes in post order, as (arm per outcome, reward per outcome).

    The change detector's input (posts given as ``FEATURES_SQL`` texts, in id order); each
    distinct text is decoded once, as in :func:`aggregate_features`.
    """
    rewards = np.asarray(rewards, dtype=float)
    if rewards.size == 0:
        return {}
    codes, arm_sets = _decoded(feature_json)
    arms: dict[str, list[str]] = {}
    values: dict[str, list[float]] = {}
    for code, reward in zip(codes.tolist(), rewards.tolist(), strict=True):
        for family, arm in arm_sets[code]:
            arms.setdefault(family, []).append(arm)
            values.setdefault(family, []).append(reward)
    return {family: (arms[family], np.asarray(values[family])) for family in arms}
