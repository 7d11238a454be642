"""The reward rule (xbot/reward.py): graded score, hour adjustment, and the rule before issue 13."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import ENV, TableMetrics, add_posts, metrics

from xbot.bandit_store import BanditStore
from xbot.errors import ValidationError
from xbot.learning import run_learning_cycle
from xbot.reward import RewardRule, hour_offsets

LEGACY = RewardRule(shape="binary", hour_band=-1)  # the rule before issue 13
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the learning tests' clock


def test_graded_reward_is_a_logistic_curve_of_the_rate_ratio():
    rule = RewardRule(shape="graded")
    assert (RewardRule().shape, rule.steepness, rule.hour_band) == ("binary", 4.0, 2)
    b = 0.03
    got = rule.rewards(np.array([b, 2 * b, b / 2, 0.0, 1.0]), b, np.zeros(5))
    # 1 / (1 + (threshold / rate) ** 4): 0.5 at the threshold, 16/17 at twice it, 0 at 0
    assert got.tolist() == pytest.approx([0.5, 16 / 17, 1 / 17, 0.0, 1 / (1 + 0.03**4)])
    assert ((got >= 0) & (got <= 1)).all()
    # an offset moves the threshold by e^offset: twice the median at offset log 2 scores 0.5
    assert rule.rewards(np.array([2 * b]), b, np.array([math.log(2)]))[0] == pytest.approx(0.5)
    steep = RewardRule(steepness=8.0).rewards(np.array([1.2 * b]), b, np.zeros(1))[0]
    assert steep > rule.rewards(np.array([1.2 * b]), b, np.zeros(1))[0] > 0.5


def test_binary_rule_without_offset_is_strictly_above_the_median():
    b = 0.05
    rates = np.array([0.0, np.nextafter(b, 0), b, np.nextafter(b, 1), 0.2])
    assert LEGACY.rewards(rates, b, np.zeros(5)).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("shape", "linear"),
        ("steepness", 0.0),
        ("steepness", math.nan),
        ("hour_band", 12),
        ("hour_band", True),
        ("hour_shrink", -1.0),
    ],
)
def test_invalid_rule_names_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        RewardRule(**{field: value})


def _learn_history(services, rows):
    """Learn posts of (hour, engagements per 1000 impressions) two days before NOW."""
    table = {}
    for hour, engagements in rows:
        (tid,) = add_posts(services, 1, posted_at=NOW - timedelta(days=2), hour=hour)
        table[tid] = metrics(engagements, 1000)
    run_learning_cycle(services, ENV, TableMetrics(table), now=NOW - timedelta(hours=12))


def test_hour_offsets_are_shrunk_band_means_of_log_deviations(services):
    # 10 evening posts at 4 % and 10 morning posts at 1 %: mean log rate = log 2 %
    _learn_history(services, [(20, 40)] * 10 + [(8, 10)] * 10)
    rule = RewardRule()
    with services.engine.connect() as conn:
        off = hour_offsets(conn, ENV, NOW, rule)
        assert hour_offsets(conn, ENV, NOW, RewardRule(hour_band=-1)).tolist() == [0.0] * 24
        assert hour_offsets(conn, ENV, NOW, RewardRule(min_history=21)).tolist() == [0.0] * 24
    # hours 18-22 see the ten evening posts: 10 * log 2 / (10 + 5 pseudo-posts)
    assert off[20] == pytest.approx(10 * math.log(2) / 15)
    assert off[22] == pytest.approx(off[20]) and off[23] == 0.0
    assert off[8] == pytest.approx(-off[20]) and off[14] == 0.0
    assert off[6] == pytest.approx(off[8]) and off[5] == 0.0


def test_hour_band_wraps_around_midnight(services):
    _learn_history(services, [(23, 40)] * 10 + [(12, 10)] * 10)
    with services.engine.connect() as conn:
        off = hour_offsets(conn, ENV, NOW, RewardRule())
    assert off[23] > 0 and off[1] == pytest.approx(off[23]) and off[2] == 0.0


@pytest.mark.parametrize("shape", ["binary", "graded"])
def test_learning_cycle_rewards_a_post_against_its_hour(services, shape):
    """Two posts with the same rate, just under the median: the one at the strong evening
    hour did worse than its hour usually does, the one in the morning better. The rule before
    issue 13 gave both 0."""
    _learn_history(services, [(20, 40)] * 10 + [(8, 10)] * 10)
    evening = add_posts(services, 1, posted_at=NOW - timedelta(hours=30), hour=20)[0]
    morning = add_posts(services, 1, posted_at=NOW - timedelta(hours=30), hour=8)[0]
    source = TableMetrics({evening: metrics(25, 1000), morning: metrics(25, 1000)})
    rule = RewardRule(shape=shape)
    report = run_learning_cycle(services, ENV, source, now=NOW, reward_rule=rule)
    with services.engine.connect() as conn:
        reward = dict(
            conn.execute(
                sa.text("select tweet_id, reward from tweets where tweet_id in (:a, :b)"),
                {"a": evening, "b": morning},
            ).all()
        )
    assert report.baseline_median == pytest.approx(0.025)  # the two middle rates: 1 %, 4 %
    assert LEGACY.rewards(np.array([0.025]), report.baseline_median, np.zeros(1))[0] == 0.0
    shift = 10 * math.log(2) / 15  # the hour offsets of the test above
    if shape == "binary":
        assert (reward[evening], reward[morning]) == (0.0, 1.0)
    else:
        assert reward[evening] == pytest.approx(1 / (1 + math.exp(shift) ** 4))
        assert reward[morning] == pytest.approx(1 / (1 + math.exp(-shift) ** 4))
        assert reward[evening] < 0.5 < reward[morning]
    assert report.total_rewards == pytest.approx(reward[evening] + reward[morning])
    # the stored rewards (fractional too) replay bit-identically
    store = BanditStore(services, ENV)
    incremental = store.state()
    store.rebuild(now=NOW)
    assert store.state() == incremental
