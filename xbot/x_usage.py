"""Every X API call recorded with its estimated cost, X's billing rules, and the budget gate.

Rules (X's own, see config/x_pricing.toml for the prices and their sources):

- writes are billed per request; reads per resource returned;
- a read of the same post on the same UTC day is billed once (``x_read_log`` remembers what
  was read today, with the metrics, so xbot does not even ask twice);
- reads of the account's own timeline are "owned reads" and cheaper.

The gate. Before a billable call :meth:`XUsage.reserve` takes a Postgres advisory lock for the
environment, sums the day's and the month's estimated spend (calls in flight count at their
most), and either inserts the call's row (the reservation) or raises :class:`BudgetExceeded`.
The check and the insert are one transaction under one lock, so any number of schedulers
(whatever Redis says) can never together pass a budget: each sees the others' reservations.
Budgets are the flags ``x_daily_budget_usd`` (UTC day) and ``x_monthly_budget_usd`` (UTC
calendar month), null = no ceiling; metrics reads for learning may use at most ``x_read_share``
of each; a subscription plan's caps (posts per 24 h, writes and reads per month) hold too.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from xbot import flags as flags_mod
from xbot.clock import as_utc
from xbot.services import Services
from xbot.x_budget import (
    SPEND_SQL,
    Spend,
    budget_warnings,
    day_start,
    month_start,
    refusal,
    spend_params,
)
from xbot.x_errors import BudgetExceeded
from xbot.x_pricing import Plan, load_pricing

_LOCK_CLASS = 0x58415049  # "XAPI": the advisory lock's first key; the second is the environment


@dataclass(frozen=True)
class Reservation:
    """A recorded call (row ``id``) and the most it may cost."""

    id: int
    operation: str
    plan: Plan
    estimated_cost: float


def spend(conn: sa.Connection, environment: str, now: datetime) -> Spend:
    """What the gate compares against the budgets (calls in flight count at their most)."""
    return Spend.from_row(conn.exec_driver_sql(SPEND_SQL, spend_params(environment, now)).one())


class XUsage:
    """The usage ledger of one environment: reserve -> call X -> settle; reads logged per day.

    ``simulated`` marks the demo's calls to the simulated X (same prices, same gate), so its
    spend shows what the real account would have cost and never mixes with real spend.
    """

    def __init__(self, services: Services, environment: str, *, simulated: bool = False) -> None:
        self.services = services
        self.environment = flags_mod.check_environment(environment)
        self.simulated = simulated

    def plan(self, conn: sa.Connection | None = None) -> Plan:
        """The plan the ``x_plan`` flag names (fresh each call)."""
        if conn is None:
            with self.services.engine.connect() as own:
                return self.plan(own)
        return load_pricing().plan(flags_mod.load_flags(conn, self.environment).x_plan)

    def refusal(
        self, operation: str, *, purpose: str = "post", resources: int = 1,
        now: datetime | None = None,
    ) -> str | None:  # fmt: skip
        """Why such a call would be refused now, else None; writes nothing (an early gate)."""
        at = as_utc(now)
        with self.services.engine.connect() as conn:
            fl = flags_mod.load_flags(conn, self.environment)
            plan = load_pricing().plan(fl.x_plan)
            cost = plan.cost(operation, resources)
            found = refusal(fl, plan, spend(conn, self.environment, at), operation, resources,
                             cost, purpose)  # fmt: skip
        return None if found is None else str(BudgetExceeded(*found))

    def reserve(
        self,
        *,
        endpoint: str,
        operation: str,
        purpose: str,
        resources: int = 1,
        now: datetime | None = None,
        gate: bool = True,
    ) -> Reservation:
        """Record a call about to be made, at the most it can cost; refuse it over a budget.

        ``gate=False`` records without checking (reconciliation reads that keep the outbox
        exactly-once, and ``xbot x check``): refusing those would cost more than they do.
        """
        at = as_utc(now)
        with self.services.engine.begin() as conn:
            conn.execute(
                sa.text("select pg_advisory_xact_lock(:k, hashtext(:e))"),
                {"k": _LOCK_CLASS, "e": self.environment},
            )
            fl = flags_mod.load_flags(conn, self.environment)
            plan = load_pricing().plan(fl.x_plan)
            cost = plan.cost(operation, resources)
            if gate:
                refused = refusal(fl, plan, spend(conn, self.environment, at), operation,
                                  resources, cost, purpose)  # fmt: skip
                if refused is not None:
                    raise BudgetExceeded(*refused)
            pk = conn.execute(
                sa.text(
                    "insert into x_api_usage (ts, environment, endpoint, operation, purpose,"
                    " plan, resources, billed_resources, estimated_cost_usd, simulated)"
                    " values (:ts, :e, :ep, :op, :pu, :pl, :r, :r, :c, :sim) returning id"
                ),
                {"ts": at, "e": self.environment, "ep": endpoint, "op": operation,
                 "pu": purpose, "pl": plan.name, "r": resources, "c": cost,
                 "sim": self.simulated},
            ).scalar_one()  # fmt: skip
        return Reservation(pk, operation, plan, cost)

    def settle(
        self,
        reservation: Reservation,
        *,
        status: int | None,
        resources: int,
        billed: int,
        operation: str | None = None,
    ) -> float:
        """Write what happened: HTTP status (None: no answer), items, billed units. Returns cost.

        A call without an answer (timeout) stays billed at its estimate: X may have done it.
        ``operation`` corrects the priced operation when the answer changes it.
        """
        op = operation or reservation.operation
        cost = reservation.plan.cost(op, billed)
        with self.services.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "update x_api_usage set http_status = :s, resources = :r,"
                    " billed_resources = :b, estimated_cost_usd = :c, operation = :op"
                    " where id = :id"
                ),
                {"s": status if status is not None else 0, "r": resources, "b": billed,
                 "c": cost, "op": op, "id": reservation.id},
            )  # fmt: skip
        return cost

    # -- reads, once per UTC day ---------------------------------------------------------------
    def read_today(self, tweet_ids: list[str], now: datetime | None = None) -> dict[str, Any]:
        """Metrics of ``tweet_ids`` already read today (UTC): reading them again is waste."""
        if not tweet_ids:
            return {}
        with self.services.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select tweet_id, metrics from x_read_log where environment = :e"
                    " and day = :d and tweet_id = any(:ids) and metrics is not null"
                ),
                {"e": self.environment, "d": as_utc(now).date(), "ids": list(tweet_ids)},
            ).all()
        return {r.tweet_id: dict(r.metrics) for r in rows}

    def log_reads(
        self,
        reads: Mapping[str, Mapping[str, Any] | None],
        *,
        owned: bool,
        now: datetime | None = None,
    ) -> int:
        """Log posts X returned today (with metrics when read); returns how many are billed.

        Only a post not yet read this UTC day is billed: X's rule, and the return value is what
        :meth:`settle` records.
        """
        if not reads:
            return 0
        at = as_utc(now)
        ids = list(reads)
        metrics = [json.dumps(dict(m)) if m is not None else None for m in reads.values()]
        with self.services.engine.begin() as conn:
            inserted = conn.execute(
                sa.text(
                    "insert into x_read_log (environment, day, tweet_id, read_at, owned, metrics)"
                    " select :e, :d, i, :at, :o, cast(m as jsonb)"
                    " from unnest(cast(:ids as text[]), cast(:m as text[])) as u(i, m)"
                    " on conflict (environment, day, tweet_id) do update"
                    " set metrics = coalesce(excluded.metrics, x_read_log.metrics),"
                    " read_at = excluded.read_at"
                    " returning (xmax = 0) as fresh"
                ),
                {"e": self.environment, "d": at.date(), "at": at, "o": owned, "ids": ids,
                 "m": metrics},
            ).scalars().all()  # fmt: skip
        return sum(1 for fresh in inserted if fresh)


# -- reporting: `xbot x usage`, health, notebooks -----------------------------------------------


@dataclass
class UsageReport:
    """Spend by day and endpoint against the budgets, and a month-end projection."""

    environment: str
    plan: str
    pricing_version: str
    now: datetime
    days: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # day, endpoint, calls, ...
    today_usd: float = 0.0
    month_usd: float = 0.0
    month_projection_usd: float = 0.0
    daily_budget_usd: float | None = None
    monthly_budget_usd: float | None = None
    simulated_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["now"] = self.now.isoformat()
        return out


def usage_report(
    services: Services, environment: str, *, days: int = 7, now: datetime | None = None
) -> UsageReport:
    """The numbers of ``xbot x usage`` (the health notebook and daily report call this too).

    Projection: this month's spend so far, scaled linearly to the whole calendar month.
    """
    at = as_utc(now)
    since = day_start(at) - timedelta(days=days - 1)
    with services.engine.connect() as conn:
        fl = flags_mod.load_flags(conn, environment)
        pricing = load_pricing()
        plan = pricing.plan(fl.x_plan)
        rows = conn.execute(
            sa.text(
                "select (ts at time zone 'UTC')::date as day, endpoint, count(*) as calls,"
                " sum(billed_resources) as billed, sum(estimated_cost_usd) as cost,"
                " count(*) filter (where http_status >= 400) as refused,"
                " bool_or(simulated) as simulated"
                " from x_api_usage where environment = :e and ts >= :since and ts <= :now"
                " group by 1, 2 order by 1, 2"
            ),
            {"e": environment, "since": since, "now": at},
        ).all()
        s = spend(conn, environment, at)
        simulated = conn.execute(
            sa.text(
                "select coalesce(sum(estimated_cost_usd), 0) from x_api_usage"
                " where environment = :e and simulated and ts >= :m and ts <= :now"
            ),
            {"e": environment, "m": month_start(at), "now": at},
        ).scalar_one()
    elapsed = (at - month_start(at)).total_seconds() / 86_400
    month_days = calendar.monthrange(at.year, at.month)[1]
    projection = s.month_spent / elapsed * month_days if elapsed > 0 else s.month_spent
    report = UsageReport(
        environment=environment,
        plan=plan.name,
        pricing_version=pricing.version,
        now=at,
        days=days,
        rows=[
            {
                "day": r.day.isoformat(),
                "endpoint": r.endpoint,
                "calls": int(r.calls),
                "billed": int(r.billed or 0),
                "cost_usd": round(float(r.cost or 0), 6),
                "refused": int(r.refused),
                "simulated": bool(r.simulated),
            }
            for r in rows
        ],
        today_usd=round(s.day_spent, 6),
        month_usd=round(s.month_spent, 6),
        month_projection_usd=round(projection + plan.monthly_fee_usd, 4),
        daily_budget_usd=fl.x_daily_budget_usd,
        monthly_budget_usd=fl.x_monthly_budget_usd,
        simulated_usd=round(float(simulated), 6),
    )
    report.warnings = budget_warnings(fl, plan, s)
    return report


def daily_spend(
    services: Services, environment: str, *, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per UTC day from ``since`` to ``until``: estimated spend, what links cost, budget skips.

    What the demo's closing summary shows (a post with a URL is priced ``post_create_url``, so
    the ledger itself tells link posts from link-free ones): ``spend_usd`` (every call),
    ``link_posts``/``link_usd`` and ``plain_posts``/``plain_usd`` (posts X accepted, and what
    every post call cost), ``other_usd`` (reads, media) and ``budget_skips`` (live cycles
    refused as ``skipped/budget``).
    """
    with services.engine.connect() as conn:
        spent = conn.execute(
            sa.text(
                "select (ts at time zone 'UTC')::date as day, sum(estimated_cost_usd) as spend,"
                " count(*) filter (where operation = 'post_create_url'"
                "   and coalesce(http_status, 0) < 400) as link_posts,"
                " coalesce(sum(estimated_cost_usd) filter"
                "   (where operation = 'post_create_url'), 0) as link_usd,"
                " count(*) filter (where operation = 'post_create'"
                "   and coalesce(http_status, 0) < 400) as plain_posts,"
                " coalesce(sum(estimated_cost_usd) filter (where operation = 'post_create'), 0)"
                "   as plain_usd"
                " from x_api_usage where environment = :e and ts >= :since and ts < :until"
                " group by 1"
            ),
            {"e": environment, "since": since, "until": until},
        ).all()
        skips = dict(
            conn.execute(
                sa.text(
                    "select (ts at time zone 'UTC')::date, count(*) from decisions"
                    " where environment = :e and reason = 'budget' and ts >= :since"
                    " and ts < :until group by 1"
                ),
                {"e": environment, "since": since, "until": until},
            ).all()
        )
    by_day = {r.day: r for r in spent}
    out = []
    for day in sorted(set(by_day) | set(skips)):
        r = by_day.get(day)
        total, link, plain = (float(r.spend), float(r.link_usd), float(r.plain_usd)) if r else (
            0.0, 0.0, 0.0)  # fmt: skip
        out.append({
            "day": day.isoformat(), "spend_usd": round(total, 6),
            "link_posts": int(r.link_posts) if r else 0, "link_usd": round(link, 6),
            "plain_posts": int(r.plain_posts) if r else 0, "plain_usd": round(plain, 6),
            "other_usd": round(total - link - plain, 6), "budget_skips": int(skips.get(day, 0)),
        })  # fmt: skip
    return out


def usage_frame(services: Services, environment: str, *, days: int = 7) -> Any:
    """:func:`usage_report` rows as a pandas DataFrame (the health notebook's X API spend)."""
    import pandas as pd

    return pd.DataFrame(usage_report(services, environment, days=days).rows)
