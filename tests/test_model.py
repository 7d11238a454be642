"""The hierarchical model: HDIs, a tiny ADVI fit that recovers an obvious ordering, priors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from xbot.errors import ValidationError, XbotError
from xbot.model import fit_model, hdi, latest_summary, prior_from_model
from xbot.policies import FeatureBandit

ENV = "development"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RATES = {"fps": 0.06, "rpg": 0.03, "moba": 0.015}


def add_measured_posts(services, n: int, seed: int = 1) -> None:
    """Posts with analytics drawn from known topic rates (evening hours a little better)."""
    rng = np.random.default_rng(seed)
    topics = list(RATES)
    rows = []
    for i in range(n):
        topic = topics[i % 3]
        hour = int(rng.integers(24))
        rate = RATES[topic] * (1.3 if hour >= 18 else 1.0)
        imps = int(rng.integers(300, 3000))
        likes = int(rng.binomial(imps, rng.beta(rate * 300, (1 - rate) * 300)))
        rows.append({
            "k": f"m{i}", "t": str(7_000_000 + i), "p": NOW - timedelta(hours=i),
            "m": json.dumps({"topic": topic, "hour": hour, "format": "text", "tags": []}),
            "a": json.dumps({"likes": likes, "retweets": 0, "replies": 0, "quotes": 0,
                             "bookmarks": 0, "impressions": imps}),
        })  # fmt: skip
    with services.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into tweets (environment, idempotency_key, tweet_id, text, status, "
                "posted_at, metadata, analytics) values ('development', :k, :t, :k, 'posted', "
                ":p, cast(:m as jsonb), cast(:a as jsonb))"
            ),
            rows,
        )


def test_hdi_of_a_known_distribution():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, size=(40_000, 2))
    low, high = hdi(x, 0.94)
    assert low == pytest.approx([-1.88, -1.88], abs=0.05)
    assert high == pytest.approx([1.88, 1.88], abs=0.05)
    skewed = rng.exponential(1.0, size=(40_000, 1))
    low, high = hdi(skewed, 0.94)
    assert low[0] < 0.01 and high[0] == pytest.approx(-np.log(0.06), abs=0.1)


@pytest.mark.slow  # a cold PyTensor compile cache costs ~50 s on 2 shared cores
def test_fit_recovers_topic_order_and_stores_summaries(services):
    add_measured_posts(services, 300)
    summary = fit_model(services, ENV, draws=200, iterations=3000, now=NOW, seed=1)
    assert summary.n_posts == 300 and summary.method == "advi"
    effects = latest_summary(services, ENV)
    assert set(effects["level"]) == {"global", "topic", "hour", "cell"}
    topics = effects[effects["level"] == "topic"].set_index("topic")
    assert topics.loc["fps", "mean"] > topics.loc["rpg", "mean"] > topics.loc["moba", "mean"]
    for topic, rate in RATES.items():
        assert topics.loc[topic, "hdi_low"] < rate * 1.15
        assert topics.loc[topic, "hdi_high"] > rate
    assert (effects["hdi_low"] <= effects["hdi_high"]).all()
    assert len(effects[effects["level"] == "cell"]) == 3 * 24
    assert effects["posts"][effects["level"] == "topic"].sum() == 300

    prior = prior_from_model(services, ENV, baseline=0.03)
    fps, moba = prior["topic"]["fps"], prior["topic"]["moba"]
    assert fps[0] / sum(fps) > 0.5 > moba[0] / sum(moba)
    assert sum(fps) == pytest.approx(10.0)
    bandit = FeatureBandit(prior=prior, epsilon=0.0, seed=0)  # the bandit accepts it as is
    means = bandit.expectations()["topic"]
    assert means["fps"] > means["rpg"] > means["moba"]


def test_no_fit_yet_and_bad_input(services):
    assert latest_summary(services, ENV).empty
    assert prior_from_model(services, ENV, baseline=0.03) is None
    with pytest.raises(ValidationError, match="method"):
        fit_model(services, ENV, method="mcmc")
    with pytest.raises(XbotError, match="at least 20"):
        fit_model(services, ENV)
    with pytest.raises(ValidationError, match="baseline"):
        prior_from_model(services, ENV, baseline=float("nan"))
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from model_fits")).scalar() == 0


_COMPILEDIR_PROBE = """
import os, sys
from xbot.model import _configure_pytensor
before = dict(os.environ)
_configure_pytensor(sys.argv[1])
from pytensor import config
print(config.compiledir)
print(dict(os.environ) == before)
"""


@pytest.mark.parametrize("own_flags", [False, True])
def test_compile_cache_goes_under_xbot_home_without_touching_the_environment(
    tmp_path, own_flags: bool
) -> None:
    """In a fresh process (PyTensor's config is per process): $XBOT_HOME/pytensor, unless the
    operator's PYTENSOR_FLAGS names a compiledir; os.environ is left as it was."""
    env = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}
    env["PYTENSORRC"] = str(tmp_path / "no-pytensorrc")  # the developer's ~/.pytensorrc stays out
    if own_flags:
        env["PYTENSOR_FLAGS"] = f"compiledir={tmp_path / 'own'}"
    done = subprocess.run(
        [sys.executable, "-c", _COMPILEDIR_PROBE, str(tmp_path / "home")],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    compiledir, unchanged = done.stdout.split()
    expected = tmp_path / ("own" if own_flags else "home/pytensor")
    assert compiledir == str(expected.resolve()) and unchanged == "True"
