"""The demo end to end on a short run: real code paths, simulated X, re-runnable."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from xbot.services import Services


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


@pytest.mark.slow
def test_demo_with_a_daily_budget_never_spends_past_it(xbot: Any, services: Services) -> None:
    result = xbot("demo", "--days", "2", "--seed", "3", "--no-report", "--no-model",
                  "--x-daily-budget-usd", "0.05")  # fmt: skip
    assert result.exit_code == 0, result.output
    spend_line = next(x for x in result.stdout.splitlines() if "simulated X API spend" in x)
    print(spend_line)  # the number quoted in the notes (pytest -s)
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
