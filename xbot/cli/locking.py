"""The timetable's locks for commands run by hand or by cron (see :mod:`xbot.locks`).

A command that the timetable also runs takes the same lock as ``xbot scheduler``'s job::

    @candidates.command("refresh")
    @takes_lock("refresh")          # adds --wait; exit 7 naming the holder when it stays busy
    @click.pass_obj
    def refresh_cmd(app: App, ...) -> None: ...

``operation_lock`` is the same as a context manager, for a command that takes the lock per
unit of work (``xbot schedule run --loop`` takes it per cycle, not for the whole loop).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from xbot.cli import App

# How long a command started by hand or by cron waits for a busy lock before exit 7.
DEFAULT_WAIT_S = 60.0

F = TypeVar("F", bound=Callable[..., Any])


def wait_option(default: float = DEFAULT_WAIT_S) -> Callable[[F], F]:
    """``--wait SECONDS``: how long to wait for a busy lock before exit 7."""
    return click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(min=0, max=86_400),
        default=default,
        show_default=True,
        help="Seconds to wait for the timetable lock if another run holds it; then exit 7.",
    )


@contextmanager
def operation_lock(app: App, *operations: str, wait_s: float) -> Iterator[None]:
    """Hold the timetable locks of ``operations``, recorded as this command (no arguments)."""
    from xbot.locks import hold

    command = click.get_current_context().command_path
    with hold(app.services, operations, command=command, wait_s=wait_s):
        yield


def takes_lock(*operations: str) -> Callable[[F], F]:
    """Decorator: add ``--wait`` and run the command under the locks of ``operations``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, wait_s: float, **kwargs: Any) -> Any:
            app = click.get_current_context().find_object(App)
            if app is None:  # pragma: no cover - every xbot command runs under the root group
                raise click.UsageError("no xbot application context")
            with operation_lock(app, *operations, wait_s=wait_s):
                return func(*args, **kwargs)

        return wait_option()(wrapper)  # type: ignore[return-value]

    return decorate
