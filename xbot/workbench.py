"""What the notebooks call: one function per runbook step or question, returning plain data.

A notebook cell is one call here plus a table or a chart. A step that cannot run here (turned
off by a parameter, no metrics source, no model fit or no rewarded decisions yet) returns
:class:`Unavailable`, which renders as a clear note instead of a traceback.

Notebooks open their context with :func:`start`; settings come from the kernel's environment
(the report runner sets it) and are never displayed.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from xbot import charts, model, review, views
from xbot import health as health_mod
from xbot.bandit_store import BanditStore
from xbot.candidates import pipeline
from xbot.candidates.queue import CandidateQueue
from xbot.clock import as_utc
from xbot.errors import ValidationError, XbotError
from xbot.learning import run_learning_cycle
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings, load_settings


@dataclass(frozen=True)
class Unavailable:
    """A step that could not run here, and why. Renders as a note in notebooks and reports."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} is not available yet: {self.reason}"

    def _repr_html_(self) -> str:
        return f'<div class="xbot-note"><b>{html.escape(self.what)}</b>: not available yet ({html.escape(self.reason)})</div>'

    def _repr_markdown_(self) -> str:
        return f"> **{self.what}**: not available yet ({self.reason})"


def _frame(rows: Any) -> pd.DataFrame:
    """Dataclass rows (or dicts) -> DataFrame."""
    rows = list(rows)
    if rows and dataclasses.is_dataclass(rows[0]):
        rows = [dataclasses.asdict(r) for r in rows]
    return pd.DataFrame(rows)


@dataclass
class Context:
    """One notebook run: its environment, its clock and its connections."""

    settings: Settings
    services: Services
    environment: str
    now: datetime
    window: timedelta

    @property
    def since(self) -> datetime:
        return self.now - self.window

    def describe(self) -> pd.DataFrame:
        """What this report covers (never the settings themselves: they hold secrets)."""
        return pd.DataFrame(
            [
                ("environment", self.environment),
                ("window", f"{self.since:%Y-%m-%d %H:%M} → {self.now:%Y-%m-%d %H:%M} UTC"),
                ("live posting enabled", self.settings.live_posts),
                ("database", "embedded" if self.settings.embedded_db else "external"),
                ("redis", "embedded" if self.settings.embedded_redis else "external"),
            ],
            columns=["", "value"],
        ).set_index("")


def report_clock(run_date: str, now: datetime | None = None) -> datetime:
    """The instant a report is "as of": now for today (or ""), else the end of ``run_date``."""
    current = as_utc(now)
    if not run_date:
        return current
    try:
        day = date.fromisoformat(run_date)
    except ValueError:
        raise ValidationError("run_date", run_date, "a date as YYYY-MM-DD, or empty") from None
    if day >= current.date():
        return current
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def start(environment: str = "", run_date: str = "", window_hours: float = 24) -> Context:
    """Open a notebook's context: settings from the kernel environment, the offline renderer.

    ``environment`` must match APP_ENV: the Redis prefix and the database rows follow APP_ENV,
    so reading another environment's flags with this one's queue would mix the two.
    """
    charts.setup()
    settings = load_settings()
    if environment and environment != settings.environment:
        raise ValidationError(
            "environment", environment, f"the kernel's APP_ENV ({settings.environment})"
        )
    if not window_hours > 0:
        raise ValidationError("window_hours", window_hours, "a number of hours > 0")
    return Context(
        settings=settings,
        services=Services(settings),
        environment=settings.environment,
        now=report_clock(run_date),
        window=timedelta(hours=window_hours),
    )


# -- health -----------------------------------------------------------------------------------


def health(ctx: Context) -> Any:
    """The runbook's one-line health check (a HealthReport, displayed as its line)."""
    return health_mod.check(ctx.services, ctx.settings, environment=ctx.environment)


def health_table(report: Any) -> pd.DataFrame | Unavailable:
    """The health report's fields as a one-column table."""
    if isinstance(report, Unavailable):
        return report
    data = report.to_dict()
    data["messages"] = "; ".join(data.get("messages") or []) or "none"
    data.pop("line", None)
    return pd.DataFrame({"value": {k: str(v) for k, v in data.items()}})


def flags(ctx: Context) -> pd.DataFrame:
    """The environment's flags as the scheduler will read them this cycle."""
    from xbot.flags import load_flags

    with ctx.services.engine.connect() as conn:
        current = load_flags(conn, ctx.environment)
    out = pd.DataFrame({"value": {k: str(v) for k, v in current.snapshot().items()}})
    if current.problems:
        out.loc["problems"] = "; ".join(current.problems)
    return out


# -- candidates -------------------------------------------------------------------------------


def refresh(ctx: Context) -> dict[str, Any] | Unavailable:
    """Run the runbook's ``candidates:refresh`` once and return its report."""
    return pipeline.refresh(ctx.services, ctx.environment, now=ctx.now).to_dict()


def refresh_summary(report: dict[str, Any] | Unavailable) -> pd.DataFrame | Unavailable:
    """The refresh counts next to the runbook's expectations (20-40 generated, 0 duplicates)."""
    if isinstance(report, Unavailable):
        return report
    keys = ("generated", "accepted", "duplicates_exact", "duplicates_near", "queue_depth")
    out = pd.DataFrame({"count": {k: report.get(k) for k in keys}})
    out["rejected"] = None
    out.loc["rejected (all reasons)", "count"] = sum((report.get("rejected") or {}).values())
    out["source errors"] = None
    out.loc["source errors", "count"] = len(report.get("source_errors") or [])
    return out[["count"]]


def rejections(report: dict[str, Any] | Unavailable) -> pd.DataFrame | Unavailable:
    """Guard rejections of the refresh by reason."""
    if isinstance(report, Unavailable):
        return report
    rejected = report.get("rejected") or {}
    return pd.DataFrame(
        sorted(rejected.items(), key=lambda kv: -kv[1]), columns=["reason", "candidates"]
    )


def queue(ctx: Context) -> pd.DataFrame:
    """Queued candidates by topic and source (the Redis queue the scheduler picks from)."""
    return views.queue_by_topic_source(ctx.services)


def queue_preview(ctx: Context, limit: int = 10) -> pd.DataFrame | Unavailable:
    """The next candidates in priority order, as the V1 engine would take them."""
    rows = _frame(CandidateQueue(ctx.services, ctx.environment).peek(limit))
    keep = [c for c in ("priority", "topic", "format", "source", "text", "expires_at") if c in rows]
    return rows[keep] if keep else rows


# -- scheduling -------------------------------------------------------------------------------


def shadow_cycles(ctx: Context, cycles: int, step_minutes: float = 5) -> pd.DataFrame | Unavailable:
    """Run ``cycles`` scheduling cycles that never post, ``step_minutes`` apart on the clock.

    The last cycle runs at the context's ``now`` (so every one of them falls in the report's
    window); each writes its decision row like any other, so the charts below include them.
    """
    rows = []
    for i in range(int(cycles)):
        at = ctx.now - timedelta(minutes=step_minutes * (int(cycles) - 1 - i))
        record = run_cycle(ctx.services, ctx.settings, poster=None, now=at, never_post=True)
        rows.append(record.to_dict() if hasattr(record, "to_dict") else dataclasses.asdict(record))
    frame = pd.DataFrame(rows)
    keep = ["ts", "engine", "outcome", "reason", "topic", "format", "propensity", "text"]
    return frame[[c for c in keep if c in frame.columns]]


def decisions(ctx: Context, limit: int = 50) -> pd.DataFrame:
    return views.recent_decisions(
        ctx.services, ctx.environment, since=ctx.window, now=ctx.now, limit=limit
    )


def decision_reasons(ctx: Context) -> pd.DataFrame:
    return views.decision_reasons(ctx.services, ctx.environment, since=ctx.window, now=ctx.now)


# -- learning ---------------------------------------------------------------------------------


def metrics_source(ctx: Context) -> Any:
    """X when credentials are set, else the demo's simulated X (xbot.poster.metrics_source)."""
    from xbot.flags import load_flags
    from xbot.poster import metrics_source as choose

    with ctx.services.engine.connect() as conn:
        timezone = load_flags(conn, ctx.environment).timezone
    try:
        source, _ = choose(ctx.services, ctx.settings, timezone)
    except XbotError as exc:
        return Unavailable("metrics source", str(exc))
    return source


def _readable(value: Any) -> str:
    """One table cell: floats to 4 significant digits, lists of records one per line."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "; ".join(", ".join(f"{k} {_readable(x)}" for k, x in v.items()) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_readable(x)}" for k, x in value.items()) or "none"
    return str(value)


def learning_cycle(ctx: Context, enabled: bool = True) -> pd.DataFrame | Unavailable:
    """Run one learning cycle (metrics -> rewards -> bandit updates); its report as a table."""
    if not enabled:
        return Unavailable("learning cycle", "not run: the run_cycle parameter is false")
    source = metrics_source(ctx)
    if isinstance(source, Unavailable):
        return source
    report = run_learning_cycle(ctx.services, ctx.environment, source, now=ctx.now).to_dict()
    return pd.DataFrame({"value": {k: _readable(v) for k, v in report.items()}})


def bandit_arms(ctx: Context) -> pd.DataFrame | Unavailable:
    """Every bandit arm's posterior mean and 94% interval (family, arm, mean, ci, pulls)."""
    return _frame(BanditStore(ctx.services, ctx.environment).report())


def bandit_family(arms: pd.DataFrame | Unavailable, family: str) -> pd.DataFrame | Unavailable:
    """The arms of one family (topic, hour, format, tag), best first."""
    if isinstance(arms, Unavailable) or arms.empty:
        return arms
    out = arms[arms["family"] == family]
    return out.sort_values("mean", ascending=False, ignore_index=True)


def model_refit(ctx: Context, enabled: bool = True) -> Any:
    """Refit the PyMC engagement model (slow: minutes with NUTS) and return its summary."""
    if not enabled:
        return Unavailable("model refit", "not run: the refit_model parameter is false")
    return model.fit_model(ctx.services, ctx.environment, now=ctx.now)


def model_summary(ctx: Context) -> pd.DataFrame | Unavailable:
    """The latest stored model fit: topic/hour/cell posterior means with 94% HDIs."""
    summary = model.latest_summary(ctx.services, ctx.environment)
    if len(summary) == 0:
        return Unavailable("engagement model", "no model fit is stored yet: run a refit")
    return summary


def model_level(summary: pd.DataFrame | Unavailable, level: str) -> pd.DataFrame | Unavailable:
    """One level (global, topic, hour, cell) of a model summary, with the HDI width."""
    if isinstance(summary, Unavailable):
        return summary
    out = summary[summary["level"] == level].copy()
    out["hdi_width"] = out["hdi_high"] - out["hdi_low"]
    return out.reset_index(drop=True)


def learning_changes(ctx: Context, cycles: int = 2) -> pd.DataFrame:
    """The last learning cycles side by side, newest first: what changed since the last run."""
    return views.learning_cycles(ctx.services, ctx.environment, limit=cycles)


# -- health page ------------------------------------------------------------------------------


def posts_per_hour(ctx: Context) -> pd.DataFrame:
    return views.posts_per_hour(ctx.services, ctx.environment, since=ctx.window, now=ctx.now)


def errors(ctx: Context) -> pd.DataFrame:
    return views.recent_errors(ctx.services, ctx.environment, since=ctx.window, now=ctx.now)


def in_doubt(ctx: Context) -> pd.DataFrame:
    return views.in_doubt_posts(ctx.services, ctx.environment)


def view(ctx: Context, name: str, limit: int | None = None) -> pd.DataFrame:
    return views.read_view(ctx.services, name, ctx.environment, limit=limit)


# -- performance explorer ---------------------------------------------------------------------


def engine_comparison(ctx: Context, window_days: float = 7) -> Any:
    from xbot.rollout import compare_engines

    return compare_engines(ctx.services, ctx.environment, window_days=window_days, now=ctx.now)


def comparison_table(comparison: Any) -> pd.DataFrame:
    """V1, V2 and their difference: mean engagement rate with the 94% interval."""
    rows = [dataclasses.asdict(comparison.v1), dataclasses.asdict(comparison.v2)]
    rows.append(
        {
            "engine": "v2 − v1",
            "posts": None,
            "mean": comparison.diff,
            "low": comparison.diff_low,
            "high": comparison.diff_high,
        }
    )
    return pd.DataFrame(rows)


def ope_estimates(
    ctx: Context, epsilons: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3), days: float = 30
) -> pd.DataFrame | Unavailable:
    """Off-policy value of alternative settings from the decision log, with 94% intervals.

    One row per (policy, method): V1 (highest priority first) and the bandit at each
    ``epsilon`` (:func:`xbot.decision_log.policy_estimates`, as ``xbot learn ope`` prints),
    from the decisions of the last ``days`` whose post has a reward.
    """
    from xbot.decision_log import decision_log, policy_estimates

    logs = decision_log(ctx.services, ctx.environment, days=days, now=ctx.now)
    if logs["reward"].notna().sum() == 0:
        return Unavailable("off-policy estimates", "no posted decisions with a reward yet")
    rows = pd.DataFrame(
        policy_estimates(logs, epsilons=epsilons, topics=[], methods=("snips", "dr"), mass=0.94)
    )
    rows = rows[(rows["policy"] != "logged") & rows["value"].notna()]
    if rows.empty:
        return Unavailable("off-policy estimates", "the decision log lacks what OPE needs")
    return rows[["policy", "method", "value", "low", "high", "decisions"]].reset_index(drop=True)


def rollout(ctx: Context, window_days: float = 14) -> Any:
    """The recommendation for the next rollout phase: :func:`xbot.rollout.status`, exactly
    what ``xbot rollout status`` prints (same-slot evidence first)."""
    from xbot.rollout import status

    return status(ctx.services, ctx.environment, window_days=window_days, now=ctx.now)


def recommendation_markdown(rec: Any) -> Any:
    """The recommendation as a short Markdown block: phase, action, commands, evidence."""
    from IPython.display import Markdown

    commands = "".join(f"\n  - `{c}`" for c in rec.commands) or " none"
    lines = [
        f"- **Current phase:** {rec.phase}",
        f"- **Recommendation:** {rec.action}",
        f"- **Evidence used:** {rec.basis}",
        f"- **Commands:**{commands}",
        "",
        "**Evidence**",
        "",
        *[f"- {e}" for e in rec.evidence],
    ]
    return Markdown("\n".join(lines))


def candidates_by_status(ctx: Context) -> pd.DataFrame:
    return views.candidates_by_status(ctx.services, ctx.environment, since=ctx.window, now=ctx.now)


def would_post(ctx: Context, limit: int = 20) -> pd.DataFrame:
    """Shadow decisions of the window: what would have been posted, and why it was chosen."""
    frame = decisions(ctx, limit=500)
    return frame[frame["outcome"] == "shadow"].head(limit).reset_index(drop=True)


def health_line(report: Any) -> str:
    return str(report) if isinstance(report, Unavailable) else report.line()


def bandit_summary(arms: pd.DataFrame | Unavailable) -> pd.DataFrame | Unavailable:
    """Arms per family with their pulls and the spread of posterior means."""
    if isinstance(arms, Unavailable) or arms.empty:
        return arms
    return (
        arms.groupby("family")
        .agg(arms=("arm", "count"), pulls=("pulls", "sum"), best_mean=("mean", "max"),
             worst_mean=("mean", "min"))
        .reset_index()
    )  # fmt: skip


def learning_performance(ctx: Context) -> pd.DataFrame:
    """vw_learning_performance in long form: one row per (day, engine) engagement rate."""
    frame = views.read_view(ctx.services, "vw_learning_performance", ctx.environment)
    if frame.empty:
        return frame
    long = frame.melt(
        id_vars=["day"],
        value_vars=["avg_engagement_rate", "v1_avg_engagement_rate", "v2_avg_engagement_rate"],
        var_name="series",
        value_name="engagement_rate",
    )
    long["series"] = (
        long["series"]
        .str.replace("_avg_engagement_rate", "")
        .str.replace("avg_engagement_rate", "all")
    )
    return long.dropna(subset=["engagement_rate"])


# -- review -----------------------------------------------------------------------------------

REVIEW_COLUMNS = ("rank", "id", "state", "expected", "guard", "topic", "format", "source", "text")


def review_queue(ctx: Context, limit: int = 50) -> pd.DataFrame:
    """The pending queue in V2's order with the guard's verdict and the bandit's expected success
    (what ``xbot review list`` shows), for the analyst's morning check before approving."""
    queue = review.pending(ctx.services, ctx.environment, now=ctx.now, limit=limit)
    frame = pd.DataFrame(
        [
            (i.rank, i.id, i.state, i.expected, i.verdict, i.topic, i.format, i.source, i.text)
            for i in queue.items
        ],
        columns=list(REVIEW_COLUMNS),
    )
    frame.attrs["require_approval"] = queue.require_approval
    return frame.set_index("rank")


def review_gate(queue: pd.DataFrame) -> str:
    """One line: is the gate on, and how much of the queue is approved or refused by the guard."""
    gate = "on" if queue.attrs.get("require_approval") else "off"
    approved = int((queue["state"] == review.APPROVED).sum())
    refused = int((queue["guard"] != "ok").sum())
    return (
        f"require_approval is {gate}: {len(queue)} queued, {approved} approved, "
        f"{refused} the guard would refuse"
    )


def review_expected_by_topic(queue: pd.DataFrame) -> pd.DataFrame:
    """The bandit's mean expected success of the queued candidates per topic (a bar chart's
    input): where the next live posts are likely to come from."""
    if not len(queue):
        return pd.DataFrame(columns=["topic", "expected"])
    return queue.groupby("topic")["expected"].mean().rename("expected").reset_index()


def review_by_topic(queue: pd.DataFrame) -> pd.DataFrame:
    """Queued candidates per topic and review state (a bar chart's input)."""
    return (
        queue.groupby(["topic", "state"]).size().rename("candidates").reset_index()
        if len(queue)
        else pd.DataFrame(columns=["topic", "state", "candidates"])
    )
