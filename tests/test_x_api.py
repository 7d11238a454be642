"""The X API as it bills in 2026: pricing file, usage ledger, budgets, images, link policy,
``xbot x usage`` and ``xbot x check`` -- against the local X server (tweepy over HTTP)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import (
    CREDS,
    ENV,
    T0,
    cycle,
    enqueue,
    poster,
    set_flags,
    store_model_fit,
    texts,
    usage,
)
from x_server import USER_ID, XServer

from xbot.candidates.prep import content_hash
from xbot.candidates.queue import Candidate, CandidateQueue
from xbot.decision_log import decision_log, policy_costs
from xbot.errors import XbotError
from xbot.health import check as health_check
from xbot.learning import run_learning_cycle
from xbot.link_policy import final_text, strip_urls
from xbot.outbox import Outbox
from xbot.policies import FeatureBandit
from xbot.safety import SafetyGuard
from xbot.scheduler import DecisionRecord, run_cycle
from xbot.services import Services
from xbot.settings import Settings, load_settings
from xbot.sim import SimWorld
from xbot.sim_poster import SimPoster
from xbot.x_errors import BudgetExceeded
from xbot.x_pricing import Plan, load_pricing
from xbot.x_usage import XUsage, daily_spend, usage_report

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# -- the price file ---------------------------------------------------------------------------


def test_price_file_has_every_rate_with_its_date_and_source() -> None:
    pricing = load_pricing()
    ppu = pricing.plan("pay_per_use")
    assert ppu.post_cost(has_url=False) == 0.015 and ppu.post_cost(has_url=True) == 0.2
    assert ppu.rates["post_read"] == 0.005 and ppu.rates["owned_read"] == 0.001
    assert pricing.plan("free").caps == {"posts_per_24h": 17, "writes_per_month": 500,
                                         "reads_per_month": 100}  # fmt: skip
    assert pricing.plan("basic").monthly_fee_usd == 200.0
    for plan in pricing.plans.values():
        assert isinstance(plan, Plan) and plan.checked.year >= 2026 and plan.source


def test_a_broken_price_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('default_plan = "a"\n[plans.a]\nchecked = 2026-12-01\nsource = "x"\n'
                   "[plans.a.rates]\npost_create = -1\n")  # fmt: skip
    with pytest.raises(XbotError, match="no rate for"):
        load_pricing(bad)


def test_x_plan_flag_must_name_a_plan_of_the_file(xbot: Any) -> None:
    result = xbot("config", "set", "x_plan", "enterprise")
    assert result.exit_code == 2 and "pay_per_use" in result.output


# -- budget gate ------------------------------------------------------------------------------


def test_every_call_is_recorded_and_a_url_post_costs_more(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    x = poster(live, live_settings)
    x.create_post("no link here")
    x.create_post("patch notes https://example.com/patch")
    rows = usage(live)
    assert [(r.endpoint, r.operation, r.http_status) for r in rows] == [
        ("POST /2/tweets", "post_create", 201),
        ("POST /2/tweets", "post_create_url", 201),
    ]
    assert [r.cost for r in rows] == [0.015, 0.2]


def test_a_cycle_over_budget_does_not_post_and_keeps_the_candidate(
    live: Services, live_settings: Settings, xserver: XServer, xbot: Any, live_env: dict
) -> None:
    enqueue(live, texts(3))
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[],
              x_daily_budget_usd=0.03)  # fmt: skip
    assert cycle(live, live_settings, T0).outcome == "posted"
    assert cycle(live, live_settings, T0 + timedelta(minutes=15)).outcome == "posted"
    third = cycle(live, live_settings, T0 + timedelta(minutes=30))
    assert (third.outcome, third.reason) == ("skipped", "budget")
    assert "daily budget" in third.context["budget"]
    assert xserver.post_attempts == 2 and CandidateQueue(live, ENV).depth() == 1
    health = health_check(live)
    assert any("daily budget 100% used" in m for m in health.degraded)
    report = usage_report(live, ENV)
    assert report.today_usd == pytest.approx(0.03) and report.daily_budget_usd == 0.03
    shown = xbot("x", "usage", "--json", env=live_env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["today_usd"] == pytest.approx(0.03)
    table = xbot("x", "usage", "--days", "2", env=live_env)
    assert "POST /2/tweets" in table.stdout and "month-end projection" in table.stdout


def test_daily_spend_shows_what_links_cost_and_the_budget_skips(
    services: Services, settings: Settings
) -> None:
    """What the demo's closing summary prints, on the simulated X: a link post and a link-free
    post, then a cycle the daily budget refuses."""
    clock = {"now": T0}
    sim = SimPoster(services, SimWorld(1, start=T0, horizon_days=2.0), lambda: clock["now"])
    enqueue(services, ["Read the patch notes at https://example.com/notes today", *texts(2)])
    set_flags(services, post_fraction=1.0, post_interval_min=15, quiet_hours=[],
              x_daily_budget_usd=0.22)  # fmt: skip
    outcomes = []
    for i in range(3):
        clock["now"] = T0 + timedelta(minutes=20 * i)
        record = run_cycle(services, replace(settings, live_posts=True), poster=sim,
                           now=clock["now"], rng=np.random.default_rng(7))  # fmt: skip
        outcomes.append(record.reason)
    assert outcomes == ["posted", "posted", "budget"]
    rows = daily_spend(services, ENV, since=T0 - timedelta(hours=1), until=T0 + timedelta(days=1))
    assert rows == [{"day": "2026-03-02", "spend_usd": pytest.approx(0.215), "link_posts": 1,
                     "link_usd": pytest.approx(0.2), "plain_posts": 1,
                     "plain_usd": pytest.approx(0.015), "other_usd": pytest.approx(0.0),
                     "budget_skips": 1}]  # fmt: skip


def test_the_simulated_x_scores_posts_with_an_image_or_a_stripped_link(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    """The demo's X finds a post's candidate through its outbox row: a candidate's hash has its
    image in it and strip changes its text, so the text's hash alone misses both."""
    clock = {"now": T0}
    sim = SimPoster(services, SimWorld(1, start=T0, horizon_days=2.0), lambda: clock["now"])
    enqueue_as_sourced(services, texts(1)[0], image(tmp_path), priority=2.0)
    enqueue(services, ["Patch 5.2 is live, all agents rebalanced: https://example.com/p52"])
    set_flags(services, post_fraction=1.0, post_interval_min=15, quiet_hours=[],
              link_policy="strip")  # fmt: skip
    for i in range(2):
        clock["now"] = T0 + timedelta(minutes=20 * i)
        record = run_cycle(services, replace(settings, live_posts=True), poster=sim,
                           now=clock["now"], rng=np.random.default_rng(7))  # fmt: skip
        assert record.outcome == "posted"
    clock["now"] = T0 + timedelta(days=1)
    with services.engine.connect() as conn:
        ids = conn.execute(sa.text("select tweet_id from tweets order by id")).scalars().all()
    assert sorted(sim.fetch_metrics(ids)) == sorted(ids)


def test_the_exact_gate_prices_the_url(live: Services, live_settings: Settings, xserver) -> None:
    enqueue(live, ["Patch notes are out: https://example.com/patch-5-2 go read"])
    set_flags(live, post_fraction=1.0, quiet_hours=[], x_monthly_budget_usd=0.1)
    record = cycle(live, live_settings, T0)
    assert (record.outcome, record.reason) == ("skipped", "budget")  # $0.20 > $0.10
    assert xserver.post_attempts == 0 and CandidateQueue(live, ENV).depth() == 1
    with live.engine.connect() as conn:
        assert conn.execute(sa.text("select status from tweets")).scalar_one() == "failed"


def test_four_schedulers_near_the_ceiling_never_overspend(
    live_env: dict[str, str], live: Services, xserver: XServer
) -> None:
    """Separate REDIS_PREFIXes: the Redis lock cannot serialise them, only Postgres can."""
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[], daily_cap=100,
              x_monthly_budget_usd=0.05)  # room for 3 posts at $0.015  # fmt: skip
    schedulers = []
    for i in range(4):
        env = {**live_env, "REDIS_PREFIX": f"{live_env['REDIS_PREFIX']}s{i}:"}
        settings = load_settings(env, env_file="")
        svc = Services(settings)
        enqueue(svc, texts(4, stem=f"Scheduler {i} says"))
        schedulers.append((svc, settings))
    records: list[DecisionRecord] = []
    try:
        for slot in range(3):
            barrier = threading.Barrier(4)

            def one(
                svc: Services,
                settings: Settings,
                when: datetime,
                barrier: threading.Barrier = barrier,
            ) -> None:
                barrier.wait()
                records.append(run_cycle(svc, settings, poster=poster(svc, settings), now=when))

            threads = [threading.Thread(target=one, args=(s, st, T0 + timedelta(minutes=15 * slot)))
                       for s, st in schedulers]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
    finally:
        for svc, _ in schedulers:
            svc.close()
    assert len(records) == 12
    assert len(xserver.texts()) == 3  # the budget's worth, not one more
    assert sum(r.cost for r in usage(live)) <= 0.05 + 1e-9
    assert sum(1 for r in records if r.reason == "budget") >= 9 - len(xserver.texts())


def test_learning_spends_only_its_share_and_says_what_it_skipped(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    ids = [xserver.add_tweet(f"old post {i}") for i in range(150)]
    with live.engine.begin() as conn:
        for i, tid in enumerate(ids):
            conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, text, status, tweet_id,"
                    " created_at, posted_at, metadata) values (:e, :k, :t, 'posted', :tid,"
                    " :at, :at, '{}'::jsonb)"
                ),
                {"e": ENV, "k": f"k{i}", "t": f"old post {i}", "tid": tid,
                 "at": T0 - timedelta(days=2)},
            )  # fmt: skip
    xserver.timeline_limit = 0  # every read is a $0.005 lookup
    # share 25% of $0.8 = $0.20: the first 100-id lookup ($0.50) already does not fit
    set_flags(live, x_monthly_budget_usd=0.8, x_read_share=0.25)
    report = run_learning_cycle(live, ENV, poster(live, live_settings), now=T0)
    assert report.skipped["budget"] == 150 and xserver.calls("GET", "/2/tweets") == 0
    set_flags(live, x_monthly_budget_usd=4.0)  # share $1.00: two lookups ($0.50 + $0.25)
    report = run_learning_cycle(live, ENV, poster(live, live_settings), now=T0)
    assert report.skipped["budget"] == 0 and xserver.calls("GET", "/2/tweets") == 2


def test_a_subscription_plan_holds_its_post_cap(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    set_flags(live, x_plan="free")
    x = poster(live, live_settings)
    xu = XUsage(live, ENV)
    now = datetime.now(UTC)
    with live.engine.begin() as conn:
        for i in range(17):
            conn.execute(
                sa.text(
                    "insert into x_api_usage (ts, environment, endpoint, operation, purpose,"
                    " plan, resources, billed_resources, http_status) values"
                    " (:ts, :e, 'POST /2/tweets', 'post_create', 'post', 'free', 1, 1, 201)"
                ),
                {"ts": now - timedelta(hours=1, minutes=i), "e": ENV},
            )
    assert "posts_per_24h cap" in (xu.refusal("post_create") or "")
    with pytest.raises(BudgetExceeded, match="allows 17"):
        x.create_post("the 18th post today")
    assert xserver.post_attempts == 0


# -- images -----------------------------------------------------------------------------------


def image(
    tmp_path: Path, alt: str = "A ranked match lobby screenshot", *, data: bytes = PNG
) -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    path = tmp_path / f"{sha[:12]}.png"
    path.write_bytes(data)
    media = {"path": str(path), "sha256": sha, "mime": "image/png",
             "bytes": len(data), "alt": alt, "source_url": "https://example.com/lobby.png"}  # fmt: skip
    return {"has_media": True, "media": media}


def enqueue_as_sourced(
    services: Services, text: str, metadata: dict[str, Any], *, priority: float = 1.0
) -> str:
    """Queue ``text`` under the hash the sources pipeline gives it (its image's sha included)."""
    media = metadata.get("media") if metadata.get("has_media") else None
    digest = content_hash(text, media["sha256"] if media else None)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    item = Candidate(content_hash=digest, db_id=None, text=text, topic="gaming_fps",
                     format="news", tags=("gaming",), source="test", priority=priority,
                     created_at=created, expires_at=created + timedelta(days=365),
                     metadata=dict(metadata))  # fmt: skip
    assert len(CandidateQueue(services, ENV).enqueue([item]).accepted) == 1
    return digest


def candidate_status(services: Services, digest: str) -> str:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select status from candidates where content_hash = :h"), {"h": digest}
        ).scalar_one()


@pytest.mark.parametrize("case", ["strip", "image"])
def test_a_reconciled_post_settles_its_own_candidate(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path, case: str
) -> None:
    """The outbox row's key is not the candidate's hash (stripped text; the image's sha), so
    reconciliation must settle the candidate the row was claimed for (tweets.candidate_id)."""
    text = "Patch 5.2 is live, all agents rebalanced: https://example.com/patch-5-2"
    policy = "strip" if case == "strip" else "keep"
    digest = enqueue_as_sourced(live, text, image(tmp_path) if case == "image" else {})
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[], link_policy=policy)
    queue = CandidateQueue(live, ENV)
    t0 = datetime.now(UTC)  # X stamps the remote post with the real time
    crashed = queue.claim(digest, now=t0)  # a cycle that died after its POST reached X
    assert crashed is not None
    posted = final_text(text, policy)
    assert content_hash(posted) != digest  # strip also drops the ':' before the link
    Outbox(live, ENV, poster(live, live_settings)).claim(
        text=posted, candidate_id=crashed.candidate.db_id, metadata={}, learning_metadata={},
        now=t0,
    )  # fmt: skip
    xserver.add_tweet(posted)
    record = cycle(live, live_settings, t0 + timedelta(minutes=10))
    assert record.context["reconciled"] == ["posted"] and record.reason == "interval"
    assert candidate_status(live, digest) == "posted" and queue.depth() == 0
    assert xserver.post_attempts == 0


def test_the_same_text_with_another_image_is_its_own_post_to_the_outbox(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    """Dedup keeps text + image A and text + image B apart; so must the outbox: B is never
    recorded as posted because A was, and A's post on the timeline never settles B's row."""
    text = texts(1)[0]
    first = enqueue_as_sourced(live, text, image(tmp_path), priority=2.0)
    other = image(tmp_path, data=PNG + b"another frame")
    second = enqueue_as_sourced(live, text, other)
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    t0 = datetime.now(UTC)
    assert cycle(live, live_settings, t0).outcome == "posted"
    queue = CandidateQueue(live, ENV)
    crashed = queue.claim(second, now=t0)  # B is claimed, then its process dies before X
    assert crashed is not None
    pk = Outbox(live, ENV, poster(live, live_settings)).claim(
        text=text, media_sha256=other["media"]["sha256"], candidate_id=crashed.candidate.db_id,
        metadata={}, learning_metadata={}, now=t0,
    )  # fmt: skip
    assert pk is not None  # its own outbox row, not A's
    nxt = cycle(live, live_settings, t0 + timedelta(minutes=20))
    assert nxt.context["reconciled"] == ["returned"]  # A's post is not taken for B's
    assert candidate_status(live, first) == "posted" and candidate_status(live, second) != "posted"
    # X itself refuses the same text again (403 duplicate): B ends rejected, never posted
    for minutes in (40, 60):
        cycle(live, live_settings, t0 + timedelta(minutes=minutes))
    assert candidate_status(live, second) == "rejected" and len(xserver.tweets) == 1
    with live.engine.connect() as conn:
        posted = conn.execute(sa.text("select count(*) from tweets where status = 'posted'"))
        assert posted.scalar_one() == 1


def test_a_post_with_an_image_goes_out_once_with_its_alt_text(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    enqueue(live, texts(1), metadata=image(tmp_path))
    set_flags(live, post_fraction=1.0, quiet_hours=[])
    record = cycle(live, live_settings, T0)
    assert record.outcome == "posted"
    [(media_id, media)] = xserver.media.items()
    assert media["bytes"] == PNG and media["alt"] == "A ranked match lobby screenshot"
    assert media["mime"] == "image/png" and media["category"] == "tweet_image"
    assert xserver.tweets[0]["attachments"] == {"media_keys": [f"3_{media_id}"]}
    assert [a for m, p, a in xserver.requests if p.startswith("/2/media")] == ["OAuth", "OAuth"]
    with live.engine.connect() as conn:
        meta = conn.execute(sa.text("select metadata from tweets")).scalar_one()
    assert meta["has_media"] is True and meta["outbox"]["media_ids"] == [media_id]
    assert cycle(live, live_settings, T0 + timedelta(hours=2)).reason == "queue_empty"
    assert len(xserver.tweets) == 1


def test_a_failed_upload_posts_nothing_and_keeps_the_candidate(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    enqueue(live, texts(1), metadata=image(tmp_path))
    set_flags(live, post_fraction=1.0, quiet_hours=[], post_interval_min=15)
    xserver.media_script = ["500"] * 3  # X's side failed: transient, the image is not at fault
    record = cycle(live, live_settings, T0)
    assert record.outcome == "skipped" and xserver.post_attempts == 0
    assert CandidateQueue(live, ENV).depth() == 1
    assert cycle(live, live_settings, T0 + timedelta(minutes=20)).outcome == "posted"
    assert len(xserver.tweets) == 1 and len(xserver.media) == 1


@pytest.mark.parametrize("where", ["upload", "post"])
def test_an_image_x_rejects_rejects_the_candidate_once(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path, where: str
) -> None:
    """A 400 on the upload, or a post X refuses for its media: X did not post, and the same
    image would fail the same way every cycle. The candidate is rejected, the next one posts."""
    digest = enqueue_as_sourced(live, texts(1)[0], image(tmp_path), priority=2.0)
    enqueue(live, texts(2)[1:])
    set_flags(live, post_fraction=1.0, quiet_hours=[], post_interval_min=15)
    if where == "upload":
        xserver.media_script = ["400"]
    else:
        xserver.script = ["400media"]
    record = cycle(live, live_settings, T0)
    assert (record.outcome, record.reason) == ("skipped", "media_rejected")
    assert candidate_status(live, digest) == "rejected" and xserver.tweets == []
    with live.engine.connect() as conn:
        row = conn.execute(sa.text("select status, metadata from tweets")).one()
    assert row.status == "failed" and row.metadata["outbox"]["reason"] == "media_rejected"
    assert "X refused the image" in row.metadata["outbox"]["error"]
    nxt = cycle(live, live_settings, T0 + timedelta(minutes=20))
    assert (nxt.outcome, nxt.text) == ("posted", texts(2)[1])  # the image is not tried again
    assert xserver.calls("POST", "/2/media/upload") == 1
    assert xserver.post_attempts == (0 if where == "upload" else 1) + 1


def test_a_post_failing_after_its_upload_is_retried_with_the_same_media_never_twice(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    enqueue(live, texts(1), metadata=image(tmp_path))
    set_flags(live, post_fraction=1.0, quiet_hours=[], post_interval_min=15)
    xserver.script = ["503", "503", "503"]  # upload fine, every post attempt fails
    first = cycle(live, live_settings, T0)
    assert (first.outcome, first.reason) == ("skipped", "in_doubt")
    assert len(xserver.media) == 1 and xserver.post_attempts == 3  # one upload, reused
    second = cycle(live, live_settings, T0 + timedelta(minutes=20))  # reconciles, posts again
    assert second.outcome == "posted"
    assert len(xserver.tweets) == 1 and len(xserver.media) == 2  # the first upload is orphaned


def test_alt_text_goes_through_the_guard(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    enqueue(
        live, texts(1), metadata=image(tmp_path, alt="free v-bucks here, DM me for cheap followers")
    )
    set_flags(live, post_fraction=1.0, quiet_hours=[])
    record = cycle(live, live_settings, T0)
    assert record.outcome == "skipped" and record.reason.startswith("safety_rejected:")
    assert xserver.post_attempts == 0 and xserver.media == {}
    assert SafetyGuard().validate(texts(1)[0]).ok  # the post alone passes: the alt text failed


def test_an_image_that_cannot_be_read_is_rejected_at_the_guard_not_retried(
    live: Services, live_settings: Settings, xserver: XServer, tmp_path: Path
) -> None:
    meta = image(tmp_path)
    digest = enqueue_as_sourced(live, texts(1)[0], meta, priority=2.0)
    enqueue(live, texts(2)[1:])
    Path(meta["media"]["path"]).unlink()  # the downloaded file is gone
    set_flags(live, post_fraction=1.0, post_interval_min=15, quiet_hours=[])
    record = cycle(live, live_settings, T0)
    assert record.context["rejected"] == [{"content_hash": digest, "codes": ["media_invalid"]}]
    assert record.outcome == "posted" and record.text == texts(2)[1]  # the next one went out
    assert candidate_status(live, digest) == "rejected" and xserver.media == {}
    later = cycle(live, live_settings, T0 + timedelta(minutes=20))
    assert later.reason == "queue_empty" and xserver.calls("POST", "/2/media/upload") == 0


# -- link policy ------------------------------------------------------------------------------


def test_strip_removes_urls_before_the_guard_dedup_and_the_post(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    text = "Patch 5.2 is live: https://example.com/patch-5-2 all agents rebalanced"
    enqueue(live, [text])
    set_flags(live, post_fraction=1.0, quiet_hours=[], link_policy="strip")
    record = cycle(live, live_settings, T0)
    assert record.outcome == "posted" and xserver.texts() == [strip_urls(text)]
    assert "https" not in xserver.texts()[0]
    assert [r.operation for r in usage(live)] == ["post_create"]  # the cheap rate
    with live.engine.connect() as conn:
        meta = conn.execute(sa.text("select metadata from tweets")).scalar_one()
    assert meta["original_text"] == text and meta["has_url"] is False


def test_avoid_prefers_link_free_candidates(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, ["Read the full patch notes at https://example.com/notes today"], priority=2.0)
    enqueue(live, texts(1))
    set_flags(live, post_fraction=1.0, quiet_hours=[], link_policy="avoid", post_interval_min=15)
    first = cycle(live, live_settings, T0)
    assert first.text == texts(1)[0]  # the higher-priority linked one waits
    second = cycle(live, live_settings, T0 + timedelta(minutes=20))
    assert second.outcome == "posted" and "https://" in second.text  # nothing else is left


def test_avoid_draws_a_link_only_when_its_expected_gain_pays_for_the_url(
    services: Services, settings: Settings
) -> None:
    """V2 under avoid: the linked RPG post is far likelier to succeed (the model fit), but at
    x_value_per_success_usd 0 no gain pays the $0.185 surcharge; at $100 a success it does."""
    set_flags(services, learning_engine_v2=True, epsilon=0.0, model_priors=True,
              link_policy="avoid")  # fmt: skip
    enqueue(services, ["Name an RPG side quest you still remember https://example.com/rpg"],
            topic="gaming_rpg", priority=2.0)  # fmt: skip
    enqueue(services, ["Which FPS map do you hate most?"], topic="gaming_fps")
    store_model_fit(services, {"gaming_fps": 0.005, "gaming_rpg": 0.09})
    avoided = cycle(services, settings, T0, never_post=True)
    assert (avoided.topic, avoided.context["link_avoided"]) == ("gaming_fps", 1)
    set_flags(services, x_value_per_success_usd=100.0)
    paid = cycle(services, settings, T0 + timedelta(minutes=5), never_post=True)
    assert (paid.topic, paid.context["link_avoided"]) == ("gaming_rpg", 0)
    assert "https://" in paid.text and paid.propensity == pytest.approx(1.0)


def test_links_left_out_of_the_draw_keep_the_epsilon_floor() -> None:
    """exploit narrows the Thompson draw only: a candidate outside it is picked by the epsilon
    branch alone, with propensity exactly epsilon / n, and the logged propensities are the
    frequencies (what OPE relies on)."""
    bandit = FeatureBandit(epsilon=0.3, seed=5)
    feats = [{"topic": t} for t in ("a", "b", "c", "d")]
    picks: Counter[int] = Counter()
    props: dict[int, list[float]] = defaultdict(list)
    n = 4000
    for _ in range(n):
        choice = bandit.choose(feats, [0, 1, 2, 3], exploit=[0, 1])
        picks[choice.index] += 1
        props[choice.index].append(choice.propensity)
    assert props[2] and props[2] + props[3] == pytest.approx([0.3 / 4] * (picks[2] + picks[3]))
    for i in range(4):
        assert picks[i] / n == pytest.approx(sum(props[i]) / len(props[i]), abs=0.03)
    with pytest.raises(XbotError, match="exploit"):
        bandit.choose(feats, [0, 1], exploit=[2])


def test_ope_prices_every_decision_and_estimates_each_policys_cost_per_post(
    services: Services, settings: Settings
) -> None:
    link = "Read the full patch notes at https://example.com/notes today"
    enqueue(services, [link], priority=2.0)
    enqueue(services, texts(1))
    for i in range(2):  # shadow decisions: never posted, still priced
        assert cycle(services, settings, T0 + timedelta(hours=2 * i)).outcome == "shadow"
    logs = decision_log(services, ENV, now=T0 + timedelta(days=1))
    assert logs["cost_usd"].tolist() == pytest.approx([0.2, 0.015])
    [logged, *_] = policy_costs(logs, n_boot=50)
    assert (logged["policy"], logged["cost_usd"]) == ("logged", pytest.approx(0.1075))
    # V2 explored a link-free post once where V1 would have posted the link: V1 costs more
    synthetic = pd.DataFrame({
        "engine": ["v2", "v2"], "propensity": [0.75, 0.25], "logged_epsilon": [0.5, 0.5],
        "n_eligible": [2.0, 2.0], "is_v1": [1.0, 0.0], "cost_usd": [0.2, 0.015],
        "action": ["link", "plain"], "reward": [np.nan, np.nan],
    })  # fmt: skip
    costs = {r["policy"]: r["cost_usd"] for r in policy_costs(synthetic, n_boot=50)}
    assert costs["V1"] == pytest.approx(0.2) and costs["logged"] == pytest.approx(0.1075)
    assert costs["epsilon 0.1"] > costs["logged"]  # less exploration, more of the link


# -- xbot x check -----------------------------------------------------------------------------


def test_x_check_passes_with_user_context(xbot: Any, live_env: dict, xserver: XServer) -> None:
    result = xbot("x", "check", env=live_env)
    assert result.exit_code == 0, result.output
    assert "live posting possible" in result.stdout and "@xbot" in result.stdout
    assert "74 of 100 left" in result.stdout and "plan pay_per_use" in result.stdout
    assert xserver.requests == [("GET", "/2/users/me", "OAuth")]


def test_x_check_says_an_app_only_bearer_cannot_post(
    xbot: Any, env_vars: dict, xserver: XServer
) -> None:
    env = {**env_vars, "X_BEARER_TOKEN": "b", "X_API_BASE_URL": xserver.url}
    result = xbot("x", "check", env=env)
    assert result.exit_code == 6 and "CANNOT POST" in result.stdout
    assert "Application-Only is forbidden" in result.stdout
    assert "app-only bearer token cannot post" in result.stdout


@pytest.mark.parametrize(
    ("step", "advice"),
    [
        ("403enroll", "not attached to a Project"),
        ("403perm", "regenerate X_ACCESS_TOKEN"),
        ("453", "plan does not include this endpoint"),
        ("401", "rejected the credentials"),
        ("402", "top up"),
    ],
)
def test_x_check_turns_refusals_into_advice(
    xbot: Any, live_env: dict, xserver: XServer, step: str, advice: str
) -> None:
    xserver.get_script = [step]
    result = xbot("x", "check", env=live_env)
    assert result.exit_code == 6 and advice in result.stdout, result.stdout
    for secret in CREDS.values():
        assert f"={secret}" not in result.output


def test_user_id_comes_from_the_settings_so_check_is_one_call(live_env: dict) -> None:
    assert load_settings(live_env, env_file="").x_user_id == USER_ID


def _posted(services: Services, xserver: XServer, n: int, young: int) -> list[str]:
    """``n`` posts on X and in ``tweets``: the newest ``young`` are too young to learn from."""
    ids = []
    with services.engine.begin() as conn:
        for i in range(n):
            tid = xserver.add_tweet(f"post {i}")
            xserver.metrics[tid] = {"likes": i % 7, "impressions": 200 + i}
            at = T0 - (timedelta(hours=2) if i >= n - young else timedelta(hours=30 + n - i))
            conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, text, status, tweet_id,"
                    " created_at, posted_at, metadata) values (:e, :k, :t, 'posted', :tid,"
                    ' :at, :at, \'{"topic": "gaming_fps"}\'::jsonb)'
                ),
                {"e": ENV, "k": f"k{i}", "t": f"post {i}", "tid": tid, "at": at},
            )
            ids.append(tid)
    return ids


@pytest.mark.parametrize("path", ["lookup (before)", "timeline (after)"])
def test_cost_of_one_learning_cycle_over_100_mature_posts(
    live: Services, live_settings: Settings, xserver: XServer, path: str
) -> None:
    """The numbers in the notes: 100 mature posts, 17 younger ones (a day of posting) on top."""
    _posted(live, xserver, 117, young=17)
    if path.startswith("lookup"):
        xserver.timeline_limit = 0  # the 2023 path: GET /2/tweets?ids= for every post
    report = run_learning_cycle(live, ENV, poster(live, live_settings), now=T0)
    assert report.analytics_updated == 100
    calls = len(xserver.requests)
    cost = sum(r.cost for r in usage(live))
    print(f"\n{path}: {calls} calls, ${cost:.3f}")
    if path.startswith("lookup"):
        # an empty timeline page ($0), then one lookup of 100 ids at $0.005
        assert (calls, cost) == (2, pytest.approx(0.50))
    else:
        assert (calls, cost) == (2, pytest.approx(0.117))  # 100 + 17 owned reads
    again = run_learning_cycle(live, ENV, poster(live, live_settings), now=T0)
    assert again.tweets_processed == 0 and len(xserver.requests) == calls  # nothing re-read
