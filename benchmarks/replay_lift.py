"""Screen learning levers fast: replay a demo's slots in memory (SIMULATED; not the headline).

``bench_lift.py --dump DIR`` writes each demo run's decision log. This replays one: the same
slots in the same order, each with its logged eligible pool ((topic, format) counts), its
rollout phase (V1 slots post V1's logged choice, V2 slots let a fresh in-memory
``FeatureBandit`` choose, shadow slots post nothing) and V1's logged choice; posts get
SimWorld's log-normal impressions and binomial engagements, are learned 24 h later with a
:class:`~xbot.reward.RewardRule` (baseline = median of the last 7 days' learned posts,
:func:`xbot.reward.offsets_of` for the hour), and lift captured is scored as
:func:`xbot.demo.lift_captured` does. Approximate by design: the real queue's pool depends on
what was consumed, candidates' tags are their topic's, and there is no Postgres or Redis, so a
run costs ~2 s instead of ~80 s and many replicates fit. Use it to rank levers; measure the
survivors with ``bench_lift.py``.

    python benchmarks/bench_lift.py --days 14 --eps 0.2 --dump /tmp/lift
    python benchmarks/replay_lift.py /tmp/lift/lift_d14_e0.2_s*.json --eps 0.2 0.05 --reps 4
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from bench_lift import END

from xbot.policies import FeatureBandit
from xbot.reward import RewardRule, offsets_of
from xbot.sim import SimWorld

FAMILIES = ("topic", "hour", "format", "tag", "media")
MIN_IMPRESSIONS = 100  # run_learning_cycle's default
LEVERS: dict[str, dict] = {
    "before issue 13 (binary, no hour adjustment)": {"rule": RewardRule(hour_band=-1)},
    "binary + hour adjustment (default)": {"rule": RewardRule()},
    "graded (steepness 4), no hour adjustment": {"rule": RewardRule(shape="graded", hour_band=-1)},
    "graded (steepness 4) + hour adjustment": {"rule": RewardRule(shape="graded")},
    "graded (steepness 2) + hour": {"rule": RewardRule(shape="graded", steepness=2.0)},
    "graded (steepness 8) + hour": {"rule": RewardRule(shape="graded", steepness=8.0)},
    "binary + hour, no tag family": {"rule": RewardRule(), "families": (*FAMILIES[:3], "media")},
}


def replay(path: str, eps: float, rep: int, rule: RewardRule,
           families: tuple[str, ...] = FAMILIES) -> tuple[float, float]:  # fmt: skip
    """(sum of gains, sum of room) of one replay of the dump at ``path``."""
    log = json.loads(Path(path).read_text())
    name = Path(path).stem  # lift_d{days}_e{eps}_s{seed}
    days, seed = int(name.split("_d")[1].split("_")[0]), int(name.split("_s")[-1])
    world = SimWorld(seed, start=END - timedelta(days=days), horizon_days=float(days))
    rates = world.rates(day=0.0)
    ti = {t: i for i, t in enumerate(world.topics)}
    fi = {f: i for i, f in enumerate(world.formats)}
    rng = np.random.default_rng([seed, rep, 99])
    bandit = FeatureBandit(families, epsilon=eps, seed=seed * 100 + rep, propensity_draws=1)

    def arms(topic: str, fmt: str, hour: int) -> dict:
        out = {"topic": topic, "hour": str(hour), "format": fmt, "tag": [topic.split("_", 1)[1]],
               "media": "no"}  # fmt: skip
        return {k: v for k, v in out.items() if k in families}

    pending: list[tuple[datetime, int, dict, float]] = []
    learned: list[tuple[datetime, int, float]] = []
    gain = room = 0.0
    for row in log["decisions"]:
        now = datetime.fromisoformat(row["ts"]).astimezone(UTC)
        ready = [p for p in pending if p[0] <= now - timedelta(hours=24)]
        if ready:
            pending = [p for p in pending if p[0] > now - timedelta(hours=24)]
            window = [(h, r) for t, h, r in learned if now - timedelta(days=7) < t <= now]
            history = np.array([r for _, r in window])
            baseline = (statistics.median(history.tolist()) if history.size >= rule.min_history
                        else rule.fallback)  # fmt: skip
            offsets = offsets_of(history, np.array([h for h, _ in window], dtype=np.int64), rule)
            rewards = rule.rewards(np.array([p[3] for p in ready]), baseline,
                                   np.array([offsets[p[1]] for p in ready]))  # fmt: skip
            bandit.update_many([p[2] for p in ready], rewards.tolist())
            learned += [(now, p[1], p[3]) for p in ready]
        if not row["pairs"] or row["v1_topic"] not in ti:
            continue
        hour = row["hour"]
        pool = [tuple(k.split("|", 1)) for k, n in row["pairs"].items() for _ in range(n)]
        pool = [(t, f) for t, f in pool if t in ti and f in fi]
        v1 = (row["v1_topic"], row["v1_format"])
        if row["engine"] == "v2":
            pick = pool[bandit.choose([arms(t, f, hour) for t, f in pool]).index]
            true = {p: rates[ti[p[0]], hour, fi[p[1]]] for p in {*pool, v1, pick}}
            gain += true[pick] - true[v1]
            room += max(true[p] for p in pool) - true[v1]
        else:
            pick = v1
        if row["outcome"] == "posted":
            impressions = int(np.exp(np.log(world.median_impressions)
                                     + world.impressions_sigma * rng.standard_normal()))  # fmt: skip
            if impressions >= MIN_IMPRESSIONS:
                rate = (
                    rng.binomial(impressions, rates[ti[pick[0]], hour, fi[pick[1]]]) / impressions
                )
                pending.append((now, hour, arms(*pick, hour), rate))
    return gain, room


def _job(job: tuple[str, str, float, int]) -> tuple[str, str, float, float, float]:
    lever, path, eps, rep = job
    return (lever, path, eps, *replay(path, eps, rep, **LEVERS[lever]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dumps", nargs="+", help="bench_lift --dump files (one per seed)")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.2, 0.05])
    parser.add_argument("--reps", type=int, default=4, help="replays per dump and lever")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    args = parser.parse_args()
    work = [(lv, p, e, r) for e in args.eps for lv in args.levers for p in args.dumps
            for r in range(args.reps)]  # fmt: skip
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        rows = pool.map(_job, work)
    print(f"in-memory replay of {len(args.dumps)} demo logs x {args.reps} replays (SIMULATED)")
    for eps in args.eps:
        print(f"\n| lever, eps {eps} | pooled lift (95 % CI over replays) | per dump |")
        print("|---|---:|---|")
        for lever in args.levers:
            mine = [r for r in rows if r[0] == lever and r[2] == eps]
            gain, room = np.array([r[3] for r in mine]), np.array([r[4] for r in mine])
            boot = np.random.default_rng(0).integers(len(mine), size=(4000, len(mine)))
            lo, hi = np.quantile(gain[boot].sum(axis=1) / room[boot].sum(axis=1), [0.025, 0.975])
            per = [sum(r[3] for r in mine if r[1] == p) / sum(r[4] for r in mine if r[1] == p)
                   for p in args.dumps]  # fmt: skip
            print(f"| {lever} | {gain.sum() / room.sum():.1%} ({lo:.1%} to {hi:.1%}) | "
                  + " ".join(f"{x:+.0%}" for x in per) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
