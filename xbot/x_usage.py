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
from xbot.poster_state import utc_now
from xbot.services import Services
from xbot.x_errors import BudgetExceeded
from xbot.x_pricing import OPERATIONS, POST_OPERATIONS, Plan, load_pricing

WARN_AT = 0.9  # health turns DEGRADED at 90 % of a budget
_LOCK_CLASS = 0x58415049  # "XAPI": the advisory lock's first key; the second is the environment


@dataclass(frozen=True)
class Reservation:
    """A recorded call (row ``id``) and the most it may cost."""

    id: int
    operation: str
    plan: Plan
    estimated_cost: float


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(now: datetime) -> datetime:
    return _day_start(now).replace(day=1)


_SPEND_SQL = """
select
  coalesce(sum(estimated_cost_usd) filter (where ts >= :day), 0) as day_spent,
  coalesce(sum(estimated_cost_usd) filter (where ts >= :month), 0) as month_spent,
  coalesce(sum(estimated_cost_usd) filter (where ts >= :day and purpose = 'learn'), 0)
    as day_reads,
  coalesce(sum(estimated_cost_usd) filter (where ts >= :month and purpose = 'learn'), 0)
    as month_reads,
  count(*) filter (where ts >= :since24 and operation = any(:posts)
                   and (http_status is null or http_status < 300)) as posts_24h,
  count(*) filter (where ts >= :month and operation = any(:writes)
                   and (http_status is null or http_status < 300)) as writes_month,
  coalesce(sum(case when http_status is null then resources else billed_resources end)
           filter (where ts >= :month and operation = any(:reads)), 0) as reads_month
from x_api_usage
where environment = :e and ts >= least(:month, :since24) and ts <= :now
"""


@dataclass(frozen=True)
class Spend:
    """Estimated spend and counts of one environment at one moment."""

    day_spent: float
    month_spent: float
    day_reads: float
    month_reads: float
    posts_24h: int
    writes_month: int
    reads_month: int


def spend(conn: sa.Connection, environment: str, now: datetime) -> Spend:
    """What the gate compares against the budgets (calls in flight count at their most)."""
    writes = [op for op, (kind, _) in OPERATIONS.items() if kind == "write"]
    reads = [op for op, (kind, _) in OPERATIONS.items() if kind == "read"]
    row = conn.execute(
        sa.text(_SPEND_SQL),
        {"e": environment, "day": _day_start(now), "month": _month_start(now),
         "since24": now - timedelta(hours=24), "now": now, "posts": list(POST_OPERATIONS),
         "writes": writes, "reads": reads},
    ).one()  # fmt: skip
    return Spend(
        day_spent=float(row.day_spent),
        month_spent=float(row.month_spent),
        day_reads=float(row.day_reads),
        month_reads=float(row.month_reads),
        posts_24h=int(row.posts_24h),
        writes_month=int(row.writes_month),
        reads_month=int(row.reads_month),
    )


def _refusal(
    fl: flags_mod.Flags, plan: Plan, now_spend: Spend, operation: str, resources: int,
    cost: float, purpose: str,
) -> tuple[str, str] | None:  # fmt: skip
    """(budget name, detail) when this call may not be made, else None."""
    budgets = (("daily budget", fl.x_daily_budget_usd, now_spend.day_spent, now_spend.day_reads,
                "x_daily_budget_usd"),
               ("monthly budget", fl.x_monthly_budget_usd, now_spend.month_spent,
                now_spend.month_reads, "x_monthly_budget_usd"))  # fmt: skip
    for name, limit, spent, reads, flag in budgets:
        if limit is None or cost == 0:
            continue
        if spent + cost > limit + 1e-12:
            return name, (
                f"spent ${spent:.3f} + this call ${cost:.3f} > ${limit:.2f} (flag {flag})"
            )
        if purpose == "learn" and reads + cost > fl.x_read_share * limit + 1e-12:
            return f"{name} read share", (
                f"learning reads ${reads:.3f} + ${cost:.3f} > {fl.x_read_share:.0%} of "
                f"${limit:.2f} (flags {flag}, x_read_share)"
            )
    kind = OPERATIONS[operation][0]
    caps = plan.caps
    counted = (
        ("posts_per_24h", operation in POST_OPERATIONS, now_spend.posts_24h, 1, "posts in 24 h"),
        ("writes_per_month", kind == "write", now_spend.writes_month, 1, "writes this month"),
        ("reads_per_month", kind == "read", now_spend.reads_month, resources, "reads this month"),
    )
    for cap, applies, used, more, what in counted:
        if applies and cap in caps and used + more > caps[cap]:
            return f"{cap} cap", f"{used} {what} + {more}, plan {plan.name} allows {caps[cap]}"
    return None


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
        at = utc_now(now)
        with self.services.engine.connect() as conn:
            fl = flags_mod.load_flags(conn, self.environment)
            plan = load_pricing().plan(fl.x_plan)
            cost = plan.cost(operation, resources)
            found = _refusal(fl, plan, spend(conn, self.environment, at), operation, resources,
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
        at = utc_now(now)
        with self.services.engine.begin() as conn:
            conn.execute(
                sa.text("select pg_advisory_xact_lock(:k, hashtext(:e))"),
                {"k": _LOCK_CLASS, "e": self.environment},
            )
            fl = flags_mod.load_flags(conn, self.environment)
            plan = load_pricing().plan(fl.x_plan)
            cost = plan.cost(operation, resources)
            if gate:
                refusal = _refusal(fl, plan, spend(conn, self.environment, at), operation,
                                   resources, cost, purpose)  # fmt: skip
                if refusal is not None:
                    raise BudgetExceeded(*refusal)
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
                {"e": self.environment, "d": utc_now(now).date(), "ids": list(tweet_ids)},
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
        at = utc_now(now)
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


def budget_warnings(
    month_usd: float, today_usd: float, fl: flags_mod.Flags, plan: Plan, s: Spend | None = None
) -> list[str]:
    """The sentences health prints at >= 90 % of a budget or a plan cap."""
    out = []
    for name, flag, spent, limit in (
        ("daily", "x_daily_budget_usd", today_usd, fl.x_daily_budget_usd),
        ("monthly", "x_monthly_budget_usd", month_usd, fl.x_monthly_budget_usd),
    ):
        if limit is not None and spent >= WARN_AT * limit:
            share = spent / limit if limit else 1.0
            out.append(
                f"X API {name} budget {share:.0%} used (${spent:.2f} of ${limit:.2f}, flag {flag})"
            )
    if s is not None:
        for cap, used in (("posts_per_24h", s.posts_24h), ("writes_per_month", s.writes_month),
                          ("reads_per_month", s.reads_month)):  # fmt: skip
            limit = plan.caps.get(cap)
            if limit and used >= WARN_AT * limit:
                out.append(f"X plan {plan.name} cap {cap}: {used} of {limit} used")
    return out


def budget_health(services: Services, environment: str, now: datetime | None = None) -> list[str]:
    """Health's budget lines (>= 90 % of a budget or plan cap); [] before the migration ran."""
    at = utc_now(now)
    with services.engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass('x_api_usage')")).scalar() is None:
            return []
        fl = flags_mod.load_flags(conn, environment)
        plan = load_pricing().plan(fl.x_plan)
        s = spend(conn, environment, at)
    return budget_warnings(s.month_spent, s.day_spent, fl, plan, s)


def usage_report(
    services: Services, environment: str, *, days: int = 7, now: datetime | None = None
) -> UsageReport:
    """The numbers of ``xbot x usage`` (the health notebook and daily report call this too).

    Projection: this month's spend so far, scaled linearly to the whole calendar month.
    """
    at = utc_now(now)
    since = _day_start(at) - timedelta(days=days - 1)
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
            {"e": environment, "m": _month_start(at), "now": at},
        ).scalar_one()
    elapsed = (at - _month_start(at)).total_seconds() / 86_400
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
    report.warnings = budget_warnings(s.month_spent, s.day_spent, fl, plan, s)
    return report


def usage_frame(services: Services, environment: str, *, days: int = 7) -> Any:
    """:func:`usage_report` rows as a pandas DataFrame (for the health notebook)."""
    import pandas as pd

    return pd.DataFrame(usage_report(services, environment, days=days).rows)
