"""`xbot rollout status` and `rollout.recommend`: every branch, the same-slot evidence against
simulated worlds where V2 is better, equal and worse than V1, and the command on a real demo."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xbot import rollout
from xbot.flags import Flags
from xbot.rollout import Comparison, EngineStats, SameSlots, recommend
from xbot.sim import SimWorld

# -- simulated worlds --------------------------------------------------------------------------


def _world_logs(quality: str, *, slots: int = 800, n: int = 8, epsilon: float = 0.2, seed: int = 1):
    """V2's posted decisions in a simulated world, as the scheduler logs them.

    Each slot has ``n`` eligible candidates in priority order; V1 takes the first (priority
    says nothing about engagement). V2 is the epsilon-greedy bandit whose greedy pick is the
    truly best candidate (``better``), the truly worst (``worse``) or unrelated to engagement
    (``equal``). Returns the logs, the window's measured posts, and the true mean engagement
    rate of V2's policy and of V1's choice on these very slots.
    """
    world = SimWorld(seed=seed, spread=0.6)
    rng = np.random.default_rng(seed)
    rates = world.rates()
    rows, posts, truth_v2, truth_v1 = [], [], [], []
    for slot in range(slots):
        hour = int(rng.integers(8, 23))
        t = rng.integers(len(world.topics), size=n)
        f = rng.integers(len(world.formats), size=n)
        p = rates[t, hour, f]
        score = {"better": p, "worse": -p, "equal": rng.random(n)}[quality]
        probs = np.full(n, epsilon / n)
        probs[int(np.argmax(score))] += 1 - epsilon
        pick = int(rng.choice(n, p=probs))
        impressions = max(1, round(rng.lognormal(math.log(800), 0.9)))
        engagements = int(rng.binomial(impressions, p[pick]))
        topic, fmt = world.topics[t[pick]], world.formats[f[pick]]
        rows.append({
            "action": f"{slot}:{pick}", "reward": engagements / impressions,
            "propensity": probs[pick],
            "is_v1": float(pick == 0), "n_eligible": float(n), "topic": topic, "format": fmt,
            "v1_topic": world.topics[t[0]], "v1_format": world.formats[f[0]],
        })  # fmt: skip
        posts.append({"topic": topic, "format": fmt, "engagements": float(engagements),
                      "impressions": float(impressions)})  # fmt: skip
        truth_v2.append(float(probs @ p))
        truth_v1.append(float(p[0]))
    return pd.DataFrame(rows), pd.DataFrame(posts), np.mean(truth_v2), np.mean(truth_v1)


def _calendar(v1_mean: float, v2_mean: float, posts: int = 200) -> Comparison:
    """A calendar comparison (different weeks), here deliberately telling the wrong story."""
    se = 0.002
    return Comparison(
        EngineStats("v1", posts, v1_mean, v1_mean - 0.004, v1_mean + 0.004),
        EngineStats("v2", posts, v2_mean, v2_mean - 0.004, v2_mean + 0.004),
        v2_mean - v1_mean,
        v2_mean - v1_mean - 1.881 * se,
        v2_mean - v1_mean + 1.881 * se,
        14,
    )


ROLLING = Flags(learning_engine_v2=True, post_fraction=0.3)


@pytest.mark.parametrize("quality", ["better", "equal", "worse"])
def test_same_slot_estimate_covers_the_simulated_truth(quality):
    logs, posts, true_v2, true_v1 = _world_logs(quality)
    same = rollout.same_slot_estimate(logs, posts, window_days=14)
    assert same is not None and same.decisions == len(logs)
    assert same.v2_low <= true_v2 <= same.v2_high
    assert same.v1_low <= true_v1 <= same.v1_high
    assert same.diff_low <= true_v2 - true_v1 <= same.diff_high
    assert 0 < same.matches < same.decisions


def test_a_clearly_better_v2_advances_even_when_the_calendar_says_worse():
    logs, posts, true_v2, true_v1 = _world_logs("better")
    assert true_v2 > 1.2 * true_v1  # the world really is better for V2
    same = rollout.same_slot_estimate(logs, posts, window_days=14)
    # V1's posts came from a good week, V2's from a bad one: the calendar says V2 is worse
    rec = recommend(ROLLING, _calendar(0.05, 0.03), same_slots=same, environment="production")
    assert rec.basis == "same slots"
    assert rec.action == "advance: raise post_fraction to 0.7"
    assert rec.commands == ["xbot config set post_fraction 0.7 --env production"]
    assert rec.evidence[0].startswith("Same slots [used]")
    assert any("not used" in e for e in rec.evidence)  # the confounded numbers are labelled
    # without the same-slot evidence the same calendar would have rolled a better V2 back
    assert recommend(ROLLING, _calendar(0.05, 0.03)).changes == {"learning_engine_v2": False}


def test_a_clearly_worse_v2_rolls_back_even_when_the_calendar_says_better():
    logs, posts, true_v2, true_v1 = _world_logs("worse")
    assert true_v2 < 0.8 * true_v1
    same = rollout.same_slot_estimate(logs, posts, window_days=14)
    rec = recommend(ROLLING, _calendar(0.03, 0.05), same_slots=same)
    assert rec.basis == "same slots"
    assert rec.action.startswith("roll back")
    assert rec.commands == ["xbot config set learning_engine_v2 false"]


def test_an_equal_v2_is_never_rolled_back_and_advances_on_enough_slots():
    logs, posts, true_v2, true_v1 = _world_logs("equal", slots=1500)
    assert abs(true_v2 - true_v1) < 0.1 * true_v1
    same = rollout.same_slot_estimate(logs, posts, window_days=14)
    rec = recommend(ROLLING, _calendar(0.05, 0.03), same_slots=same)
    assert rec.basis == "same slots"
    assert rec.changes == {"post_fraction": 0.7}  # not worse by more than the 10% tolerance
    few = rollout.same_slot_estimate(*_world_logs("equal", slots=60)[:2], window_days=14)
    held = recommend(ROLLING, _calendar(0.04, 0.04), same_slots=few)
    assert "learning_engine_v2" not in held.changes


def test_no_same_slot_decisions_means_no_estimate():
    logs, posts, *_ = _world_logs("better", slots=5)
    logs["reward"] = np.nan  # still pending at X
    assert rollout.same_slot_estimate(logs, posts, window_days=14) is None


# -- every branch of recommend ----------------------------------------------------------------


def _same(diff_low: float, diff_high: float, *, v1: float = 0.04, decisions: int = 100):
    mid = (diff_low + diff_high) / 2
    return SameSlots(decisions, 10, v1 + mid, v1 + mid - 0.003, v1 + mid + 0.003,
                     v1, v1 - 0.003, v1 + 0.003, mid, diff_low, diff_high, 14)  # fmt: skip


def _empty_calendar(v1_posts: int = 0) -> Comparison:
    v1 = EngineStats("v1", v1_posts, 0.04 if v1_posts else None, None, None)
    return Comparison(v1, EngineStats("v2", 0, None, None, None), None, None, None, 14)


@pytest.mark.parametrize(
    ("flags", "kwargs", "action", "changes", "basis"),
    [
        (Flags(), {"comparison": _empty_calendar(5)},
         "hold: collect a V1 baseline (5/30 measured posts)", {}, "calendar"),
        (Flags(post_fraction=1.0), {"comparison": _empty_calendar(40)},
         "advance to phase 2: enable V2 in shadow (post_fraction stays 0)",
         {"learning_engine_v2": True, "post_fraction": 0.0}, "calendar"),
        (Flags(learning_engine_v2=True), {"comparison": _empty_calendar(40)},
         "hold: no off-policy estimate of V2 yet (needs logged decisions with propensities "
         "and measured V1 posts)", {}, "none"),
        (Flags(learning_engine_v2=True),
         {"comparison": _empty_calendar(40), "ope_v2": (0.05, 0.039, 0.06)},
         "advance to phase 3: post 10% of picks with V2", {"post_fraction": 0.1}, "off-policy V2"),
        (Flags(learning_engine_v2=True),
         {"comparison": _empty_calendar(40), "ope_v2": (0.04, 0.02, 0.06)},
         "hold: V2's estimate is not yet shown close enough to V1", {}, "off-policy V2"),
        (Flags(learning_engine_v2=True, post_fraction=0.1),
         {"comparison": _empty_calendar(40), "same_slots": _same(0.0, 0.01, decisions=12)},
         "hold at post_fraction 0.1: too few measured V2 posts (0/30)", {}, "calendar"),
        (Flags(learning_engine_v2=True, post_fraction=0.1),
         {"comparison": _empty_calendar(40), "same_slots": _same(-0.02, -0.01)},
         "roll back: V2 engages clearly worse than V1 (the runbook's emergency 'Disable V2 "
         "System')", {"learning_engine_v2": False}, "same slots"),
        (Flags(learning_engine_v2=True, post_fraction=0.1),
         {"comparison": _empty_calendar(40), "same_slots": _same(-0.003, 0.01)},
         "advance: raise post_fraction to 0.3", {"post_fraction": 0.3}, "same slots"),
        (Flags(learning_engine_v2=True, post_fraction=0.7),
         {"comparison": _empty_calendar(40), "same_slots": _same(0.001, 0.01)},
         "advance: raise post_fraction to 1", {"post_fraction": 1.0}, "same slots"),
        (Flags(learning_engine_v2=True, post_fraction=1.0),
         {"comparison": _empty_calendar(40), "same_slots": _same(0.001, 0.01)},
         "hold: full V2 operation is healthy", {}, "same slots"),
        (Flags(learning_engine_v2=True, post_fraction=0.3),
         {"comparison": _empty_calendar(40), "same_slots": _same(-0.01, 0.01)},
         "hold at post_fraction 0.3: the interval still allows V2 to be more than 10% worse "
         "than V1", {}, "same slots"),
        (Flags(learning_engine_v2=True, post_fraction=0.3),
         {"comparison": _calendar(0.04, 0.045, posts=60)},
         "advance: raise post_fraction to 0.7", {"post_fraction": 0.7}, "calendar"),
    ],
    ids=["baseline", "to-shadow", "no-ope", "ope-advance", "ope-hold", "too-few", "rollback",
         "advance", "to-full", "full-healthy", "inconclusive", "calendar-fallback"],
)  # fmt: skip
def test_every_branch_of_recommend(flags, kwargs, action, changes, basis):
    comparison = kwargs.pop("comparison")
    rec = recommend(flags, comparison, **kwargs)
    assert (rec.action, rec.changes, rec.basis) == (action, changes, basis)
    assert rec.commands == [f"xbot config set {k} {json.dumps(v)}" for k, v in changes.items()]
    used = [e for e in rec.evidence if "[used]" in e or e.startswith("Calendar windows:")]
    assert used or basis == "none", rec.evidence  # the evidence says what the step rests on


# -- the command ------------------------------------------------------------------------------


def test_rollout_status_on_a_fresh_environment(xbot: Any) -> None:
    text = xbot("rollout", "status")
    assert text.exit_code == 0, text.output
    assert "phase:          1 shadow (V1 only)" in text.stdout
    assert "hold: collect a V1 baseline (0/30 measured posts)" in text.stdout
    assert "commands:       none" in text.stdout
    data = json.loads(xbot("rollout", "status", "--json", "--env", "staging").stdout)
    assert data["environment"] == "staging" and data["basis"] == "calendar"
    assert data["commands"] == [] and data["evidence"][0].startswith("Calendar windows:")
    bad = xbot("rollout", "status", "--window-days", "0")
    assert bad.exit_code == 2 and "--window-days" in bad.output


@pytest.mark.slow
def test_rollout_status_after_a_demo_uses_the_same_slots(xbot: Any) -> None:
    done = xbot("demo", "--days", "3", "--seed", "7", "--no-report", "--no-model")
    assert done.exit_code == 0, done.output
    data = json.loads(xbot("rollout", "status", "--json").stdout)
    assert data["phase"] == "4 full V2 operation"
    assert any(e.startswith("Same slots") for e in data["evidence"]), data
    for command in data["commands"]:  # whatever it recommends, the commands run as printed
        assert xbot(*command.split()[1:]).exit_code == 0
