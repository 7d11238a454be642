"""Real candidates from xbot's own sources, for the benign half of the safety corpus.

The guard must pass what the bot itself writes. This renders the shipped catalogue's templates
over many 6-hour slots, every shipped feed entry (in the format the source picks for it), and the hand-written
file, through the same source classes ``candidates refresh`` uses, and prints them as JSONL
rows of the corpus (``expected: ok``, ``category: benign``, ``origin`` = the source kind):

    python benchmarks/safety_candidates.py [--slots 40] [--limit 150] [--start 2026-11-01]

Rows are deduplicated by text and sampled deterministically (seed 11) so the corpus is
reproducible; ``tests/data/safety_corpus.jsonl`` holds the rows it printed with the defaults,
``tests/data/safety_corpus_holdout.jsonl`` the template rows of ``--start 2027-01-01`` that are
not already in the development corpus.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta

from xbot.candidates.sources import (
    FeedSource,
    FetchContext,
    FileSource,
    TemplateSource,
    load_config,
)


def candidate_rows(slots: int, limit: int, start: datetime) -> list[dict[str, object]]:
    """Distinct candidate texts from templates (``slots`` slots), feeds and the file source."""
    config = load_config()
    catalogue = config.catalogue
    templates: dict[str, dict[str, object]] = {}
    feeds: dict[str, dict[str, object]] = {}
    files: dict[str, dict[str, object]] = {}
    for source in config.sources:
        if isinstance(source, TemplateSource):
            for slot in range(slots):
                ctx = FetchContext(now=start + timedelta(hours=6 * slot), catalogue=catalogue)
                for item in source.fetch(ctx).items:
                    templates.setdefault(
                        item.text, _row(item.text, item.tags, item.format, "catalogue")
                    )
        elif isinstance(source, FeedSource):
            for day in range(20, 31):  # the shipped feeds' entries are dated late November
                ctx = FetchContext(now=datetime(2026, 11, day, 23, tzinfo=UTC), catalogue=catalogue)
                for item in source.fetch(ctx).items:
                    feeds.setdefault(item.text, _row(item.text, item.tags, item.format, "feed"))
        elif isinstance(source, FileSource):
            ctx = FetchContext(now=start, catalogue=catalogue)
            for item in source.fetch(ctx).items:
                files.setdefault(item.text, _row(item.text, item.tags, item.format, "handwritten"))
    rng = random.Random(11)
    picked = sorted(templates)
    rng.shuffle(picked)
    rows = [templates[t] for t in picked[: max(0, limit - len(feeds) - len(files))]]
    return rows + list(feeds.values()) + list(files.values())


def _row(text: str, tags: tuple[str, ...], fmt: str, origin: str) -> dict[str, object]:
    return {
        "text": text,
        "tags": list(tags),
        "expected": "ok",
        "category": "benign",
        "format": fmt,
        "origin": origin,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=40)
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument(
        "--start",
        default="2026-11-01",
        help="first template slot (the held-out rows use 2027-01-01)",
    )
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    for row in candidate_rows(args.slots, args.limit, start):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
