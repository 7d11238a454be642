"""The one candidate/post -> arms mapping: what the scheduler scores is what learning updates.

Issue 13 §1: the scheduler scored the catalogue's tags as written (``FPS``) while learning
taught ``fps``, so the tag family never informed a pick.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from helpers import ENV, T0, candidate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xbot import flags
from xbot.bandit_store import BanditStore
from xbot.candidates.pipeline import refresh
from xbot.candidates.queue import Candidate
from xbot.features import (
    FAMILIES,
    FEATURES_SQL,
    aggregate_features,
    arms_of,
    candidate_arms,
    outcomes_by_family,
    post_features,
)
from xbot.learning import run_learning_cycle
from xbot.policies import FeatureBandit
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings
from xbot.sim import SimWorld
from xbot.sim_poster import SimPoster

# Text as sources can deliver it after cleaning: any unicode but NUL (jsonb refuses it) and
# lone surrogates; '#', spaces, tabs and mixed case on purpose.
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_word = st.one_of(
    st.sampled_from(["FPS", "fps", "#FPS", " #IndieGame ", "Gaming", "gaming", "#", " ", "ß"]),
    st.text(_chars, max_size=12),
)
_metadata = st.fixed_dictionaries(
    {},
    optional={
        "has_media": st.one_of(st.booleans(), st.none(), st.integers(0, 1), st.text(max_size=3)),
        "game": _word,
    },
)


def _pairs(arms: dict) -> set[tuple[str, str]]:
    return {
        (family, arm)
        for family, value in arms.items()
        for arm in ([value] if isinstance(value, str) else value)
    }


def _candidate(topic: str, fmt: str, tags: list[str], metadata: dict) -> Candidate:
    made = candidate(
        "text", content_hash="h" * 64, db_id=1, topic=topic, format=fmt, tags=tuple(tags),
        now=T0, expires_at=T0 + timedelta(days=1), metadata=metadata,
    )  # fmt: skip
    # the queue's Redis encoding: the scheduler scores what the queue hands back
    return Candidate.from_payload(made.content_hash, made.payload())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    topic=_word,
    fmt=_word,
    tags=st.lists(_word, max_size=6),
    metadata=_metadata,
    hour=st.integers(0, 23),
)
def test_scored_arms_are_exactly_the_learned_arms(
    services: Services, topic: str, fmt: str, tags: list[str], metadata: dict, hour: int
) -> None:
    candidate = _candidate(topic, fmt, tags, metadata)
    scored = candidate_arms(candidate, hour)
    # the post it becomes: the metadata the scheduler writes, through Postgres' jsonb and the
    # projection learning and `learn rebuild` read
    stored = {**post_features(candidate, hour), "source": "test", "engine": "v2", "hour": hour}
    with services.engine.connect() as conn:
        text = conn.execute(
            sa.text(f"select {FEATURES_SQL} from (select cast(:m as jsonb) as metadata) t"),
            {"m": json.dumps(stored)},
        ).scalar_one()
    learned = set(aggregate_features([text], np.array([1.0])))
    assert _pairs(scored) == learned
    assert {
        (family, arm) for family, (arms, _) in outcomes_by_family([text], [0.0]).items()
        for arm in arms
    } == learned  # fmt: skip
    assert set(scored) <= set(FAMILIES)
    FeatureBandit(FAMILIES, seed=0).choose([scored])  # the bandit accepts every scored arm


def test_tags_are_normalised_and_media_is_its_own_family() -> None:
    c = _candidate("gaming_fps", "news", ["FPS", "#fps", " Gaming "], {"has_media": True})
    assert candidate_arms(c, 7) == {
        "topic": "gaming_fps", "hour": "7", "format": "news", "tag": ["fps", "gaming"],
        "media": "yes",
    }  # fmt: skip
    assert arms_of({"has_media": False}) == {"media": ["no"]}
    # absent (queued before sources recorded it) or not a bool: unknown, so no media arm
    assert "media" not in candidate_arms(_candidate("t", "news", [], {}), 7)
    assert arms_of({"has_media": 1}) == {}


def test_a_real_cycle_learns_the_arms_it_scored_with_catalogue_tags(
    services: Services, settings: Settings
) -> None:
    """Regression (issue 13 §1): catalogue tags are mixed case (``FPS``, ``IndieGame``)."""
    refresh(services, ENV, now=T0 - timedelta(hours=1))
    with services.engine.connect() as conn:
        tags = conn.execute(
            sa.text("select distinct unnest(tags) from candidates where environment = :e"),
            {"e": ENV},
        ).scalars().all()  # fmt: skip
    assert any(t != t.lower() for t in tags), tags  # the case the old scheduler got wrong
    with services.engine.begin() as conn:
        for flag, value in {"learning_engine_v2": True, "post_fraction": 1.0, "epsilon": 0.0,
                            "quiet_hours": []}.items():  # fmt: skip
            flags.set_flag(conn, ENV, flag, value, actor="test")
    clock = {"now": T0}
    poster = SimPoster(services, SimWorld(0, start=T0 - timedelta(days=1)), lambda: clock["now"])
    live = replace(settings, live_posts=True)
    rng = np.random.default_rng(0)
    scored: dict[int, set[tuple[str, str]]] = {}
    for k in range(4):
        clock["now"] = T0 + timedelta(hours=2 * k)
        record = run_cycle(services, live, poster=poster, now=clock["now"], rng=rng)
        assert record.outcome == "posted", record
        scored[record.tweet_pk] = _pairs(record.context["arms"])
    clock["now"] = T0 + timedelta(hours=40)
    report = run_learning_cycle(services, ENV, poster, now=clock["now"])
    assert report.tweets_processed >= 1
    with services.engine.connect() as conn:
        learned_pks = conn.execute(
            sa.text("select id from tweets where environment = :e and learned_cycle_id is not null"),
            {"e": ENV},
        ).scalars().all()  # fmt: skip
    expected = set().union(*(scored[pk] for pk in learned_pks))
    state = BanditStore(services, ENV).state()
    learned = {(family, arm) for family, arms in state.items() for arm in arms}
    assert learned == expected
    assert any(family == "tag" for family, _ in learned)
    report_arms = {(r.family, r.arm) for r in BanditStore(services, ENV).report()}
    assert report_arms == expected  # `xbot bandit report` names the same arms
