"""The daily report in a real browser: Debian's headless Chromium, driven by Playwright.

Every plotly chart must have drawn (an SVG inside each plot container), the page must raise no
JavaScript error and ask for nothing over the network (the report loads the runs tree's one
plotly.js by a relative path). The same holds for a report opened from a copy of its runs tree
elsewhere, with the original gone, so no absolute path can be what made it work. The
screenshots are kept next to the reports. Without /usr/bin/chromium the test skips, except in
CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from xbot import reports

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless and a fresh temporary --user-data-dir itself.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but /usr/bin/chromium is missing: apt-get install -y chromium")
    pytest.skip("/usr/bin/chromium is not installed (apt-get install -y chromium)")


def _activity(services, settings) -> None:
    """Some real activity so the charts have bars to draw: a refresh and a few cycles."""
    from xbot.candidates.pipeline import refresh
    from xbot.scheduler import run_cycle

    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    if noon > datetime.now(UTC):
        noon -= timedelta(days=1)
    refresh(services, settings.environment, now=noon - timedelta(hours=4))
    for i in range(4):
        run_cycle(services, settings, poster=None, now=noon - timedelta(hours=3 - i))


def test_daily_report_renders_every_chart_in_chromium(services, settings, tmp_path):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    _activity(services, settings)
    runs = tmp_path / "runs"
    records = reports.run_daily(services, settings, runs_dir=runs)
    assert [r.status for r in records] == ["ok"] * len(reports.DAILY["all"])

    # a copy of the tree elsewhere, the original moved away: only relative paths can work
    copied = tmp_path / "elsewhere" / "copied-runs"
    shutil.copytree(runs, copied)
    runs.rename(tmp_path / "moved-away")
    copies = [copied / r.html.relative_to(runs.resolve()) for r in records]
    assert all(size < 1_000_000 for r in records for size in _sizes(copied, r, runs))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            for target in [*copies, copied / "index.html"]:
                _check_page(browser, target, report=target.name != "index.html")
        finally:
            browser.close()


def _sizes(copied: Path, record, runs: Path) -> list[int]:
    """Bytes of a report's HTML and executed notebook in the copy (the issue's 1 MB bound)."""
    rel = record.html.relative_to(runs.resolve())
    return [(copied / rel).stat().st_size, (copied / rel.with_suffix(".ipynb")).stat().st_size]


def _check_page(browser, target: Path, *, report: bool) -> None:
    """Open ``target``: every chart drawn, no JS error, no request leaving the machine."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    remote: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda req: errors.append(f"failed to load {req.url}"))

    def block(route):
        remote.append(route.request.url)
        route.abort()

    page.route("http*://**", block)
    page.goto(target.resolve().as_uri(), wait_until="load")
    if report:
        plots = page.locator(".plotly-graph-div")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.plotly-graph-div')]"
            ".every(d => d.querySelector('svg.main-svg'))",
            timeout=15_000,
        )
        assert plots.count() >= 2, f"{target.name}: too few charts"
        assert page.evaluate("typeof Plotly") == "object", f"{target.name}: no plotly.js"
    shot = target.with_suffix(".png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == [], f"{target.name}: JavaScript errors {errors}"
    assert remote == [], f"{target.name}: asked the network for {remote}"
    page.close()
