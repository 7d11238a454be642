"""The demo end to end on a short run: real code paths, simulated X, re-runnable."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from xbot.demo import run_demo
from xbot.errors import ValidationError
from xbot.services import Services
from xbot.settings import Settings


def _totals(stdout: str) -> tuple[int, int, int]:
    m = re.search(r"posted (\d+), shadow (\d+), skipped (\d+);", stdout.split("simulated 2")[1])
    assert m, stdout
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def test_two_day_demo_runs_the_rollout_and_is_rerunnable(
    xbot: Any, services: Services, env_vars: dict[str, str]
) -> None:
    first = xbot("demo", "--days", "2", "--seed", "3", "--no-report", "--no-model")
    assert first.exit_code == 0, first.output
    assert "day  1" in first.stdout and "day  2" in first.stdout
    assert "X is simulated" in first.stdout
    assert "xBOT Health:" in first.stdout
    assert "lift captured (simulated truth):" in first.stdout
    posted, shadow, skipped = _totals(first.stdout)
    assert posted > 0 and shadow > 0 and posted + shadow + skipped == 2 * 96
    with services.engine.connect() as conn:
        n_decisions = conn.execute(sa.text("select count(*) from decisions")).scalar_one()
        engines = dict(
            conn.execute(
                sa.text("select engine, count(*) from tweets where status = 'posted' group by 1")
            ).all()
        )
        phases = conn.execute(
            sa.text(
                "select count(*) from audit_log where event_type = 'CONFIG_CHANGED'"
                " and context ->> 'actor' = 'demo' and event_data ->> 'flag' = 'post_fraction'"
            )
        ).scalar_one()
        learned = conn.execute(
            sa.text("select count(*) from tweets where analytics ->> 'impressions' is not null")
        ).scalar_one()
    assert n_decisions == 2 * 96
    assert sum(engines.values()) == posted and set(engines) == {"v1", "v2"}
    assert phases >= 6  # reset + V1 baseline, V2 shadow, 10%, 30%, 70%, 100%
    assert learned > 0  # the learning loop read the simulated X's metrics
    second = xbot("demo", "--days", "2", "--seed", "3", "--no-report", "--no-model")
    assert second.exit_code == 0, second.output
    assert _totals(second.stdout) == (posted, shadow, skipped)
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decisions")).scalar_one() == 2 * 96


def test_demo_refuses_other_environments(xbot: Any, services: Services) -> None:
    result = xbot("demo", "--days", "1", env={"APP_ENV": "staging"})
    assert result.exit_code == 2 and "development" in result.stderr
    with services.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decisions")).scalar_one() == 0


def test_demo_refuses_a_naive_end(services: Services, settings: Settings) -> None:
    """Its zone would be a guess (the clock helper's rule); refused before the reset."""
    with pytest.raises(ValidationError, match="timezone-aware"):
        run_demo(services, settings, days=1, end=datetime(2026, 12, 1, 9))


@pytest.mark.slow
def test_demo_refits_the_model_every_simulated_night(xbot: Any, services: Services) -> None:
    result = xbot("demo", "--days", "4", "--seed", "5", "--no-report")
    assert result.exit_code == 0, result.output
    nights = [line for line in result.stdout.splitlines() if line.startswith("day ")][1:]
    assert len(nights) == 3 and all("; model " in line for line in nights)
    assert "refit on" in nights[-1]
    with services.engine.connect() as conn:
        fits = conn.execute(sa.text("select count(*) from model_fits")).scalar_one()
    assert fits == sum("refit on" in line for line in nights) >= 1


def test_lift_captured_from_the_decision_log(services: Services) -> None:
    """Issue 13 §0: sum(V2 - V1) / sum(best - V1) of true rates, only over V2's slots."""
    import json
    from datetime import UTC, datetime, timedelta

    from xbot.demo import lift_captured, simulated_lift
    from xbot.sim import SimWorld
    from xbot.sim_poster import save_sim_world

    start = datetime(2026, 1, 1, tzinfo=UTC)
    world = SimWorld(5, start=start)
    rates = world.rates()
    combos = [(t, f) for t in world.topics[:4] for f in world.formats[:2]]
    expected_num = expected_den = 0.0
    uniform: list[float] = []
    with services.engine.begin() as conn:
        for k, (t, f) in enumerate(combos):
            conn.execute(
                sa.text("insert into candidates (environment, content_hash, text, topic, format,"
                        " source) values ('development', :h, 'x', :t, :f, 'test')"),
                {"h": f"h{k}", "t": t, "f": f},
            )  # fmt: skip
        for slot in range(6):
            hour = 8 + slot
            pool = combos[slot : slot + 3]
            pick, v1 = pool[slot % 3], pool[0]
            rate = {c: rates[world.topics.index(c[0]), hour, world.formats.index(c[1])]
                    for c in pool}  # fmt: skip
            engine, outcome = ("v2", "shadow") if slot % 2 else ("v2", "posted")
            if slot == 5:
                engine = "v1"  # not a V2 slot: left out
            else:
                expected_num += rate[pick] - rate[v1]
                expected_den += max(rate.values()) - rate[v1]
                uniform.append(sum(rate.values()) / len(rate))
            context = {"v1_choice": f"h{combos.index(v1)}",
                       "eligible_pairs": {f"{t}|{f}": 1 for t, f in pool}}  # fmt: skip
            conn.execute(
                sa.text("insert into decisions (environment, ts, slot_at, engine, outcome, reason,"
                        " topic, format, hour, context) values ('development', :ts, :ts, :e, :o,"
                        " 'r', :t, :f, :h, cast(:c as jsonb))"),
                {"ts": start + timedelta(hours=hour), "e": engine, "o": outcome, "t": pick[0],
                 "f": pick[1], "h": hour, "c": json.dumps(context)},
            )  # fmt: skip
    lift = lift_captured(services, "development", world)
    assert lift.slots == 5
    assert lift.captured == pytest.approx(expected_num / expected_den)
    assert lift.uniform == pytest.approx(sum(uniform) / len(uniform))
    assert "simulated truth" in lift.line()
    early = lift_captured(services, "development", world, until=start + timedelta(hours=10))
    assert early.slots == 2
    # the explorer notebook's cell: n/a without the demo's world, the same numbers with it
    assert "n/a" in str(simulated_lift(services, "development").iloc[0, 0])
    save_sim_world(services, 5, start, 365.0)
    table = simulated_lift(services, "development")
    assert table["lift captured (simulated truth)"].iloc[0] == pytest.approx(lift.captured)


@pytest.mark.slow
def test_demo_with_a_daily_budget_never_spends_past_it(xbot: Any, services: Services) -> None:
    result = xbot("demo", "--days", "2", "--seed", "3", "--no-report", "--no-model",
                  "--x-daily-budget-usd", "0.05")  # fmt: skip
    assert result.exit_code == 0, result.output
    spend_line = next(x for x in result.stdout.splitlines() if "simulated X API spend:" in x)
    print(spend_line)  # the number quoted in the notes (pytest -s)
    assert "link-free posts" in spend_line and "cycles skipped for budget" in spend_line
    assert "simulated X API spend per UTC day (daily budget $0.05)" in result.stdout
    with services.engine.connect() as conn:
        days = conn.execute(
            sa.text(
                "select (ts at time zone 'UTC')::date, sum(estimated_cost_usd)::float8"
                " from x_api_usage where simulated group by 1"
            )
        ).all()
        budget_skips = conn.execute(
            sa.text("select count(*) from decisions where reason = 'budget'")
        ).scalar_one()
    print(days, budget_skips)
    assert days and all(spent <= 0.05 + 1e-9 for _, spent in days), days
    assert budget_skips > 0  # the budget, not the rollout, stopped some posts
