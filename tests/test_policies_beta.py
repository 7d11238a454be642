"""BetaBandit: real Beta draws, learning direction, ties, propensities, decay, drift, priors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import integrate, stats

from xbot.policies import (
    BetaBandit,
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
