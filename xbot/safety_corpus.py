"""Score a safety checker on a labelled corpus: per-category recall and false-positive rate.

Shared by ``benchmarks/bench_safety.py`` (prints the guard next to better-profanity) and
tests/test_safety.py (holds the guard to its targets), so both count the same way.

A corpus is JSONL, one row per text: ``text``, ``tags``, ``expected`` ("ok" or "refuse"),
``category`` ("benign" or a harmful category), ``format`` and ``origin``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The guard's reason codes that count as "the right reason" for each harmful category.
CATEGORY_CODES: dict[str, frozenset[str]] = {
    "harassment": frozenset({"harassment"}),
    "self_harm": frozenset({"self_harm"}),
    "profanity": frozenset({"profanity"}),
    "scam": frozenset({"scam"}),
    "selling": frozenset({"selling"}),
    "phishing": frozenset({"phishing"}),
    "pii": frozenset(
        {
            "pii_email",
            "pii_phone",
            "pii_card",
            "pii_id",
            "pii_address",
            "credential_in_url",
            "credentials",
            "api_key",
        }
    ),
    "empty_control": frozenset({"empty", "control_characters"}),
}
RECALL_TARGET = 0.97
FALSE_POSITIVE_TARGET = 0.01

#: A checker: (text, tags) -> (refused, reason codes).
Checker = Callable[[str, Sequence[str]], tuple[bool, Sequence[str]]]


def load_corpus(path: Path) -> list[dict[str, Any]]:
    """The rows of a corpus file; a row missing a field or with an unknown label raises."""
    from xbot.errors import ValidationError

    rows = []
    for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        category, expected = row.get("category"), row.get("expected")
        ok_label = (category == "benign" and expected == "ok") or (
            category in CATEGORY_CODES and expected == "refuse"
        )
        if not isinstance(row.get("text"), str) or not ok_label:
            raise ValidationError(
                f"{path}:{n}", line[:60], "text, expected ok/refuse and a known category"
            )
        rows.append(row)
    return rows


@dataclass
class Score:
    """Counts per category; ``misses`` and ``false_positives`` keep the texts for a report."""

    refused: dict[str, int] = field(default_factory=dict)
    right_reason: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    misses: list[tuple[str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str]] = field(default_factory=list)

    def recall(self, category: str) -> float:
        return (
            self.refused.get(category, 0) / self.total[category]
            if self.total.get(category)
            else 0.0
        )

    def false_positive_rate(self) -> float:
        benign = self.total.get("benign", 0)
        return self.refused.get("benign", 0) / benign if benign else 0.0

    def meets_targets(self) -> bool:
        harmful = [c for c in self.total if c != "benign"]
        return all(self.recall(c) >= RECALL_TARGET for c in harmful) and (
            self.false_positive_rate() <= FALSE_POSITIVE_TARGET
        )


def score(check: Checker, rows: Sequence[dict[str, Any]]) -> Score:
    """Run ``check`` on every row and count refusals per category."""
    out = Score()
    for row in rows:
        category = row["category"]
        refused, codes = check(row["text"], row.get("tags") or [])
        out.total[category] = out.total.get(category, 0) + 1
        if refused:
            out.refused[category] = out.refused.get(category, 0) + 1
            if category == "benign":
                out.false_positives.append((row["text"], ",".join(codes)))
        elif category != "benign":
            out.misses.append((category, row["text"]))
        if category in CATEGORY_CODES and CATEGORY_CODES[category] & set(codes):
            out.right_reason[category] = out.right_reason.get(category, 0) + 1
    return out
