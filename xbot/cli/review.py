"""``xbot review list|approve|reject|edit``: the human approval gate (flag ``require_approval``).

The queue is the one of APP_ENV (its Redis prefix and its Postgres rows); every action writes an
``audit_log`` row with ``--by`` (default: the OS user).
"""

from __future__ import annotations

import click

from xbot.cli import App
from xbot.cli.output import echo_json, print_table

_TEXT_WIDTH = 90


def _by_option(func):  # type: ignore[no-untyped-def]
    return click.option(
        "--by", default=None, metavar="NAME", help="Who acts (audit_log); default: the OS user."
    )(func)


def _reviewer(by: str | None) -> str:
    from xbot.review import default_reviewer

    return by if by is not None else default_reviewer()


@click.group()
def review() -> None:
    """See, approve, reject or edit queued candidates before they can be posted live."""


@review.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500),
              help="How many candidates to show.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
def list_cmd(app: App, limit: int, as_json: bool) -> None:
    """The queue in the order V2 would pick it: expected success, guard verdict, state."""
    from xbot.review import pending

    queue = pending(app.services, app.settings.app_env, limit=limit)
    if as_json:
        echo_json(queue.to_dict())
        return
    gate = "on" if queue.require_approval else "off"
    click.echo(
        f"{len(queue.items)} queued in {queue.environment} (local hour {queue.hour}); "
        f"require_approval is {gate}"
    )
    if not queue.items:
        click.echo("none")
        return
    print_table(
        "review queue",
        ["rank", "id", "state", "expected", "guard", "topic", "text"],
        [
            (
                item.rank,
                item.id,
                item.state,
                "-" if item.expected is None else f"{item.expected:.3f}",
                item.verdict,
                item.topic,
                item.text if len(item.text) <= _TEXT_WIDTH else item.text[: _TEXT_WIDTH - 1] + "…",
            )
            for item in queue.items
        ],
    )


@review.command("approve")
@click.argument("ids", nargs=-1, required=True, type=int)
@_by_option
@click.pass_obj
def approve_cmd(app: App, ids: tuple[int, ...], by: str | None) -> None:
    """Approve candidates IDS for live posting."""
    from xbot.review import approve

    done = approve(app.services, app.settings.app_env, list(ids), by=_reviewer(by))
    click.echo(f"approved: {', '.join(map(str, done))}")


@review.command("reject")
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option("--reason", required=True, help="Why (kept with the candidate and in audit_log).")
@_by_option
@click.pass_obj
def reject_cmd(app: App, ids: tuple[int, ...], reason: str, by: str | None) -> None:
    """Remove candidates IDS from the queue (their rows become rejected)."""
    from xbot.review import reject

    done = reject(app.services, app.settings.app_env, list(ids), reason=reason, by=_reviewer(by))
    click.echo(f"rejected: {', '.join(map(str, done))}")


@review.command("edit")
@click.argument("candidate_id", type=int)
@click.option("--text", required=True, help="The new post text (guarded and deduplicated).")
@click.option("--approve", "approve_it", is_flag=True, help="Approve the edited candidate too.")
@_by_option
@click.pass_obj
def edit_cmd(app: App, candidate_id: int, text: str, approve_it: bool, by: str | None) -> None:
    """Replace candidate CANDIDATE_ID's text by a new, re-checked candidate."""
    from xbot.review import edit

    result = edit(
        app.services,
        app.settings.app_env,
        candidate_id,
        text,
        by=_reviewer(by),
        approve_it=approve_it,
    )
    state = "approved" if result.approved else "pending approval"
    click.echo(f"candidate {result.old_id} replaced by {result.new_id} ({state}): {result.text}")
