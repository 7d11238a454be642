"""Committed notebooks carry no outputs and exactly one ``parameters`` cell each.

The one exception: cells marked ``# NBVAL_CHECK_OUTPUT`` keep their *expected* output (text
only), because that is what nbval compares the fresh run against in CI.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from xbot import reports

NOTEBOOKS = sorted(reports.notebooks_dir().glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"


def test_the_five_workbench_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_candidates_refresh",
        "02_shadow_scheduling",
        "03_learning",
        "04_health_report",
        "05_performance_explorer",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code cells"
    for cell in code:
        if cell.source.startswith(CHECKED):
            # nbval's expected output: it only compares cells that carry one (and a count)
            kinds = {k for o in cell.outputs for k in o.get("data", {"text/plain": ""})}
            assert cell.outputs and kinds <= {"text/plain", "text/markdown"}, cell.source
            continue
        assert cell.outputs == [], f"outputs committed in {path.name}: {cell.source[:60]!r}"
        assert cell.execution_count is None, f"execution count committed in {path.name}"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    assert "environment" in reports.notebook_parameters(path)
    assert "run_date" in reports.notebook_parameters(path)


def test_some_cells_are_checked_by_nbval():
    checked = [
        c for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells
        if c.cell_type == "code" and c.source.startswith(CHECKED)
    ]  # fmt: skip
    assert len(checked) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_calls_xbot_only(path: Path):
    """Thin notebooks: every import is from xbot (logic lives in the package, not here)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                assert stripped.split()[1].split(".")[0] == "xbot", f"{path.name}: {stripped}"
            assert not stripped.startswith(("def ", "class ", "for ", "while ")), stripped
