"""Expected outputs for nbval, kept beside the notebooks instead of inside them.

Committed notebooks carry no outputs at all. The cells marked ``# NBVAL_CHECK_OUTPUT`` have
their expected output in ``notebooks/expected/<notebook>.json`` ({cell id: outputs}). Before
nbval runs, ``build`` copies the notebooks (with conftest.py and the sanitizer) into a scratch
directory and puts each expected output back into its cell, which is what nbval compares.

    python tests/nbval_expected.py build build/nbval     # what `make test` does
    python tests/nbval_expected.py record RUN.ipynb      # take expectations from an executed run
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = NOTEBOOKS / "expected"
MARKER = "# NBVAL_CHECK_OUTPUT"
SUPPORT_FILES = ("conftest.py", "nbval_sanitize.cfg")


def checked_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(MARKER)]


def expectations_for(notebook: Path) -> dict[str, list]:
    path = EXPECTED / f"{notebook.stem}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def build(dest: Path) -> list[Path]:
    """Copy every notebook into ``dest`` with its expected outputs merged in."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in SUPPORT_FILES:
        shutil.copy(NOTEBOOKS / name, dest / name)
    written = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        expected = expectations_for(path)
        for cell in checked_cells(nb):
            if cell.id not in expected:
                raise SystemExit(f"{path.name}: checked cell {cell.id} has no expected output")
            cell.outputs = [nbformat.from_dict(o) for o in expected[cell.id]]
            cell.execution_count = 1
        nbformat.write(nb, dest / path.name)
        written.append(dest / path.name)
    return written


def record(executed: Path) -> Path:
    """Store the outputs of the checked cells of an executed copy of a notebook."""
    nb = nbformat.read(executed, as_version=4)
    stem = executed.stem.split("-", 1)[-1]  # runs/<date>/<HHMMSS>-<notebook>.ipynb
    out = {
        cell.id: [{k: v for k, v in o.items() if k != "execution_count"} for o in cell.outputs]
        for cell in checked_cells(nb)
    }
    target = EXPECTED / f"{stem}.json"
    EXPECTED.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        for p in build(Path(sys.argv[2])):
            print(p)
    elif len(sys.argv) == 3 and sys.argv[1] == "record":
        print(record(Path(sys.argv[2])))
    else:
        raise SystemExit(__doc__)
