"""Invalid input to the policies: every case raises ValidationError naming the field and range."""

from __future__ import annotations

import math
from typing import Any

import pytest

from xbot.errors import ValidationError
from xbot.policies import BetaBandit, FeatureBandit, Hyperparameters


def _raises(field: str, allowed: str) -> Any:
    return pytest.raises(ValidationError, match=rf"^{field}=.*not allowed: .*{allowed}")


@pytest.mark.parametrize("reward", [-0.1, 1.5, math.nan, math.inf, "1", None])
def test_reward_outside_unit_interval_or_not_a_number(reward: Any) -> None:
    b = BetaBandit(["a", "b"])
    with _raises("reward", "from 0.0 to 1.0"):
        b.update("a", reward)
    assert b.state()["a"]["pulls"] == 0


def test_update_many_validates_everything_before_learning() -> None:
    b = BetaBandit(["a", "b"])
    with _raises("reward", "from 0.0 to 1.0"):
        b.update_many(["a", "b"], [1.0, math.nan])
    with _raises("arm", "one of a, b"):
        b.update_many(["a", "z"], [1.0, 0.0])
    with _raises("rewards", "one reward per arm"):
        b.update_many(["a", "b"], [1.0])
    assert b.state()["a"]["pulls"] == 0


def test_unknown_arm() -> None:
    b = BetaBandit(["a", "b"])
    with _raises("arm", "one of a, b"):
        b.update("c", 1.0)
    with _raises("arm", "one of a, b"):
        b.choose(["a", "c"])
    with _raises("eligible", "non-empty"):
        b.choose([])


@pytest.mark.parametrize("epsilon", [-0.01, 1.01, math.nan, "0.1", True])
def test_epsilon_outside_zero_one(epsilon: Any) -> None:
    with _raises("epsilon", r"from 0\.0 to 1\.0"):
        BetaBandit(["a"], epsilon=epsilon)
    with _raises("epsilon", r"from 0\.0 to 1\.0"):
        FeatureBandit(epsilon=epsilon)


@pytest.mark.parametrize("check", [-1.0, math.nan, math.inf, "5", True, None])
def test_drift_check_must_be_a_finite_non_negative_number(check: Any) -> None:
    with _raises("drift_check", "finite number >= 0"):
        BetaBandit(["a"], drift_check=check)
    with _raises("drift_check", "finite number >= 0"):
        Hyperparameters(drift_check=check)


@pytest.mark.parametrize("decay", [0.0, -0.5, 1.01, math.inf])
def test_decay_outside_zero_exclusive_one_inclusive(decay: float) -> None:
    with _raises("decay", "greater than 0.0 and at most 1.0"):
        BetaBandit(["a"], decay=decay)
    with _raises("decay", "greater than 0.0 and at most 1.0"):
        Hyperparameters(decay=decay)


@pytest.mark.parametrize("draws", [0, -1, 1.5, True])
def test_propensity_draws(draws: Any) -> None:
    with _raises("propensity_draws", "integer of at least 1"):
        BetaBandit(["a"], propensity_draws=draws)


@pytest.mark.parametrize(
    ("arms", "allowed"),
    [([], "non-empty"), ("abc", "non-empty"), (["a", "a"], "distinct"), (["a", ""], "non-empty")],
)
def test_bad_arms(arms: Any, allowed: str) -> None:
    with _raises("arms", allowed):
        BetaBandit(arms)


@pytest.mark.parametrize("prior", [(0.0, 1.0), (1.0,), (1.0, math.nan), "flat", (-1.0, 2.0)])
def test_bad_prior(prior: Any) -> None:
    with pytest.raises(ValidationError, match="prior"):
        BetaBandit(["a"], prior=prior)


def test_prior_for_unknown_arm() -> None:
    with _raises("prior", "arms of this bandit: a"):
        BetaBandit(["a"], prior={"b": (1.0, 1.0)})


@pytest.mark.parametrize("seed", [-1, 1.5, "7"])
def test_bad_seed(seed: Any) -> None:
    with _raises("seed", "non-negative integer"):
        BetaBandit(["a"], seed=seed)


@pytest.mark.parametrize("mass", [0.0, 1.0, 1.2, math.nan])
def test_bad_credible_mass(mass: float) -> None:
    with _raises("mass", "strictly between 0 and 1"):
        BetaBandit(["a"]).credible_interval(mass)


def test_bad_state() -> None:
    with _raises("state", "mapping"):
        BetaBandit.from_state([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"state\['a'\]\.alpha.*>= 0"):
        BetaBandit.from_state({"a": {"alpha": -1.0, "beta": 0.0, "pulls": 0}})
    with pytest.raises(ValidationError, match=r"state\['a'\]"):
        BetaBandit.from_state({"a": {"alpha": 1.0}})


def test_feature_bandit_unknown_family_and_bad_values() -> None:
    fb = FeatureBandit()
    with pytest.raises(ValidationError, match=r"family='topics'.*one of topic, hour, format, tag"):
        fb.choose([{"topics": "fps"}])
    with pytest.raises(ValidationError, match=r"family='color'"):
        fb.update({"color": "red"}, 1.0)
    with pytest.raises(ValidationError, match=r"\['hour'\]=14 .*arm name"):
        fb.choose([{"hour": 14}])
    with _raises("reward", "from 0.0 to 1.0"):
        fb.update({"topic": "fps"}, 2.0)
    assert fb.state()["topic"] == {}


@pytest.mark.parametrize("eligible", [[], [3], [-1], [0, 0], [True]])
def test_feature_bandit_bad_eligible(eligible: list[Any]) -> None:
    with _raises("eligible", "candidate indices from 0 to 2"):
        FeatureBandit().choose([{"topic": "a"}, {"topic": "b"}, {"topic": "c"}], eligible)


def test_feature_bandit_bad_candidates_and_families() -> None:
    with _raises("candidates", "at least one candidate"):
        FeatureBandit().choose([])
    with _raises(r"candidates\[1\]", "mapping"):
        FeatureBandit().choose([{"topic": "a"}, "b"])  # type: ignore[list-item]
    with _raises("families", "distinct"):
        FeatureBandit(families=["topic", "topic"])
    with _raises("state family", "one of topic"):
        FeatureBandit.from_state({"color": {}}, families=["topic"])


@pytest.mark.parametrize(
    "candidate",
    [{"tag": [["a"]]}, {"tag": [{"a": 1}]}, {"topic": None}, {"topic": ""}, {"tag": [""]},
     {"topic": 3}, {"nope": "a"}],
)  # fmt: skip
def test_feature_bandit_bad_candidate_values_name_the_candidate(candidate: dict) -> None:
    with _raises(r"candidates\[1\][^=]*", "(arm name|one of topic)"):
        FeatureBandit().choose([{"topic": "ok"}, candidate])
