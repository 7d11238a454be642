"""What the X API budgets allow: the spend sums and the refusal rule, without SQLAlchemy.

The gate (:mod:`xbot.x_usage`, under its Postgres lock) and ``xbot health`` (on its own psycopg
connection, which must not import SQLAlchemy) read the same :data:`SPEND_SQL` and apply the
same rule, so they can never disagree about how much of a budget is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot.flags import Flags
from xbot.x_pricing import OPERATIONS, POST_OPERATIONS, Plan

WARN_AT = 0.9  # health turns DEGRADED at 90 % of a budget

# psycopg "pyformat" parameters: works on a raw psycopg connection and through SQLAlchemy's
# exec_driver_sql alike. Calls still in flight (http_status null) count at their estimate.
SPEND_SQL = """
select
  coalesce(sum(estimated_cost_usd) filter (where ts >= %(day)s), 0)::float8 as day_spent,
  coalesce(sum(estimated_cost_usd) filter (where ts >= %(month)s), 0)::float8 as month_spent,
  coalesce(sum(estimated_cost_usd) filter (where ts >= %(day)s and purpose = 'learn'), 0)::float8
    as day_reads,
  coalesce(sum(estimated_cost_usd) filter (where ts >= %(month)s and purpose = 'learn'),
           0)::float8 as month_reads,
  count(*) filter (where ts >= %(since24)s and operation = any(%(posts)s)
                   and (http_status is null or http_status < 300)) as posts_24h,
  count(*) filter (where ts >= %(month)s and operation = any(%(writes)s)
                   and (http_status is null or http_status < 300)) as writes_month,
  coalesce(sum(case when http_status is null then resources else billed_resources end)
           filter (where ts >= %(month)s and operation = any(%(reads)s)), 0) as reads_month
from x_api_usage
where environment = %(e)s and ts >= least(%(month)s, %(since24)s) and ts <= %(now)s
"""


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def spend_params(environment: str, now: datetime) -> dict[str, Any]:
    """The parameters of :data:`SPEND_SQL` for ``environment`` at ``now`` (UTC day/month)."""
    return {
        "e": environment,
        "day": day_start(now),
        "month": month_start(now),
        "since24": now - timedelta(hours=24),
        "now": now,
        "posts": list(POST_OPERATIONS),
        "writes": [op for op, (kind, _) in OPERATIONS.items() if kind == "write"],
        "reads": [op for op, (kind, _) in OPERATIONS.items() if kind == "read"],
    }


@dataclass(frozen=True)
class Spend:
    """Estimated spend and counts of one environment at one moment (a SPEND_SQL row)."""

    day_spent: float
    month_spent: float
    day_reads: float
    month_reads: float
    posts_24h: int
    writes_month: int
    reads_month: int

    @classmethod
    def from_row(cls, row: Any) -> Spend:
        d, m, dr, mr, p, w, r = tuple(row)
        return cls(float(d), float(m), float(dr), float(mr), int(p), int(w), int(r))


def refusal(
    fl: Flags, plan: Plan, spent: Spend, operation: str, resources: int, cost: float,
    purpose: str,
) -> tuple[str, str] | None:  # fmt: skip
    """(budget name, detail) when this call may not be made, else None."""
    budgets = (("daily budget", fl.x_daily_budget_usd, spent.day_spent, spent.day_reads,
                "x_daily_budget_usd"),
               ("monthly budget", fl.x_monthly_budget_usd, spent.month_spent,
                spent.month_reads, "x_monthly_budget_usd"))  # fmt: skip
    for name, limit, used, reads, flag in budgets:
        if limit is None or cost == 0:
            continue
        if used + cost > limit + 1e-12:
            return name, f"spent ${used:.3f} + this call ${cost:.3f} > ${limit:.2f} (flag {flag})"
        if purpose == "learn" and reads + cost > fl.x_read_share * limit + 1e-12:
            return f"{name} read share", (
                f"learning reads ${reads:.3f} + ${cost:.3f} > {fl.x_read_share:.0%} of "
                f"${limit:.2f} (flags {flag}, x_read_share)"
            )
    kind = OPERATIONS[operation][0]
    counted = (
        ("posts_per_24h", operation in POST_OPERATIONS, spent.posts_24h, 1, "posts in 24 h"),
        ("writes_per_month", kind == "write", spent.writes_month, 1, "writes this month"),
        ("reads_per_month", kind == "read", spent.reads_month, resources, "reads this month"),
    )
    for cap, applies, used, more, what in counted:
        if applies and cap in plan.caps and used + more > plan.caps[cap]:
            return f"{cap} cap", f"{used} {what} + {more}, plan {plan.name} allows {plan.caps[cap]}"
    return None


def budget_warnings(fl: Flags, plan: Plan, spent: Spend) -> list[str]:
    """The sentences health prints at >= 90 % of a budget or a plan cap."""
    out = []
    for name, flag, used, limit in (
        ("daily", "x_daily_budget_usd", spent.day_spent, fl.x_daily_budget_usd),
        ("monthly", "x_monthly_budget_usd", spent.month_spent, fl.x_monthly_budget_usd),
    ):
        if limit is not None and used >= WARN_AT * limit:
            share = used / limit if limit else 1.0
            out.append(
                f"X API {name} budget {share:.0%} used (${used:.2f} of ${limit:.2f}, flag {flag})"
            )
    for cap, used in (("posts_per_24h", spent.posts_24h), ("writes_per_month", spent.writes_month),
                      ("reads_per_month", spent.reads_month)):  # fmt: skip
        limit = plan.caps.get(cap)
        if limit and used >= WARN_AT * limit:
            out.append(f"X plan {plan.name} cap {cap}: {used} of {limit} used")
    return out
