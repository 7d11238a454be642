"""Lift captured of ``xbot demo`` over several seeds, with intervals (issue 13 §0; SIMULATED).

Each run is the real demo (:func:`xbot.demo.run_demo`: the runbook's rollout phases, catalogue
candidates, scheduler + BanditStore + learning on Postgres and Redis, the simulated X) in its
own scratch database and REDIS_PREFIX, with hourly slots (``post_interval_min`` is 60, so
15-minute slots post the same) and no nightly model fits (``model_priors`` is off by default).
Lift captured (:func:`xbot.demo.lift_captured`, docs/learning.md §0) =
sum(true rate of V2's pick - of V1's choice) / sum(best eligible - V1's choice) over the V2 slots.

Printed per (days, epsilon): every seed's lift, V2 / V1 / best / random-eligible true rates,
the pooled lift (sum of gains / sum of room: a seed whose V1 favourite is nearly the best has
almost no room and a wild ratio) with a 95 % percentile bootstrap interval over seeds, and the
mean gain per V2 slot (V2 - V1, in rate points) with its seed bootstrap interval, and the
ceiling the epsilon floor leaves: the lift of an oracle that picks the best candidate except on
the epsilon share of slots, where it picks uniformly like the floor does,
(1 - eps) + eps * (random - V1) / (best - V1); when V1's choice is near the best a random
pick costs many times the room, so this ceiling can be far below 100 %.

    python benchmarks/bench_lift.py                       # 5 seeds x 14 days, 3 x 60, eps 0.2 / 0.05
    python benchmarks/bench_lift.py --days 14 --eps 0.2 --seeds 5 --jobs 2
    python benchmarks/bench_lift.py --dump /tmp/lift      # + each run's decisions as JSON

Runs to be compared need the same ``--end`` (the demo's feed items age with it, so its end
fixes the candidates and V1's choice); the default is fixed for that reason. A 14-day run costs
about 50 s of one core, a 60-day run about four times that.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from scratch import live_services

from xbot.bandit_store import BanditStore
from xbot.demo import run_demo

END = datetime(2026, 12, 1, 9, tzinfo=UTC)
TARGETS = {14: (0.30, 0.40), 60: (0.50, 0.65)}  # (target, stretch) at epsilon 0.2


def _dump(services, path: Path) -> None:
    """The run's decisions and learned posts (for diagnosis) and the final bandit evidence."""
    env = services.settings.environment
    with services.engine.connect() as conn:
        decisions = conn.execute(
            sa.text(
                "select d.ts, d.engine, d.outcome, d.hour, d.topic, d.format, d.propensity,"
                " d.scores, d.context -> 'eligible_pairs' as pairs, d.context -> 'arms' as arms,"
                " d.context ->> 'live' as live, c.topic as v1_topic, c.format as v1_format"
                " from decisions d left join candidates c on c.environment = d.environment"
                " and c.content_hash = d.context ->> 'v1_choice'"
                " where d.environment = :e and d.outcome in ('posted', 'shadow') order by d.ts"
            ),
            {"e": env},
        ).mappings()
        rows = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in decisions]  # fmt: skip
        posts = conn.execute(
            sa.text(
                "select posted_at, topic, reward, engagements::double precision / impressions"
                " as rate from tweets where environment = :e and learned_cycle_id is not null"
                " order by posted_at"
            ),
            {"e": env},
        ).mappings()
        learned = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                   for r in posts]  # fmt: skip
    state = BanditStore(services, env).state()
    path.write_text(json.dumps({"decisions": rows, "learned": learned, "state": state}))


def one_run(job: tuple[int, int, float, datetime, str | None]) -> dict[str, float]:
    """One demo run: its lift numbers (and, with a dump directory, its decision log there)."""
    seed, days, epsilon, end, dump = job
    with live_services() as services:
        result = run_demo(services, services.settings, days=days, seed=seed, slot_minutes=60,
                          model_fits=False, flag_values={"epsilon": epsilon}, end=end)  # fmt: skip
        if dump:
            _dump(services, Path(dump) / f"lift_d{days}_e{epsilon}_s{seed}.json")
    lift = result.lift
    return {"seed": seed, "lift": lift.captured if lift.captured is not None else float("nan"),
            "v2": lift.v2, "v1": lift.v1, "best": lift.best, "uniform": lift.uniform,
            "slots": lift.slots, "seconds": result.elapsed_s}  # fmt: skip


def pool_map(fn, work: list, jobs: int) -> list:
    if jobs > 1 and len(work) > 1:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
            return pool.map(fn, work)
    return [fn(w) for w in work]


def pooled_lift(rows: list[dict[str, float]], n_boot: int = 4000) -> tuple[float, float, float]:
    """Lift pooled over seeds (sum of gains / sum of room, every slot weighing the same) with a
    95 % percentile bootstrap interval over seeds."""
    gain = np.array([r["slots"] * (r["v2"] - r["v1"]) for r in rows])
    room = np.array([r["slots"] * (r["best"] - r["v1"]) for r in rows])
    rng = np.random.default_rng(0)
    idx = rng.integers(len(rows), size=(n_boot, len(rows)))
    boot = gain[idx].sum(axis=1) / room[idx].sum(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(gain.sum() / room.sum()), float(lo), float(hi)


def ceiling_lift(rows: list[dict[str, float]], eps: float) -> float:
    """Pooled lift of the oracle under the epsilon floor: the best candidate on 1 - eps of the
    slots, a uniformly random one on the rest."""
    room = sum(r["slots"] * (r["best"] - r["v1"]) for r in rows)
    oracle = sum(r["slots"] * ((1 - eps) * (r["best"] - r["v1"]) + eps * (r["uniform"] - r["v1"]))
                 for r in rows)  # fmt: skip
    return oracle / room


def mean_gain(rows: list[dict[str, float]], n_boot: int = 4000) -> tuple[float, float, float]:
    """Mean over seeds of V2 - V1 per V2 slot, with a 95 % seed bootstrap interval."""
    values = np.array([r["v2"] - r["v1"] for r in rows])
    rng = np.random.default_rng(0)
    boot = values[rng.integers(values.size, size=(n_boot, values.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(values.mean()), float(lo), float(hi)


def report(days: int, eps: float, rows: list[dict[str, float]]) -> tuple[str, str | None]:
    """The markdown block of one (days, epsilon) and, at epsilon 0.2, its target verdict."""
    lines = [f"\n#### {days} days, epsilon {eps}, {len(rows)} seeds", "",
             "| seed | V2 slots | V2 pick | V1 choice | best | random | lift captured | "
             "ceiling at this epsilon |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        ceiling = ceiling_lift([r], eps)
        lines.append(f"| {r['seed']} | {r['slots']} | {r['v2']:.4f} | {r['v1']:.4f} | "
                     f"{r['best']:.4f} | {r['uniform']:.4f} | {r['lift']:.1%} | "
                     f"{ceiling:.1%} |")  # fmt: skip
    m, lo, hi = pooled_lift(rows)
    g, glo, ghi = mean_gain(rows)
    lines.append(f"| **pooled** | {sum(r['slots'] for r in rows)} | "
                 f"{np.mean([r['v2'] for r in rows]):.4f} | {np.mean([r['v1'] for r in rows]):.4f} | "
                 f"{np.mean([r['best'] for r in rows]):.4f} | "
                 f"{np.mean([r['uniform'] for r in rows]):.4f} | **{m:.1%}** ({lo:.1%} to {hi:.1%}) | "
                 f"{ceiling_lift(rows, eps):.1%} |")  # fmt: skip
    lines.append(f"\ngain per V2 slot (V2 - V1): {g * 100:+.2f} points (95 % CI "
                 f"{glo * 100:+.2f} to {ghi * 100:+.2f}); "
                 f"{np.mean([r['seconds'] for r in rows]):.0f} s per run")  # fmt: skip
    verdict = None
    if eps == 0.2 and days in TARGETS:
        goal, stretch = TARGETS[days]
        status = "MET, stretch too" if m >= stretch else "MET" if m >= goal else "NOT MET"
        verdict = (f"- {days} days, eps 0.2: pooled lift {m:.1%} (95 % CI {lo:.1%} to "
                   f"{hi:.1%}; target >= {goal:.0%}, stretch {stretch:.0%}) -> {status}")  # fmt: skip
    return "\n".join(lines), verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, nargs="+", default=[14, 60], help="demo lengths")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.2, 0.05], help="epsilons")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the 14-day (short) runs")
    parser.add_argument("--seeds-long", type=int, default=3, help="seeds of runs > 14 days")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel")
    parser.add_argument("--end", type=datetime.fromisoformat, default=END,
                        help="end of every demo run (ISO, aware)")  # fmt: skip
    parser.add_argument("--dump", default=None, help="directory for each run's decision log")
    args = parser.parse_args()
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
    print("SIMULATED truth: lift captured of `xbot demo` (docs/learning.md §0)", flush=True)
    started = time.perf_counter()
    verdicts = []
    for days in args.days:
        n = args.seeds if days <= 14 else args.seeds_long
        seeds = range(args.first_seed, args.first_seed + n)
        for eps in args.eps:
            rows = pool_map(one_run, [(s, days, eps, args.end, args.dump) for s in seeds],
                            args.jobs)  # fmt: skip
            text, verdict = report(days, eps, rows)
            print(text, flush=True)
            if verdict:
                verdicts.append(verdict)
    print("\n### Targets\n\n" + "\n".join(verdicts))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
