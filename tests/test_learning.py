"""The learning loop against real Postgres and Redis: learn-once, pending, bad metrics, audit."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import ENV, TableMetrics, add_posts, enqueue, metrics, texts

from xbot import flags
from xbot.bandit_store import BanditStore
from xbot.errors import PosterError, ValidationError
from xbot.learning import run_learning_cycle
from xbot.reward import RewardRule

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FailingMetrics:
    """The X API answering 503 to every read."""

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, dict[str, int]]:
        raise PosterError("X unreachable", status=503)


def snapshot(services):
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select id, learned_cycle_id, learning_metadata, analytics from tweets order by id"
            )
        ).all()


def test_learning_twice_changes_nothing(services):
    ids = add_posts(services, 30, posted_at=NOW - timedelta(hours=30))
    source = TableMetrics({t: metrics(10 if k % 2 else 1, 200) for k, t in enumerate(ids)})
    first = run_learning_cycle(services, ENV, source, now=NOW)
    assert first.tweets_processed == 30
    assert first.cycle_id is not None
    assert first.total_rewards == 15.0  # rate 0.05 beats the 0.03 fallback, 0.005 does not
    assert first.bandit_updates == 30 * 4  # topic, hour, format, one tag
    store = BanditStore(services, ENV)
    state, rows = store.state(), snapshot(services)
    assert state["topic"]["fps"] == {"alpha": 15.0, "beta": 15.0, "pulls": 30}

    second = run_learning_cycle(services, ENV, source, now=NOW + timedelta(minutes=15))
    assert second.tweets_processed == 0 and second.cycle_id is None
    assert second.bandit_updates == 0 and second.total_rewards == 0
    assert store.state() == state
    assert snapshot(services) == rows
    assert source.calls[1:] == []  # learned posts are not fetched again
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from learning_cycles")).scalar() == 1
        cycles = conn.execute(
            sa.text("select count(*) from audit_log where event_type = 'LEARNING_CYCLE_COMPLETE'")
        ).scalar()
    assert cycles == 2  # one audit row per cycle, even an empty one


def test_pending_posts_wait_and_are_not_failures(services):
    young = add_posts(services, 3, posted_at=NOW - timedelta(hours=2))
    quiet = add_posts(services, 2, posted_at=NOW - timedelta(hours=30))
    table = {t: metrics(1, 40) for t in quiet} | {t: metrics(12, 300) for t in young}
    source = TableMetrics(table)
    report = run_learning_cycle(services, ENV, source, now=NOW, min_impressions=100)
    assert report.pending_age == 3 and report.pending_impressions == 2
    assert report.tweets_processed == 0 and report.cycle_id is None
    fetched = {t for call in source.calls for t in call}
    assert not fetched & set(young)  # too young: not even fetched
    assert BanditStore(services, ENV).state() == {}
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text("select tweet_id, analytics, reward, learned_cycle_id from tweets")
        ).all()
    by_id = {r.tweet_id: r for r in rows}
    for t in quiet:  # analytics written, still unlearned, no reward (not a failure)
        assert by_id[t].analytics["impressions"] == 40
        assert by_id[t].reward is None and by_id[t].learned_cycle_id is None
    # a day later both groups have matured and learn once
    for t in quiet:
        table[t] = metrics(8, 160)
    later = run_learning_cycle(services, ENV, source, now=NOW + timedelta(hours=24))
    assert later.tweets_processed == 5 and later.total_rewards == 5.0


def test_a_failure_lowers_the_mean(services):
    wins = add_posts(services, 10, posted_at=NOW - timedelta(hours=30), topic="fps")
    other = add_posts(services, 10, posted_at=NOW - timedelta(hours=30), topic="rpg")
    table = {t: metrics(20 if k % 2 else 1, 200) for k, t in enumerate(wins + other)}
    source = TableMetrics(table)
    run_learning_cycle(services, ENV, source, now=NOW)
    store = BanditStore(services, ENV)
    before = {(r.family, r.arm): r for r in store.report()}
    losers = add_posts(services, 3, posted_at=NOW, topic="fps")
    for t in losers:
        table[t] = metrics(1, 500)
    report = run_learning_cycle(services, ENV, source, now=NOW + timedelta(hours=30))
    assert report.tweets_processed == 3 and report.total_rewards == 0.0
    after = {(r.family, r.arm): r for r in store.report()}
    assert after[("topic", "fps")].mean < before[("topic", "fps")].mean
    assert after[("topic", "fps")].beta - before[("topic", "fps")].beta > 2.5
    assert after[("topic", "fps")].pulls == 13


def test_bad_metrics_are_skipped_and_counted(services):
    ids = add_posts(services, 8, posted_at=NOW - timedelta(hours=30))
    table = {
        ids[0]: {**metrics(5, 200), "likes": math.nan},
        ids[1]: {**metrics(5, 200), "retweets": -1},
        ids[2]: metrics(0, 0),
        ids[3]: {**metrics(5, 200), "likes": "5"},
        ids[4]: metrics(300, 200),  # more engagements than impressions
        ids[5]: {"likes": 3},  # no impressions at all
        # ids[6] missing from the answer
        ids[7]: metrics(10, 200),
    }
    report = run_learning_cycle(services, ENV, TableMetrics(table), now=NOW)
    assert report.skipped == {
        "missing": 1,
        "invalid": 5,
        "zero_impressions": 1,
        "fetch_errors": 0,
        "budget": 0,
    }
    assert report.tweets_processed == 1 and report.total_rewards == 1.0
    assert math.isfinite(report.average_engagement)
    with services.engine.connect() as conn:
        learned = conn.execute(
            sa.text("select tweet_id from tweets where learned_cycle_id is not null")
        ).scalars()
        assert list(learned) == [ids[7]]


def test_fetch_errors_do_not_crash_and_batches_are_100(services):
    ids = add_posts(services, 250, posted_at=NOW - timedelta(hours=30))
    failed = run_learning_cycle(services, ENV, FailingMetrics(), now=NOW)
    assert failed.skipped["fetch_errors"] == 250 and failed.tweets_processed == 0
    source = TableMetrics({t: metrics(10, 200) for t in ids})
    report = run_learning_cycle(services, ENV, source, now=NOW)
    assert [len(c) for c in source.calls] == [100, 100, 50]
    assert report.tweets_processed == 250


def test_audit_row_shape_and_view(services):
    ids = add_posts(services, 4, posted_at=NOW - timedelta(hours=30), topic="moba", hour=20)
    table = {t: metrics(e, 100) for t, e in zip(ids, (1, 2, 6, 8), strict=True)}
    report = run_learning_cycle(services, ENV, TableMetrics(table), now=NOW)
    with services.engine.connect() as conn:
        row = conn.execute(
            sa.text("select component, event_data, context from audit_log where id = :i"),
            {"i": report.audit_id},
        ).one()
        view = conn.execute(sa.text("select * from vw_bandit_performance")).one()
    assert row.component == "learning" and row.context["environment"] == ENV
    data = row.event_data
    for key in ("tweets_processed", "average_engagement", "total_rewards", "bandit_updates",
                "baseline_median", "top_topics", "best_hours", "cycle_id"):  # fmt: skip
        assert key in data
    assert data["tweets_processed"] == 4 and data["total_rewards"] == 2.0
    assert data["average_engagement"] == pytest.approx((0.01 + 0.02 + 0.06 + 0.08) / 4)
    assert data["baseline_median"] == 0.03 and data["cycle_id"] == report.cycle_id
    assert data["top_topics"][0]["topic"] == "moba" and data["best_hours"][0]["hour"] == 20
    assert view.environment == ENV and view.cycles == 1 and view.tweets_processed == 4
    assert view.total_rewards == 2.0 and view.bandit_updates == 16
    assert view.avg_engagement == pytest.approx(data["average_engagement"])


def test_zero_posts_average_engagement_is_zero_not_nan(services):
    report = run_learning_cycle(services, ENV, TableMetrics({}), now=NOW)
    assert report.average_engagement == 0.0 and report.tweets_processed == 0
    with services.engine.connect() as conn:
        data = conn.execute(
            sa.text("select event_data from audit_log where id = :i"), {"i": report.audit_id}
        ).scalar_one()
        view = conn.execute(sa.text("select avg_engagement from vw_bandit_performance")).one()
    assert data["average_engagement"] == 0.0
    assert view.avg_engagement is None  # the view ignores empty cycles instead of averaging 0


def test_baseline_is_the_rolling_median(services):
    early = add_posts(services, 11, posted_at=NOW - timedelta(days=2))
    table = {t: metrics(k, 100) for k, t in enumerate(early)}  # rates 0.00 .. 0.10
    source = TableMetrics(table)
    first = run_learning_cycle(services, ENV, source, now=NOW)
    assert first.baseline_median == 0.03
    late = add_posts(services, 2, posted_at=NOW)
    table[late[0]], table[late[1]] = metrics(6, 100), metrics(4, 100)
    second = run_learning_cycle(services, ENV, source, now=NOW + timedelta(days=1, hours=1))
    assert second.baseline_median == pytest.approx(0.05)  # median of 0.00..0.10
    assert second.total_rewards == 1.0  # 0.06 beats it, 0.04 does not
    # eight days on, the early posts left the window: too little history, back to the fallback
    rule = RewardRule(min_history=3)
    assert rule.fallback == 0.03
    third = run_learning_cycle(services, ENV, source, now=NOW + timedelta(days=9), reward_rule=rule)
    assert third.baseline_median == 0.03


def test_decay_is_recorded_per_cycle_and_rebuild_matches(services):
    with services.engine.begin() as conn:
        flags.set_flag(conn, ENV, "decay", 0.9)
    table: dict[str, dict] = {}
    source = TableMetrics(table)
    for day, topic in enumerate(("fps", "rpg", "fps", "moba")):
        ids = add_posts(services, 7, posted_at=NOW + timedelta(days=day), topic=topic,
                        hour=day * 5, tags=(f"#{topic}", "Gaming"))  # fmt: skip
        for k, t in enumerate(ids):
            table[t] = metrics(3 + 2 * k, 137)
        run_learning_cycle(services, ENV, source, now=NOW + timedelta(days=day, hours=25))
    store = BanditStore(services, ENV)
    incremental = store.state()
    assert incremental["topic"]["fps"]["pulls"] == 14
    assert incremental["tag"]["gaming"]["alpha"] < 4 * 7  # decayed evidence
    result = store.rebuild(now=NOW)
    assert result["cycles"] == 4 and result["posts"] == 28
    assert store.state() == incremental  # bit-identical, decay included


def test_invalid_arguments_write_nothing(services):
    add_posts(services, 2, posted_at=NOW - timedelta(hours=30))
    before = snapshot(services)
    for kwargs in ({"min_impressions": 0}, {"min_age_hours": -1.0},
                   {"min_age_hours": math.nan}, {"now": datetime(2026, 1, 1)}):  # fmt: skip
        with pytest.raises(ValidationError):
            run_learning_cycle(services, ENV, TableMetrics({}), **{"now": NOW, **kwargs})
    with pytest.raises(ValidationError, match="environment"):
        run_learning_cycle(services, "moon", TableMetrics({}), now=NOW)
    assert snapshot(services) == before
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from audit_log")).scalar() == 0


def test_stored_json_is_what_the_per_post_rules_write(services):
    """The vectorised path stores the same JSON as the per-post rules: extra (non-public)
    fields kept, whole-number floats accepted, 0.0 rates and rewards stay floats, one bad
    value only skips its own post."""
    ids = add_posts(services, 4, posted_at=NOW - timedelta(hours=30))
    extra = {"url_link_clicks": 7, "user_profile_clicks": 2}
    table = {
        ids[0]: {**metrics(0, 500), **extra},
        ids[1]: {**metrics(30, 500), **extra},
        ids[2]: {**metrics(30, 500), "likes": 30.0},  # a whole-number float is a count
        ids[3]: {**metrics(30, 500), **extra, "url_link_clicks": True},  # a bool is not
    }
    report = run_learning_cycle(services, ENV, TableMetrics(table), now=NOW)
    assert report.tweets_processed == 3 and report.skipped["invalid"] == 1
    with services.engine.connect() as conn:
        rows = {
            r.tweet_id: r
            for r in conn.execute(
                sa.text(
                    "select tweet_id, analytics, learning_metadata, analytics::text as a_text, "
                    "learning_metadata::text as lm_text from tweets"
                )
            )
        }
    zero, good, floaty = rows[ids[0]], rows[ids[1]], rows[ids[2]]
    assert zero.analytics["url_link_clicks"] == 7 and zero.analytics["impressions"] == 500
    assert zero.analytics["performance_tier"] == "low"
    assert zero.learning_metadata["reward"] == 0.0 and '"reward": 0.0' in zero.lm_text
    assert '"engagement_rate": 0.0' in zero.a_text and '"engagement_rate": 0.0' in zero.lm_text
    assert good.learning_metadata["engagement_rate"] == 30 / 500
    assert good.learning_metadata["reward"] == 1.0 and '"reward": 1.0' in good.lm_text
    assert good.learning_metadata["propensity"] == 0.5  # the scheduler's fields are kept
    assert good.learning_metadata["reward_rule"] == {
        "window_days": 7.0, "fallback": 0.03, "min_history": 10, "shape": "binary",
        "steepness": 4.0, "hour_band": 2, "hour_shrink": 5.0,
    }  # fmt: skip
    assert good.analytics["performance_tier"] == "top" and good.analytics["quotes"] == 0
    assert floaty.analytics["likes"] == 30 and "url_link_clicks" not in floaty.analytics
    assert rows[ids[3]].analytics == {}


def _cycle_rows(services) -> list:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select (event_data ->> 'tweets_processed')::int from audit_log "
                "where event_type = 'LEARNING_CYCLE_COMPLETE' "
                "and context ->> 'environment' = :e order by id"
            ),
            {"e": ENV},
        ).scalars().all()  # fmt: skip


def test_learn_run_with_nothing_to_measure_succeeds_without_a_metrics_source(services, xbot):
    """Issue 13 §2: an empty database, then only shadow decisions (the staging dry run)."""
    out = xbot("learn", "run", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["tweets_processed"] == 0 and result["metrics_source"] == "none"
    assert _cycle_rows(services) == [0]
    enqueue(services, texts(2))
    with services.engine.begin() as conn:  # whatever the hour the test runs at
        flags.set_flag(conn, ENV, "quiet_hours", [], actor="test")
    assert xbot("schedule", "run").exit_code == 0  # default flags: a shadow decision
    with services.engine.connect() as conn:
        outcome = conn.execute(sa.text("select outcome from decisions")).scalars().all()
    assert outcome == ["shadow"]
    out = xbot("learn", "run")
    assert out.exit_code == 0, out.output
    assert "none metrics" in out.stdout and "processed 0" in out.stdout
    assert _cycle_rows(services) == [0, 0]


def test_learn_run_needs_a_source_only_when_mature_posts_wait(services, xbot):
    add_posts(services, 2, posted_at=datetime.now(UTC) - timedelta(hours=2))  # too young
    out = xbot("learn", "run", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["pending_age"] == 2
    add_posts(services, 1, posted_at=datetime.now(UTC) - timedelta(hours=30))
    before = snapshot(services)
    out = xbot("learn", "run")
    assert out.exit_code == 6, out.output
    assert "1 mature post(s) wait for metrics" in out.stderr and "X_BEARER_TOKEN" in out.stderr
    assert snapshot(services) == before and len(_cycle_rows(services)) == 1  # nothing written
    with pytest.raises(PosterError, match="no metrics source"):
        run_learning_cycle(services, ENV, None)


def test_empty_cycle_with_a_source_records_zero(services):
    report = run_learning_cycle(services, ENV, TableMetrics({}), now=NOW)
    assert report.tweets_processed == 0 and report.cycle_id is None
    assert _cycle_rows(services) == [0]
