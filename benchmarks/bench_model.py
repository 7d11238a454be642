"""Time fit_model on 5,000 SIMULATED posts (target < 60 s on 2 cores), ADVI and NUTS.

Needs DATABASE_URL / REDIS_URL (or XBOT_TEST_*); creates and drops its own database. The
PyTensor compile cache goes under XBOT_HOME (default .xbot/), so the second run measures the fit,
not the C compilation; both are printed.

    python benchmarks/bench_model.py [--posts 5000] [--method advi|nuts]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from scratch import ScratchDatabase

from xbot import migrate
from xbot.model import fit_model
from xbot.services import Services
from xbot.settings import load_settings
from xbot.sim import SimWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--method", choices=["advi", "nuts", "both"], default="both")
    args = parser.parse_args()
    base = os.environ.get("XBOT_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]
    redis_url = os.environ.get("XBOT_TEST_REDIS_URL") or os.environ["REDIS_URL"]
    scratch = ScratchDatabase(base)
    env = {"DATABASE_URL": scratch.url,
           "REDIS_URL": redis_url,
           # a fresh XBOT_HOME (empty PyTensor cache) unless one is given: the first fit is cold
           "XBOT_HOME": os.environ.get("XBOT_HOME") or tempfile.mkdtemp(prefix="xbot_bench_")}  # fmt: skip
    services = Services(load_settings(env, env_file=""))
    try:
        migrate.migrate(services.engine)
        world = SimWorld(seed=11)
        rng = np.random.default_rng(11)
        rows = []
        for i in range(args.posts):
            topic = world.topics[int(rng.integers(len(world.topics)))]
            fmt = world.formats[int(rng.integers(len(world.formats)))]
            hour = int(rng.integers(24))
            posted_at = NOW - timedelta(hours=48 + i % 500)
            m = world.metrics_for(str(i), topic, hour, fmt, posted_at, NOW)
            rows.append({"k": f"b{i}", "p": posted_at,
                         "m": json.dumps({"topic": topic, "hour": hour, "format": fmt}),
                         "a": json.dumps(m)})  # fmt: skip
        with services.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into tweets (environment, idempotency_key, text, status, posted_at, "
                    "metadata, analytics) values ('development', :k, :k, 'posted', :p, "
                    "cast(:m as jsonb), cast(:a as jsonb))"
                ),
                rows,
            )
        methods = ["advi", "nuts"] if args.method == "both" else [args.method]
        for method in methods:
            for run in ("first (compiles unless cached)", "second (cache warm)"):
                t0 = time.perf_counter()
                summary = fit_model(services, "development", method=method, now=NOW)
                wall = time.perf_counter() - t0
                print(f"{method} {run}: {summary.n_posts} posts, wall {wall:.1f}s, "
                      f"fit {summary.seconds:.1f}s ({wall / TARGET_S:.2f}x of the "
                      f"{TARGET_S:.0f}s target) diagnostics {summary.diagnostics}", flush=True)  # fmt: skip
    finally:
        services.close()
        scratch.drop()


if __name__ == "__main__":
    main()
