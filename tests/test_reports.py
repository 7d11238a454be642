"""The report runner: real notebooks through papermill into runs/, against real Postgres/Redis."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest
from plotly.offline import get_plotlyjs_version

from xbot import reports
from xbot.errors import ReportError, SettingsError, ValidationError
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
    # plotly.js once per runs tree, loaded by a relative path; neither artifact inlines it
    [src] = re.findall(r'<script[^>]* src="([^"]+)"', page)
    assert src == f"../assets/plotly-{get_plotlyjs_version()}.min.js"
    assert (record.html.parent / src).resolve().read_text(encoding="utf-8").startswith("/**")
    assert "plotly.js v" not in page and "plotly.js v" not in record.ipynb.read_text("utf-8")
    assert record.html.stat().st_size < 1_000_000 and record.ipynb.stat().st_size < 1_000_000
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


def test_empty_tables_say_none(settings, tmp_path):
    """A fresh environment has no errors and no in-doubt posts: the tables say so."""
    record = reports.run_notebook(settings, "04_health_report", runs_dir=tmp_path / "runs")
    page = record.html.read_text(encoding="utf-8")
    for heading in ("Recent errors", "In-doubt posts"):
        section = page[page.index(f">{heading}") :]
        table = section[section.index("<table") : section.index("</table>")]
        assert "<em>none</em>" in table, f"{heading}: {table[:300]}"


def _day_copy(record: reports.RunRecord, day: str) -> Path:
    """The day folder of ``record`` copied under another date (an older day's runs)."""
    target = record.html.parent.parent / day
    shutil.copytree(record.html.parent, target)
    return target


def test_prune_keeps_the_last_days_and_rewrites_the_index(settings, tmp_path, xbot):
    runs = tmp_path / "runs"
    record = reports.run_notebook(
        settings, str(_notebook(tmp_path / "tiny.ipynb", "print('hi')")), runs_dir=runs
    )
    today = record.started_at.date()
    old = _day_copy(record, (today - timedelta(days=9)).isoformat())
    kept = _day_copy(record, (today - timedelta(days=2)).isoformat())
    # an old plotly.js only the doomed folder loads, one the kept folder loads, and a stranger
    assets = runs / reports.ASSETS_DIR
    for name, folder in (("plotly-0.0.1.min.js", old), ("plotly-0.0.2.min.js", kept)):
        (assets / name).write_text("/* old */", encoding="utf-8")
        for page in folder.glob("*.html"):
            text = page.read_text(encoding="utf-8")
            page.write_text(re.sub(r"plotly-[\d.]+\.min\.js", name, text), encoding="utf-8")
    (runs / "cron.log").write_text("kept\n", encoding="utf-8")
    (runs / "notes").mkdir()
    reports.write_index(runs)
    assert (runs / "index.html").read_text(encoding="utf-8").count("<tr>") == 1 + 3

    dry = reports.prune(runs, keep_days=3, today=today, dry_run=True)
    assert dry.removed_days == [old.name] and dry.removed_assets == ["plotly-0.0.1.min.js"]
    assert old.exists() and (assets / "plotly-0.0.1.min.js").exists()

    done = reports.prune(runs, keep_days=3, today=today)
    assert done.removed_days == [old.name] and done.runs_left == 2
    assert done.freed_bytes == dry.freed_bytes > 0
    assert not old.exists() and kept.exists() and record.html.exists()
    assert sorted(p.name for p in assets.iterdir()) == [
        "plotly-0.0.2.min.js", f"plotly-{get_plotlyjs_version()}.min.js"
    ]  # fmt: skip
    assert (runs / "cron.log").exists() and (runs / "notes").is_dir()
    index = (runs / "index.html").read_text(encoding="utf-8")
    assert old.name not in index and kept.name in index
    assert index.count("<tr>") == 1 + 2
    assert re.search(r'<td class="num">[\d.]+ kB</td>', index)  # each run's size

    # the CLI: --keep-days, else XBOT_REPORT_KEEP_DAYS; 0 days is refused, nothing removed
    refused = xbot("report", "prune", "--keep-days", "0", "--runs-dir", str(runs))
    assert refused.exit_code == 2 and "--keep-days" in refused.output and kept.exists()
    result = xbot(
        "report", "prune", "--json", "--runs-dir", str(runs),
        env={"XBOT_REPORT_KEEP_DAYS": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed_days"] == [kept.name] and not kept.exists()
    assert [r.html for r in reports.list_runs(runs)] == [record.html]
    with pytest.raises(ValidationError, match="keep_days"):
        reports.prune(runs, keep_days=0)


def test_report_keep_days_setting_is_validated(env_vars):
    assert load_settings(env_vars, env_file="").report_keep_days == 30
    assert (
        load_settings({**env_vars, "XBOT_REPORT_KEEP_DAYS": "7"}, env_file="").report_keep_days == 7
    )
    for bad in ("0", "-3", "two", "1.5"):
        with pytest.raises(SettingsError, match="XBOT_REPORT_KEEP_DAYS"):
            load_settings({**env_vars, "XBOT_REPORT_KEEP_DAYS": bad}, env_file="")


def test_prune_waits_for_the_report_lock(services, settings, tmp_path, xbot):
    """Pruning never runs while a report is being written into the same tree."""
    from xbot.locks import RedisLock

    runs = tmp_path / "runs"
    old = runs / "2020-01-01"
    old.mkdir(parents=True)
    (old / "x.txt").write_text("old", encoding="utf-8")
    holder = RedisLock(services, "timetable:report", command="xbot report daily")
    assert holder.acquire()
    try:
        busy = xbot("report", "prune", "--keep-days", "1", "--wait", "0", "--runs-dir", str(runs))
    finally:
        holder.release()
    assert busy.exit_code == 7 and "xbot report daily" in busy.stderr
    assert old.exists()
    assert xbot("report", "prune", "--keep-days", "1", "--runs-dir", str(runs)).exit_code == 0
    assert not old.exists()


def test_kernel_gets_the_pooler_mode_even_from_an_env_file(env_vars, tmp_path):
    """The kernel ignores .env (XBOT_ENV_FILE=""), so settings read from one travel explicitly."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("DATABASE_POOLER=session\n", encoding="utf-8")
    without = {k: v for k, v in env_vars.items() if k != "DATABASE_POOLER"}
    settings = load_settings(without, env_file=dotenv)
    assert settings.pooler_mode == "session"
    kernel = reports._kernel_environ(settings)
    assert load_settings(kernel, env_file="").pooler_mode == "session"


def test_runs_and_notebooks_dirs_are_settings_that_a_dotenv_sets(xbot, tmp_path):
    """XBOT_RUNS_DIR / XBOT_NOTEBOOKS_DIR go through Settings (they used to be read from the
    process environment only): a `.env` naming them decides where `xbot report` looks and
    writes, and `--runs-dir` still wins."""
    books, runs, other = tmp_path / "books", tmp_path / "from-env", tmp_path / "from-option"
    books.mkdir()
    _notebook(books / "01_only_here.ipynb", "print('found by its stem')")
    env_file = tmp_path / ".env"
    env_file.write_text(f"XBOT_RUNS_DIR={runs}\nXBOT_NOTEBOOKS_DIR={books}\n", encoding="utf-8")
    env = {"XBOT_ENV_FILE": str(env_file)}
    assert xbot("report", "run", "only_here", env=env).exit_code == 0
    [record] = json.loads(xbot("report", "list", "--json", env=env).stdout)
    assert record["notebook"] == "01_only_here" and Path(record["html"]).is_relative_to(runs)
    elsewhere = xbot("report", "list", "--json", "--runs-dir", str(other), env=env)
    assert json.loads(elsewhere.stdout) == []
    refused = xbot("report", "run", "only_here")  # without the .env: the shipped notebooks
    assert refused.exit_code == 2 and "04_health_report" in refused.output
