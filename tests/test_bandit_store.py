"""BanditStore against real Redis and Postgres: idempotent apply, crash recovery, report, CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import ENV, TableMetrics, add_posts, metrics

from xbot import flags
from xbot.bandit_store import BanditStore
from xbot.errors import ValidationError
from xbot.features import FAMILIES, ArmUpdate, aggregate, arms_of
from xbot.learning import run_learning_cycle
from xbot.policies import FeatureBandit
from xbot.sim_poster import save_sim_world

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def learn_day(services, day: int, topic: str, n: int = 6) -> None:
    ids = add_posts(services, n, posted_at=NOW + timedelta(days=day), topic=topic, hour=day)
    table = {t: metrics(2 + 3 * k, 150) for k, t in enumerate(ids)}
    run_learning_cycle(services, ENV, TableMetrics(table), now=NOW + timedelta(days=day, hours=30))


def dump(services) -> dict[str, bytes]:
    """Raw Redis copy of the bandit keys (what a crash would leave behind)."""
    raw = services.redis
    keys = list(raw.scan_iter(match=services.keys.prefix + "bandit*", count=500))
    return {k: raw.dump(k) for k in keys}


def restore(services, saved: dict[str, bytes]) -> None:
    raw = services.redis
    keys = list(raw.scan_iter(match=services.keys.prefix + "bandit*", count=500))
    if keys:
        raw.delete(*keys)
    for k, v in saved.items():
        raw.restore(k, 0, v)


def test_arms_of_normalises_arm_names():
    meta = {"topic": " fps ", "hour": 7, "format": "thread", "tags": ["#FPS", "fps", "Esports", 3]}
    assert arms_of(meta) == {
        "topic": ["fps"], "hour": ["7"], "format": ["thread"], "tag": ["esports", "fps"],
    }  # fmt: skip
    assert arms_of({"hour": True, "topic": "", "tags": "x"}) == {}
    updates = aggregate([(meta, 1.0), ({"topic": "fps"}, 0.0)])
    assert updates[("topic", "fps")] == ArmUpdate(1.0, 1.0, 2)


def test_crash_between_postgres_and_redis_is_healed_once(services):
    learn_day(services, 0, "fps")
    store = BanditStore(services, ENV)
    after_first = dump(services)
    learn_day(services, 1, "rpg")
    expected = store.state()
    restore(services, after_first)  # Redis lost cycle 2: Postgres committed, Redis did not
    assert store.state() != expected
    assert store.sync() == 1
    assert store.state() == expected
    assert store.sync() == 0  # applying again changes nothing
    assert store.state() == expected


def test_apply_is_idempotent_and_validates(services):
    learn_day(services, 0, "fps")
    store = BanditStore(services, ENV)
    with services.engine.connect() as conn:
        cycle = conn.execute(sa.text("select id, decay from learning_cycles")).one()
    before = store.state()
    updates = {("topic", "fps"): ArmUpdate(1.0, 0.0, 1)}
    assert store.apply(updates, decay=1.0, cycle_id=cycle.id) is False  # already applied
    assert store.state() == before
    for bad, match in (
        ({("colour", "red"): ArmUpdate(1.0, 0.0, 1)}, "family"),
        ({("topic", "fps"): ArmUpdate(float("nan"), 0.0, 1)}, "successes"),
        ({("topic", "fps"): ArmUpdate(1.0, -1.0, 1)}, "failures"),
    ):
        with pytest.raises(ValidationError, match=match):
            store.apply(bad, decay=1.0, cycle_id=cycle.id + 1)
    with pytest.raises(ValidationError, match="decay"):
        store.apply(updates, decay=0.0, cycle_id=cycle.id + 1)
    assert store.state() == before and store.last_applied_cycle() == cycle.id


def test_lost_or_foreign_redis_state_is_rebuilt(services):
    learn_day(services, 0, "fps")
    learn_day(services, 1, "moba")
    store = BanditStore(services, ENV)
    expected = store.state()
    restore(services, {})  # Redis flushed
    assert store.arm_count() == 0
    bandit = store.load(epsilon=0.1, decay=1.0, seed=3)  # load syncs first
    assert bandit.state() == {**{f: {} for f in FAMILIES}, **expected}
    services.redis.set(services.keys.bandit_cycle(), "999999")  # another database's marker
    store.sync()
    assert store.state() == expected and store.arm_count() == sum(map(len, expected.values()))


def test_report_matches_the_policy(services):
    learn_day(services, 0, "fps")
    learn_day(services, 1, "rpg")
    store = BanditStore(services, ENV)
    rows = store.report()
    policy = FeatureBandit.from_state(store.state(), epsilon=0.0)
    means = policy.expectations()
    intervals = policy.credible_interval(0.94)
    assert {(r.family, r.arm) for r in rows} == {(f, a) for f in means for a in means[f]}
    for r in rows:
        assert r.mean == pytest.approx(means[r.family][r.arm])
        assert (r.ci_low, r.ci_high) == pytest.approx(intervals[r.family][r.arm])
        assert r.ci_low < r.mean < r.ci_high
    fps = next(r for r in rows if (r.family, r.arm) == ("topic", "fps"))
    assert fps.pulls == 6
    fixed = store.report(prior=(1.0, 1.0))
    fps1 = next(r for r in fixed if (r.family, r.arm) == ("topic", "fps"))
    ev = store.state()["topic"]["fps"]
    assert (fps1.alpha, fps1.beta) == (1.0 + ev["alpha"], 1.0 + ev["beta"])


def test_cli_run_rebuild_report(services, xbot):
    learn_day(services, 0, "fps")
    store = BanditStore(services, ENV)
    state = store.state()
    out = xbot("learn", "rebuild", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["cycles"] == 1
    assert store.state() == state
    out = xbot("bandit", "report", "--json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert {"family", "arm", "alpha", "beta", "mean", "ci_low", "ci_high", "pulls"} <= set(rows[0])
    add_posts(services, 1, posted_at=datetime.now(UTC) - timedelta(hours=30))  # now waiting
    out = xbot("learn", "run", "--json")  # no X credentials and no simulated world: refused
    assert out.exit_code == 6 and "no metrics source" in out.stderr, out.output
    assert "1 mature post" in out.stderr
    save_sim_world(services, 0, datetime(2026, 1, 1, tzinfo=UTC), 14.0)  # as `xbot demo` does
    out = xbot("learn", "run", "--json")  # no X credentials: the demo's simulated X answers
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["metrics_source"] == "simulated" and result["tweets_processed"] == 0
    assert store.state() == state
    out = xbot("learn", "fit-model", "--method", "gibbs")
    assert out.exit_code == 2 and "gibbs" in out.output


def flip_days(services, days: range, flip_at: int) -> list:
    """Each day 20 "fps" and 20 "rpg" posts, interleaved; fps far above the median before
    ``flip_at`` and far below it after (rpg the other way round). Returns the cycle reports."""
    reports = []
    table: dict[str, dict] = {}
    for day in days:
        good = "fps" if day < flip_at else "rpg"
        for _ in range(20):
            for topic in ("fps", "rpg"):
                (tid,) = add_posts(services, 1, posted_at=NOW + timedelta(days=day), topic=topic,
                                   hour=14, tags=("gaming",))  # fmt: skip
                table[tid] = metrics(30 if topic == good else 1, 150)
        reports.append(run_learning_cycle(services, ENV, TableMetrics(table),
                                          now=NOW + timedelta(days=day, hours=30)))  # fmt: skip
    return reports


def test_drift_check_restarts_in_the_live_engine_and_replays(services):
    """With the flag on, the cycle after the flip restarts the topic family; the restart is
    recorded with the cycle, and sync (Lua) and rebuild (Python) replay it to the same bits."""
    with services.engine.begin() as conn:
        flags.set_flag(conn, ENV, "drift_check", 8.0)
    store = BanditStore(services, ENV)
    reports = flip_days(services, range(8), flip_at=6)
    before_flip = dump(services)
    reports += flip_days(services, range(8, 9), flip_at=6)
    assert all(r.drift_restarts == {} for r in reports[:6])  # stationary: no alarm
    restarted = [r for r in reports if r.drift_restarts]
    assert restarted and set(restarted[0].drift_restarts) == {"topic"}
    # hour 14, format text and tag gaming see 50 % successes before and after: untouched
    state = store.state()
    assert state["topic"]["fps"]["pulls"] == 180
    assert state["topic"]["fps"]["alpha"] + state["topic"]["fps"]["beta"] < 60
    assert state["hour"]["14"]["alpha"] + state["hour"]["14"]["beta"] == 360
    means = FeatureBandit.from_state(state).expectations()["topic"]
    assert means["rpg"] > means["fps"]  # the flip is followed at once
    with services.engine.connect() as conn:
        drift = conn.execute(
            sa.text("select drift from learning_cycles where id = :c"),
            {"c": restarted[0].cycle_id},
        ).scalar_one()
    assert drift["threshold"] == 8.0 and set(drift["restarts"]) == {"topic"}
    assert drift["restarts"]["topic"]["keep"] == 0.02
    # Lua replay: Redis lost the restart cycles (crash after the Postgres commit)
    restore(services, before_flip)
    assert store.state() != state
    assert store.sync() >= 1
    assert store.state() == state
    # Python replay
    store.rebuild(now=NOW)
    assert store.state() == state
    # learn-once: a second run teaches nothing and restarts nothing
    again = run_learning_cycle(services, ENV, TableMetrics({}), now=NOW + timedelta(days=9))
    assert again.cycle_id is None and store.state() == state


def test_drift_check_off_records_nothing(services):
    store = BanditStore(services, ENV)
    reports = flip_days(services, range(8), flip_at=6)
    assert all(r.drift_restarts == {} for r in reports)
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(drift) from learning_cycles")).scalar() == 0
    means = FeatureBandit.from_state(store.state()).expectations()["topic"]
    assert means["fps"] > means["rpg"]  # 120 good days outweigh 40 bad ones
