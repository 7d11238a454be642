"""Regret of xbot's bandits against MABWiser on SIMULATED worlds (one run, same seeds for all).

Scenarios (issue 4):
  (a) correctness: Bernoulli, 10 arms, best 0.5, others 0.5 - delta (0.02 and 0.1), T = 10,000
  (b) engagement-like: 20 arms with rates 0.01..0.10, T = 5,000
  (c) the gaming simulator: topic x hour x format, 17 posts a day for a year, 12 candidates per
      slot; the product's reward before issue 13 (observed rate beats the 7-day median, no hour
      adjustment) learned by a daily cycle from posts at least 24 h old (each waits 25-41 h)
  (d) drift: 8 topic arms whose rates come from SimWorld(drift=True); the best topic changes at
      T / 2, T = 5,000

Protocol, identical for every policy: the environment's randomness is drawn once per seed
(common random numbers: the same uniform decides the reward of decision t whatever arm is
pulled), and learning happens in cycles (every 10 decisions in (a), (b), (d); daily in (c)), as
the product learns per learning cycle. xbot's ``decay_step`` runs once per cycle. Regret is the
pseudo-regret: sum over decisions of (best available true rate - true rate of the pick).
Propensity Monte Carlo is switched off (``propensity_draws=1``): it never changes a decision.

    python benchmarks/bench_regret.py            # the full run (~10 minutes on 2 cores)
    python benchmarks/bench_regret.py --quick    # 5 seeds (10 for the (a) pair), short horizons

Every ratio is printed with a paired 95 % bootstrap interval over seeds. (a)'s pair (xbot
prior (1,1) vs MABWiser TS) runs on ``--seeds-a`` (200) paired seeds; (d) sweeps the decay and
adds the change detector with family restart (``drift_check``, xbot/drift.py) and, as a
reference, a restart told the change point.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
from bench_lift import END, one_run, pool_map
from bench_lift import report as lift_report
from mabwiser.mab import MAB, LearningPolicy
from scipy import stats
from scratch import live_services

from xbot import flags
from xbot.candidates.prep import content_hash
from xbot.candidates.queue import Candidate, CandidateQueue
from xbot.demo import lift_captured
from xbot.features import arms_of
from xbot.learning import run_learning_cycle
from xbot.policies import BetaBandit, FeatureBandit
from xbot.scheduler import run_cycle
from xbot.sim import FORMATS, TOPICS, SimWorld
from xbot.sim_poster import SimPoster

BATCH = 10
POST_HOURS = tuple(range(6, 23))  # 17 slots a day; quiet hours 2-5 and the late night skipped
CANDIDATES_PER_SLOT = 12

# -- policies for the Bernoulli scenarios -----------------------------------------------------


class Policy:
    """Adapter: ``choose(n)`` returns n arm indices from the current state; ``learn`` a cycle."""

    def choose(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def learn(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        raise NotImplementedError


class Xbot(Policy):
    def __init__(self, k: int, seed: int, **hyper: object) -> None:
        self.names = [str(i) for i in range(k)]
        self.b = BetaBandit(self.names, seed=seed, propensity_draws=1, **hyper)

    def choose(self, n: int) -> np.ndarray:
        arms, _ = self.b.choose_many(n)
        return np.array([int(a) for a in arms])

    def learn(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        self.b.update_many([self.names[a] for a in arms], rewards.tolist())
        self.b.decay_step()


class RestartAtChange(Xbot):
    """Scenario (d)'s lower reference: xbot's default that drops all evidence exactly at T / 2.

    Not a policy (it is told when the world changes); it shows what detection delay costs.
    """

    change_at = 0  # set by main() to T / 2 of the (d) run

    def __init__(self, k: int, seed: int) -> None:
        super().__init__(k, seed)
        self.t = 0

    def learn(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        super().learn(arms, rewards)
        self.t += len(arms)
        if self.t == self.change_at:
            self.b = BetaBandit(self.names, seed=self.t, propensity_draws=1)


class Mab(Policy):
    def __init__(self, k: int, seed: int, policy: object) -> None:
        self.m = MAB(list(range(k)), policy, seed=seed)
        self.m.fit(np.array([], dtype=int), np.array([]))

    def choose(self, n: int) -> np.ndarray:
        out = self.m.predict(contexts=np.zeros((n, 1)))
        return np.atleast_1d(np.asarray(out, dtype=int))

    def learn(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        self.m.partial_fit(arms, rewards)


class Uniform(Policy):
    def __init__(self, k: int, seed: int) -> None:
        self.k, self.rng = k, np.random.default_rng([seed, 7])

    def choose(self, n: int) -> np.ndarray:
        return self.rng.integers(self.k, size=n)

    def learn(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        pass


BERNOULLI_POLICIES: dict[str, Callable[[int, int], Policy]] = {
    "xbot default (eps 0, pooled prior)": lambda k, s: Xbot(k, s),
    "xbot eps 0, prior (1,1)": lambda k, s: Xbot(k, s, prior=(1.0, 1.0)),
    "xbot eps 0.2": lambda k, s: Xbot(k, s, epsilon=0.2),
    "xbot decay 0.99": lambda k, s: Xbot(k, s, decay=0.99),
    "xbot decay 0.995": lambda k, s: Xbot(k, s, decay=0.995),
    "xbot decay 0.998": lambda k, s: Xbot(k, s, decay=0.998),
    "xbot decay 0.97": lambda k, s: Xbot(k, s, decay=0.97),
    "xbot drift_check 6 (CUSUM, family restart)": lambda k, s: Xbot(k, s, drift_check=6.0),
    "xbot drift_check 8 (CUSUM, family restart)": lambda k, s: Xbot(k, s, drift_check=8.0),
    "xbot drift_check 6 + decay 0.998": lambda k, s: Xbot(k, s, drift_check=6.0, decay=0.998),
    "reference: restart told the change point (not a policy)": lambda k, s: RestartAtChange(k, s),
    "MABWiser TS": lambda k, s: Mab(k, s, LearningPolicy.ThompsonSampling()),
    "MABWiser EpsGreedy 0.2": lambda k, s: Mab(k, s, LearningPolicy.EpsilonGreedy(epsilon=0.2)),
    "uniform random": lambda k, s: Uniform(k, s),
}


def run_bernoulli(
    scenario: tuple,
    k: int,
    horizon: int,
    seeds: range,
    names: list[str] | None = None,
    jobs: int = 1,
) -> dict[str, np.ndarray]:
    """Regret per policy and seed (paired: every policy meets the same seeds and uniforms).

    ``scenario`` names the arm rates (see :func:`means_of`); seeds run in ``jobs`` processes.
    """
    names = list(BERNOULLI_POLICIES) if names is None else names
    work = [(scenario, k, horizon, seed, names) for seed in seeds]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            rows = pool.map(_one_seed, work)
    else:
        rows = [_one_seed(w) for w in work]
    out = {name: np.array([r[name] for r in rows]) for name in names}
    out["oracle"] = np.zeros(len(seeds))
    return out


def _one_seed(job: tuple) -> dict[str, float]:
    scenario, k, horizon, seed, names = job
    means = means_of(scenario, horizon)
    u = np.random.default_rng([seed, 99]).random(horizon)
    mu = np.stack([means(seed, t) for t in range(0, horizon, BATCH)])
    out = {}
    for name in names:
        policy = BERNOULLI_POLICIES[name](k, seed)
        regret = 0.0
        for c, t in enumerate(range(0, horizon, BATCH)):
            n = min(BATCH, horizon - t)
            arms = policy.choose(n)
            regret += float(np.sum(mu[c].max() - mu[c][arms]))
            policy.learn(arms, (u[t : t + n] < mu[c][arms]).astype(float))
        out[name] = regret
    return out


def means_of(scenario: tuple, horizon: int) -> Callable[[int, int], np.ndarray]:
    """("a", delta), ("b",) or ("d",): the arm rates ``means(seed, t)`` of a scenario."""
    if scenario[0] == "a":
        return scenario_a(scenario[1])
    if scenario[0] == "b":
        return scenario_b
    return scenario_d(horizon)


def scenario_a(delta: float) -> Callable[[int, int], np.ndarray]:
    def means(seed: int, t: int) -> np.ndarray:
        mu = np.full(10, 0.5 - delta)
        mu[np.random.default_rng([seed, 1]).integers(10)] = 0.5  # best arm placed at random
        return mu

    return means


def scenario_b(seed: int, t: int) -> np.ndarray:
    return np.random.default_rng([seed, 2]).permutation(np.linspace(0.01, 0.10, 20))


def scenario_d(horizon: int) -> Callable[[int, int], np.ndarray]:
    def means(seed: int, t: int) -> np.ndarray:
        world = SimWorld(seed=seed, drift=True, horizon_days=float(horizon))
        return world.rates(day=float(t)).mean(axis=(1, 2))

    return means


def lai_robbins(mu: np.ndarray, horizon: int) -> float:
    """C(mu) ln T with C(mu) = sum over suboptimal arms of gap / KL(mu_k, mu*)."""
    best = mu.max()

    def kl(p: float, q: float) -> float:
        return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))

    c = sum((best - m) / kl(m, best) for m in mu if m < best)
    return c * math.log(horizon)


# -- scenario (c): the gaming simulator -------------------------------------------------------


@dataclass
class Day:
    """One day of slots for one seed: candidate (topic, format) combos and reward uniforms."""

    combos: np.ndarray  # (slots, candidates) index into topic * len(FORMATS) + format
    uniforms: np.ndarray  # (slots,)


def _features(combo: int, hour: int) -> dict[str, str]:
    return {"topic": TOPICS[combo // len(FORMATS)], "hour": str(hour), "format": FORMATS[combo % 4]}


def _arm(combo: int, hour: int) -> str:
    return f"{combo}|{hour}"


class SimPolicy:
    """Adapter for (c): pick one candidate per slot of a day; learn yesterday's posts."""

    def choose_day(self, day: Day) -> np.ndarray:
        raise NotImplementedError

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        raise NotImplementedError


class Engine(SimPolicy):
    """FeatureBandit on (topic, hour, format); with ``tags`` also the catalogue's hashtags of
    the topic, mapped as the live engine maps them (the in-memory twin of the live rows)."""

    def __init__(
        self, seed: int, epsilon: float, drift_check: float = 0.0, tags: bool = False
    ) -> None:
        families = ("topic", "hour", "format", "tag") if tags else ("topic", "hour", "format")
        self.b = FeatureBandit(families, epsilon=epsilon, seed=seed, propensity_draws=1,
                               drift_check=drift_check)  # fmt: skip
        self.tags = _catalogue()[0] if tags else None

    def _features(self, combo: int, hour: int) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = dict(_features(combo, hour))
        if self.tags is not None:
            arms = arms_of({"tags": self.tags.get(str(out["topic"]), [])})
            if arms:
                out["tag"] = arms["tag"]
        return out

    def choose_day(self, day: Day) -> np.ndarray:
        out = np.empty(len(POST_HOURS), dtype=int)
        for s, hour in enumerate(POST_HOURS):
            cands = [self._features(int(c), hour) for c in day.combos[s]]
            out[s] = day.combos[s][self.b.choose(cands).index]
        return out

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        feats = [self._features(int(c), int(h)) for c, h in zip(combos, hours, strict=True)]
        self.b.update_many(feats, rewards.tolist())
        self.b.decay_step()


class FlatXbot(SimPolicy):
    def __init__(self, seed: int, **hyper: object) -> None:
        arms = [_arm(c, h) for c in range(len(TOPICS) * len(FORMATS)) for h in POST_HOURS]
        self.b = BetaBandit(arms, seed=seed, propensity_draws=1, **hyper)

    def choose_day(self, day: Day) -> np.ndarray:
        out = np.empty(len(POST_HOURS), dtype=int)
        for s, hour in enumerate(POST_HOURS):
            arm, _ = self.b.choose([_arm(int(c), hour) for c in day.combos[s]])
            out[s] = int(arm.split("|")[0])
        return out

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        arms = [_arm(int(c), int(h)) for c, h in zip(combos, hours, strict=True)]
        self.b.update_many(arms, rewards.tolist())
        self.b.decay_step()


class FlatMab(SimPolicy):
    """MABWiser over the flattened topic x hour x format arms; the state is fixed within a day,
    so one ``predict_expectations`` call gives an independent sample per slot."""

    def __init__(self, seed: int, policy: object) -> None:
        arms = [_arm(c, h) for c in range(len(TOPICS) * len(FORMATS)) for h in POST_HOURS]
        self.m = MAB(arms, policy, seed=seed)
        self.m.fit(np.array([], dtype=object), np.array([]))

    def choose_day(self, day: Day) -> np.ndarray:
        expect = self.m.predict_expectations(contexts=np.zeros((len(POST_HOURS), 1)))
        out = np.empty(len(POST_HOURS), dtype=int)
        for s, hour in enumerate(POST_HOURS):
            values = [expect[s][_arm(int(c), hour)] for c in day.combos[s]]
            out[s] = day.combos[s][int(np.argmax(values))]
        return out

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        arms = np.array([_arm(int(c), int(h)) for c, h in zip(combos, hours, strict=True)])
        self.m.partial_fit(arms, rewards)


def _one_hot(combos: np.ndarray, hours: np.ndarray) -> np.ndarray:
    x = np.zeros((combos.size, len(TOPICS) + 24 + len(FORMATS)))
    rows = np.arange(combos.size)
    x[rows, combos // len(FORMATS)] = 1.0
    x[rows, len(TOPICS) + hours] = 1.0
    x[rows, len(TOPICS) + 24 + combos % len(FORMATS)] = 1.0
    return x


class LinTS(SimPolicy):
    """MABWiser LinTS on one-hot (topic, hour, format) features of each candidate: one linear
    model shared by all candidates, sampled per candidate."""

    def __init__(self, seed: int, alpha: float) -> None:
        self.m = MAB(["post"], LearningPolicy.LinTS(alpha=alpha), seed=seed)
        self.m.fit(
            np.array([], dtype=object),
            np.array([]),
            contexts=_one_hot(np.zeros(0, int), np.zeros(0, int)),
        )

    def choose_day(self, day: Day) -> np.ndarray:
        hours = np.repeat(np.array(POST_HOURS), day.combos.shape[1])
        expect = self.m.predict_expectations(contexts=_one_hot(day.combos.ravel(), hours))
        values = np.array([e["post"] for e in expect]).reshape(day.combos.shape)
        return day.combos[np.arange(len(POST_HOURS)), values.argmax(axis=1)]

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        self.m.partial_fit(
            np.array(["post"] * combos.size), rewards, contexts=_one_hot(combos, hours)
        )


class SimUniform(SimPolicy):
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 7])

    def choose_day(self, day: Day) -> np.ndarray:
        pick = self.rng.integers(day.combos.shape[1], size=len(POST_HOURS))
        return day.combos[np.arange(len(POST_HOURS)), pick]

    def learn(self, combos: np.ndarray, hours: np.ndarray, rewards: np.ndarray) -> None:
        pass


SIM_POLICIES: dict[str, Callable[[int], SimPolicy]] = {
    "xbot engine (FeatureBandit, eps 0.2 = flag default)": lambda s: Engine(s, 0.2),
    "xbot engine (FeatureBandit, eps 0)": lambda s: Engine(s, 0.0),
    "xbot engine eps 0 + drift_check 10 (stationary world: the detector's cost)": lambda s: Engine(
        s, 0.0, 10.0
    ),
    "xbot default flat (eps 0, pooled prior)": lambda s: FlatXbot(s),
    "xbot flat eps 0, prior (1,1)": lambda s: FlatXbot(s, prior=(1.0, 1.0)),
    "xbot flat eps 0.2": lambda s: FlatXbot(s, epsilon=0.2),
    "xbot flat decay 0.99": lambda s: FlatXbot(s, decay=0.99),
    "MABWiser TS (flattened arms)": lambda s: FlatMab(s, LearningPolicy.ThompsonSampling()),
    "MABWiser EpsGreedy 0.2 (flattened)": lambda s: FlatMab(
        s, LearningPolicy.EpsilonGreedy(epsilon=0.2)
    ),
    "MABWiser LinTS one-hot (alpha 1)": lambda s: LinTS(s, 1.0),
    "MABWiser LinTS one-hot (alpha 0.1, tuned; not in the issue)": lambda s: LinTS(s, 0.1),
    "uniform random": lambda s: SimUniform(s),
}


def schedule(seed: int, days: int, kind: str = "c") -> tuple[list[Day], np.random.Generator]:
    """The candidates of every slot, drawn once per seed (the in-memory and live rows share it).

    ``"c"``: 12 of the 32 (topic, format) combos at random per slot; ``"d"``: the 8 topics once
    each, with a random format, per slot. Returns the generator too: (c)'s impressions are
    drawn from it next, as they always were.
    """
    rng = np.random.default_rng([seed, 3])
    n_combos = len(TOPICS) * len(FORMATS)
    out = []
    for _ in range(days):
        if kind == "c":
            combos = np.stack(
                [rng.choice(n_combos, CANDIDATES_PER_SLOT, replace=False) for _ in POST_HOURS]
            )
        else:
            topics = np.arange(len(TOPICS)) * len(FORMATS)
            combos = np.stack(
                [topics + rng.integers(len(FORMATS), size=len(TOPICS)) for _ in POST_HOURS]
            )
        out.append(Day(combos, rng.random(len(POST_HOURS))))
    return out, rng


def world_of(seed: int, days: int, kind: str) -> SimWorld:
    """(c)'s stationary world, or (d)'s: the topic order reverses at ``days / 2``."""
    return SimWorld(seed=seed, drift=kind == "d", horizon_days=float(days), start=LIVE_START)


def run_sim(
    days: int,
    seeds: range,
    policies: dict[str, Callable[[int], SimPolicy]] | None = None,
    kind: str = "c",
) -> dict[str, np.ndarray]:
    """Regret per policy and seed in the gaming simulator.

    The reward is the product's rule before issue 13 (no hour adjustment, docs/learning.md §6;
    the live rows use the current rule): a post succeeds when its observed engagement rate
    (binomial engagements out of log-normal impressions, SimWorld's parameters) beats the median
    rate of the policy's own posts learned in the previous 7 days (0.03 without history).
    Impressions and the engagement uniforms are drawn once per seed and slot (common random
    numbers), so every policy meets the same luck.
    """
    policies = SIM_POLICIES if policies is None else policies
    out = {name: np.zeros(len(seeds)) for name in policies}
    hours = np.array(POST_HOURS)
    n_combos = len(TOPICS) * len(FORMATS)
    for j, seed in enumerate(seeds):
        world = world_of(seed, days, kind)
        plan, rng = schedule(seed, days, kind)
        impressions = np.maximum(
            1.0,
            np.round(
                rng.lognormal(
                    math.log(world.median_impressions), world.impressions_sigma, (days, len(hours))
                )
            ),
        )
        flats = [
            world.rates(day=float(d)).transpose(0, 2, 1).reshape(n_combos, 24)  # [combo, hour]
            for d in range(days)
        ]
        for name, make in policies.items():
            policy = make(seed)
            regret = 0.0
            learned: list[np.ndarray] = []  # observed rates of learned posts, one array per day
            pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
            for d, day in enumerate(plan):
                flat = flats[d]
                picks = policy.choose_day(day)
                best = flat[day.combos, hours[:, None]].max(axis=1)
                got = flat[picks, hours]
                regret += float(np.sum(best - got))
                engagements = stats.binom.ppf(day.uniforms, impressions[d], got)
                observed = engagements / impressions[d]
                if pending is not None:  # end of day: learn yesterday's posts (>= 24 h old)
                    recent = learned[-7:]
                    baseline = float(np.median(np.concatenate(recent))) if recent else 0.03
                    combos, hrs, rates = pending
                    policy.learn(combos, hrs, (rates > baseline).astype(float))
                    learned.append(rates)
                pending = (picks, hours, observed)
            out[name][j] = regret
    out["oracle"] = np.zeros(len(seeds))
    return out


# -- the live path: scheduler + BanditStore + learning on Postgres and Redis ------------------
# Issue 13 §2. The same worlds and candidate schedules as the in-memory rows, run through
# xbot.scheduler.run_cycle and xbot.learning.run_learning_cycle on a simulated clock with the
# simulated X (SimPoster), each seed in its own scratch database and REDIS_PREFIX.

LIVE_START = datetime(2026, 1, 1, tzinfo=UTC)
LEARN_HOUR = 23  # one learning cycle a day, after the last slot: yesterday's posts are >= 24 h
CHECKPOINTS = (14, 30)  # days at which a live run also reports regret and lift so far


def _catalogue() -> tuple[dict[str, list[str]], list[str]]:
    """Per topic the catalogue's hashtags (mixed case, as sources attach them) and a word list
    for candidate texts (game names and aspects: texts the guard accepts, rarely near-duplicate)."""
    data = tomllib.loads((resources.files("xbot") / "data" / "catalogue.toml").read_text())
    tags = {t: list(v.get("hashtags", [])) for t, v in data["topics"].items()}
    words = sorted({w for v in data["topics"].values() for k in ("games", "aspects")
                    for phrase in v.get(k, []) for w in phrase.split()})  # fmt: skip
    return tags, words


def live_regret(job: tuple[str, int, int, float]) -> dict[str, float]:
    """One seed of (c) or (d) through the live engine: regret, lift captured, what happened."""
    kind, seed, days, epsilon = job
    tags, words = _catalogue()
    world = world_of(seed, days, kind)
    plan, _ = schedule(seed, days, kind)
    text_rng = np.random.default_rng([seed, 11])
    with live_services() as services:
        env = services.settings.environment
        with services.engine.begin() as conn:
            values = {"learning_engine_v2": True, "post_fraction": 1.0, "epsilon": epsilon,
                      "quiet_hours": [h for h in range(24) if h not in POST_HOURS],
                      "daily_cap": len(POST_HOURS), "post_interval_min": 60}  # fmt: skip
            for flag, value in values.items():
                flags.set_flag(conn, env, flag, value, actor="bench")
        clock = {"now": LIVE_START}
        poster = SimPoster(services, world, lambda: clock["now"])
        live = replace(services.settings, live_posts=True)
        queue = CandidateQueue(services, env)
        rng = np.random.default_rng([seed, 12])
        regret, outcomes, by_day = 0.0, Counter(), []
        started = time.perf_counter()
        for d, day in enumerate(plan):
            rates = world.rates(day=float(d))
            for s, hour in enumerate(POST_HOURS):
                now = LIVE_START + timedelta(days=d, hours=hour)
                clock["now"] = now
                batch = []
                for combo in day.combos[s].tolist():
                    topic, fmt = TOPICS[combo // len(FORMATS)], FORMATS[combo % len(FORMATS)]
                    text = " ".join(text_rng.choice(words, 14)) + f" ({d}.{s}.{combo})"
                    batch.append(Candidate(
                        content_hash=content_hash(text), db_id=None, text=text, topic=topic,
                        format=fmt, tags=tuple(tags.get(topic, [])), source="bench",
                        priority=float(text_rng.random()), created_at=now,
                        expires_at=now + timedelta(minutes=30)))  # fmt: skip
                queue.enqueue(batch)
                record = run_cycle(services, live, poster=poster, now=now, rng=rng)
                outcomes[record.outcome] += 1
                best = max(rates[c // len(FORMATS), hour, c % len(FORMATS)] for c in day.combos[s])
                if record.outcome == "posted":
                    t, f = TOPICS.index(record.topic), FORMATS.index(record.format)
                    regret += float(best - rates[t, hour, f])
            clock["now"] = LIVE_START + timedelta(days=d, hours=LEARN_HOUR)
            run_learning_cycle(services, env, poster, now=clock["now"])
            by_day.append(regret)
        out = {"regret": regret, "posted": outcomes["posted"], "cycles": sum(outcomes.values()),
               "seconds": time.perf_counter() - started}  # fmt: skip
        for cp in [c for c in CHECKPOINTS if c < days] + [days]:
            lift = lift_captured(services, env, world, until=LIVE_START + timedelta(days=cp))
            out[f"regret@{cp}"] = by_day[cp - 1]
            out[f"lift@{cp}"] = lift.captured if lift.captured is not None else float("nan")
    return out


def mean_interval(values: np.ndarray, n_boot: int = 2000) -> tuple[float, float, float]:
    """Mean and 95 % bootstrap interval over seeds."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(0)
    boot = values[rng.integers(values.size, size=(n_boot, values.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(values.mean()), float(lo), float(hi)


def run_live(args: argparse.Namespace, seeds: range) -> list[str]:
    """The live-path rows: lift captured (headline), then (c) and (d) live vs in memory."""
    checks = []
    for days in args.live_days:  # the demo's lift captured: benchmarks/bench_lift.py
        for eps in args.live_eps:
            work = [(s, days, eps, args.live_end or END, None) for s in seeds]
            text, verdict = lift_report(days, eps, pool_map(one_run, work, args.jobs))
            print(text, flush=True)
            checks += [verdict] if verdict else []
    days = args.live_sim_days
    for kind in args.live_kinds:
        lines = [f"\n### ({kind}) live path vs in memory, {days} days x {len(POST_HOURS)} slots, "
                 f"{len(seeds)} seeds (same worlds and candidate schedules)", "",
                 "| policy | regret in memory (95 % CI) | regret live (95 % CI) | "
                 "lift live | live s/seed |", "|---|---|---|---:|---:|"]  # fmt: skip
        print("\n".join(lines), flush=True)
        for eps in args.live_eps:
            rows = pool_map(live_regret, [(kind, s, days, eps) for s in seeds], args.jobs)
            points = [c for c in CHECKPOINTS if c < days] + [days]
            if kind == "d":
                points = [days]  # (d)'s world changes at days / 2: no prefix is the same run
            for cp in points:
                twin = {"engine": lambda s, e=eps: Engine(s, e, tags=True)}
                mem = run_sim(cp, seeds, twin, kind)["engine"]
                live = np.array([r[f"regret@{cp}"] for r in rows])
                mm, mlo, mhi = mean_interval(mem)
                lm, llo, lhi = mean_interval(live)
                lift, flo, fhi = mean_interval(np.array([r[f"lift@{cp}"] for r in rows]))
                secs = np.mean([r["seconds"] for r in rows])
                print(
                    f"| engine eps {eps} (+ catalogue tags), day {cp} | {mm:.1f} "
                    f"({mlo:.1f}-{mhi:.1f}) | {lm:.1f} ({llo:.1f}-{lhi:.1f}) | {lift:.1%} "
                    f"({flo:.1%}-{fhi:.1%}) | {secs:.0f} |",
                    flush=True,
                )
                print(f"  per seed: in memory {mem.tolist()}", flush=True)
                agree = "agree (CIs overlap)" if mlo <= lhi and llo <= mhi else "DIFFER"
                checks.append(
                    f"- ({kind}) eps {eps} day {cp}: live {lm:.1f} vs in memory {mm:.1f} -> {agree}"
                )
            print(f"  live per seed: {rows}", flush=True)
            posted = sum(r["posted"] for r in rows)
            cycles = sum(r["cycles"] for r in rows)
            checks.append(f"  (live: {posted} of {cycles} slots posted)")
    return checks


# -- reporting --------------------------------------------------------------------------------


def table(title: str, results: dict[str, np.ndarray], baseline: str) -> str:
    base = results[baseline].mean()
    lines = [f"\n### {title}", "", "| policy | regret (mean ± se) | ratio to " + baseline + " |",
             "|---|---:|---:|"]  # fmt: skip
    for name, r in results.items():
        se = r.std(ddof=1) / math.sqrt(r.size) if r.size > 1 else 0.0
        lines.append(f"| {name} | {r.mean():.1f} ± {se:.1f} | {r.mean() / base:.3f} |")
    return "\n".join(lines)


def ratio_interval(ours: np.ndarray, theirs: np.ndarray, n_boot: int = 2000) -> tuple[float, float]:
    """95 % bootstrap interval (over seeds, paired) of mean(ours) / mean(theirs)."""
    rng = np.random.default_rng(0)
    idx = rng.integers(ours.size, size=(n_boot, ours.size))
    ratios = ours[idx].mean(axis=1) / theirs[idx].mean(axis=1)
    lo, hi = np.quantile(ratios, [0.025, 0.975])
    return float(lo), float(hi)


def verdict(label: str, ours: np.ndarray, theirs: np.ndarray, target: float) -> str:
    """Ratio of mean regrets with its paired 95 % interval; MET on the point estimate, and
    'robust' only when the whole interval is under the target."""
    r = ours.mean() / theirs.mean()
    lo, hi = ratio_interval(ours, theirs)
    ok = (
        ("MET (robust: CI below target)" if hi <= target else "MET (point only)")
        if r <= target
        else "NOT MET"
    )
    return f"- {label}: {r:.3f} (95% CI {lo:.2f}-{hi:.2f}; target <= {target:.2f}) -> {ok}"


PAIR = ["xbot eps 0, prior (1,1)", "MABWiser TS"]
DECAYS = ["xbot decay 0.97", "xbot decay 0.99", "xbot decay 0.995", "xbot decay 0.998"]
DRIFT = [
    "xbot drift_check 6 (CUSUM, family restart)",
    "xbot drift_check 8 (CUSUM, family restart)",
    "xbot drift_check 6 + decay 0.998",
]
REFERENCE = "reference: restart told the change point (not a policy)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds, shorter horizons")
    parser.add_argument("--seeds", type=int, default=50, help="seeds for (b), (d), (a) others")
    parser.add_argument("--seeds-a", type=int, default=200, help="paired seeds, (a) pair")
    parser.add_argument("--seeds-c", type=int, default=5, help="seeds for (c)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (seeds run in parallel)")
    parser.add_argument("--only", default="abcd", help="scenarios to run, e.g. 'ab'")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="first seed (e.g. 1000: seeds never used while tuning)")  # fmt: skip
    parser.add_argument(
        "--live",
        action="store_true",
        help="the live path instead (Postgres + Redis): lift captured, (c), (d)",
    )
    parser.add_argument("--seeds-live", type=int, default=3, help="seeds for --live")
    parser.add_argument(
        "--live-days",
        type=int,
        nargs="+",
        default=[14, 60],
        help="demo lengths for lift captured (0 to skip)",
    )
    parser.add_argument("--live-sim-days", type=int, default=60, help="days of live (c), (d)")
    parser.add_argument("--live-kinds", default="cd", help="live scenarios, e.g. 'c'")
    parser.add_argument(
        "--live-eps",
        type=float,
        nargs="+",
        default=[0.2, 0.05],
        help="epsilon values of the live rows",
    )
    parser.add_argument("--live-end", type=datetime.fromisoformat, default=None,
                        help="end of the demo runs (ISO, aware; default bench_lift.END): feed "
                             "items age with it, so runs to compare need the same end")  # fmt: skip
    args = parser.parse_args()
    first = args.first_seed
    seeds = range(first, first + (5 if args.quick else args.seeds))
    seeds_a = range(first, first + (10 if args.quick else max(args.seeds_a, len(seeds))))
    seeds_c = range(first, first + (3 if args.quick else args.seeds_c))
    t_a, t_b, t_d = (2000, 1000, 1000) if args.quick else (10_000, 5_000, 5_000)
    days = 60 if args.quick else 365
    skip = [*DECAYS, *DRIFT, REFERENCE]
    base = [n for n in BERNOULLI_POLICIES if n not in skip or n == "xbot decay 0.99"]
    print("SIMULATED worlds; regret = sum of (best available true rate - picked true rate)")
    checks = []
    started = time.perf_counter()
    if args.live:
        args.live_days = [d for d in args.live_days if d > 0]
        checks = run_live(args, range(first, first + args.seeds_live))
        print("\n### Targets\n")
        print("\n".join(checks))
        print(f"\n(total {time.perf_counter() - started:.0f} s)")
        return
    if "a" in args.only:
        for delta in (0.02, 0.1):
            pair = run_bernoulli(("a", delta), 10, t_a, seeds_a, PAIR, args.jobs)
            others = [n for n in base if n not in PAIR]
            res = run_bernoulli(("a", delta), 10, t_a, seeds, others, args.jobs)
            res = {n: (pair[n][: len(seeds)] if n in PAIR else r) for n, r in
                   {**res, **{n: pair[n] for n in PAIR}}.items()}  # fmt: skip
            res = {n: res[n] for n in [*base, "oracle"]}
            print(table(f"(a) Bernoulli 10 arms, delta {delta}, T={t_a}, {len(seeds)} seeds",
                        res, "MABWiser TS"))  # fmt: skip
            mu = np.array([0.5] + [0.5 - delta] * 9)
            print(f"\nLai-Robbins reference C(mu) ln T = {lai_robbins(mu, t_a):.1f} (not a target)")
            ours, theirs = pair[PAIR[0]], pair[PAIR[1]]
            lo, hi = ratio_interval(ours, theirs)
            r = ours.mean() / theirs.mean()
            status = ("MET (CI inside 0.95-1.05)" if lo >= 0.95 and hi <= 1.05 else
                      "MET (point; CI wider than +-5%)" if abs(r - 1) <= 0.05 else "NOT MET")  # fmt: skip
            checks.append(
                f"- (a) delta {delta}: xbot eps 0 prior (1,1) / MABWiser TS = {r:.3f} "
                f"(95% paired CI {lo:.3f}-{hi:.3f}, {len(seeds_a)} seeds; target within 5%) -> "
                f"{status}"
            )
    if "b" in args.only:
        res = run_bernoulli(("b",), 20, t_b, seeds, base, args.jobs)
        print(table(f"(b) 20 arms, rates 0.01-0.10, T={t_b}, {len(seeds)} seeds", res,
                    "MABWiser TS"))  # fmt: skip
        d = res["xbot default (eps 0, pooled prior)"]
        checks.append(verdict("(b) xbot default / MABWiser TS", d, res["MABWiser TS"], 0.85))
        checks.append(verdict("(b) stretch: xbot default / MABWiser EpsGreedy 0.2", d,
                              res["MABWiser EpsGreedy 0.2"], 1.0))  # fmt: skip
        on = run_bernoulli(("b",), 20, t_b, seeds, DRIFT[:2], args.jobs)
        for name in DRIFT[:2]:  # a stationary world: what false alarms cost
            checks.append(verdict(f"(b) cost of {name} / xbot default", on[name], d, 1.05))
    if "c" in args.only:
        res = run_sim(days, seeds_c)
        print(table(f"(c) gaming simulator, {days} days x {len(POST_HOURS)} posts, "
                    f"{CANDIDATES_PER_SLOT} candidates/slot, {len(seeds_c)} seeds", res,
                    "MABWiser TS (flattened arms)"))  # fmt: skip
        ts, lin = res["MABWiser TS (flattened arms)"], res["MABWiser LinTS one-hot (alpha 1)"]
        better = ts if ts.mean() <= lin.mean() else lin
        tuned = res["MABWiser LinTS one-hot (alpha 0.1, tuned; not in the issue)"].mean()
        for eng in ("xbot engine (FeatureBandit, eps 0.2 = flag default)",
                    "xbot engine (FeatureBandit, eps 0)"):  # fmt: skip
            checks.append(verdict(f"(c) {eng} / better of MABWiser TS, LinTS", res[eng],
                                  better, 0.7))  # fmt: skip
            checks.append(f"  (vs tuned LinTS alpha 0.1: {res[eng].mean() / tuned:.3f})")
    if "d" in args.only:
        names = [*base, *DECAYS[:1], *DECAYS[2:], *DRIFT, REFERENCE]
        RestartAtChange.change_at = t_d // 2
        res = run_bernoulli(("d",), 8, t_d, seeds, names, args.jobs)
        print(table(f"(d) drift: 8 topics, best changes at T/2, T={t_d}, {len(seeds)} seeds", res,
                    "MABWiser TS"))  # fmt: skip
        for name in DECAYS:
            memory = BATCH / (1.0 - float(name.split()[-1]))
            checks.append(verdict(f"(d) {name} (memory ~{memory:.0f} pulls) / MABWiser TS",
                                  res[name], res["MABWiser TS"], 0.7))  # fmt: skip
        for name in DRIFT:
            checks.append(verdict(f"(d) {name} / MABWiser TS", res[name], res["MABWiser TS"], 0.7))
            checks.append(verdict(f"(d) {name} / xbot decay 0.99", res[name],
                                  res["xbot decay 0.99"], 1.0))  # fmt: skip
    print("\n### Targets\n")
    print("\n".join(checks))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
