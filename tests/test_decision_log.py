"""The decision log for OPE against real Postgres: the real scheduler's rows, and a known policy
value recovered from rows written the way the scheduler writes them."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from helpers import ENV, T0, cycle, enqueue, set_flags, texts

from xbot.decision_log import decision_log, policy_estimates


def test_scheduler_decisions_become_ope_rows(services, settings, xbot):
    enqueue(services, texts(4, "Patch notes"), topic="gaming_fps")
    enqueue(services, texts(4, "Build guide"), topic="gaming_rpg", priority=0.5)
    set_flags(services, learning_engine_v2=True, epsilon=0.3)
    for k in range(3):
        cycle(services, settings, T0 + timedelta(hours=k))
    set_flags(services, learning_engine_v2=False)
    cycle(services, settings, T0 + timedelta(hours=3))
    logs = decision_log(services, ENV, days=7, now=T0 + timedelta(hours=4))
    assert list(logs["engine"]) == ["v2", "v2", "v2", "v1"]
    assert list(logs["n_eligible"]) == [8.0, 7.0, 6.0, 5.0]  # shadowed picks leave the queue
    assert list(logs["logged_epsilon"]) == [0.3, 0.3, 0.3, 0.0]
    assert (
        (logs["propensity"] > 0.3 / logs["n_eligible"] - 1e-12) & (logs["propensity"] <= 1)
    ).all()
    assert logs["is_v1"].iloc[-1] == 1.0 and logs["propensity"].iloc[-1] == 1.0
    assert logs["reward"].isna().all()  # shadowed: never reached X, no outcome
    # how many eligible candidates shared the chosen topic (the "topic X only" target needs it)
    assert ((logs["n_eligible_topic"] >= 1) & (logs["n_eligible_topic"] <= 4)).all()
    assert decision_log(services, ENV, days=7, now=T0 - timedelta(seconds=1)).empty
    out = xbot("learn", "ope", "--json", "--days", "3650")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["with_reward"] == 0
    assert all(r["value"] is None and "0 rows" in r["note"] for r in result["estimates"])


def write_logged_decisions(services, n: int, seed: int = 3) -> dict[str, float]:
    """Decisions as the scheduler writes them (V2, epsilon 0.25, 4 eligible candidates, two per
    topic, the logged policy uniform), each posted with a learned reward drawn from the topic's
    true success rate. Returns the true values of the target policies."""
    rates = {"gaming_fps": 0.7, "gaming_rpg": 0.2}
    rng = np.random.default_rng(seed)
    flags = {"epsilon": 0.25, "learning_engine_v2": True}
    with services.engine.begin() as conn:
        for i in range(n):
            pick = int(rng.integers(4))  # uniform: propensity 1/4
            topic = "gaming_fps" if pick < 2 else "gaming_rpg"
            reward = float(rng.random() < rates[topic])
            pk = conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, tweet_id, text, status, "
                    "posted_at, metadata, learning_metadata) values (:e, :k, :t, :k, 'posted', "
                    ":p, cast(:m as jsonb), cast(:l as jsonb)) returning id"
                ),
                {"e": ENV, "k": f"h{i}", "t": str(5_000_000 + i), "p": T0 + timedelta(hours=i),
                 "m": json.dumps({"topic": topic, "hour": 15}),
                 "l": json.dumps({"reward": reward, "propensity": 0.25})},
            ).scalar_one()  # fmt: skip
            context = {"eligible": 4, "v1_choice": "h_first" if pick else f"h{i}",
                       "rejected": [], "eligible_topics": {"gaming_fps": 2, "gaming_rpg": 2},
                       "dry_run": False}  # fmt: skip
            conn.execute(
                sa.text(
                    "insert into decisions (environment, ts, slot_at, engine, outcome, reason, "
                    "content_hash, topic, hour, propensity, flags, tweet_pk, context) values "
                    "(:e, :ts, :ts, 'v2', 'posted', 'posted', :h, :topic, 15, 0.25, "
                    "cast(:f as jsonb), :pk, cast(:c as jsonb))"
                ),
                {"e": ENV, "ts": T0 + timedelta(hours=i), "h": f"h{i}", "topic": topic,
                 "f": json.dumps(flags), "pk": pk, "c": json.dumps(context)},
            )  # fmt: skip
    # V1 always took candidate 0 (an fps post)
    return {"gaming_fps": 0.7, "gaming_rpg": 0.2, "V1": 0.7, "logged": 0.45}


def test_ope_recovers_known_policy_values(services):
    truth = write_logged_decisions(services, 600)
    logs = decision_log(services, ENV, days=60, now=T0 + timedelta(days=30))
    assert len(logs) == 600 and logs["reward"].notna().all()
    assert (logs["n_eligible_topic"] == 2).all() and (logs["n_eligible"] == 4).all()
    rows = policy_estimates(logs, n_boot=300)
    by = {(r["policy"], r["method"]): r for r in rows}
    for policy, key in (("topic gaming_fps only", "gaming_fps"),
                        ("topic gaming_rpg only", "gaming_rpg"), ("V1", "V1"),
                        ("logged", "logged")):  # fmt: skip
        for method in ("snips", "ips", "dr"):
            r = by[(policy, method)]
            assert r["low"] <= truth[key] <= r["high"], (policy, method, r)
            assert r["decisions"] == 600
    # epsilon 0.1 from a uniform logger: the sampling part is uniform too, so the same 0.45
    eps = by[("epsilon 0.1", "snips")]
    assert eps["low"] <= truth["logged"] <= eps["high"]
