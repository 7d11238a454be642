"""Off-policy estimates recover known policy values on simulated logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xbot.errors import ValidationError
from xbot.ope import estimate, target_probabilities


def _logs(n: int, seed: int, logged_epsilon: float) -> tuple[pd.DataFrame, dict[str, float]]:
    """Decisions among 2-8 candidates; the logger picks V1 (index 0) or uniformly with eps.

    Returns the table and the true values of the V1 policy and of the uniform policy.
    """
    rng = np.random.default_rng(seed)
    rows, v1_true, uniform_true = [], [], []
    for i in range(n):
        k = int(rng.integers(2, 9))
        rates = rng.uniform(0.05, 0.4, k)
        rates[0] = rng.uniform(0.3, 0.7)  # the highest-priority pick tends to do better
        explore = rng.random() < logged_epsilon
        a = int(rng.integers(k)) if explore else 0
        prop = logged_epsilon / k + (1 - logged_epsilon) * (a == 0)
        rows.append(
            {
                "decision": i,
                "action": f"c{a}",
                "reward": float(rng.random() < rates[a]),
                "propensity": prop,
                "n_eligible": k,
                "is_v1": a == 0,
                "topic": "fps" if a % 2 == 0 else "rpg",
                "n_eligible_topic": (k + 1) // 2 if a % 2 == 0 else k // 2,
                "logged_epsilon": logged_epsilon,
            }
        )
        v1_true.append(rates[0])
        uniform_true.append(rates.mean())
    return pd.DataFrame(rows), {"v1": np.mean(v1_true), "uniform": np.mean(uniform_true)}


@pytest.mark.parametrize("method", ["ips", "snips", "dr"])
def test_recovers_the_v1_policy_value(method: str) -> None:
    logs, truth = _logs(4000, seed=1, logged_epsilon=0.5)
    logs["target_probability"] = target_probabilities(logs, "v1")
    est = estimate(logs, method=method, n_boot=300, seed=0)
    assert est.low <= truth["v1"] <= est.high
    assert est.high - est.low < 0.08
    assert est.n == 4000 and est.method == method
    # the on-policy average (what was logged) is a different number: OPE is doing work
    assert abs(logs["reward"].mean() - truth["v1"]) > est.high - est.low


def test_recovers_the_uniform_policy_via_epsilon_target() -> None:
    logs, truth = _logs(4000, seed=2, logged_epsilon=0.5)
    pi = target_probabilities(logs, "epsilon", epsilon=1.0)
    est = estimate(logs, target=lambda d: pi, n_boot=300)
    assert est.low <= truth["uniform"] <= est.high
    same = target_probabilities(logs, "epsilon", epsilon=0.5)
    assert same == pytest.approx(logs["propensity"].to_numpy())


def test_topic_target_and_reward_model() -> None:
    logs, _ = _logs(500, seed=3, logged_epsilon=1.0)
    pi = target_probabilities(logs, "topic", topic="fps")
    assert set(np.unique(pi[logs["topic"] != "fps"])) == {0.0}
    assert (pi[logs["topic"] == "fps"] > 0).all()
    const = logs["reward"].mean()
    by_model = estimate(
        logs,
        method="dr",
        target=lambda d: pi,
        reward_model=lambda d: (np.full(len(d), const), np.full(len(d), const)),
        n_boot=50,
    )
    assert by_model.low <= by_model.value <= by_model.high


def test_bootstrap_is_seeded() -> None:
    logs, _ = _logs(300, seed=4, logged_epsilon=0.5)
    logs["target_probability"] = target_probabilities(logs, "v1", epsilon=0.1)
    assert estimate(logs, n_boot=100, seed=7) == estimate(logs, n_boot=100, seed=7)
    assert estimate(logs, n_boot=100, seed=7) != estimate(logs, n_boot=100, seed=8)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"propensity": 0.0}, "propensity"),
        ({"propensity": 1.5}, "propensity"),
        ({"reward": np.nan}, "reward"),
        ({"target_probability": -0.1}, "target probability"),
    ],
)
def test_invalid_logs(change: dict, field: str) -> None:
    logs, _ = _logs(20, seed=5, logged_epsilon=0.5)
    logs["target_probability"] = 0.5
    for col, value in change.items():
        logs.loc[3, col] = value
    with pytest.raises(ValidationError, match=rf"^{field}="):
        estimate(logs, n_boot=10)


def test_invalid_arguments() -> None:
    logs, _ = _logs(20, seed=6, logged_epsilon=0.5)
    with pytest.raises(ValidationError, match="a column 'target_probability'"):
        estimate(logs)
    with pytest.raises(ValidationError, match=r"^method="):
        estimate(logs, method="magic", target="propensity")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^logs=.*at least one"):
        estimate(logs.iloc[:0], target="propensity")
    with pytest.raises(ValidationError, match=r"^policy="):
        target_probabilities(logs, "best")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a column 'is_v1'"):
        target_probabilities(logs.drop(columns="is_v1"), "v1")
    with pytest.raises(ValidationError, match=r"^logged_epsilon="):
        target_probabilities(logs, "epsilon", epsilon=0.1, logged_epsilon=1.0)
