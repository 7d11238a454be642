"""README and docs link only to files inside the repository, and nothing refers to the shared
folder beside the repository (a fresh clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ".." + "/shared"  # spelled in two parts so this file does not match itself
# the safety helper moves the conformance file into tests/data/ (issue 14 §2)
PENDING = {"tests/test_safety.py"}


def _tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / line for line in out.splitlines() if line]


def test_nothing_points_outside_the_repository():
    hits = []
    for path in _tracked():
        rel = path.relative_to(ROOT).as_posix()
        if rel in PENDING or rel == "CHANGELOG.md" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits += [f"{rel}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE in line]
    assert hits == []


def test_markdown_links_resolve_inside_the_repository():
    broken = []
    for doc in [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (doc.parent / target).resolve()
            if not resolved.exists() or not resolved.is_relative_to(ROOT):
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def test_operations_runbook_covers_every_operation():
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needle in (
        "## Staging dry run", "### Phase 1: shadow", "### Phase 2: learning",
        "### Phase 3: gradual posting", "### Phase 4: full V2 operation", "## Daily checklist",
        "## Emergency procedures", "## Troubleshooting", "## Connection strings and poolers",
        "xbot emergency disable-v2", "xbot emergency stop-posting", "xbot emergency clear-queue",
        "xbot rollout status", "xbot report prune", "'{post_fraction}', '0.1'",
    ):  # fmt: skip
        assert needle in text, needle
