"""Run the workbench notebooks through papermill into dated, self-contained artifacts.

Every run writes ``runs/<YYYY-MM-DD>/<HHMMSS>-<notebook>.ipynb`` (the executed notebook, kept
even when it fails, with papermill's error banner), an ``.html`` export with the code hidden,
and a ``.json`` record. The record files are the source of ``runs/index.html``: the index is
rebuilt from them after each run and after :func:`prune`, so it can never disagree with what
is on disk.

Size: plotly.js is about 4.8 MB, so it is written once per runs tree, as
``runs/assets/plotly-<version>.min.js``, and every report loads it by the relative path
``../assets/...`` (offline, and still working when the runs tree is copied or served elsewhere).
Chart outputs carry only the figure (:mod:`xbot.charts`), so a report is a few hundred
kilobytes, most of it nbconvert's stylesheet.
The version is in the file name, so reports written before a plotly upgrade keep the copy
they were drawn with; :func:`prune` deletes copies no remaining report uses.

Secrets: the kernel needs the connection URLs, so they reach it through its environment, never
through notebook parameters; notebooks never print settings; and as a last line of defence every
artifact is scrubbed of ``settings.secrets()`` before it is written for good.

The runbook's daily checklist is :func:`run_daily`.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from xbot.errors import ReportError, ValidationError
from xbot.services import Services
from xbot.settings import DEFAULT_REPORT_KEEP_DAYS, Settings

KERNEL_NAME = "python3"
DEFAULT_TIMEOUT_S = 600
_TEMPLATE_DIR = Path(__file__).resolve().parent / "report_template"
ASSETS_DIR = "assets"
_DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The runbook's daily checklist, in the order an operator reads it. Morning: health, overnight
# posts and queue depth, bandit learning. Evening: refresh candidates, engagement by topic.
DAILY: dict[str, tuple[str, ...]] = {
    "morning": ("04_health_report", "06_review_queue", "03_learning", "05_performance_explorer"),
    "evening": ("01_candidates_refresh", "04_health_report", "05_performance_explorer"),
    "all": (
        "04_health_report",
        "01_candidates_refresh",
        "02_shadow_scheduling",
        "03_learning",
        "05_performance_explorer",
        "06_review_queue",
    ),
}


@dataclass
class RunRecord:
    """One notebook run: what ran, how it ended, and where its artifacts are."""

    notebook: str
    started_at: datetime
    finished_at: datetime
    status: str  # "ok" or "failed"
    ipynb: Path
    html: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def record_path(self) -> Path:
        return self.ipynb.with_suffix(".json")

    def size_bytes(self) -> int:
        """Bytes on disk of this run's notebook, HTML and record (0 for a missing file)."""
        paths = (self.ipynb, self.html, self.record_path)
        return sum(p.stat().st_size for p in paths if p.is_file())

    @property
    def error(self) -> ReportError | None:
        if self.ok:
            return None
        return ReportError(self.notebook, self.cell_index, self.ename or "", self.evalue or "")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            started_at=self.started_at.isoformat(),
            finished_at=self.finished_at.isoformat(),
            ipynb=str(self.ipynb),
            html=str(self.html),
            duration_s=round(self.duration_s, 2),
        )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        data.pop("duration_s", None)
        return cls(
            **{
                **data,
                "started_at": datetime.fromisoformat(data["started_at"]),
                "finished_at": datetime.fromisoformat(data["finished_at"]),
                "ipynb": Path(data["ipynb"]),
                "html": Path(data["html"]),
            }
        )


# --------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------


def resolve_runs_dir(runs: Path | None = None, settings: Settings | None = None) -> Path:
    """``runs`` (``--runs-dir``) if given, else ``settings.runs_dir`` (XBOT_RUNS_DIR), else
    ``./runs``."""
    return Path(runs or (settings.runs_dir if settings else None) or "runs").resolve()


def notebooks_dir(directory: Path | None = None) -> Path:
    """``directory`` (Settings.notebooks_dir, XBOT_NOTEBOOKS_DIR) or ``notebooks/`` of the
    source tree xbot was installed from."""
    return directory or Path(__file__).resolve().parents[1] / "notebooks"


def available_notebooks(directory: Path | None = None) -> list[str]:
    return sorted(p.stem for p in notebooks_dir(directory).glob("[0-9]*.ipynb"))


def resolve_notebook(name: str, directory: Path | None = None) -> Path:
    """A path, a stem (``04_health_report``) or a unique part of one (``health``), among the
    notebooks of ``directory`` (see :func:`notebooks_dir`)."""
    as_path = Path(name)
    if as_path.suffix == ".ipynb" and as_path.is_file():
        return as_path.resolve()
    stem = as_path.stem if as_path.suffix == ".ipynb" else name
    names = available_notebooks(directory)
    matches = [n for n in names if n == stem] or [n for n in names if stem in n]
    if len(matches) != 1:
        raise ValidationError("notebook", name, "one of " + ", ".join(names))
    return notebooks_dir(directory) / f"{matches[0]}.ipynb"


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The names and defaults of the notebook's ``parameters`` cell (papermill's reading)."""
    return {k: v["default"] for k, v in pm.inspect_notebook(str(path)).items()}


def parse_parameter(text: str) -> Any:
    """CLI text -> value: JSON when it parses (numbers, true/false, lists), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def _kernel_environ(settings: Settings) -> dict[str, str]:
    """The environment that makes ``load_settings()`` in the kernel equal ``settings``.

    Connection details travel here (the kernel must connect) and never as parameters, which
    papermill writes into the notebook.
    """
    env = dict(os.environ)
    env.update(
        APP_ENV=settings.app_env,
        LIVE_POSTS="true" if settings.live_posts else "false",
        REDIS_PREFIX=settings.redis_prefix,
        DATABASE_POOLER=settings.database_pooler,  # a .env value must reach the kernel too
        XBOT_HOME=str(settings.xbot_home),
        XBOT_ENV_FILE="",
        X_USER_ID=settings.x_user_id,
        X_API_BASE_URL=settings.x_api_base_url,
    )
    for name in ("redis_url", "database_url"):
        value = getattr(settings, name)
        if value is not None:
            env[name.upper()] = value.reveal()
        else:
            env.pop(name.upper(), None)
    for name in (
        "x_api_key",
        "x_api_secret",
        "x_access_token",
        "x_access_token_secret",
        "x_bearer_token",
    ):
        env[name.upper()] = getattr(settings, name).reveal()
    return env


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret value by ``***`` (longest first, so URLs go before passwords)."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# --------------------------------------------------------------------------------------------
# Running one notebook
# --------------------------------------------------------------------------------------------


@contextmanager
def _kernel(settings: Settings, cwd: Path) -> Iterator[AsyncKernelManager]:
    """A kernel started with the settings' environment; always shut down afterwards."""
    # IPC (unix sockets in a private temporary directory) rather than TCP on loopback: nothing
    # listens on a port, and ipykernel does not warn about unencrypted TCP on every run.
    with tempfile.TemporaryDirectory(prefix="xbot-kernel-") as sockets:
        km = AsyncKernelManager(
            kernel_name=KERNEL_NAME, transport="ipc", ip=str(Path(sockets) / "k")
        )
        asyncio.run(km.start_kernel(env=_kernel_environ(settings), cwd=str(cwd)))
        try:
            yield km
        finally:
            asyncio.run(km.shutdown_kernel(now=True))


def plotly_asset(runs_dir: Path) -> Path:
    """The runs tree's copy of the installed plotly.js (named by its version), written if missing."""
    path = runs_dir / ASSETS_DIR / f"plotly-{get_plotlyjs_version()}.min.js"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_text(path, get_plotlyjs())
    return path


def _export_html(nb: nbformat.NotebookNode, title: str, plotly_src: str) -> str:
    """HTML with inputs and prompts hidden, no CDN scripts, and plotly.js from ``plotly_src``
    (a relative URL to the runs tree's copy)."""
    exporter = HTMLExporter(
        template_name="lab",
        template_file=str(_TEMPLATE_DIR / "xbot_report.html.j2"),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb = nbformat.from_dict(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"plotly_src": plotly_src})
    return body


def _first_error(nb: nbformat.NotebookNode) -> tuple[int | None, str, str]:
    """Where a kept notebook failed, for runs that raised before papermill could say so."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output.get("ename", ""), output.get("evalue", "")
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            return index, "CellExecutionError", "the cell did not finish"
    return None, "CellExecutionError", "no error output was recorded"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run_notebook(
    settings: Settings,
    notebook: str,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
    runs_dir: Path | None = None,
) -> RunRecord:
    """Execute ``notebook`` into the runs directory; raise :class:`ReportError` if it fails.

    The failed notebook (with papermill's error banner), its HTML and its index entry are
    written before the error is raised, so the operator can open what went wrong.
    """
    record = execute(settings, notebook, parameters, timeout=timeout, runs_dir=runs_dir)
    if record.error is not None:
        raise record.error
    return record


def execute(
    settings: Settings,
    notebook: str,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
    runs_dir: Path | None = None,
) -> RunRecord:
    """Like :func:`run_notebook` but a failed run is returned (``status='failed'``), not raised.

    ``timeout`` bounds the whole notebook (each cell gets what is left of it); a cell still
    running at the deadline is interrupted and the run fails with ``ename='Timeout'``.
    """
    path = resolve_notebook(notebook, settings.notebooks_dir)
    allowed = notebook_parameters(path)
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValidationError("parameter", unknown[0], "one of " + ", ".join(allowed))
    if "environment" in allowed:
        params.setdefault("environment", settings.environment)

    out_dir = resolve_runs_dir(runs_dir, settings)
    started = datetime.now(UTC)
    day_dir = out_dir / started.strftime("%Y-%m-%d")
    day_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%H%M%S")
    base = day_dir / f"{stamp}-{path.stem}"
    n = 1
    while base.with_suffix(".json").exists():  # the same notebook twice in one second
        n += 1
        base = day_dir / f"{stamp}-{path.stem}-{n}"
    ipynb, html_path = base.with_suffix(".ipynb"), base.with_suffix(".html")

    deadline = time.monotonic() + timeout
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None
    with _kernel(settings, Path.cwd()) as km:
        try:
            pm.execute_notebook(
                str(path),
                str(ipynb),
                parameters=params,
                kernel_name=KERNEL_NAME,
                progress_bar=False,
                log_output=False,
                km=km,
                timeout_func=lambda _cell: max(1, int(deadline - time.monotonic())),
                interrupt_on_timeout=True,
            )
        except pm.PapermillExecutionError as exc:
            cell_index, ename, evalue = exc.cell_index, exc.ename, exc.evalue
        except Exception as exc:  # the kernel died, or a timeout papermill did not convert
            if not ipynb.exists():
                raise ReportError(path.stem, None, type(exc).__name__, str(exc)) from exc
            cell_index, ename, evalue = _first_error(nbformat.read(ipynb, as_version=4))
            evalue = evalue or str(exc)
    if ename is not None and time.monotonic() >= deadline - 1:
        ename, evalue = "Timeout", f"the notebook ran longer than its {timeout}s timeout"

    secrets = settings.secrets()
    clean = scrub(ipynb.read_text(encoding="utf-8"), secrets)
    _write_text(ipynb, clean)
    nb = nbformat.reads(clean, as_version=4)
    title = f"{path.stem} · {started:%Y-%m-%d %H:%M} UTC · {settings.environment}"
    plotly_src = Path(os.path.relpath(plotly_asset(out_dir), html_path.parent)).as_posix()
    _write_text(html_path, scrub(_export_html(nb, title, plotly_src), secrets))

    record = RunRecord(
        notebook=path.stem,
        started_at=started,
        finished_at=datetime.now(UTC),
        status="ok" if ename is None else "failed",
        ipynb=ipynb,
        html=html_path,
        parameters=params,
        cell_index=cell_index,
        ename=ename,
        evalue=None if evalue is None else scrub(evalue, secrets),
    )
    _write_text(base.with_suffix(".json"), json.dumps(record.to_dict(), indent=2))
    write_index(out_dir)
    return record


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


def list_runs(runs_dir: Path | None = None) -> list[RunRecord]:
    """Every recorded run, newest first (read from the ``.json`` records)."""
    root = resolve_runs_dir(runs_dir)
    records = []
    for path in root.glob("*/*.json"):
        try:
            record = RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            continue  # a record being written right now, or not one of ours
        # the artifacts sit next to their record: a tree that was moved or copied still lists
        # (and sizes) its own files, not the paths it was written at
        records.append(
            replace(record, ipynb=path.with_suffix(".ipynb"), html=path.with_suffix(".html"))
        )
    return sorted(records, key=lambda r: (r.started_at, r.notebook), reverse=True)


_INDEX_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}.ok{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}
td.err{font-family:ui-monospace,monospace;font-size:12px;color:#cf222e}
td.num{text-align:right;white-space:nowrap}
"""


def human_size(n: int) -> str:
    """Bytes as the index shows them: ``512 B``, ``48.2 kB``, ``4.8 MB`` (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def write_index(runs_dir: Path | None = None) -> Path:
    """Rewrite ``index.html``: every run, newest first, with its status, size and links."""
    root = resolve_runs_dir(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    runs = list_runs(root)
    sizes = [r.size_bytes() for r in runs]
    assets = root / ASSETS_DIR
    shared = _tree_bytes(assets) if assets.is_dir() else 0
    rows = []
    for r, size in zip(runs, sizes, strict=True):
        rel_html = r.html.relative_to(root) if r.html.is_relative_to(root) else r.html
        rel_nb = r.ipynb.relative_to(root) if r.ipynb.is_relative_to(root) else r.ipynb
        error = "" if r.ok else f"cell {r.cell_index}: {r.ename}: {r.evalue}"
        rows.append(
            "<tr>"
            f"<td>{r.started_at:%Y-%m-%d %H:%M:%S} UTC</td>"
            f"<td>{html.escape(r.notebook)}</td>"
            f'<td class="{r.status}">{r.status}</td>'
            f"<td>{r.duration_s:.1f}s</td>"
            f'<td class="num">{human_size(size)}</td>'
            f'<td><a href="{html.escape(str(rel_html))}">report</a> · '
            f'<a href="{html.escape(str(rel_nb))}">notebook</a></td>'
            f'<td class="err">{html.escape(error)}</td>'
            "</tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>xbot runs</title>"
        f"<style>{_INDEX_CSS}</style></head><body><h1>xbot notebook runs</h1>"
        f"<p>{len(rows)} runs, newest first: {human_size(sum(sizes))} of reports and "
        f"notebooks, plus {human_size(shared)} of plotly.js shared by all of them in "
        f"<code>{ASSETS_DIR}/</code>. Each report opens offline while it stays in this "
        "tree.</p>"
        "<table><thead><tr><th>started</th><th>notebook</th><th>status</th><th>took</th>"
        "<th>size</th><th>artifacts</th><th>error</th></tr></thead><tbody>"
        + ("\n".join(rows) or '<tr><td colspan="7"><em>none</em></td></tr>')
        + "</tbody></table></body></html>"
    )
    index = root / "index.html"
    _write_text(index, page)
    return index


# --------------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune` removed (or, with ``dry_run``, would remove) and what is left."""

    keep_days: int
    oldest_kept: date
    removed_days: list[str]
    removed_assets: list[str]
    freed_bytes: int
    runs_left: int
    dry_run: bool

    def line(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        days = ", ".join(self.removed_days) or "no day folders"
        return (
            f"{verb} {days} ({human_size(self.freed_bytes)}); keeping {self.keep_days} days "
            f"from {self.oldest_kept.isoformat()}, {self.runs_left} runs left"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["oldest_kept"] = self.oldest_kept.isoformat()
        return out


def _referenced_assets(root: Path, skip: set[str]) -> set[str]:
    """File names under ``assets/`` that some report loads, outside the day folders ``skip``."""
    pattern = re.compile(rf'src="(?:\.\./)+{ASSETS_DIR}/([^"/]+)"')
    found: set[str] = set()
    for page in root.glob("*/*.html"):
        if page.parent.name not in skip:
            found.update(pattern.findall(page.read_text(encoding="utf-8", errors="replace")))
    return found


def prune(
    runs_dir: Path | None = None,
    keep_days: int = DEFAULT_REPORT_KEEP_DAYS,
    *,
    today: date | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete the day folders older than the last ``keep_days`` days (today is one of them,
    by the UTC date the folders are named with), then plotly.js copies no report loads any
    more, and rewrite the index so it lists only what is left.

    Only folders named like a date are touched: anything else an operator keeps under
    ``runs/`` (cron.log, screenshots) stays.
    """
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 1:
        raise ValidationError("keep_days", keep_days, "a whole number of days of at least 1")
    root = resolve_runs_dir(runs_dir)
    today = today or datetime.now(UTC).date()
    oldest_kept = today - timedelta(days=keep_days - 1)
    doomed = sorted(
        d for d in (root.iterdir() if root.is_dir() else ())
        if d.is_dir() and _DAY_DIR.match(d.name) and d.name < oldest_kept.isoformat()
    )  # fmt: skip
    freed = sum(_tree_bytes(d) for d in doomed)
    if not dry_run:
        for day in doomed:
            shutil.rmtree(day)
    gone = {d.name for d in doomed}
    removed_assets: list[str] = []
    assets = root / ASSETS_DIR
    if assets.is_dir():
        current = f"plotly-{get_plotlyjs_version()}.min.js"
        used = _referenced_assets(root, skip=gone)
        for asset in sorted(assets.iterdir()):
            if asset.is_file() and asset.name != current and asset.name not in used:
                removed_assets.append(asset.name)
                freed += asset.stat().st_size
                if not dry_run:
                    asset.unlink()
    if not dry_run and root.is_dir():
        write_index(root)
    left = [r for r in list_runs(root) if r.record_path.parent.name not in gone]
    return PruneReport(
        keep_days=keep_days,
        oldest_kept=oldest_kept,
        removed_days=[d.name for d in doomed],
        removed_assets=removed_assets,
        freed_bytes=freed,
        runs_left=len(left),
        dry_run=dry_run,
    )


# --------------------------------------------------------------------------------------------
# The daily checklist
# --------------------------------------------------------------------------------------------


def run_daily(
    services: Services,
    settings: Settings,
    *,
    slot: str = "all",
    timeout: int = DEFAULT_TIMEOUT_S,
    runs_dir: Path | None = None,
    now: datetime | None = None,
) -> list[RunRecord]:
    """Run the runbook's checklist for ``slot`` (morning, evening or all), every notebook even
    when one fails; the failures are in the returned records and in the index.

    ``now`` (a simulated clock) becomes the notebooks' ``run_date``. ``services`` is checked
    first so a dead database fails fast here, not five kernels later.
    """
    if slot not in DAILY:
        raise ValidationError("slot", slot, "one of " + ", ".join(DAILY))
    services.redis.ping()
    with services.engine.connect() as conn:
        conn.exec_driver_sql("select 1")
    params = {} if now is None else {"run_date": now.date().isoformat()}
    return [
        execute(settings, name, params, timeout=timeout, runs_dir=runs_dir) for name in DAILY[slot]
    ]
