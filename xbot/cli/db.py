"""``xbot db migrate|status|url`` and ``xbot services status|stop``."""

from __future__ import annotations

import click

from xbot import flags, migrate
from xbot.cli import App
from xbot.cli.output import echo_json, print_table
from xbot.services import stop_embedded
from xbot.settings import APP_ENVS


@click.group()
def db() -> None:
    """Schema and migrations (the equivalent of `supabase db push`)."""


@db.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def db_migrate(app: App, as_json: bool) -> None:
    """Apply pending migrations once each, then seed default flags for every environment.

    Safe to run twice and from several processes at once (advisory lock). Existing flag values
    are never overwritten; flags added by a newer release get their defaults.
    """
    engine = app.services.engine
    applied = migrate.migrate(engine, app.settings.migrations_dir)
    with engine.begin() as conn:
        for env in APP_ENVS:
            flags.seed_defaults(conn, env)
    if as_json:
        echo_json({"applied": applied, "seeded_environments": list(APP_ENVS)})
    elif applied:
        click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        click.echo("schema up to date (no pending migrations)")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def db_status(app: App, as_json: bool) -> None:
    """List every migration file and when it was applied."""
    states = migrate.status(app.services.engine, app.settings.migrations_dir)
    if as_json:
        echo_json([s.__dict__ for s in states])
        return
    rows = [
        (
            s.version,
            s.name,
            s.applied_at.isoformat(timespec="seconds") if s.applied_at else "pending",
            "CHANGED since applied" if s.changed else "",
        )
        for s in states
    ]
    print_table("migrations", ["version", "name", "applied", "note"], rows)


@db.command("url")
@click.option(
    "--with-password", is_flag=True, help="Include the password (it is omitted by default)."
)
@click.pass_obj
def db_url(app: App, with_password: bool) -> None:
    """Print a libpq URI for psql: psql "$(xbot db url)".

    The password is left out unless asked for, so the command is safe in logs; psql then takes
    it from PGPASSWORD or ~/.pgpass.
    """
    url = app.services.database_url()
    if not with_password:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.password or "password" in parsed.query:
            # URL.set(password=None) would keep the password: None means "unchanged" there.
            parsed = parsed._replace(password=None).difference_update_query(["password"])
            url = parsed.render_as_string(hide_password=False)
    click.echo(url)


@click.group()
def services() -> None:
    """Which Postgres and Redis are in use (embedded or external)."""


@services.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def services_status(app: App, as_json: bool) -> None:
    """Say which servers are in use, with passwords masked."""
    status = app.services.status()
    if as_json:
        echo_json([s.__dict__ for s in status] + [{"xbot_home": str(app.settings.xbot_home)}])
        return
    for s in status:
        click.echo(f"{s.name}: {s.mode} {s.url}")
    click.echo(f"xbot_home: {app.settings.xbot_home}")


@services.command("stop")
@click.pass_obj
def services_stop(app: App) -> None:
    """Stop the embedded servers under XBOT_HOME (their data is kept)."""
    for name, what in stop_embedded(app.settings.xbot_home).items():
        click.echo(f"{name}: {what}")
