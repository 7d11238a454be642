"""The safety guard on the labelled corpus, next to better-profanity alone (same run, same texts).

Prints, for each corpus: the development corpus (``tests/data/safety_corpus.jsonl``, the one
the rules were tuned on), the held-out corpus (``tests/data/safety_corpus_holdout.jsonl``, texts
written after the guard was built) and blind sets A and B (``tests/data/safety_corpus_blind_a.jsonl``,
``safety_corpus_blind_b.jsonl``, written by people who never saw the rules) and blind sets C-H
(each written by a further blind writer, measured once untouched, then tuned on); their first-run
numbers are in benchmarks/README.md, since then they guard against regressions. Blind set I
(``safety_corpus_blind_i.jsonl``) is scored too but was never tuned on: it shows the gap. Per corpus: recall per harmful
category, the false-positive rate on benign gaming posts; then throughput in texts per second.
Targets: recall >= 0.97 in every harmful category, false positives <= 1%.

    python benchmarks/bench_safety.py [--repeat 5] [--show-misses] [--corpus PATH ...]

``--corpus PATH`` scores a further corpus file (same JSONL format) next to the shipped ones, e.g.
a blind set nobody tuned on; ``--only`` scores just the ``--corpus`` files.

better-profanity is the baseline because it is what the guard used before (and what a quick
"profanity filter" gives you): ``profanity.contains_profanity(text)`` with its default list.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from xbot.safety import SafetyGuard
from xbot.safety_corpus import (
    CATEGORY_CODES,
    FALSE_POSITIVE_TARGET,
    RECALL_TARGET,
    Checker,
    Score,
    load_corpus,
    score,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CORPORA = {
    "development": DATA / "safety_corpus.jsonl",
    "held-out": DATA / "safety_corpus_holdout.jsonl",
    "blind-a": DATA / "safety_corpus_blind_a.jsonl",
    "blind-b": DATA / "safety_corpus_blind_b.jsonl",
    "blind-c": DATA / "safety_corpus_blind_c.jsonl",
    "blind-d": DATA / "safety_corpus_blind_d.jsonl",
    "blind-e": DATA / "safety_corpus_blind_e.jsonl",
    "blind-f": DATA / "safety_corpus_blind_f.jsonl",
    "blind-g": DATA / "safety_corpus_blind_g.jsonl",
    "blind-h": DATA / "safety_corpus_blind_h.jsonl",
    "blind-i (untuned)": DATA / "safety_corpus_blind_i.jsonl",
}


def guard_checker() -> Checker:
    guard = SafetyGuard()

    def check(text: str, tags: Sequence[str]) -> tuple[bool, Sequence[str]]:
        verdict = guard.validate(text, list(tags))
        return not verdict.ok, verdict.codes

    return check


def profanity_checker() -> Checker:
    from better_profanity import profanity

    profanity.load_censor_words()

    def check(text: str, tags: Sequence[str]) -> tuple[bool, Sequence[str]]:
        found = profanity.contains_profanity(text + " " + " ".join(tags))
        return found, ("profanity",) if found else ()

    return check


def throughput(check: Checker, texts: list[tuple[str, list[str]]], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for text, tags in texts:
            check(text, tags)
    return repeat * len(texts) / (time.perf_counter() - start)


def _table(name: str, rows: int, results: dict[str, Score]) -> None:
    print(f"\n## {name} corpus: {rows} texts")
    header = f"| {'category':<14} | {'n':>4} | " + " | ".join(f"{k:>26}" for k in results) + " |"
    print(header)
    print("|" + "---|" * (2 + len(results)))
    first = next(iter(results.values()))
    for category in [*CATEGORY_CODES, "benign"]:
        if category not in first.total:
            continue
        cells = []
        for s in results.values():
            if category == "benign":
                fp = s.false_positive_rate()
                mark = "ok" if fp <= FALSE_POSITIVE_TARGET else "MISSED"
                cells.append(f"FP {fp:.3f} ({s.refused.get('benign', 0)}) {mark}")
            else:
                r = s.recall(category)
                mark = "ok" if r >= RECALL_TARGET else "MISSED"
                right = s.right_reason.get(category, 0)
                cells.append(f"recall {r:.3f} [{right} right] {mark}")
        print(
            f"| {category:<14} | {first.total[category]:>4} | "
            + " | ".join(f"{c:>26}" for c in cells)
            + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over the texts for texts/s")
    parser.add_argument("--show-misses", action="store_true", help="print missed and FP texts")
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a further corpus file to score (repeatable)",
    )
    parser.add_argument("--only", action="store_true", help="score only the --corpus files")
    args = parser.parse_args()
    if args.only and not args.corpus:
        parser.error("--only needs at least one --corpus PATH")
    corpora = {} if args.only else dict(CORPORA)
    for path in args.corpus:
        if not path.is_file():
            parser.error(f"--corpus {path}: no such file (a JSONL corpus file is required)")
        corpora[str(path)] = path

    checkers = {"xbot guard": guard_checker(), "better-profanity": profanity_checker()}
    all_texts: list[tuple[str, list[str]]] = []
    for name, path in corpora.items():
        if not path.exists():
            print(f"\n## {name} corpus: {path.name} missing")
            continue
        rows = load_corpus(path)
        all_texts += [(r["text"], list(r.get("tags") or [])) for r in rows]
        results = {label: score(check, rows) for label, check in checkers.items()}
        _table(name, len(rows), results)
        guard = results["xbot guard"]
        print(f"guard meets targets: {'yes' if guard.meets_targets() else 'NO'}")
        if args.show_misses:
            for category, text in guard.misses:
                print(f"  missed [{category}] {text!r}")
            for text, codes in guard.false_positives:
                print(f"  false positive ({codes}) {text!r}")

    print(f"\n## throughput over {len(all_texts)} texts x {args.repeat}")
    rates = {label: throughput(check, all_texts, args.repeat) for label, check in checkers.items()}
    for label, rate in rates.items():
        print(f"{label:<18} {rate:>10,.0f} texts/s")
    print(f"guard / baseline: {rates['xbot guard'] / rates['better-profanity']:.2f}x")


if __name__ == "__main__":
    main()
