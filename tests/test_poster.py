"""XPoster over real HTTP (tweepy -> local X API server), the outbox and the poster lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import usage as usage_rows
from x_server import USER_ID, XServer

from xbot import poster as poster_mod
from xbot.errors import PosterError
from xbot.outbox import Outbox, Published, blocked_hashes, unresolved_count
from xbot.poster_state import clear_poster_state, poster_state, rate_limited_until
from xbot.services import Services
from xbot.settings import Settings, load_settings
from xbot.sim import SimWorld
from xbot.sim_poster import SimPoster, save_sim_world, saved_sim_world
from xbot.x_client import XPoster, rate_limit_reset
from xbot.x_errors import (
    AuthFailed,
    CreditsDepleted,
    DuplicateContent,
    PosterUnavailable,
    RateLimited,
)

CREDS = {
    "X_API_KEY": "ck-secret-1",
    "X_API_SECRET": "cs-secret-2",
    "X_ACCESS_TOKEN": "at-secret-3",
    "X_ACCESS_TOKEN_SECRET": "ats-secret-4",
    "X_BEARER_TOKEN": "bearer-secret-5",
}


@pytest.fixture
def xserver() -> Iterator[XServer]:
    server = XServer(hang_s=0.6).start()
    yield server
    server.stop()


@pytest.fixture
def x_settings(env_vars: dict[str, str], xserver: XServer) -> Settings:
    env = {**env_vars, **CREDS, "X_USER_ID": USER_ID, "X_API_BASE_URL": xserver.url}
    return load_settings(env, env_file="")


@pytest.fixture
def x_services(x_settings: Settings) -> Iterator[Services]:
    with Services(x_settings) as svc:
        yield svc


def make_poster(
    services: Services,
    delays: list[float] | None = None,
    settings: Settings | None = None,
    **kw: object,
) -> XPoster:
    sink = delays if delays is not None else []
    chosen = settings or services.settings
    return XPoster(chosen, services, backoff_s=0.01, timeout_s=0.3, sleep=sink.append, **kw)


# -- XPoster ------------------------------------------------------------------------------------


def test_create_post_goes_to_base_url_with_oauth1(x_services: Services, xserver: XServer) -> None:
    poster = make_poster(x_services)
    tweet_id = poster.create_post("GG everyone, new patch notes are out")
    assert xserver.texts() == ["GG everyone, new patch notes are out"]
    assert tweet_id == xserver.tweets[0]["id"]
    assert xserver.requests == [("POST", "/2/tweets", "OAuth")]
    assert poster.last_rate_headers["x-user-limit-24hour-remaining"] == 16


def test_duplicate_403_is_its_own_error_and_other_403_is_auth(
    x_services: Services, xserver: XServer
) -> None:
    poster = make_poster(x_services)
    poster.create_post("same words")
    with pytest.raises(DuplicateContent):
        poster.create_post("same words")
    xserver.script = ["403", "401"]
    with pytest.raises(AuthFailed) as forbidden:
        poster.create_post("other words")
    assert forbidden.value.status == 403 and "not permitted" in str(forbidden.value)
    with pytest.raises(AuthFailed) as unauthorized:
        poster.create_post("other words")
    assert unauthorized.value.status == 401
    assert xserver.post_attempts == 4  # nothing retried


def test_429_honours_the_later_window(x_services: Services, xserver: XServer) -> None:
    poster = make_poster(x_services)
    xserver.script = ["429", "429day"]
    with pytest.raises(RateLimited) as window:
        poster.create_post("a")
    assert window.value.reset_at == datetime.fromtimestamp(xserver.reset_epoch, UTC)
    with pytest.raises(RateLimited) as day:
        poster.create_post("a")
    assert day.value.reset_at == datetime.fromtimestamp(xserver.day_reset_epoch, UTC)
    assert day.value.headers["x-user-limit-24hour-remaining"] == 0
    assert xserver.post_attempts == 2


def test_rate_limit_reset_without_headers_waits_a_window() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert rate_limit_reset({}, now) == now + timedelta(minutes=15)
    both = {
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(now.timestamp()) + 60),
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(now.timestamp()) + 7200),
    }
    assert rate_limit_reset(both, now) == now + timedelta(hours=2)


def test_create_post_is_never_retried_by_the_client(x_services: Services, xserver: XServer) -> None:
    poster = make_poster(x_services)
    xserver.script = ["503"]
    with pytest.raises(PosterUnavailable):
        poster.create_post("a")
    xserver.script = ["hang"]
    with pytest.raises(PosterUnavailable, match="Timeout"):
        poster.create_post("b")
    assert xserver.post_attempts == 2


def test_reads_retry_with_bounded_backoff(x_services: Services, xserver: XServer) -> None:
    delays: list[float] = []
    poster = make_poster(x_services, delays)
    xserver.add_tweet("hello")
    xserver.get_script = ["503", "500"]
    assert [p.text for p in poster.recent_posts()] == ["hello"]
    assert delays == [0.01, 0.02]
    xserver.get_script = ["503", "503", "503", "503"]
    with pytest.raises(PosterUnavailable):
        poster.recent_posts()
    assert len(delays) == 4  # 3 attempts: two more sleeps, then give up
    assert xserver.get_script == ["503"]


def test_recent_posts_asks_for_the_user_id_once_and_reads_the_own_timeline_as_owner(
    services: Services, env_vars: dict[str, str], xserver: XServer
) -> None:
    settings = load_settings({**env_vars, **CREDS, "X_API_BASE_URL": xserver.url}, env_file="")
    poster = make_poster(services, settings=settings)
    for text in ("one", "two", "three"):
        xserver.add_tweet(text)
    posts = poster.recent_posts(limit=2)
    assert [p.text for p in posts] == ["three", "two"]
    assert posts[0].created_at is not None and posts[0].created_at.tzinfo is not None
    poster.recent_posts()
    paths = [(m, p, a) for m, p, a in xserver.requests]
    assert paths[0] == ("GET", "/2/users/me", "OAuth")
    # user context, not the bearer token: X bills the owner's timeline as cheaper owned reads
    assert paths[1:] == [("GET", f"/2/users/{USER_ID}/tweets", "OAuth")] * 2
    with services.engine.connect() as conn:
        ops = conn.execute(sa.text("select operation from x_api_usage order by id")).scalars()
        assert list(ops) == ["user_read", "owned_read", "owned_read"]


def test_fetch_metrics_batches_of_100_with_private_metrics(
    x_services: Services, xserver: XServer
) -> None:
    ids = [xserver.add_tweet(f"post {i}") for i in range(250)]
    xserver.timeline_limit = 0  # nothing reachable on the timeline: every read is a lookup
    xserver.metrics[ids[0]] = {"likes": 7, "retweets": 2, "impressions": 300}
    xserver.metrics[ids[0]]["private_impressions"] = 310
    xserver.metrics[ids[249]] = {"replies": 3, "bookmarks": 1, "quotes": 4, "impressions": 50}
    out = make_poster(x_services).fetch_metrics(ids)
    assert len(out) == 250
    assert out[ids[0]]["likes"] == 7 and out[ids[0]]["retweets"] == 2
    assert out[ids[0]]["impressions"] == 310  # the owner's non-public count wins
    assert out[ids[249]] == {
        "likes": 0,
        "retweets": 0,
        "replies": 3,
        "quotes": 4,
        "bookmarks": 1,
        "impressions": 50,
        "non_public_impression_count": 0,
        "non_public_url_link_clicks": 0,
        "non_public_user_profile_clicks": 0,
    }
    gets = [r for r in xserver.requests if r[1] == "/2/tweets"]
    assert len(gets) == 3 and {a for _, _, a in gets} == {"OAuth"}


def test_metrics_page_the_own_timeline_then_look_up_only_the_rest(
    x_services: Services, xserver: XServer
) -> None:
    ids = [xserver.add_tweet(f"post {i}") for i in range(250)]
    xserver.timeline_limit = 220  # X serves only the newest posts on a timeline
    xserver.metrics[ids[0]] = {"likes": 7, "impressions": 300, "private_impressions": 310}
    xserver.metrics[ids[-1]] = {"likes": 1, "impressions": 40}
    poster = make_poster(x_services)
    out = poster.fetch_metrics(ids[:100])  # the oldest batch first, as learning asks
    assert len(out) == 100 and out[ids[0]]["impressions"] == 310
    timeline = f"/2/users/{USER_ID}/tweets"
    assert xserver.calls("GET", timeline) == 3  # 100 + 100 + 20 reachable posts
    assert xserver.calls("GET", "/2/tweets") == 1  # the 30 the timeline did not reach
    rest = poster.fetch_metrics(ids[100:200]) | poster.fetch_metrics(ids[200:])
    assert len(rest) == 150 and rest[ids[-1]]["likes"] == 1
    assert xserver.calls("GET", timeline) == 3 and xserver.calls("GET", "/2/tweets") == 1
    usage = usage_rows(x_services)
    owned = [u for u in usage if u.operation == "owned_read"]
    assert sum(u.billed_resources for u in owned) == 220
    lookups = [u for u in usage if u.operation == "post_read"]
    assert [u.billed_resources for u in lookups] == [30]
    assert sum(u.cost for u in usage) == pytest.approx(220 * 0.001 + 30 * 0.005)
    # the same posts again this UTC day: served from the read log, no call, no cost
    assert poster.fetch_metrics(ids) == {**out, **rest}
    assert len(xserver.requests) == 4
    again = make_poster(x_services, reread_same_day=True).fetch_metrics(ids[-5:])
    assert len(again) == 5 and xserver.calls("GET", timeline) == 4
    assert usage_rows(x_services)[-1].billed_resources == 0  # X bills a post once a day


def test_bearer_only_reads_public_metrics(
    services: Services, env_vars: dict[str, str], xserver: XServer
) -> None:
    env = {**env_vars, "X_BEARER_TOKEN": "b", "X_USER_ID": USER_ID, "X_API_BASE_URL": xserver.url}
    poster = make_poster(services, settings=load_settings(env, env_file=""))
    tid = xserver.add_tweet("x")
    xserver.metrics[tid] = {"likes": 1, "impressions": 10}
    assert poster.fetch_metrics([tid])[tid]["impressions"] == 10
    assert xserver.requests[-1][2] == "Bearer"
    with pytest.raises(AuthFailed):
        poster.create_post("cannot post with a bearer token")
    assert xserver.post_attempts == 0


def test_402_on_a_read_pauses_every_call_until_resumed(
    x_services: Services, xserver: XServer
) -> None:
    poster = make_poster(x_services)
    tid = xserver.add_tweet("metrics please")
    xserver.get_script = ["402"]
    with pytest.raises(CreditsDepleted, match="top up"):
        poster.fetch_metrics([tid])
    assert len(xserver.requests) == 1  # the timeline read: 402 is not transient, no retry
    assert poster_state(x_services)["state"] == "credits_depleted"
    with pytest.raises(CreditsDepleted, match="no call made"):
        poster.recent_posts()
    with pytest.raises(CreditsDepleted):
        poster.create_post("while depleted")
    assert len(xserver.requests) == 1 and xserver.post_attempts == 0
    assert clear_poster_state(x_services)
    assert poster.fetch_metrics([tid])[tid]["impressions"] == 0


def test_metrics_read_repost_count_or_retweet_count_and_default_missing_to_zero(
    x_services: Services, xserver: XServer
) -> None:
    poster = make_poster(x_services)
    tid = xserver.add_tweet("reposted a lot")
    xserver.metrics[tid] = {"retweets": 5, "likes": 2, "quotes": 1, "impressions": 90}
    assert poster.fetch_metrics([tid])[tid]["retweets"] == 5  # retweet_count (docs page)
    xserver.repost_field = "repost_count"  # the OpenAPI name since August 2026
    xserver.omit_metrics = {"quote_count", "bookmark_count"}
    metrics = make_poster(x_services, reread_same_day=True).fetch_metrics([tid])[tid]
    assert (metrics["retweets"], metrics["likes"], metrics["impressions"]) == (5, 2, 90)
    assert (metrics["quotes"], metrics["bookmarks"]) == (0, 0)  # missing is 0, not an error


def test_no_credentials_is_a_clear_error(services: Services, settings: Settings) -> None:
    with pytest.raises(PosterError, match="X_API_KEY"):
        XPoster(settings, services)


def test_secrets_never_reach_the_logs(
    x_services: Services, xserver: XServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    poster = make_poster(x_services)
    poster.create_post("log me")
    xserver.get_script = ["503"]
    poster.recent_posts()
    poster.fetch_metrics([xserver.tweets[0]["id"]])
    assert caplog.records  # our retry warning at least
    for secret in CREDS.values():
        assert secret not in caplog.text


# -- the outbox ---------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def outbox(services: Services, settings: Settings, delays: list[float] | None = None) -> Outbox:
    sink = delays if delays is not None else []
    return Outbox(services, "development", make_poster(services), backoff_s=0.01, sleep=sink.append)


def claim(box: Outbox, text: str) -> int | None:
    return box.claim(
        text=text,
        candidate_id=None,
        metadata={"topic": "gaming_fps"},
        learning_metadata={},
        now=NOW,
    )


def claim_and_publish(box: Outbox, text: str) -> Published:
    """Claim ``text`` and send it at once: one publish attempt as the scheduler makes it."""
    pk = claim(box, text)
    assert pk is not None, text
    return box.publish(pk, text, now=NOW)


def rows(services: Services) -> list[sa.Row]:
    with services.engine.connect() as conn:
        return conn.execute(
            sa.text("select id, status, tweet_id, posted_at, metadata from tweets order by id")
        ).all()


def test_publish_records_the_tweet(x_services: Services, x_settings: Settings, xserver: XServer):
    box = outbox(x_services, x_settings)
    pk = claim(box, "Ranked grind tonight")
    assert pk is not None
    assert rows(x_services)[0].status == "claimed"  # committed before the HTTP call
    result = box.publish(pk, "Ranked grind tonight", now=NOW)
    assert (result.status, result.tweet_id) == ("posted", xserver.tweets[0]["id"])
    row = rows(x_services)[0]
    assert (row.status, row.tweet_id, row.posted_at) == ("posted", result.tweet_id, NOW)
    assert row.metadata["topic"] == "gaming_fps"
    assert claim(box, "Ranked  grind tonight") is None  # same normalised text: never again


def test_orphaned_claim_not_on_timeline_is_returned_and_may_be_claimed_again(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    pk = claim(box, "crashed before the call")
    assert unresolved_count(x_services, "development") == 1
    [res] = box.reconcile(now=NOW)
    assert (res.tweet_pk, res.action) == (pk, "returned")
    assert rows(x_services)[0].status == "failed" and xserver.post_attempts == 0
    assert claim(box, "crashed before the call") == pk
    assert box.publish(pk, "crashed before the call", now=NOW).status == "posted"
    assert xserver.texts() == ["crashed before the call"]


def test_orphaned_claim_found_on_timeline_is_posted_without_a_second_call(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    pk = claim(box, "crashed after the call")
    remote_id = xserver.add_tweet("crashed after the call")
    [res] = box.reconcile(now=NOW)
    assert res.action == "posted"
    row = rows(x_services)[0]
    assert (row.id, row.status, row.tweet_id) == (pk, "posted", remote_id)
    assert xserver.post_attempts == 0
    assert blocked_hashes(x_services, "development", [res.content_hash]) == {
        res.content_hash: "posted"
    }


def test_reconcile_fails_loudly_when_x_cannot_be_read(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    claim(box, "unknown fate")
    xserver.get_script = ["503"] * 3
    with pytest.raises(PosterUnavailable):
        box.reconcile(now=NOW)
    assert rows(x_services)[0].status == "in_doubt"  # still blocks posting
    assert unresolved_count(x_services, "development") == 1


def test_duplicate_403_is_final_and_reconciled(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    remote_id = xserver.add_tweet("already out there")
    result = claim_and_publish(box, "already out there")
    assert (result.status, result.tweet_id, result.reason) == (
        "posted",
        remote_id,
        "duplicate_content",
    )
    assert xserver.post_attempts == 1


def test_timeout_after_create_is_found_not_resent(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    delays: list[float] = []
    box = outbox(x_services, x_settings, delays)
    xserver.script = ["create_then_hang"]
    result = claim_and_publish(box, "slow network day")
    assert result.status == "posted" and result.tweet_id == xserver.tweets[0]["id"]
    assert xserver.post_attempts == 1 and xserver.texts() == ["slow network day"]
    assert delays == []


def test_5xx_is_retried_with_backoff_then_left_in_doubt(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    delays: list[float] = []
    box = outbox(x_services, x_settings, delays)
    xserver.script = ["503", "500"]
    assert claim_and_publish(box, "third time lucky").status == "posted"
    assert xserver.post_attempts == 3 and delays == [0.01, 0.02]
    xserver.script = ["503", "503", "503"]
    result = claim_and_publish(box, "never lucky")
    assert (result.status, result.reason) == ("in_doubt", "in_doubt")
    assert xserver.post_attempts == 6  # bounded: 3 attempts, no storm
    assert unresolved_count(x_services, "development") == 1


def test_429_records_the_window_and_fails_the_row(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    xserver.script = ["429day"]
    assert claim_and_publish(box, "too many").reason == "rate_limited"
    assert rows(x_services)[0].status == "failed"
    until = rate_limited_until(x_services, now=NOW)
    assert until == datetime.fromtimestamp(xserver.day_reset_epoch, UTC)
    assert rate_limited_until(x_services, now=until + timedelta(seconds=1)) is None
    assert xserver.post_attempts == 1


def test_auth_failure_stops_posting_with_a_reason(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    xserver.script = ["401"]
    assert claim_and_publish(box, "who am i").reason == "auth_failed"
    state = poster_state(x_services)
    assert state["state"] == "auth_failed" and "401" in state["reason"]
    assert rows(x_services)[0].status == "failed"


def test_402_on_post_fails_the_row_and_pauses_posting(
    x_services: Services, x_settings: Settings, xserver: XServer
) -> None:
    box = outbox(x_services, x_settings)
    xserver.script = ["402"]
    result = claim_and_publish(box, "out of credits")
    assert (result.status, result.reason) == ("failed", "credits_depleted")
    assert (
        rows(x_services)[0].status == "failed" and unresolved_count(x_services, "development") == 0
    )
    assert poster_state(x_services)["state"] == "credits_depleted"
    assert xserver.post_attempts == 1 and xserver.texts() == []


def test_metrics_source_is_x_with_credentials_else_the_demos_simulated_world(
    services: Services, env_vars: dict[str, str]
) -> None:
    with pytest.raises(PosterError, match="no metrics source"):
        poster_mod.metrics_source(services, services.settings, "UTC")
    start = datetime(2026, 2, 1, tzinfo=UTC)
    save_sim_world(services, 11, start, 14.0)
    source, name = poster_mod.metrics_source(services, services.settings, "UTC")
    world = saved_sim_world(services)
    assert name == "simulated" and isinstance(source, SimPoster)
    assert world is not None and world.true_rate("gaming_fps", 14, "news") == SimWorld(
        11, start=start, horizon_days=14.0
    ).true_rate("gaming_fps", 14, "news")
    with_x = load_settings({**env_vars, "X_BEARER_TOKEN": "bearer"}, env_file="")
    source, name = poster_mod.metrics_source(services, with_x, "UTC")
    assert name == "x" and isinstance(source, XPoster)
