"""The report runner: real notebooks through papermill into runs/, against real Postgres/Redis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from xbot import reports
from xbot.errors import ReportError, ValidationError
from xbot.settings import load_settings

FAKE_SECRETS = {
    "X_API_KEY": "fake-api-key-4f1d9c",
    "X_API_SECRET": "fake-api-secret-8a7e2b",
    "X_ACCESS_TOKEN": "fake-access-token-19c3aa",
    "X_ACCESS_TOKEN_SECRET": "fake-access-secret-77d0e1",
    "X_BEARER_TOKEN": "fake-bearer-token-5b6c7d",
}


def _notebook(path: Path, *sources: str) -> Path:
    """A small notebook with a parameters cell followed by ``sources``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('environment = ""\nseconds = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _artifacts(runs: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in runs.rglob("*") if p.is_file())


def test_health_report_runs_into_dated_offline_html(settings, tmp_path):
    runs = tmp_path / "runs"
    record = reports.run_notebook(settings, "04_health_report", runs_dir=runs)

    assert record.ok and record.status == "ok"
    assert record.ipynb.parent.parent == runs.resolve()
    assert record.ipynb.name.endswith("-04_health_report.ipynb")
    assert record.parameters["environment"] == settings.environment
    page = record.html.read_text(encoding="utf-8")
    assert "plotly.js v" in page  # embedded, not linked
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)  # nothing remote
    assert 'class="plotly-graph-div"' in page
    assert "wb.start(" not in page  # code cells are hidden
    executed = nbformat.read(record.ipynb, as_version=4)
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
    index = (runs / "index.html").read_text(encoding="utf-8")
    assert "04_health_report" in index and 'class="ok"' in index


def test_failing_notebook_keeps_partial_output_and_index_says_failed(settings, tmp_path, xbot):
    runs = tmp_path / "runs"
    nb = _notebook(
        tmp_path / "broken.ipynb", "print('before the failure')", "1 / 0", "print('never')"
    )

    with pytest.raises(ReportError) as caught:
        reports.run_notebook(settings, str(nb), runs_dir=runs)

    err = caught.value
    assert err.ename == "ZeroDivisionError" and "division by zero" in err.evalue
    assert err.cell_index is not None
    assert f"cell {err.cell_index}" in str(err) and "ZeroDivisionError" in str(err)
    [record] = reports.list_runs(runs)
    assert record.status == "failed" and record.cell_index == err.cell_index
    kept = nbformat.read(record.ipynb, as_version=4)
    text = nbformat.writes(kept)
    assert "before the failure" in text  # the partial output is kept
    assert "An Exception was encountered" in text  # papermill's error banner
    assert "never" not in "".join(str(o) for c in kept.cells for o in c.get("outputs", []))
    assert record.html.exists()
    index = (runs / "index.html").read_text(encoding="utf-8")
    assert 'class="failed"' in index and "ZeroDivisionError" in index

    result = xbot("report", "run", str(nb), "--runs-dir", str(runs))
    assert result.exit_code == ReportError.exit_code
    assert "ZeroDivisionError" in result.stderr and "cell" in result.stderr
    listed = json.loads(xbot("report", "list", "--json", "--runs-dir", str(runs)).stdout)
    assert [r["status"] for r in listed] == ["failed", "failed"]


def test_timeout_interrupts_the_notebook_and_fails_the_run(settings, tmp_path):
    runs = tmp_path / "runs"
    nb = _notebook(tmp_path / "slow.ipynb", "print('started')", "import time\ntime.sleep(seconds)")

    with pytest.raises(ReportError) as caught:
        reports.run_notebook(settings, str(nb), {"seconds": 60}, timeout=4, runs_dir=runs)

    assert caught.value.ename == "Timeout"
    [record] = reports.list_runs(runs)
    assert record.status == "failed" and record.duration_s < 30
    assert "started" in record.ipynb.read_text(encoding="utf-8")


def test_secrets_never_reach_artifacts(env_vars, tmp_path):
    secret_settings = load_settings({**env_vars, **FAKE_SECRETS}, env_file="")
    runs = tmp_path / "runs"
    leaky = _notebook(
        tmp_path / "leaky.ipynb",
        "import os\nprint(os.environ['X_API_SECRET'], os.environ['DATABASE_URL'])",
        "raise RuntimeError(os.environ['X_BEARER_TOKEN'])",
    )
    reports.run_notebook(secret_settings, "04_health_report", runs_dir=runs)
    with pytest.raises(ReportError) as caught:
        reports.run_notebook(secret_settings, str(leaky), runs_dir=runs)

    everything = _artifacts(runs)
    for value in FAKE_SECRETS.values():
        assert value not in everything
        assert value not in str(caught.value)
    assert "***" in everything  # the leaky notebook's output was scrubbed, not dropped


def test_unknown_parameter_and_notebook_are_refused_before_running(settings, tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(ValidationError, match="window_hourz"):
        reports.run_notebook(settings, "health", {"window_hourz": 3}, runs_dir=runs)
    with pytest.raises(ValidationError, match="04_health_report"):
        reports.run_notebook(settings, "no_such_notebook", runs_dir=runs)
    assert not runs.exists()


def test_parameters_parse_like_json():
    assert reports.parse_parameter("12") == 12
    assert reports.parse_parameter("true") is True
    assert reports.parse_parameter("0.1") == 0.1
    assert reports.parse_parameter("2026-11-29") == "2026-11-29"
