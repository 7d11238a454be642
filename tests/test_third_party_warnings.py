"""`make demo` prints no third-party warnings: the ones a dependency emits on its own are
filtered where xbot imports it (ours are fixed at the cause, e.g. the SPDX licence string)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _stderr(code: str, cache: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.slow  # two cold pymc imports
def test_model_imports_pymc_without_the_arviz_refactor_notice(tmp_path):
    # ArviZ warns on the first import of the day per user cache: a fresh cache shows it...
    assert "ArviZ is undergoing" in _stderr("import pymc", tmp_path / "plain")
    # ...and xbot's import of pymc for a model fit does not pass it on
    quiet = _stderr("from xbot.model import _import_pymc; _import_pymc()", tmp_path / "xbot")
    assert "Warning" not in quiet, quiet


def test_pyproject_licence_is_an_spdx_string():
    """setuptools >= 77 deprecates the ``license = {text = ...}`` table (PEP 639)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(project["project"]["license"], str)
    assert "setuptools>=77" in project["build-system"]["requires"][0]
