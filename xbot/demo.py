"""``xbot demo``: N simulated days of the whole system on a fast clock, through the real code.

Every step is the production code path with the simulated clock passed as ``now``:
candidate refreshes at the start and at 09:00 and 18:00, a scheduling cycle every
``slot_minutes``, learning cycles every ``learn_minutes``, a model refit every night and the
runbook's rollout phases set as flags through :func:`xbot.flags.set_flag` (V1 baseline -> V2
learning in shadow -> 10% -> 30% -> 70% -> 100%). The only stand-in is X itself:
:class:`xbot.sim_poster.SimPoster`, a **simulated** X whose engagement comes from
:class:`xbot.sim.SimWorld`. The demo forces LIVE_POSTS semantics for
that simulated X only; it never builds a real poster, whatever the settings say.

State: the demo owns the ``development`` environment of the database it is given and the
REDIS_PREFIX it runs under. It refuses any other APP_ENV, and starts by deleting that
environment's rows (every table with an ``environment`` column, and its audit rows), resetting
its flags and deleting every Redis key under the prefix, so each run starts clean and is
re-runnable. The simulated days end at the current hour, so the 7-day views (which use
``now()``) show the demo's last week and no post lies in the future.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from xbot import flags as flags_mod
from xbot.candidates.pipeline import refresh
from xbot.clock import as_utc
from xbot.emergency import delete_matching
from xbot.errors import ValidationError, XbotError
from xbot.learning import run_learning_cycle
from xbot.model import fit_model
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings
from xbot.sim import SimWorld
from xbot.sim_poster import SimPoster, save_sim_world, saved_sim_world

log = logging.getLogger("xbot.demo")

DEMO_ENV = "development"
MAX_DAYS = 60
REFRESH_HOURS = (9, 18)  # the runbook's morning and evening checklist
MODEL_HOUR = 3  # nightly refit, inside the default quiet hours
# (name, start as a fraction of the run, flags): the runbook's rollout, front-loaded so a
# short demo still reaches full V2 operation and most simulated days post live.
# The runbook's rollout, as fractions of the run. Its phase 1 keeps "the existing V1 system"
# posting while V2 is off; here V1 is xbot's own non-learning engine, so the first phase posts
# with V1. That gives the V2-versus-V1 comparison a baseline and the learning loop its first
# evidence (every post teaches the bandit, whichever engine picked it).
PHASES: tuple[tuple[str, float, dict[str, Any]], ...] = (
    ("V1 baseline", 0 / 14, {"learning_engine_v2": False, "post_fraction": 1.0}),
    ("V2 learning (shadow)", 3 / 14, {"learning_engine_v2": True, "post_fraction": 0.0}),
    ("rollout 10%", 4 / 14, {"learning_engine_v2": True, "post_fraction": 0.1}),
    ("rollout 30%", 6 / 14, {"learning_engine_v2": True, "post_fraction": 0.3}),
    ("rollout 70%", 8 / 14, {"learning_engine_v2": True, "post_fraction": 0.7}),
    ("full V2", 10 / 14, {"learning_engine_v2": True, "post_fraction": 1.0}),
)


@dataclass
class DayStats:
    """One simulated day, as the per-day progress line shows it."""

    day: int
    date: str
    phase: str
    outcomes: Counter[str] = field(default_factory=Counter)
    refreshed: int = 0
    learned: int = 0
    model: str = ""

    def line(self) -> str:
        o = self.outcomes
        return (
            f"day {self.day + 1:>2} {self.date} [{self.phase}] posted {o['posted']}, "
            f"shadow {o['shadow']}, skipped {o['skipped']}; queued +{self.refreshed}; "
            f"learned {self.learned}{'; model ' + self.model if self.model else ''}"
        )


@dataclass
class DemoResult:
    days: list[DayStats]
    start: datetime
    end: datetime
    elapsed_s: float
    reasons: Counter[str]
    learning_cycles: int
    model_fits: int
    lift: Lift

    def totals(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for d in self.days:
            out.update(d.outcomes)
        return out


@dataclass(frozen=True)
class Lift:
    """How much of the achievable lift V2 captured, by the SIMULATED truth (issue 13 §0).

    Over the V2 slots (posted or shadow picks, dry runs excluded): ``v2``, ``v1`` and ``best``
    are the mean true rates of V2's pick, of V1's choice in the same slot (the highest
    priority, logged as ``v1_choice``) and of the best eligible candidate; ``uniform`` that of a
    uniformly random eligible pick (a reference: V1's choice can be far above or below it).
    ``captured`` = sum(v2 - v1) / sum(best - v1), None when no slot had room to gain.
    """

    slots: int
    v2: float
    v1: float
    best: float
    captured: float | None
    uniform: float = float("nan")  # mean true rate of a uniformly random eligible pick

    def line(self) -> str:
        if self.captured is None:
            return f"lift captured (simulated truth): n/a ({self.slots} V2 slots)"
        return (
            f"lift captured (simulated truth): {self.captured:.0%} over {self.slots} V2 slots "
            f"(true rate: V2 picks {self.v2:.4f}, V1's choice {self.v1:.4f}, "
            f"best eligible {self.best:.4f}, random eligible {self.uniform:.4f})"
        )


def lift_captured(
    services: Services,
    environment: str,
    world: SimWorld,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Lift:
    """:class:`Lift` of the V2 decisions between ``since`` and ``until``, from the decision log.

    True rates come from ``world`` (the simulated X's world, :func:`xbot.sim_poster.saved_sim_world`)
    at the slot's logged hour and day: the pick's (topic, format), V1's choice looked up in
    ``candidates``, and the best of the logged ``eligible_pairs`` (the eligible pool before
    the guard). Slots logged before the pairs were recorded are left out.
    """
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select d.ts, d.hour, d.topic, d.format, c.topic as v1_topic,"
                " c.format as v1_format, d.context -> 'eligible_pairs' as pairs"
                " from decisions d join candidates c on c.environment = d.environment"
                " and c.content_hash = d.context ->> 'v1_choice'"
                " where d.environment = :e and d.engine = 'v2'"
                " and d.outcome in ('posted', 'shadow') and d.topic is not null"
                " and not coalesce((d.context ->> 'dry_run')::boolean, false)"
                " and d.context ? 'eligible_pairs'"
                " and d.ts >= coalesce(cast(:since as timestamptz), '-infinity')"
                " and d.ts < coalesce(cast(:until as timestamptz), 'infinity')"
                " order by d.ts"
            ),
            {"e": environment, "since": since, "until": until},
        ).all()
    topic_ix = {t: i for i, t in enumerate(world.topics)}
    format_ix = {f: i for i, f in enumerate(world.formats)}
    picked, v1, best, uniform = [], [], [], []
    cache: dict[bool, np.ndarray] = {}
    for r in rows:
        day = (r.ts - world.start).total_seconds() / 86400.0
        late = world.drift and day >= world.horizon_days / 2
        rates = cache.setdefault(late, world.rates(day=day))[:, r.hour, :]  # [topic, format]
        pairs = [(r.topic, r.format), (r.v1_topic, r.v1_format)]
        counts = [1, 1, *r.pairs.values()]
        pairs += [tuple(p.split("|", 1)) for p in r.pairs]
        known = [
            (topic_ix.get(t), format_ix.get(f), n) for (t, f), n in zip(pairs, counts, strict=True)
        ]
        if any(t is None or f is None for t, f, _ in known[:2]):
            continue
        values = [(float(rates[t, f]), n) for t, f, n in known if t is not None and f is not None]
        if len(values) < 3:
            continue
        picked.append(values[0][0])
        v1.append(values[1][0])
        best.append(max(v for v, _ in values[2:]))
        uniform.append(sum(v * n for v, n in values[2:]) / sum(n for _, n in values[2:]))
    if not picked:
        return Lift(0, float("nan"), float("nan"), float("nan"), None)
    p, b, q = np.array(picked), np.array(v1), np.array(best)
    room = float(np.sum(q - b))
    captured = float(np.sum(p - b)) / room if room > 0 else None
    return Lift(len(p), float(p.mean()), float(b.mean()), float(q.mean()), captured,
                float(np.mean(uniform)))  # fmt: skip


def simulated_lift(services: Services, environment: str) -> pd.DataFrame:
    """:func:`lift_captured` against the demo's simulated world, as a one-row table.

    For the explorer notebook. Only a simulated X has a truth to compare with: without the
    world ``xbot demo`` saved under this REDIS_PREFIX the table says so instead.
    """
    world = saved_sim_world(services)
    if world is None:
        return pd.DataFrame(
            {"lift captured (simulated truth)": ["n/a: no simulated world (run `xbot demo`)"]}
        )
    lift = lift_captured(services, environment, world)
    return pd.DataFrame(
        {
            "lift captured (simulated truth)": [lift.captured],
            "V2 slots": [lift.slots],
            "true rate, V2 picks": [lift.v2],
            "true rate, V1's choice": [lift.v1],
            "true rate, best eligible": [lift.best],
            "true rate, random eligible": [lift.uniform],
        }
    )


def reset_environment(services: Services, environment: str = DEMO_ENV) -> None:
    """Delete the environment's rows and every key under this REDIS_PREFIX; reset its flags.

    Tables are found by their ``environment`` column, so tables added by later migrations
    (learning cycles, model summaries) are cleaned too.
    """
    if environment != DEMO_ENV:
        raise ValidationError("APP_ENV", environment, f"{DEMO_ENV} (the demo resets its data)")
    with services.engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "select c.table_name from information_schema.columns c"
                " join information_schema.tables t on t.table_schema = c.table_schema"
                " and t.table_name = c.table_name"
                " where c.table_schema = current_schema() and c.column_name = 'environment'"
                " and t.table_type = 'BASE TABLE' and c.table_name <> 'bot_config'"
            )
        ).scalars()
        first = ("decisions", "tweets", "candidates")
        ordered = list(first) + sorted(set(tables) - set(first))
        for table in ordered:
            conn.execute(
                sa.text(f'delete from "{table}" where environment = :e'), {"e": environment}
            )
        conn.execute(
            sa.text("delete from audit_log where context ->> 'environment' = :e"),
            {"e": environment},
        )
        flags_mod.reset_flags(conn, environment, actor="demo")
    delete_matching(services, services.keys.all_pattern())


def _nightly_fit(services: Services, environment: str, now: datetime, seed: int) -> str:
    """The nightly refit, on the simulated clock like everything else (the first one compiles
    the model into PyTensor's cache under XBOT_HOME; later nights reuse it)."""
    try:
        summary = fit_model(services, environment, now=now, seed=seed, iterations=3000)
    except XbotError as exc:  # too few measured posts on the first nights
        log.info("model not fitted: %s", exc)
        return "not fitted yet: " + str(exc).split(";")[0]
    return f"refit on {summary.n_posts} posts"


def _phase_at(fraction: float) -> tuple[str, dict[str, Any]]:
    name, values = PHASES[0][0], PHASES[0][2]
    for phase, start, flag_values in PHASES:
        if fraction >= start:
            name, values = phase, flag_values
    return name, values


def run_demo(
    services: Services,
    settings: Settings,
    *,
    days: int = 14,
    seed: int = 0,
    slot_minutes: int = 15,
    learn_minutes: int = 60,
    model_fits: bool = True,
    end: datetime | None = None,
    x_daily_budget_usd: float | None = None,
    on_progress: Callable[[int, int, DayStats | None], None] | None = None,
    flag_values: Mapping[str, Any] | None = None,
) -> DemoResult:
    """Simulate the ``days`` days before ``end`` (default: now, floored to the hour).

    ``on_progress(done_slots, total_slots, finished_day)`` is called after every simulated
    hour (``finished_day`` set when a day completes). ``flag_values`` are set after the reset
    (e.g. ``{"epsilon": 0.05}`` for the benchmarks); the rollout phases set only theirs. Measured on 2 shared cores, a cycle costs
    about 30 ms (Postgres round trips), so the defaults are what keeps 14 days under 3 minutes:
    a scheduling slot every 15 minutes (the smallest ``post_interval_min``, so no posting
    opportunity is lost; 5-minute slots cost 3x and post the same) and hourly learning
    (rewards need 24 h of metrics, so 15-minute cycles learn nothing more, at 4x the cost).
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError("days", days, f"an integer from 1 to {MAX_DAYS}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", seed, "a non-negative integer")
    if 60 % slot_minutes or 60 % learn_minutes:
        raise ValidationError("slot_minutes", slot_minutes, "a divisor of 60")
    last = as_utc(end)  # before the reset: a naive ``end`` is refused and nothing is written
    environment = settings.environment
    reset_environment(services, environment)
    started = time.monotonic()
    stop = last.replace(minute=0, second=0, microsecond=0)  # the last simulated slot is past
    start = stop - timedelta(days=days)
    clock = {"now": start}
    world = SimWorld(seed, start=start, horizon_days=float(days))
    save_sim_world(services, seed, start, float(days))
    poster = SimPoster(services, world, lambda: clock["now"])
    live_settings = replace(settings, live_posts=True)  # for the simulated X only
    rng = np.random.default_rng(seed)
    with services.engine.begin() as conn:
        flags_mod.set_flag(conn, environment, "quiet_hours", [2, 3, 4, 5], actor="demo")
        for flag, value in (flag_values or {}).items():
            flags_mod.set_flag(conn, environment, flag, value, actor="demo")
        if x_daily_budget_usd is not None:  # the simulated X is priced and gated like X
            flags_mod.set_flag(conn, environment, "x_daily_budget_usd", x_daily_budget_usd,
                               actor="demo")  # fmt: skip

    total_slots = days * 24 * 60 // slot_minutes
    reasons: Counter[str] = Counter()
    learned_cycles = fits = 0
    phase = ""
    stats: list[DayStats] = []
    for slot in range(total_slots):
        now = start + timedelta(minutes=slot * slot_minutes)
        clock["now"] = now
        day_index = slot * slot_minutes // (24 * 60)
        if slot * slot_minutes % (24 * 60) == 0:
            stats.append(DayStats(day_index, now.date().isoformat(), phase))
        day = stats[-1]
        name, values = _phase_at(slot / total_slots)
        if name != phase:
            with services.engine.begin() as conn:
                for flag, value in values.items():
                    flags_mod.set_flag(conn, environment, flag, value, actor="demo")
            day.phase = f"{day.phase} -> {name}" if day.phase and day.phase != phase else name
            phase = name
            log.info("%s: rollout phase %s", now.isoformat(), name)
        # the first slot refreshes too: a run that starts at 10:00 must not wait for 18:00
        # with an empty queue (what a deployment does at start-up)
        if slot == 0 or (now.minute == 0 and now.hour in REFRESH_HOURS):
            day.refreshed += refresh(services, environment, now=now).accepted
        if now.minute == 0 and now.hour == MODEL_HOUR and model_fits and day_index > 0:
            day.model = _nightly_fit(services, environment, now, seed)
            fits += day.model.startswith("refit")
        if now.minute % learn_minutes == 0:
            report = run_learning_cycle(services, environment, poster, now=now)
            day.learned += report.tweets_processed
            learned_cycles += 1
        record = run_cycle(services, live_settings, poster=poster, now=now, rng=rng)
        day.outcomes[record.outcome] += 1
        reasons[record.reason] += 1
        if on_progress is not None and (now.minute + slot_minutes) % 60 == 0:
            finished = (slot + 1) * slot_minutes % (24 * 60) == 0
            on_progress(slot + 1, total_slots, day if finished else None)
    return DemoResult(
        days=stats,
        start=start,
        end=stop,
        elapsed_s=time.monotonic() - started,
        reasons=reasons,
        learning_cycles=learned_cycles,
        model_fits=fits,
        lift=lift_captured(services, environment, world),
    )
