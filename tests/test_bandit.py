"""BetaBandit and FeatureBandit: real Beta draws, learning direction, ties, propensities, decay."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pytest
from scipy import integrate, special, stats

from xbot.bandit import (
    DEFAULT_PROPENSITY_DRAWS,
    BetaBandit,
    FeatureBandit,
    Hyperparameters,
    pooled_prior,
)


def test_draws_match_beta_moments_and_distribution() -> None:
    b = BetaBandit(["a"], prior=(2.0, 5.0), seed=1)
    b.update_many(["a"] * 10, [1.0] * 3 + [0.0] * 7)  # posterior Beta(5, 12)
    x = b.sample(50_000)["a"]
    a_, b_ = 5.0, 12.0
    assert x.mean() == pytest.approx(a_ / (a_ + b_), abs=0.003)
    var = a_ * b_ / ((a_ + b_) ** 2 * (a_ + b_ + 1))
    assert x.var() == pytest.approx(var, rel=0.03)
    assert stats.kstest(x, stats.beta(a_, b_).cdf).pvalue > 0.001


def test_thompson_choice_probability_matches_exact_integral() -> None:
    b = BetaBandit(["a", "b"], prior=(1.0, 1.0), seed=2)
    b.update_many(["a"] * 6 + ["b"] * 6, [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    exact, _ = integrate.quad(lambda x: stats.beta(3, 5).pdf(x) * stats.beta(2, 6).cdf(x), 0, 1)
    arms, _ = b.choose_many(20_000)
    assert Counter(arms)["a"] / 20_000 == pytest.approx(exact, abs=0.012)


@pytest.mark.parametrize("prior", [(1.0, 1.0), "pooled"])
def test_failure_lowers_and_success_raises_the_mean(prior: object) -> None:
    b = BetaBandit(["a", "b", "c"], prior=prior, seed=0)
    b.update_many(["b", "c", "c"], [1.0, 0.0, 1.0])
    before = b.expectations()["a"]
    b.update("a", 0.0)
    after_failure = b.expectations()["a"]
    assert after_failure < before
    b.update("a", 1.0)
    b.update("a", 1.0)
    assert b.expectations()["a"] > after_failure


def test_fractional_reward_counts_as_partial_success() -> None:
    b = BetaBandit(["a"], prior=(1.0, 1.0))
    b.update("a", 0.25)
    assert b.state()["a"] == {"alpha": 0.25, "beta": 0.75, "pulls": 1}
    assert b.expectations()["a"] == pytest.approx(1.25 / 3.0)


def test_ties_are_broken_uniformly() -> None:
    # Beta(1e-9, 1) draws underflow to exactly 0.0: nearly every draw is a three-way tie.
    b = BetaBandit(["a", "b", "c"], prior=(1e-9, 1.0), seed=3, propensity_draws=200)
    draws = np.column_stack(list(b.sample(1000).values()))
    assert (draws == 0.0).all(axis=1).mean() > 0.99
    counts = Counter(b.choose()[0] for _ in range(600))
    assert stats.chisquare([counts[a] for a in "abc"]).pvalue > 0.001
    arms, props = b.choose_many(6000)
    counts = Counter(arms)
    assert stats.chisquare([counts[a] for a in "abc"]).pvalue > 0.001
    assert props == pytest.approx(np.full(6000, 1 / 3), abs=0.03)


@pytest.mark.parametrize("epsilon", [0.0, 0.3, 1.0])
def test_propensities_are_in_range_and_respect_the_floor(epsilon: float) -> None:
    b = BetaBandit(["a", "b", "c", "d"], epsilon=epsilon, prior=(1.0, 1.0), seed=4)
    b.update_many(["a"] * 50 + ["b"] * 50, [1.0] * 40 + [0.0] * 10 + [0.0] * 50)
    for eligible in (None, ["b", "c"], ["a", "b", "d"], ["d"]):
        n = 4 if eligible is None else len(eligible)
        for _ in range(30):
            arm, p = b.choose(eligible)
            assert eligible is None or arm in eligible
            assert 0.0 < p <= 1.0
            assert p >= epsilon / n - 1e-12
    assert b.choose(["d"])[1] == 1.0


def test_propensities_match_choice_frequencies() -> None:
    b = BetaBandit(["a", "b", "c"], epsilon=0.2, prior=(1.0, 1.0), seed=5)
    b.update_many(["a"] * 8 + ["b"] * 8 + ["c"] * 2, [1] * 5 + [0] * 3 + [1] * 3 + [0] * 5 + [0, 0])
    arms, props = b.choose_many(6000)
    freq = Counter(arms)
    for arm in "abc":
        mine = props[np.array(arms) == arm]
        assert mine.std() == pytest.approx(0.0, abs=1e-12)  # one posterior, one propensity
        assert freq[arm] / 6000 == pytest.approx(mine[0], abs=0.02)


def test_epsilon_zero_propensity_is_never_zero_for_the_chosen_arm() -> None:
    b = BetaBandit(["a", "b"], prior=(1.0, 1.0), seed=6, propensity_draws=10)
    b.update_many(["a"] * 200, [1.0] * 200)
    for _ in range(200):
        assert b.choose()[1] >= 1 / 10


def test_decay_discounts_evidence_not_pulls() -> None:
    b = BetaBandit(["a", "b"], decay=0.5, prior=(1.0, 1.0))
    b.update_many(["a"] * 10, [1.0] * 10)
    assert b.expectations()["a"] == pytest.approx(11 / 12)
    b.decay_step()
    assert b.state()["a"] == {"alpha": 5.0, "beta": 0.0, "pulls": 10}
    assert b.expectations()["a"] == pytest.approx(6 / 7)
    kept = BetaBandit(["a"], decay=1.0, prior=(1.0, 1.0))
    kept.update("a", 1.0)
    kept.decay_step()
    assert kept.state()["a"]["alpha"] == 1.0


def test_decay_follows_a_change_sooner() -> None:
    def best_after_change(decay: float) -> str:
        b = BetaBandit(["old", "new"], decay=decay, prior=(1.0, 1.0))
        for _ in range(50):  # 50 cycles where "old" wins
            b.update_many(["old", "new"], [0.8, 0.2])
            b.decay_step()
        for _ in range(10):  # then tastes flip
            b.update_many(["old", "new"], [0.2, 0.8])
            b.decay_step()
        e = b.expectations()
        return max(e, key=e.__getitem__)

    assert best_after_change(0.8) == "new"
    assert best_after_change(1.0) == "old"


def test_drift_check_restarts_the_family_when_an_arm_changes() -> None:
    """A seeded world: three arms at 5 %; after 3,000 outcomes each, "b" jumps to 30 %. The
    detector flags b: its evidence becomes the outcomes since the change (so its mean moves to
    the new rate), and the other arms keep RESTART_KEEP of theirs."""
    rng = np.random.default_rng(11)
    b = BetaBandit(["a", "b", "c"], prior=(1.0, 1.0), drift_check=8.0)
    plain = BetaBandit(["a", "b", "c"], prior=(1.0, 1.0))
    before = None
    for rates in ({"a": 0.05, "b": 0.05, "c": 0.05}, {"a": 0.05, "b": 0.3, "c": 0.05}):
        for _ in range(300):  # cycles of 10 outcomes per arm
            arms = [arm for arm in rates for _ in range(10)]
            rewards = [float(rng.random() < rates[arm]) for arm in arms]
            b.update_many(arms, rewards)
            plain.update_many(arms, rewards)
            if b.drift_restarts and before is None:
                before = plain.state()  # evidence when the restart happened
        if before is None:
            assert b.state() == plain.state()  # no false alarm in the stationary half
    assert b.drift_restarts >= 1
    for arm in ("a", "c"):  # kept 2 % at the restart, then learned on
        assert b.state()[arm]["alpha"] + b.state()[arm]["beta"] < 0.6 * plain.state()[arm]["pulls"]
        assert b.expectations()[arm] == pytest.approx(0.05, abs=0.02)
    row = b.state()["b"]
    assert row["pulls"] == 6000  # pulls stay a plain count
    assert row["alpha"] + row["beta"] < 3100  # pre-change evidence dropped (CUSUM estimate)
    assert abs(b.expectations()["b"] - 0.3) < abs(plain.expectations()["b"] - 0.3)
    assert b.expectations()["b"] == pytest.approx(0.3, abs=0.02)


def test_drift_check_off_by_default_and_not_in_the_state() -> None:
    b = BetaBandit(["a", "b"], seed=3)
    assert b.drift_check == 0.0 and b.drift_restarts == 0
    on = BetaBandit(["a", "b"], seed=3, drift_check=10.0)
    for bandit in (b, on):
        bandit.update_many(["a", "b"] * 50, [1.0, 0.0] * 50)
    assert on.state() == b.state()  # no alarm: identical evidence, same stored format
    again = BetaBandit.from_state(on.state(), seed=3, drift_check=10.0)
    assert again.state() == on.state() and again.drift_restarts == 0


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


def test_same_seed_same_choices() -> None:
    def run(seed: int) -> list[str]:
        b = BetaBandit(["a", "b", "c"], epsilon=0.1, seed=seed)
        out = []
        for r in range(40):
            arm, _ = b.choose()
            b.update(arm, float(r % 3 == 0))
            out.append(arm)
        return out

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_state_round_trip_gives_the_same_policy() -> None:
    b = BetaBandit(["a", "b", "c"], epsilon=0.1, decay=0.9, seed=7)
    b.update_many(["a", "b", "b", "c"], [1.0, 0.0, 0.5, 1.0])
    b.decay_step()
    c = BetaBandit.from_state(b.state(), epsilon=0.1, decay=0.9, seed=7)
    assert c.state() == b.state()
    assert c.expectations() == b.expectations()
    fresh = BetaBandit(["a", "b", "c"], epsilon=0.1, decay=0.9, seed=7)
    fresh._ev.load("state", b.state())
    assert [c.choose() for _ in range(5)] == [fresh.choose() for _ in range(5)]


def test_update_many_equals_updates_one_by_one() -> None:
    arms, rewards = ["a", "b", "a", "c", "a"], [1.0, 0.0, 0.3, 1.0, 0.0]
    one = BetaBandit(["a", "b", "c"])
    for arm, r in zip(arms, rewards, strict=True):
        one.update(arm, r)
    many = BetaBandit(["a", "b", "c"])
    many.update_many(arms, rewards)
    assert one.state() == many.state()


def test_pooled_prior_is_uniform_without_data_and_centres_on_the_pooled_rate() -> None:
    assert pooled_prior(np.zeros(5), np.zeros(5)) == (1.0, 1.0)
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.01, 0.10, 20)
    n = np.full(20, 400.0)
    s = rng.binomial(400, rates).astype(float)
    a, b = pooled_prior(s, n - s)
    assert a / (a + b) == pytest.approx(s.sum() / n.sum(), rel=0.05)
    # true spread of U(0.01, 0.10) is a Beta with concentration ~76; estimate is in range
    assert 20 < a + b < 200
    # the prior never outweighs the average arm's evidence
    a, b = pooled_prior(np.array([1.0, 1.0]), np.array([9.0, 9.0]))
    assert a + b <= 10.0


def test_pooled_prior_explores_less_than_uniform_at_low_rates() -> None:
    arms = [f"a{i}" for i in range(10)]
    pooled = BetaBandit(arms, seed=0)
    uniform = BetaBandit(arms, prior=(1.0, 1.0), seed=0)
    data = [a for a in arms for _ in range(20)]
    rewards = [1.0 if (i % 20 == 0 and a == "a0") else 0.0 for a in arms for i in range(20)]
    for bandit in (pooled, uniform):
        bandit.update_many(data, rewards)
    share = {
        name: Counter(b.choose_many(4000)[0])["a0"] / 4000
        for name, b in (("pooled", pooled), ("uniform", uniform))
    }
    assert share["pooled"] > share["uniform"]


def test_mapping_prior_applies_to_named_arms_only() -> None:
    b = BetaBandit(["a", "b"], prior={"a": (30.0, 70.0)})
    e = b.expectations()
    assert e["a"] == pytest.approx(0.3)
    assert e["b"] == pytest.approx(0.5)  # pooled prior with no data: Beta(1, 1)


def test_credible_interval_contains_the_mean_and_narrows_with_data() -> None:
    b = BetaBandit(["a", "b"], prior=(1.0, 1.0))
    b.update_many(["a"] * 100 + ["b"] * 5, [0.0, 1.0] * 50 + [0.0, 1.0, 0.0, 1.0, 0.0])
    ci = b.credible_interval()
    e = b.expectations()
    for arm in "ab":
        assert ci[arm][0] < e[arm] < ci[arm][1]
    assert ci["a"][1] - ci["a"][0] < ci["b"][1] - ci["b"][0]
    wide = b.credible_interval(0.99)
    assert wide["a"][0] < ci["a"][0]


# -- FeatureBandit ---------------------------------------------------------------------------


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


def test_beta_choices_are_exact_for_a_seed() -> None:
    b = BetaBandit(["a", "b", "c"], epsilon=0.1, seed=42)
    b.update_many(["a", "b", "c"] * 4, [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0])
    got = [(arm, round(p, 4)) for arm, p in (b.choose() for _ in range(6))]
    assert got == [
        ("a", 0.413),
        ("a", 0.4904),
        ("b", 0.4868),
        ("b", 0.4904),
        ("b", 0.4517),
        ("a", 0.4552),
    ]


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


def test_pooled_prior_is_the_beta_binomial_maximum_likelihood() -> None:
    # a fine brute-force grid over the same (bounded) domain agrees with the zoomed search
    rng = np.random.default_rng(3)
    n = rng.integers(20, 300, 15).astype(float)
    s = rng.binomial(n.astype(int), rng.uniform(0.02, 0.12, 15)).astype(float)
    a, b = pooled_prior(s, n - s)
    kappa = np.geomspace(2.0, n.sum() / 15, 400)[:, None, None]
    mean = np.linspace(0.01, 0.3, 400)[None, :, None]
    pa, pb = mean * kappa, (1 - mean) * kappa
    ll = (special.betaln(s + pa, n - s + pb) - special.betaln(pa, pb)).sum(axis=2)

    def loglik(x: float, y: float) -> float:
        return float((special.betaln(s + x, n - s + y) - special.betaln(x, y)).sum())

    assert loglik(a, b) >= ll.max() - 1e-3
    _, j = np.unravel_index(int(ll.argmax()), ll.shape)
    assert a / (a + b) == pytest.approx(float(mean[0, j, 0]), rel=0.03)


def test_default_propensity_draws_is_documented() -> None:
    assert Hyperparameters().propensity_draws == DEFAULT_PROPENSITY_DRAWS == 256


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
