"""The CLI answers at once: listing the commands imports none of them (issue 14 §4).

Checked through ``sys.modules`` in a fresh interpreter, not by timing (timings live in
benchmarks/bench_cli.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from xbot.cli import COMMANDS, cli

HEAVY = ("numpy", "scipy", "pymc", "pandas", "papermill", "datasketch", "nbformat", "pytensor")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_help_imports_no_subcommand_and_nothing_heavy() -> None:
    loaded = _modules_after(
        "from click.testing import CliRunner\n"
        "from xbot.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0 and 'Commands:' in result.output, result.output\n"
        "import sys\n"
        "assert not [m for m in sys.modules if m.startswith('xbot.cli.')], sorted(sys.modules)"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not loaded & {"sqlalchemy", "redis", "psycopg"}  # not even the database drivers


def test_health_imports_nothing_heavy_not_even_sqlalchemy() -> None:
    loaded = _modules_after("import xbot.cli.health")
    assert not loaded & {*HEAVY, "sqlalchemy", "rich"}, sorted(loaded & {*HEAVY, "sqlalchemy"})


def test_help_lists_every_command_with_its_summary() -> None:
    result = click.testing.CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert f"{name} " in result.output and entry.summary in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_resolves_and_shows_the_summary(name: str) -> None:
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str(limit=200) == COMMANDS[name].summary
    assert command.help  # its own docstring stays the full help of `xbot NAME --help`


def test_an_unknown_command_is_a_usage_error(xbot) -> None:
    result = xbot("nope")
    assert result.exit_code == 2 and "No such command 'nope'" in result.output
