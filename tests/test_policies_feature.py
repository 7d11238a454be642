"""FeatureBandit: centred scores, learning, propensities, drift, exact seeded choices, parsing."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pytest
from scipy import integrate, stats

from xbot.policies import (
    FeatureBandit,
    pooled_prior,
)


def test_feature_bandit_drift_check_follows_a_collapse_in_every_family() -> None:
    """Topic "fps" collapses from 60 % to 10 %. The topic family restarts, and so does the format
    family: its arms' rates (averaged over the topics) fell from 45 % to 20 %."""
    rng = np.random.default_rng(2)
    b = FeatureBandit(("topic", "format"), drift_check=8.0, seed=0)
    for rates in ({"fps": 0.6, "rpg": 0.3}, {"fps": 0.1, "rpg": 0.3}):
        for _ in range(60):
            feats = [{"topic": t, "format": f} for t in rates for f in ("text", "image")] * 5
            rewards = [float(rng.random() < rates[x["topic"]]) for x in feats]
            b.update_many(feats, rewards)
    assert b.detector.restarts.get("topic", 0) >= 1
    assert b.detector.restarts.get("format", 0) >= 1
    e = b.expectations()
    assert e["topic"]["rpg"] > e["topic"]["fps"]
    assert e["topic"]["fps"] == pytest.approx(0.1, abs=0.05)
    assert e["format"]["text"] == pytest.approx(0.2, abs=0.05)


def _cand(topic: str, fmt: str = "news", hour: str = "14", tags: list[str] | None = None) -> dict:
    out: dict = {"topic": topic, "hour": hour, "format": fmt}
    if tags is not None:
        out["tag"] = tags
    return out


def test_feature_score_is_centred_sum_and_tag_mean() -> None:
    fb = FeatureBandit(epsilon=0.0, seed=0, prior=(1.0, 1.0))
    choice = fb.choose([{}, _cand("fps"), _cand("fps", tags=["pc", "pc"])])
    assert choice.scores[0] == 0.0  # no features: an average candidate
    assert len(choice.scores) == 3
    # the duplicated tag counts once, so candidates 1 and 2 differ by that tag's draw only
    assert choice.scores[1] != choice.scores[2]
    assert dataclasses.is_dataclass(choice)
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.index = 2  # type: ignore[misc]


def test_feature_bandit_learns_the_better_topic() -> None:
    fb = FeatureBandit(epsilon=0.0, seed=1)
    rng = np.random.default_rng(1)
    posts = [_cand(str(t), hour=str(h)) for t in ("good", "bad") for h in range(6, 22)]
    rewards = [float(rng.random() < (0.10 if p["topic"] == "good" else 0.02)) for p in posts * 20]
    fb.update_many(posts * 20, rewards)
    picks = Counter(fb.choose([_cand("good"), _cand("bad")]).index for _ in range(300))
    assert picks[0] > 250
    e = fb.expectations()["topic"]
    assert e["good"] > e["bad"]


def test_feature_propensity_matches_frequency_and_respects_floor() -> None:
    fb = FeatureBandit(epsilon=0.2, seed=2, propensity_draws=1000)
    fb.update_many([_cand("a"), _cand("b"), _cand("c")] * 10, [1.0, 0.0, 0.0] * 5 + [0.0] * 15)
    cands = [_cand("a"), _cand("b"), _cand("c", "tip"), _cand("a")]
    picks, props = Counter(), {}
    for _ in range(1500):
        c = fb.choose(cands, eligible=[0, 1, 2, 3])
        picks[c.index] += 1
        props.setdefault(c.index, []).append(c.propensity)
        assert 0.2 / 4 - 1e-12 <= c.propensity <= 1.0
    for i, p in props.items():
        assert picks[i] / 1500 == pytest.approx(np.mean(p), abs=0.04)
    # identical candidates 0 and 3 are split evenly
    assert picks[0] == pytest.approx(picks[3], rel=0.2)


def test_feature_choice_stays_within_eligible_and_flags_exploration() -> None:
    fb = FeatureBandit(epsilon=1.0, seed=3)
    cands = [_cand(t) for t in "abcde"]
    seen = set()
    for _ in range(200):
        c = fb.choose(cands, eligible=[1, 3])
        assert c.index in (1, 3) and c.explored
        assert c.propensity == pytest.approx(0.5)
        seen.add(c.index)
    assert seen == {1, 3}
    greedy = FeatureBandit(epsilon=0.0, seed=3).choose(cands)
    assert not greedy.explored


def test_feature_update_teaches_every_tag_and_round_trips() -> None:
    fb = FeatureBandit(epsilon=0.1, decay=0.9, seed=4)
    fb.update(_cand("fps", tags=["pc", "ps5"]), 1.0)
    fb.update({"topic": "rpg"}, 0.0)
    fb.decay_step()
    st = fb.state()
    assert st["tag"]["pc"] == st["tag"]["ps5"] == {"alpha": 0.9, "beta": 0.0, "pulls": 1}
    assert st["topic"]["rpg"] == {"alpha": 0.0, "beta": 0.9, "pulls": 1}
    again = FeatureBandit.from_state(st, epsilon=0.1, decay=0.9, seed=4)
    assert again.state() == st
    assert again.expectations() == fb.expectations()


def test_unseen_arm_gets_the_family_pooled_prior() -> None:
    fb = FeatureBandit(seed=5)
    fb.update_many(
        [{"topic": t} for t in "abcd" * 25], [1.0 if i % 20 == 0 else 0.0 for i in range(100)]
    )
    a, b, _ = fb._params("topic", ["never_seen"])
    assert (a[0], b[0]) == pytest.approx(pooled_prior(fb._ev["topic"].alpha, fb._ev["topic"].beta))
    assert a[0] / (a[0] + b[0]) < 0.2


# -- decisions: exact seeded choices, propensity accuracy, the fast candidate parser ----------


def test_feature_choices_are_exact_for_a_seed() -> None:
    fb = FeatureBandit(epsilon=0.2, seed=42)
    posts = [
        {"topic": t, "format": f, "tag": [t + "1", "x"]} for t in "abc" for f in ("news", "tip")
    ]
    fb.update_many(posts * 5, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0] * 5)
    cands = [
        {"topic": t, "format": f, "hour": "20", "tag": [t + "1"]}
        for t in "abcd"
        for f in ("news", "tip")
    ]
    got = [(c.index, round(c.propensity, 4)) for c in (fb.choose(cands) for _ in range(6))]
    assert got == [(2, 0.2281), (1, 0.2156), (2, 0.1812), (2, 0.2), (6, 0.0813), (5, 0.025)]


def test_feature_propensity_matches_exact_integral() -> None:
    # topic-only candidates: P(c wins) = integral of pdf_c * prod of the others' cdfs
    fb = FeatureBandit(("topic",), epsilon=0.3, seed=8, prior=(1.0, 1.0), propensity_draws=4000)
    fb.update_many([{"topic": t} for t in "aaaabbbbcc"], [1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    post = {"a": stats.beta(3, 3), "b": stats.beta(2, 4), "c": stats.beta(1, 3)}

    def exact(arm: str) -> float:
        others = [d for k, d in post.items() if k != arm]
        f = lambda x: post[arm].pdf(x) * others[0].cdf(x) * others[1].cdf(x)  # noqa: E731
        return integrate.quad(f, 0, 1)[0]

    cands = [{"topic": t} for t in "abc"]
    for _ in range(30):
        c = fb.choose(cands)
        p = exact("abc"[c.index])
        se = math.sqrt(p * (1 - p) / 4000)
        assert c.propensity == pytest.approx(0.3 / 3 + 0.7 * p, abs=0.7 * 5 * se)


def test_feature_epsilon_floor_is_exact_when_sampling_is_certain() -> None:
    fb = FeatureBandit(("topic",), epsilon=0.4, seed=9, prior=(1.0, 1.0))
    fb.update_many(
        [{"topic": "good"}] * 3000 + [{"topic": "bad"}] * 3000, [1.0] * 3000 + [0.0] * 3000
    )
    cands = [{"topic": "good"}, {"topic": "bad"}, {"topic": "bad"}, {"topic": "bad"}]
    props = {}
    for _ in range(300):
        c = fb.choose(cands)
        props.setdefault(c.index, []).append(c.propensity)
    assert props[0] == pytest.approx([0.4 / 4 + 0.6] * len(props[0]))
    for i in (1, 2, 3):  # only ever picked by the uniform branch: exactly the floor
        assert props[i] == pytest.approx([0.4 / 4] * len(props[i]))


def test_tag_order_and_repeats_do_not_make_a_new_feature_set() -> None:
    fb = FeatureBandit(epsilon=0.0, seed=10, propensity_draws=2000)
    fb.update_many([{"topic": "a", "tag": ["x"]}, {"topic": "a", "tag": ["y"]}], [1.0, 0.0])
    cands = [
        {"topic": "a", "tag": ["x", "y"]},
        {"topic": "a", "tag": ("y", "x", "x")},
        {"topic": "a", "tag": ["y"]},
    ]
    c = fb.choose(cands)
    assert c.scores[0] == c.scores[1]
    picks = Counter(fb.choose(cands).index for _ in range(600))
    assert picks[0] == pytest.approx(picks[1], rel=0.25)


def test_unusual_inputs_parse_like_plain_dicts() -> None:
    from types import MappingProxyType

    plain = [{"topic": "a", "tag": ["x"]}, {"topic": "b", "format": "tip"}, {}]
    odd = [MappingProxyType({"topic": "a", "tag": ("x",)}), {"topic": ["b"], "format": "tip"}, {}]
    state = {"topic": {"a": {"alpha": 3.0, "beta": 1.0, "pulls": 4}}}
    one = FeatureBandit.from_state(state, seed=11)
    two = FeatureBandit.from_state(state, seed=11)
    for _ in range(5):
        assert one.choose(plain, eligible=np.array([0, 1, 2]).tolist()) == two.choose(odd)
    assert one.choose(plain, eligible=[np.int64(0), 2]).index in (0, 2)


def _trained_feature_bandit(seed: int, posts: int = 4000) -> tuple[FeatureBandit, list[dict]]:
    """A bandit whose arms are well observed (the logit-normal propensity path) and a pool."""
    rng = np.random.default_rng(seed)
    topics, formats = [f"t{i}" for i in range(6)], ["news", "tip", "clip"]
    rates = {t: 0.15 + 0.05 * i for i, t in enumerate(topics)}

    def cand() -> dict:
        t = topics[int(rng.integers(len(topics)))]
        tags = [f"{t}_{j}" for j in rng.choice(3, size=int(rng.integers(1, 3)), replace=False)]
        return {"topic": t, "hour": "20", "format": formats[int(rng.integers(3))], "tag": tags}

    history = [cand() for _ in range(posts)]
    rewards = [float(rng.random() < rates[str(c["topic"])]) for c in history]
    fb = FeatureBandit(epsilon=0.1, seed=seed)
    fb.update_many(history, rewards)
    return fb, [cand() for _ in range(60)]


def _same_set(c: dict, d: dict) -> bool:
    return (c["topic"], c["format"], set(c["tag"])) == (d["topic"], d["format"], set(d["tag"]))


def _exact_win_share(fb: FeatureBandit, pool: list[dict], pick: int, draws: int) -> float:
    """P(pick's feature set has the top score) from exact Beta draws of every arm, written
    independently of FeatureBandit.choose (the same additive log-odds score, numpy's beta)."""
    rng = np.random.default_rng(99)
    scores = np.zeros((draws, len(pool)))
    for fam in ("topic", "format", "tag"):
        arms = sorted({a for c in pool for a in ([c[fam]] if isinstance(c[fam], str) else c[fam])})
        a, b, centre = fb._params(fam, arms)
        theta = rng.beta(np.broadcast_to(a, (draws, a.size)), np.broadcast_to(b, (draws, b.size)))
        logit = np.log(theta / (1 - theta)) - centre
        col = {arm: j for j, arm in enumerate(arms)}
        for i, c in enumerate(pool):
            values = [c[fam]] if isinstance(c[fam], str) else c[fam]
            scores[:, i] += logit[:, [col[v] for v in values]].mean(axis=1)
    return float(np.mean(np.isclose(scores[:, pick], scores.max(axis=1))))


def test_logit_normal_propensity_rows_match_exact_beta_draws() -> None:
    trained, pool = _trained_feature_bandit(3)
    draws = 20_000
    fb = FeatureBandit.from_state(trained.state(), epsilon=0.0, propensity_draws=draws, seed=4)
    encoded = fb.encode(pool)
    assert fb._plan(encoded).thin.size == 0  # every arm here takes the logit-normal path
    for _ in range(4):
        choice = fb.choose(encoded)
        copies = sum(_same_set(c, pool[choice.index]) for c in pool)
        exact = _exact_win_share(fb, pool, choice.index, draws)
        # two Monte Carlo estimates of one probability: within 4 standard errors of each other
        se = (2 * max(exact * (1 - exact), 1e-3) / draws) ** 0.5
        assert abs(choice.propensity * copies - exact) <= 4 * se


def test_an_encoded_pool_decides_exactly_as_the_dicts() -> None:
    fb, pool = _trained_feature_bandit(5)
    twin = FeatureBandit.from_state(fb.state(), epsilon=0.1, seed=11)
    fb = FeatureBandit.from_state(fb.state(), epsilon=0.1, seed=11)
    encoded = fb.encode(pool)
    for eligible in (None, list(range(0, 60, 3)), [7]):
        a, b = fb.choose(encoded, eligible), twin.choose(pool, eligible)
        assert (a.index, a.propensity, a.scores, a.explored) == (
            b.index,
            b.propensity,
            b.scores,
            b.explored,
        )


def test_an_encoded_pool_follows_new_evidence() -> None:
    fb = FeatureBandit(epsilon=0.0, seed=1)
    pool = [{"topic": "a", "hour": "9"}, {"topic": "b", "hour": "9"}]
    encoded = fb.encode(pool)
    fb.update_many([{"topic": "a"}] * 200 + [{"topic": "b"}] * 200, [0.0] * 200 + [1.0] * 200)
    assert {fb.choose(encoded).index for _ in range(20)} == {1}
    fb.update_many([{"topic": "a"}] * 2000 + [{"topic": "b"}] * 2000, [1.0] * 2000 + [0.0] * 2000)
    assert {fb.choose(encoded).index for _ in range(20)} == {0}
