"""The human approval gate (flag require_approval, xbot review) against real Postgres and Redis,
posting through tweepy to the local X server."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import ENV, T0, audit_rows, cycle, enqueue, poster, set_flags, texts
from x_server import XServer

from xbot import review
from xbot.candidates.queue import CandidateQueue
from xbot.errors import ValidationError
from xbot.policies import FeatureBandit
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings

LIVE_FLAGS = {
    "post_fraction": 1.0,
    "post_interval_min": 15,
    "quiet_hours": [],
    "daily_cap": 100,
    "require_approval": True,
}


def rows(services: Services) -> dict[str, sa.Row]:
    with services.engine.connect() as conn:
        return {r.text: r for r in conn.execute(sa.text("select * from candidates order by id"))}


def ids(services: Services) -> list[int]:
    return [r.id for r in rows(services).values()]


def test_nothing_approved_posts_nothing_and_keeps_the_candidate(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(2))
    set_flags(live, **LIVE_FLAGS)
    record = cycle(live, live_settings, T0)
    assert (record.outcome, record.reason) == ("skipped", "awaiting_approval")
    assert xserver.texts() == []
    assert CandidateQueue(live, ENV).depth() == 2
    assert {r.status for r in rows(live).values()} == {"queued"}


def test_an_approved_candidate_is_posted_exactly_once(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(3))
    set_flags(live, **LIVE_FLAGS)
    second = rows(live)[texts(3)[1]]
    assert review.approve(live, ENV, [second.id], by="alice", now=T0) == [second.id]
    first = cycle(live, live_settings, T0)
    assert (first.outcome, first.text) == ("posted", texts(3)[1])  # not V1's first choice
    later = cycle(live, live_settings, T0 + timedelta(minutes=15))
    assert (later.outcome, later.reason) == ("skipped", "awaiting_approval")
    assert xserver.texts() == [texts(3)[1]]
    [row] = audit_rows(live, "CANDIDATES_APPROVED")
    assert row.event_data == {"ids": [second.id]} and row.context["actor"] == "alice"


def test_the_gate_off_posts_without_approval(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(1))
    set_flags(live, **{**LIVE_FLAGS, "require_approval": False})
    assert cycle(live, live_settings, T0).outcome == "posted"


def test_shadow_cycles_run_on_the_rest_and_keep_approvals_for_live(
    services: Services, settings: Settings
) -> None:
    enqueue(services, texts(3))
    set_flags(services, **{**LIVE_FLAGS, "post_fraction": 0.0})
    top = rows(services)[texts(3)[0]]
    review.approve(services, ENV, [top.id], by="alice", now=T0)
    shadows = [cycle(services, settings, T0 + timedelta(minutes=15 * i)) for i in range(3)]
    assert [s.outcome for s in shadows] == ["shadow", "shadow", "skipped"]
    assert {s.text for s in shadows[:2]} == set(texts(3)[1:])  # the approved one is kept
    assert rows(services)[texts(3)[0]].status == "queued"


def test_reject_removes_exactly_that_candidate(services: Services, settings: Settings) -> None:
    enqueue(services, texts(3))
    victim = rows(services)[texts(3)[0]]
    review.reject(services, ENV, [victim.id], reason="off-brand", by="bob", now=T0)
    queue = CandidateQueue(services, ENV)
    assert [c.text for c in queue.peek(10, now=T0)] == texts(3)[1:]
    after = rows(services)
    assert (after[victim.text].status, after[victim.text].review_state) == ("rejected", "rejected")
    assert after[victim.text].review_note == "off-brand"
    assert {after[t].status for t in texts(3)[1:]} == {"queued"}
    [row] = audit_rows(services, "CANDIDATES_REJECTED")
    assert row.event_data == {"ids": [victim.id], "reason": "off-brand"}
    assert row.context["actor"] == "bob"
    assert cycle(services, settings, T0).text == texts(3)[1]


def test_edit_requeues_the_new_text_after_the_guard_and_dedup(
    services: Services, settings: Settings
) -> None:
    enqueue(services, texts(2))
    old = rows(services)[texts(2)[0]]
    new_text = "Valorant patch 9.1 lands today: smoke timings and the new agent kit"
    result = review.edit(services, ENV, old.id, new_text, by="carol", now=T0)
    after = rows(services)
    assert after[old.text].status == "rejected" and after[old.text].review_state == "edited"
    fresh = after[new_text]
    assert fresh.id == result.new_id and fresh.status == "queued"
    assert fresh.review_state is None  # an edit still waits for approval unless asked
    assert fresh.topic == old.topic and fresh.metadata["edited_from"] == old.id
    queued = [c.text for c in CandidateQueue(services, ENV).peek(10, now=T0)]
    assert sorted(queued) == sorted([new_text, texts(2)[1]])
    [row] = audit_rows(services, "CANDIDATE_EDITED")
    assert row.event_data["old_text"] == old.text and row.context["actor"] == "carol"
    # a typo fix is a near duplicate of the text it replaces, and that is allowed
    fixed = new_text.replace("lands", "is out")
    again = review.edit(services, ENV, result.new_id, fixed, by="carol", now=T0)
    assert rows(services)[fixed].id == again.new_id


@pytest.mark.parametrize(
    "bad_text, why",
    [
        ("x" * 300, "safety guard"),  # too long for X: the guard refuses it
        (texts(2)[1], "already queued"),  # an exact duplicate of the other candidate
        (texts(2)[1] + "!", "near duplicate"),  # a near duplicate of it
        ("   ", "non-empty"),
    ],
)
def test_an_edit_the_guard_or_dedup_refuses_changes_nothing(
    services: Services, bad_text: str, why: str
) -> None:
    enqueue(services, texts(2))
    before = {t: (r.status, r.review_state) for t, r in rows(services).items()}
    old = rows(services)[texts(2)[0]]
    with pytest.raises(ValidationError, match=why):
        review.edit(services, ENV, old.id, bad_text, by="carol", now=T0)
    assert {t: (r.status, r.review_state) for t, r in rows(services).items()} == before
    assert CandidateQueue(services, ENV).depth() == 2  # the old one went back to the queue
    assert audit_rows(services, "CANDIDATE_EDITED") == []


def test_bad_ids_and_reasons_write_nothing(services: Services) -> None:
    enqueue(services, texts(2))
    good = ids(services)[0]
    for bad in ([], [0], [good, 999_999], [True]):
        with pytest.raises(ValidationError, match="id"):
            review.approve(services, ENV, bad, by="alice", now=T0)
    for reason in ("", "   ", "r" * 501):
        with pytest.raises(ValidationError, match="reason"):
            review.reject(services, ENV, [good], reason=reason, by="alice", now=T0)
    review.reject(services, ENV, [good], reason="spam", by="alice", now=T0)
    with pytest.raises(ValidationError, match="rejected"):  # no longer queued
        review.approve(services, ENV, [good], by="alice", now=T0)
    assert {r.review_state for r in rows(services).values()} == {"rejected", None}
    assert audit_rows(services, "CANDIDATES_APPROVED") == []


def test_approving_while_cycles_run_never_double_posts(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(12))
    set_flags(live, **LIVE_FLAGS)
    pending = ids(live)
    stop = threading.Event()

    def approver() -> None:
        with Services(live_settings) as svc:
            for pk in pending:
                if stop.is_set():
                    return
                with contextlib.suppress(ValidationError):  # posted meanwhile: not queued
                    review.approve(svc, ENV, [pk], by="alice", now=T0)

    def scheduler(offset: int) -> None:
        with Services(live_settings) as svc:
            for slot in range(12):
                when = T0 + timedelta(minutes=15 * slot, seconds=offset)
                run_cycle(svc, live_settings, poster=poster(svc, live_settings), now=when,
                          rng=np.random.default_rng(slot * 10 + offset))  # fmt: skip

    threads = [threading.Thread(target=approver)]
    threads += [threading.Thread(target=scheduler, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    posted = xserver.texts()
    assert posted and len(posted) == len(set(posted))
    state = rows(live)
    assert all(state[t].review_state == "approved" for t in posted)
    with live.engine.connect() as conn:
        tweets = conn.execute(sa.text("select count(*) from tweets")).scalar_one()
    assert tweets == len(posted)


def test_review_list_is_in_v2_order_with_verdicts(services: Services) -> None:
    enqueue(services, texts(3))
    enqueue(services, ["#a #b #c #d #e #f too many tags for the guard"], priority=0.5)
    queue = review.pending(services, ENV, now=T0)
    assert [i.rank for i in queue.items] == [1, 2, 3, 4]
    expected = [i.expected for i in queue.items]
    assert expected == sorted(expected, reverse=True)
    verdicts = {i.text: i.verdict for i in queue.items}
    assert verdicts[texts(3)[0]] == "ok"
    assert verdicts["#a #b #c #d #e #f too many tags for the guard"] != "ok"
    assert {i.state for i in queue.items} == {"pending"}


def test_predict_expectations_ranks_by_posterior_means() -> None:
    bandit = FeatureBandit(seed=1)
    good, bad = {"topic": "fps", "hour": "15"}, {"topic": "rpg", "hour": "15"}
    bandit.update_many([good] * 40 + [bad] * 40, [1.0] * 30 + [0.0] * 10 + [0.0] * 30 + [1.0] * 10)
    p_good, p_bad, p_new = bandit.predict_expectations([good, bad, {"topic": "mmo"}])
    assert p_good > p_new > p_bad
    assert p_good == bandit.predict_expectations([good])[0]  # deterministic


def test_review_cli_round_trip(xbot, services: Services) -> None:
    enqueue(services, texts(3))
    a, b, c = ids(services)
    listed = xbot("review", "list", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert {i["id"] for i in data["items"]} == {a, b, c} and data["require_approval"] is False
    assert xbot("review", "approve", str(a), "--by", "dana").exit_code == 0
    out = xbot("review", "reject", str(b), "--reason", "stale news", "--by", "dana")
    assert out.exit_code == 0 and f"rejected: {b}" in out.stdout
    edited = xbot(
        "review", "edit", str(c), "--text", "Apex ranked split two starts now", "--approve"
    )
    assert edited.exit_code == 0, edited.output
    table = xbot("review", "list")
    assert table.exit_code == 0 and "approved" in table.stdout
    bad = xbot("review", "approve", "424242")
    assert bad.exit_code == 2 and "424242" in bad.stderr
    no_reason = xbot("review", "reject", str(a))
    assert no_reason.exit_code == 2
    state = {r.id: r.review_state for r in rows(services).values()}
    assert state[a] == "approved" and state[b] == "rejected" and state[c] == "edited"
    assert sum(1 for v in state.values() if v == "approved") == 2


def test_an_unreadable_require_approval_keeps_the_gate_closed(
    live: Services, live_settings: Settings, xserver: XServer
) -> None:
    enqueue(live, texts(2))
    set_flags(live, **{**LIVE_FLAGS, "require_approval": False})
    with live.engine.begin() as conn:  # a typo in SQL: "yes" is not a boolean
        conn.execute(
            sa.text(
                "update bot_config set config_value = jsonb_set(config_value,"
                " '{require_approval}', '\"yes\"') where environment = :e"
                " and config_key = 'learning_config'"
            ),
            {"e": ENV},
        )
    record = cycle(live, live_settings, T0)
    assert (record.outcome, record.reason) == ("skipped", "awaiting_approval")
    assert xserver.texts() == []
