"""The change detector: the vectorised CUSUM equals the textbook recursion, alarms, restarts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from xbot.drift import DRIFT_SHIFT, MIN_INFORMATION, RESTART_KEEP, ChangeDetector, Restart
from xbot.errors import ValidationError


def sequential(start: list[float], rewards: list[float], p0: float, threshold: float):
    """The CUSUM one outcome at a time, as written in the docstring (the reference)."""
    p0 = min(max(p0, 1e-6), 1 - 1e-6)
    logit = math.log(p0 / (1 - p0))
    score = [start[0], start[1]]
    since = [[start[2], start[3]], [start[4], start[5]]]
    for t, r in enumerate(rewards):
        for d, shift in enumerate((DRIFT_SHIFT, -DRIFT_SHIFT)):
            alt = 1 / (1 + math.exp(-(logit + shift)))
            x = r * math.log(alt / p0) + (1 - r) * math.log((1 - alt) / (1 - p0))
            score[d] = max(0.0, score[d] + x)
            if score[d] <= 0:
                since[d] = [0.0, 0.0]
            else:
                since[d] = [since[d][0] + r, since[d][1] + 1 - r]
        if max(score) > threshold:  # the direction with the higher score names the change
            d = 0 if score[0] >= score[1] else 1
            later = rewards[t + 1 :]
            return None, (since[d][0] + sum(later), since[d][1] + sum(1 - x for x in later))
    return [score[0], score[1], *since[0], *since[1]], None


@hsettings(max_examples=300, deadline=None)
@given(
    rewards=st.lists(st.sampled_from([0.0, 1.0, 0.25]), min_size=1, max_size=60),
    p0=st.floats(0.01, 0.99),
    start_up=st.floats(0.0, 4.0),
    start_down=st.floats(0.0, 4.0),
    threshold=st.floats(0.5, 6.0),
)
def test_vectorised_cusum_equals_the_recursion(rewards, p0, start_up, start_down, threshold):
    start = [start_up, start_down, 2.0, 3.0, 1.0, 4.0]
    det = ChangeDetector(threshold, {"topic": {"a": start}})
    arms = ["a"] * len(rewards)
    restart = det.observe("topic", arms, np.array(rewards), {"a": p0}, {"a": (1e3, 1e3)})
    end, alarm = sequential(start, rewards, p0, threshold)
    if alarm is None:
        assert restart is None
        assert det.state()["topic"]["a"] == pytest.approx(end, abs=1e-9)
    else:
        assert restart is not None
        assert restart.evidence["a"] == pytest.approx(alarm, abs=1e-9)
        assert det.state() == {"topic": {}}  # a restart clears the family's statistics


def test_false_alarms_are_rare_and_fall_with_the_threshold() -> None:
    """100,000 outcomes at the rate the posterior says (5 % and 50 %, the default reward's rate):
    at threshold 10 at most one alarm per 50,000 outcomes; fewer at 10 than at 6."""

    def alarms(threshold: float, rate: float) -> int:
        rng = np.random.default_rng(5)
        det, n = ChangeDetector(threshold), 0
        for _ in range(10_000):
            r = (rng.random(10) < rate).astype(float)
            n += det.observe("topic", ["a"] * 10, r, {"a": rate}, {"a": (1e4, 1e4)}) is not None
        return n

    for rate in (0.05, 0.5):
        assert alarms(10.0, rate) <= 2
        assert alarms(10.0, rate) < alarms(6.0, rate)


def test_a_drop_is_flagged_with_the_outcomes_since_the_change() -> None:
    rng = np.random.default_rng(7)
    det = ChangeDetector(8.0)
    means, evidence = {"a": 0.30, "b": 0.10}, {"a": (1500.0, 3500.0), "b": (500.0, 4500.0)}
    restart, seen = None, 0
    while restart is None:  # "a" fell from 30 % to 5 %; "b" is unchanged
        arms = ["a", "b"] * 5
        r = np.where(np.array(arms) == "a", rng.random(10) < 0.05, rng.random(10) < 0.10)
        restart = det.observe("topic", arms, r.astype(float), means, evidence)
        seen += 5
    assert set(restart.evidence) == {"a"} and restart.keep == RESTART_KEEP
    successes, failures = restart.evidence["a"]
    assert 0 < successes + failures <= seen  # only outcomes after the change
    assert seen < 200  # a 6x drop is caught within ~ threshold / KL outcomes
    assert det.restarts == {"topic": 1}


def test_arms_with_little_evidence_are_not_tested() -> None:
    det = ChangeDetector(2.0)
    # 90 successes, 10 failures: information 9 < 16, although 100 outcomes were seen
    low = {"a": (90.0, 10.0)}
    assert MIN_INFORMATION > 90 * 10 / 100
    for _ in range(20):
        assert det.observe("topic", ["a"] * 10, np.zeros(10), {"a": 0.9}, low) is None
    assert det.state() == {"topic": {}}
    enough = {"a": (180.0, 20.0)}  # information 18
    assert det.observe("topic", ["a"] * 10, np.zeros(10), {"a": 0.9}, enough)


def test_restart_apply_and_json_round_trip() -> None:
    restart = Restart({"b": (1.0, 9.0)}, keep=0.5)
    alpha, beta = np.array([10.0, 20.0, 30.0]), np.array([2.0, 4.0, 6.0])
    restart.apply(["a", "b", "c"], alpha, beta)
    assert alpha.tolist() == [5.0, 1.0, 15.0] and beta.tolist() == [1.0, 9.0, 3.0]
    assert Restart.from_json(restart.to_json()) == restart


def test_state_survives_json_and_bad_input_is_refused() -> None:
    det = ChangeDetector(8.0)
    det.observe(
        "hour", ["7"] * 4, np.array([1.0, 0.0, 1.0, 1.0]), {"7": 0.2}, {"7": (100.0, 400.0)}
    )
    again = ChangeDetector(8.0, det.state())
    assert again.state() == det.state()
    for bad in (-1.0, float("nan"), float("inf"), "8", True, None):
        with pytest.raises(ValidationError, match="drift_check"):
            ChangeDetector(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="6 finite numbers"):
        ChangeDetector(8.0, {"topic": {"a": [0.0, 1.0]}})
