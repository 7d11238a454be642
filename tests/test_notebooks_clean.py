"""Committed notebooks carry no outputs and exactly one ``parameters`` cell each.

Cells marked ``# NBVAL_CHECK_OUTPUT`` have their expected output (text only) in
``notebooks/expected/<notebook>.json``; ``tests/nbval_expected.py`` merges it into a scratch
copy for nbval, so the committed notebooks stay output-free.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import nbval_expected
import pytest

from xbot import reports

NOTEBOOKS = sorted(reports.notebooks_dir().glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"


def test_the_six_workbench_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_candidates_refresh",
        "02_shadow_scheduling",
        "03_learning",
        "04_health_report",
        "05_performance_explorer",
        "06_review_queue",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code cells"
    for cell in code:
        assert cell.outputs == [], f"outputs committed in {path.name}: {cell.source[:60]!r}"
        assert cell.execution_count is None, f"execution count committed in {path.name}"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    assert "environment" in reports.notebook_parameters(path)
    assert "run_date" in reports.notebook_parameters(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_checked_cell_has_a_text_expectation(path: Path):
    """nbval compares these cells; their expected output lives in notebooks/expected/."""
    expected = nbval_expected.expectations_for(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nbval_expected.checked_cells(nb):
        outputs = expected.get(cell.id)
        assert outputs, f"{path.name}: checked cell {cell.id} has no expected output"
        kinds = {k for o in outputs for k in o.get("data", {"text/plain": ""})}
        assert kinds <= {"text/plain", "text/markdown"}, f"{path.name}: {kinds}"


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
