"""The simulated world: seeded truth, deterministic metrics, reporting delay, drift."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from xbot.errors import ValidationError
from xbot.sim import FORMATS, METRIC_KEYS, TOPICS, SimWorld

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_rates_are_engagement_like_and_seeded() -> None:
    w = SimWorld(seed=3)
    r = w.rates()
    assert r.shape == (len(TOPICS), 24, len(FORMATS))
    assert r.min() > 0.001 and r.max() < 0.25
    assert 0.02 < np.median(r) < 0.05
    assert w.true_rate("gaming_rpg", 20, "question") == r[TOPICS.index("gaming_rpg"), 20, 2]
    assert np.array_equal(SimWorld(seed=3).rates(), r)
    assert not np.array_equal(SimWorld(seed=4).rates(), r)
    # evenings beat the small hours on average
    assert r[:, 18:22, :].mean() > r[:, 2:6, :].mean()


def test_metrics_are_deterministic_and_grow_with_age() -> None:
    w = SimWorld(seed=1)
    seen = []
    for hours in (0.5, 1.5, 6, 23, 24, 72):
        m = w.metrics_for("post-1", "gaming_fps", 20, "news", T0, T0 + timedelta(hours=hours))
        assert set(m) == set(METRIC_KEYS)
        assert m == w.metrics_for(
            "post-1", "gaming_fps", 20, "news", T0, T0 + timedelta(hours=hours)
        )
        seen.append(m)
    assert all(v == 0 for v in seen[0].values())  # nothing reported in the first hour
    for before, after in itertools.pairwise(seen):
        assert all(after[k] >= before[k] for k in METRIC_KEYS)
    assert seen[-2] == seen[-1]  # complete at 24 h
    assert seen[-1]["impressions"] > 0
    other = w.metrics_for("post-2", "gaming_fps", 20, "news", T0, T0 + timedelta(days=2))
    assert other != seen[-1]


def test_observed_rates_track_true_rates() -> None:
    w = SimWorld(seed=2)
    done = T0 + timedelta(days=2)
    rates = {}
    for topic in ("gaming_fps", "gaming_retro"):
        eng = imp = 0
        for i in range(400):
            m = w.metrics_for(f"{topic}-{i}", topic, 20, "tip", T0, done)
            eng += sum(m[k] for k in METRIC_KEYS if k != "impressions")
            imp += m["impressions"]
        rates[topic] = eng / imp
        assert rates[topic] == pytest.approx(w.true_rate(topic, 20, "tip"), rel=0.1)


def test_impressions_are_log_normal() -> None:
    w = SimWorld(seed=5, median_impressions=800, impressions_sigma=0.9)
    imp = np.array(
        [
            w.metrics_for(f"p{i}", "gaming_moba", 12, "news", T0, T0 + timedelta(days=1))[
                "impressions"
            ]
            for i in range(2000)
        ]
    )
    logs = np.log(imp[imp > 0])
    assert np.exp(np.median(logs)) == pytest.approx(800, rel=0.1)
    assert logs.std() == pytest.approx(0.9, rel=0.1)


def test_drift_changes_the_best_topic_halfway() -> None:
    w = SimWorld(seed=0, drift=True, horizon_days=100)
    assert w.best_topic(day=10) != w.best_topic(day=60)
    assert w.best_topic(day=49.9) == w.best_topic(day=0)
    still = SimWorld(seed=0, drift=False, horizon_days=100)
    assert still.best_topic(day=10) == still.best_topic(day=60) == w.best_topic(day=10)


def test_reported_fraction_shape() -> None:
    f = SimWorld.reported_fraction
    assert f(0.0) == f(0.99) == 0.0
    assert 0.0 < f(2.0) < f(12.0) < 1.0
    assert f(24.0) == f(100.0) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"topic": "chess"}, "topic"),
        ({"hour": 24}, "hour"),
        ({"format": "meme"}, "format"),
        ({"now": T0 - timedelta(hours=1)}, "now"),
        ({"posted_at": datetime(2026, 3, 1)}, "posted_at"),
        ({"post_key": ""}, "post_key"),
    ],
)
def test_invalid_metric_requests(kwargs: dict, field: str) -> None:
    args = {
        "post_key": "p",
        "topic": "gaming_fps",
        "hour": 3,
        "format": "news",
        "posted_at": T0,
        "now": T0 + timedelta(days=1),
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=rf"^{field}="):
        SimWorld().metrics_for(**args)


def test_invalid_world() -> None:
    with pytest.raises(ValidationError, match=r"^topics="):
        SimWorld(topics=["only_one"])
    with pytest.raises(ValidationError, match=r"^base_rate="):
        SimWorld(base_rate=0.9)
    with pytest.raises(ValidationError, match=r"^seed="):
        SimWorld(seed=-1)
