"""How fast the CLI answers: ``xbot --help`` and ``xbot health`` as real processes.

Baseline in the same run: a bare ``python -c "import sqlalchemy"`` (interpreter start plus the
one library every database command needs). Each command runs ``--repeat`` times, interleaved
with the baseline so that load from other jobs hits all three alike; the medians are compared.
Targets: ``xbot --help`` within 2x of the baseline; ``xbot health`` at most 0.5 s.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        python benchmarks/bench_cli.py [--repeat 9]

A scratch database (migrated, so health is HEALTHY as in production) and a unique
REDIS_PREFIX are created for the run and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

import redis as redis_lib
import sqlalchemy as sa
from scratch import ScratchDatabase

from xbot import flags, migrate
from xbot.services import sqlalchemy_url
from xbot.settings import APP_ENVS

HELP_RATIO_TARGET = 2.0
HEALTH_TARGET_S = 0.5


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def _prepare(url: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        migrate.migrate(engine)
        with engine.begin() as conn:
            for env in APP_ENVS:
                flags.seed_defaults(conn, env)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if not base_url or not redis_url:
        sys.exit("set DATABASE_URL and REDIS_URL (local servers)")
    scratch = ScratchDatabase(base_url)
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DATABASE_URL": scratch.url,
        "REDIS_PREFIX": prefix,
        "APP_ENV": "development",
    }
    commands = {
        "import sqlalchemy": [sys.executable, "-c", "import sqlalchemy"],
        "xbot --help": [sys.executable, "-m", "xbot", "--help"],
        "xbot health": [sys.executable, "-m", "xbot", "health"],
    }
    try:
        _prepare(scratch.url)
        for argv in commands.values():  # warm the OS file cache and the .pyc files
            _timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                samples[name].append(_timed(argv, env))
        healthy = subprocess.run(commands["xbot health"], env=env, capture_output=True, text=True)
    finally:
        scratch.drop()
        client = redis_lib.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["import sqlalchemy"]
    result = {
        "repeat": args.repeat,
        "median_s": {k: round(v, 3) for k, v in median.items()},
        "min_s": {k: round(min(v), 3) for k, v in samples.items()},
        "help_ratio": round(median["xbot --help"] / base, 2),
        "health_ratio": round(median["xbot health"] / base, 2),
        "health_exit": healthy.returncode,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.repeat} runs each, interleaved; load average {result['load_avg_1m']}")
    print(f"{'command':20} {'median':>8} {'min':>8} {'vs baseline':>12}")
    for name in commands:
        ratio = median[name] / base
        print(f"{name:20} {median[name]:7.3f}s {min(samples[name]):7.3f}s {ratio:11.2f}x")
    help_ok = result["help_ratio"] <= HELP_RATIO_TARGET
    health_ok = median["xbot health"] <= HEALTH_TARGET_S
    print(f"xbot --help: {result['help_ratio']:.2f}x the baseline (target <= {HELP_RATIO_TARGET}x): "
          f"{'MET' if help_ok else 'NOT MET'}")  # fmt: skip
    print(f"xbot health: {median['xbot health']:.3f}s, exit {healthy.returncode}, "
          f"{result['health_ratio']:.2f}x the baseline (target <= {HEALTH_TARGET_S}s): "
          f"{'MET' if health_ok else 'NOT MET'}")  # fmt: skip


if __name__ == "__main__":
    main()
