"""``xbot candidates refresh`` and ``xbot sources stats``: the runbook's candidates:refresh and
ContentSourceManager.getSourceStats; ``xbot candidates requeue`` rebuilds the Redis queue from
Postgres."""

from __future__ import annotations

import sys
from typing import Any

import click

from xbot.cli import App
from xbot.cli.locking import takes_lock
from xbot.cli.output import echo_json, print_table


@click.group()
def candidates() -> None:
    """Post candidates: generate, dedup and queue them."""


@candidates.command("refresh")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@takes_lock("refresh")
@click.pass_obj
def refresh_cmd(app: App, as_json: bool) -> None:
    """Fetch every source, check, dedup and queue candidates; print the summary."""
    from xbot.candidates.pipeline import refresh

    report = refresh(
        app.services, app.settings.app_env, progress=sys.stdout.isatty() and not as_json
    )
    if as_json:
        echo_json(report.to_dict())
        return
    rejected = sum(report.rejected.values())
    by_reason = ", ".join(f"{k} {v}" for k, v in report.rejected.items())
    click.echo(f"Generated: {report.generated} candidates")
    click.echo(f"Accepted: {report.accepted}")
    click.echo(
        f"Duplicates: {report.duplicates_exact + report.duplicates_near} "
        f"(exact {report.duplicates_exact}, near {report.duplicates_near})"
    )
    click.echo(f"Rejected by guard: {rejected}" + (f" ({by_reason})" if by_reason else ""))
    click.echo(f"Queue depth: {report.queue_depth}")
    topics = ", ".join(f"{t} ({n})" for t, n in report.top_topics) or "none"
    click.echo(f"Top topics: {topics}")
    if report.expired_pruned or report.claims_returned:
        click.echo(
            f"Expired pruned: {report.expired_pruned}; stale claims returned: {report.claims_returned}"
        )
    if report.item_errors or report.items_cleaned:
        click.echo(
            f"Bad items: {report.item_errors} reported, {report.items_cleaned} cleaned of "
            "control characters (see xbot sources stats)"
        )
    if report.queue_healed:
        click.echo("Queue drift healed: " + _requeue_line(report.queue_healed))
    for name, error in report.source_errors.items():
        click.echo(f"source error: {name}: {error}", err=True)
    for name, warning in report.source_warnings.items():
        click.echo(f"source warning: {name}: {warning}", err=True)


def _requeue_line(data: dict[str, Any]) -> str:
    before = data.get("drift_before")
    head = f"Redis had {before['redis']}, Postgres {before['postgres']}; " if before else ""
    return (
        f"{head}queued {data['queued']} (added {data['added']}, removed {data['removed']}), "
        f"in flight {data['in_flight']}, claims returned {data['claims_returned']}, "
        f"expired {data['expired']}, markers {data['markers']}, orphans {data['orphans']}"
    )


@candidates.command("requeue")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def requeue_cmd(app: App, as_json: bool) -> None:
    """Rebuild the Redis queue from Postgres (rows still queued and unexpired); idempotent.

    Use after Redis lost its data or `xbot health` reports queue drift. Claims past their
    lease go back to queued and expired rows are marked expired first.
    """
    from xbot.candidates.queue import CandidateQueue

    report = CandidateQueue(app.services, app.settings.app_env).requeue()
    if as_json:
        echo_json(report.to_dict())
        return
    click.echo("Requeued: " + _requeue_line(report.to_dict()))


@click.group()
def sources() -> None:
    """Candidate sources (config/sources.toml)."""


@sources.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
@click.pass_obj
def stats_cmd(app: App, as_json: bool) -> None:
    """Per source: fetched, accepted, duplicates, rejected by reason, errors, last success."""
    from xbot.candidates.pipeline import source_stats

    rows = source_stats(app.services)
    if as_json:
        echo_json(rows)
        return
    print_table(
        "sources",
        [
            "source",
            "kind",
            "fetched",
            "accepted",
            "dup",
            "near",
            "rejected",
            "errors",
            "last success",
        ],
        [
            (
                r["source"],
                r["kind"],
                r["fetched"],
                r["accepted"],
                r["duplicates"],
                r["duplicates_near"],
                ", ".join(f"{k} {v}" for k, v in r["rejected"].items()) or "0",
                r["errors"],
                r["last_success"] or "never",
            )
            for r in rows
        ],
    )
    for r in rows:
        if r["last_error"]:
            click.echo(f"last error: {r['source']}: {r['last_error']}", err=True)
        if r["last_warning"]:
            click.echo(f"warning: {r['source']}: {r['last_warning']}", err=True)
