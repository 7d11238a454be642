"""``xbot safety check TEXT`` and ``xbot safety config``: the runbook's ContentSafetyGuard
validate and getConfig."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from xbot.cli import App
from xbot.cli.output import echo_json

if TYPE_CHECKING:
    from xbot.safety import SafetyGuard


def _guard(app: App) -> SafetyGuard:
    from xbot.flags import load_flags
    from xbot.safety import SafetyGuard

    with app.services.engine.connect() as conn:
        return SafetyGuard.from_flags(load_flags(conn, app.settings.app_env), app.settings)


@click.group()
def safety() -> None:
    """The content safety guard (configured from bot_config)."""


@safety.command("check")
@click.argument("text")
@click.option("--tag", "tags", multiple=True, help="An attached hashtag (repeatable).")
@click.option("--alt-text", default=None, help="An attached image's alt text, checked too.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_obj
def check(app: App, text: str, tags: tuple[str, ...], alt_text: str | None, as_json: bool) -> None:
    """Judge TEXT; exit 0 when it may be posted, 1 when the guard refuses it."""
    from xbot.x_text import weighted_length

    verdict = _guard(app).validate(text, tags, alt_text=alt_text)
    if as_json:
        out = verdict.to_dict()
        out["weighted_length"] = (
            weighted_length(text) if verdict.codes != ("invalid_input",) else None
        )
        echo_json(out)
    else:
        click.echo(f"{'OK' if verdict.ok else 'REJECTED'} (risk {verdict.risk})")
        for code, detail in verdict.reasons:
            click.echo(f"  {code}: {detail}")
    if not verdict.ok:
        sys.exit(1)  # standalone_mode=False would swallow click's Exit code


@safety.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def config(app: App, as_json: bool) -> None:
    """Show what the guard checks and its limits."""
    cfg = _guard(app).config()
    if as_json:
        echo_json(cfg)
        return
    for key, value in cfg.items():
        click.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
