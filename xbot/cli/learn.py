"""``xbot learn run|rebuild|fit-model|ope`` and ``xbot bandit report``: the learning loop's commands.

``learn run`` reads metrics from X when X credentials are set, else from the SIMULATED X the
demo left under this REDIS_PREFIX (:func:`xbot.poster.metrics_source`), and says which it used.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import click

from xbot.cli import App
from xbot.cli.locking import takes_lock
from xbot.cli.output import echo_json, print_table


@click.group()
def learn() -> None:
    """Learning loop: metrics -> rewards -> bandit; bandit rebuild; the PyMC model."""


def _metrics_source(app: App):
    """X with credentials, else the demo's simulated X (see xbot.poster.metrics_source)."""
    from xbot.flags import load_flags
    from xbot.poster import metrics_source

    with app.services.engine.connect() as conn:
        tz = load_flags(conn, app.settings.environment).timezone
    return metrics_source(app.services, app.settings, tz)


@learn.command("run")
@click.option("--json", "as_json", is_flag=True, help="Print the cycle report as JSON.")
@takes_lock("learn")
@click.pass_obj
def run(app: App, as_json: bool) -> None:
    """One learning cycle: fetch metrics, write analytics, teach the bandit each post once.

    With nothing to measure (no mature post waiting) it succeeds without a metrics source.
    """
    from xbot.errors import PosterError
    from xbot.learning import run_learning_cycle

    try:
        source, name = _metrics_source(app)
    except PosterError:  # fine while nothing waits; the cycle refuses if something does
        source, name = None, "none"
    report = run_learning_cycle(app.services, app.settings.environment, source)
    if as_json:
        echo_json({**report.to_dict(), "metrics_source": name})
        return
    click.echo(
        f"learning cycle ({name} metrics): processed {report.tweets_processed}, "
        f"rewards {report.total_rewards:g}, bandit updates {report.bandit_updates}, "
        f"avg engagement {report.average_engagement:.4f}, baseline {report.baseline_median:.4f}, "
        f"pending {report.pending_age} young + {report.pending_impressions} low impressions, "
        f"skipped {sum(report.skipped.values())} {report.skipped}"
    )
    for family, arms in sorted(report.drift_restarts.items()):
        click.echo(f"change detected: {family} family restarted (changed: {', '.join(arms)})")


@learn.command("rebuild")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def rebuild(app: App, as_json: bool) -> None:
    """Recompute the bandit state in Redis from Postgres alone (equals the incremental state)."""
    from xbot.bandit_store import BanditStore

    store = BanditStore(app.services, app.settings.environment)
    with store.cycle_lock():
        result = store.rebuild()
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"bandit rebuilt from {result['cycles']} learning cycles and {result['posts']} posts: "
        f"{result['arms']} arms (last cycle {result['last_cycle_id']})"
    )


@learn.command("fit-model")
@click.option("--method", type=click.Choice(["advi", "nuts"]), default="advi", show_default=True)
@click.option("--draws", type=click.IntRange(min=10), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def fit_model_cmd(app: App, method: str, draws: int, as_json: bool) -> None:
    """Fit the hierarchical topic x hour engagement model and store its summaries."""
    from xbot.model import fit_model

    summary = fit_model(app.services, app.settings.environment, method=method, draws=draws)
    effects = summary.effects
    main = effects[effects["level"].isin(["global", "topic", "hour"])]
    if as_json:
        out = {k: v for k, v in asdict(summary).items() if k != "effects"}
        echo_json({**out, "effects": main.to_dict(orient="records")})
        return
    click.echo(
        f"fit {summary.fit_id}: {summary.method} on {summary.n_posts} posts "
        f"in {summary.seconds:.1f}s"
    )
    print_table(
        "Engagement rate (mean, 94% HDI)",
        ["level", "topic", "hour", "mean", "hdi_low", "hdi_high", "posts"],
        (
            (r.level, r.topic or "", "" if r.hour != r.hour or r.hour is None else int(r.hour),
             f"{r.mean:.4f}", f"{r.hdi_low:.4f}", f"{r.hdi_high:.4f}", r.posts)
            for r in main.itertuples()
        ),
    )  # fmt: skip


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@learn.command("ope")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Decisions of the last N days.")  # fmt: skip
@click.option("--topic", "topics", multiple=True, help="Topic for 'topic X only' (repeatable; "
              "default: every logged topic).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the estimates as JSON.")
@click.pass_obj
def ope(app: App, days: float, topics: tuple[str, ...], as_json: bool) -> None:
    """Off-policy estimates of other policies' engagement from the decision log."""
    from xbot.decision_log import decision_log, policy_costs, policy_estimates

    env = app.settings.environment
    logs = decision_log(app.services, env, days=days)
    rows = policy_estimates(logs, topics=list(topics) or None)
    costs = policy_costs(logs)
    summary = {"environment": env, "days": days, "decisions": len(logs),
               "with_reward": int(logs["reward"].notna().sum())}  # fmt: skip
    if as_json:
        echo_json({**summary, "estimates": rows, "costs": costs})
        return
    click.echo(
        f"{summary['decisions']} decisions in the last {days:g} days, "
        f"{summary['with_reward']} with a learned reward (95% bootstrap intervals)"
    )
    print_table(
        f"Off-policy estimates ({env})",
        ["policy", "method", "value", "low", "high", "decisions", "note"],
        ((r["policy"], r["method"], _num(r["value"]), _num(r["low"]), _num(r["high"]),
          r["decisions"], r["note"]) for r in rows),
    )  # fmt: skip
    print_table(
        "X API cost per post by policy (SNIPS on the post's price; links cost more)",
        ["policy", "USD per post", "low", "high", "decisions", "note"],
        ((r["policy"], _num(r["cost_usd"]), _num(r["low"]), _num(r["high"]), r["decisions"],
          r["note"]) for r in costs),
    )  # fmt: skip


@click.group()
def bandit() -> None:
    """The bandit's live state (Redis, rebuildable from Postgres)."""


@bandit.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print one object per arm as JSON.")
@click.pass_obj
def report(app: App, as_json: bool) -> None:
    """Per arm: posterior alpha, beta, mean, 94% credible interval and pulls.

    With the ``model_priors`` flag on, the priors come from the latest model fit, as the
    scheduler's do.
    """
    from xbot.bandit_store import BanditStore
    from xbot.flags import load_flags
    from xbot.model import flag_prior

    env = app.settings.environment
    with app.services.engine.connect() as conn:
        fl = load_flags(conn, env)
    prior = flag_prior(app.services, env, fl, datetime.now(UTC))
    store = BanditStore(app.services, env)
    store.sync()
    rows = store.report(prior=prior)
    if as_json:
        echo_json([asdict(r) for r in rows])
        return
    print_table(
        f"Bandit arms ({env}, 94% credible interval)",
        ["family", "arm", "alpha", "beta", "mean", "ci_low", "ci_high", "pulls"],
        (
            (r.family, r.arm, f"{r.alpha:.2f}", f"{r.beta:.2f}", f"{r.mean:.3f}",
             f"{r.ci_low:.3f}", f"{r.ci_high:.3f}", r.pulls)
            for r in rows
        ),
    )  # fmt: skip
