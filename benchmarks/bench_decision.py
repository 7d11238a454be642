"""Time one FeatureBandit decision over 500 candidates (target: p50 under 2 ms).

The candidates look like the scheduler's: 8 topics, 4 formats, the slot's hour (the same for
all), and 1-3 tags from a vocabulary of 4 per topic. The bandit has learned 5,000 SIMULATED posts
first, so posteriors are not the prior. A decision includes the Monte Carlo propensity; the run
reports p50/p90 for the default ``propensity_draws`` (DEFAULT_PROPENSITY_DRAWS) and a few
others, with the Monte Carlo standard error of the sampling part at p = 0.1 and 0.5.
Baselines in the same process: the decision alone (``propensity_draws=1``, no estimate) and one
Beta draw per arm (the floor of any Thompson decision).

    python benchmarks/bench_decision.py [--repeats 200] [--candidates 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xbot.bandit import DEFAULT_PROPENSITY_DRAWS, FeatureBandit
from xbot.sim import FORMATS, TOPICS, SimWorld


def candidates(rng: np.random.Generator, n: int, hour: int) -> list[dict[str, object]]:
    out = []
    for _ in range(n):
        t = int(rng.integers(len(TOPICS)))
        tags = rng.choice(4, size=int(rng.integers(1, 4)), replace=False)
        out.append(
            {
                "topic": TOPICS[t],
                "hour": str(hour),
                "format": FORMATS[int(rng.integers(len(FORMATS)))],
                "tag": [f"{TOPICS[t]}_tag{i}" for i in tags],
            }
        )
    return out


def trained(seed: int, draws: int) -> FeatureBandit:
    rng = np.random.default_rng(seed)
    world = SimWorld(seed=seed)
    posts = []
    rewards = []
    for _ in range(5000):
        hour = int(rng.integers(6, 23))
        c = candidates(rng, 1, hour)[0]
        posts.append(c)
        rate = world.true_rate(str(c["topic"]), hour, str(c["format"]))
        rewards.append(float(rng.random() < 10 * rate))  # success ~30 %, like beating a median
    fb = FeatureBandit(seed=seed, propensity_draws=draws)
    fb.update_many(posts, rewards)
    return fb


def percentiles(times: list[float]) -> tuple[float, float]:
    p50, p90 = np.percentile(np.array(times) * 1e3, [50, 90])
    return float(p50), float(p90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    cands = candidates(rng, args.candidates, hour=20)
    print(f"FeatureBandit.choose over {args.candidates} candidates, {args.repeats} repeats")
    print(
        "\n| propensity_draws | p50 ms | p90 ms | MC s.e. at p=0.1 / 0.5 |\n|---:|---:|---:|---:|"
    )
    for draws in (DEFAULT_PROPENSITY_DRAWS, 1000, 500, 1):
        fb = trained(0, draws)
        fb.choose(cands)  # warm-up
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fb.choose(cands)
            times.append(time.perf_counter() - t)
        p50, p90 = percentiles(times)
        label = f"{draws} (default)" if draws == DEFAULT_PROPENSITY_DRAWS else str(draws)
        se = f"{(0.09 / draws) ** 0.5:.3f} / {(0.25 / draws) ** 0.5:.3f}" if draws > 1 else "-"
        print(f"| {label} | {p50:.2f} | {p90:.2f} | {se} |")
        if draws == DEFAULT_PROPENSITY_DRAWS:
            verdict = "MET" if p50 < 2.0 else "NOT MET"
            default = (
                f"default: p50 {p50:.2f} ms, p90 {p90:.2f} ms (target p50 < 2 ms) -> {verdict}"
            )
    fb = trained(0, 1)
    arms = sum(len(ev.index) for ev in fb._ev.values())
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        fb._rng.beta(np.ones(arms), np.ones(arms))
        times.append(time.perf_counter() - t)
    print(f"\nbaseline: one Beta draw for each of {arms} arms, p50 {percentiles(times)[0]:.3f} ms")
    state = trained(0, DEFAULT_PROPENSITY_DRAWS).state()
    times = []
    for r in range(min(args.repeats, 50)):
        fb = FeatureBandit.from_state(state, seed=r)
        t = time.perf_counter()
        fb.choose(cands)
        times.append(time.perf_counter() - t)
    p50, p90 = percentiles(times)
    print(f"first decision after a load (pooled priors estimated, then cached): p50 {p50:.2f} ms")
    print(default)


if __name__ == "__main__":
    main()
