"""A hierarchical Bayesian model of engagement by topic and hour, for reports and bandit priors.

Posts are aggregated into (topic, hour) cells c (docs/model.md)::

    E_c / phi ~ Binomial(I_c / phi, p_c)        E, I: the cell's summed engagements, impressions
    logit p_c = mu + sigma_t z_t[t] + sigma_h z_h[h] + sigma_c z_c[t, h]
    z_* ~ Normal(0, 1),  sigma_t, sigma_h ~ HalfNormal(1),  sigma_c ~ HalfNormal(0.5)

For a binomial likelihood the cell sums are sufficient statistics, so 5,000 posts (or 5
million) become at most topics x 24 cells and the fit costs the same whatever the post count.
Post-to-post overdispersion (virality) would make a plain binomial on thousands of impressions
far too sure of itself: ``phi`` (Pearson's chi-square per degree of freedom of the posts around
their cell's rate, :func:`dispersion`) scales the counts down to the evidence they really hold
(quasi-binomial), and the cell effect absorbs what differs between cells. Partial pooling: a
topic, hour or cell with few posts is pulled toward the overall rate by as much as the data say
they differ (sigma). Non-centred effects (sigma * z) keep the geometry easy for NUTS and ADVI.

The fit method is chosen in docs/model.md with measured numbers; both are available
(``method=``). PyTensor's compile cache lives under XBOT_HOME, so only the first fit on a
machine pays the C compilation.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats
from scipy.special import expit, logit

from xbot.clock import as_utc
from xbot.errors import ValidationError, XbotError
from xbot.features import arms_of
from xbot.flags import Flags, check_environment
from xbot.reward import RewardRule, baseline_median
from xbot.services import Services

log = logging.getLogger(__name__)

HDI_PROB = 0.94
METHODS = ("advi", "nuts")
MIN_POSTS = 20
ADVI_TOLERANCE = 0.01  # largest change of any variational parameter per 200 steps
HOURS = list(range(24))
SUMMARY_COLUMNS = ["fit_id", "fitted_at", "method", "level", "topic", "hour", "mean",
                   "hdi_low", "hdi_high", "posts"]  # fmt: skip


@dataclass
class ModelSummary:
    """One stored fit: its id, how it was fitted, and its effects (rates with 94% HDIs)."""

    fit_id: int
    environment: str
    method: str
    draws: int
    n_posts: int
    seconds: float
    diagnostics: dict[str, Any]
    effects: pd.DataFrame = field(repr=False)


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """Highest density interval of each column of ``samples`` (draws along axis 0).

    The narrowest window holding ``prob`` of the sorted draws; for skewed rates near 0 it is
    shorter and more honest than the equal-tailed interval.
    """
    s = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = s.shape[0]
    k = max(math.floor(prob * n), 1)
    if k >= n:
        return s[0], s[-1]
    widths = s[k:] - s[: n - k]
    start = np.argmin(widths, axis=0)
    low = np.take_along_axis(s, start[None, ...], axis=0)[0]
    high = np.take_along_axis(s, (start + k)[None, ...], axis=0)[0]
    return low, high


def _import_pymc() -> Any:
    """pymc, imported only when a fit is asked for (heavy), without ArviZ's import-time notice.

    ArviZ (which pymc imports) warns once a day per user cache, on import and whatever the
    caller does, that a refactor is coming: nothing in our code can act on it, and it would
    print in the middle of every `make demo` and scheduled refit.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
        )
        import pymc

    return pymc


def _configure_pytensor(home: os.PathLike[str] | str) -> None:
    """Point PyTensor's compile cache at ``$XBOT_HOME/pytensor`` through ``pytensor.config``.

    Nothing is written to ``os.environ`` (a library must not change its process's
    environment; subprocesses would inherit it). PyTensor reads ``compiledir`` lazily, at the
    first compilation, and refuses to change it afterwards, so setting the attribute before a
    process's first fit is enough. An operator's own PyTensor configuration naming
    ``compiledir`` or ``base_compiledir`` wins: ``PYTENSOR_FLAGS`` as before, and now
    ``~/.pytensorrc`` too (the old environment write overrode it). A later fit in the same process under another XBOT_HOME (the test suite)
    keeps the cache the process already compiles into: PyTensor cannot switch it.
    """
    from pytensor import config

    for key in ("compiledir", "base_compiledir"):
        try:
            config.fetch_val_for_key(key)
        except KeyError:
            continue
        return  # set by the operator
    target = os.path.join(os.fspath(home), "pytensor")
    try:
        config.compiledir = target
    except Exception:  # PyTensor raises a bare Exception once compiledir has been read
        log.debug("PyTensor's compile cache stays %s for this process", config.compiledir)


def _load_cells(services: Services, environment: str) -> pd.DataFrame:
    """Per (topic, hour) cell: posts, engagements, impressions and sum(engagements^2 /
    impressions), aggregated in Postgres (the sufficient statistics of the model below, plus
    what the overdispersion estimate needs)."""
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select topic, hour, count(*) as posts, sum(engagements) as engagements, "
                "sum(impressions) as impressions, "
                "sum(engagements::float8 * engagements / impressions) as sq "
                "from tweets where environment = :e and status = 'posted' "
                "and topic is not null and hour between 0 and 23 and impressions > 0 "
                "and engagements <= impressions group by topic, hour order by topic, hour"
            ),
            {"e": environment},
        ).all()
    cells = pd.DataFrame(rows, columns=["topic", "hour", "posts", "engagements", "impressions",
                                        "sq"])  # fmt: skip
    cells["hour"] = cells["hour"].astype("int64")
    for name in ("posts", "engagements", "impressions"):
        cells[name] = cells[name].astype("int64")
    cells["sq"] = cells["sq"].astype(float)
    return cells


def dispersion(cells: pd.DataFrame) -> tuple[float, float]:
    """Moment estimates of post-to-post overdispersion: (phi, kappa).

    ``phi`` is Pearson's chi-square over posts around their cell's pooled rate, divided by its
    degrees of freedom (posts - cells), at least 1: how much more engagements vary between
    posts of one cell than binomial noise allows (virality). For a beta-binomial with mean
    impressions n, ``phi = 1 + (n - 1) / (kappa + 1)``, which gives ``kappa`` (the Beta
    concentration of a post's rate around its cell's, used by :func:`prior_from_model`).
    """
    y = cells["engagements"].to_numpy(float)
    n = cells["impressions"].to_numpy(float)
    p = np.clip(y / n, 1e-9, 1 - 1e-9)
    chi2 = (cells["sq"].to_numpy(float) - 2 * p * y + p * p * n) / (p * (1 - p))
    df = int(cells["posts"].sum() - len(cells))
    phi = max(float(chi2.sum()) / df, 1.0) if df > 0 else 1.0
    mean_n = float(n.sum() / cells["posts"].sum())
    kappa = (mean_n - 1.0) / (phi - 1.0) - 1.0 if phi > 1.0 + 1e-9 else 1e6
    return phi, float(min(max(kappa, 1.0), 1e6))


def _posterior(
    cells: pd.DataFrame, topics: list[str], method: str, draws: int, seed: int,
    iterations: int, phi: float,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:  # fmt: skip
    pm = _import_pymc()

    t_idx = pd.Categorical(cells["topic"], categories=topics).codes.astype("int64")
    h_idx = cells["hour"].to_numpy(dtype="int64")
    # Quasi-binomial: the counts are divided by phi, so a cell's 30 posts weigh like the
    # independent evidence they hold, not like 30,000 independent impressions.
    n = cells["impressions"].to_numpy(dtype=float) / phi
    y = cells["engagements"].to_numpy(dtype=float) / phi
    pooled = (y.sum() + 1.0) / (n.sum() + 2.0)
    coords = {"topic": topics, "hour": HOURS}
    with pm.Model(coords=coords):
        mu = pm.Normal("mu", float(logit(pooled)), 1.5)
        sigma_t = pm.HalfNormal("sigma_topic", 1.0)
        sigma_h = pm.HalfNormal("sigma_hour", 1.0)
        sigma_c = pm.HalfNormal("sigma_cell", 0.5)
        z_t = pm.Normal("z_topic", 0.0, 1.0, dims="topic")
        z_h = pm.Normal("z_hour", 0.0, 1.0, dims="hour")
        z_c = pm.Normal("z_cell", 0.0, 1.0, dims=("topic", "hour"))
        eta = mu + sigma_t * z_t[t_idx] + sigma_h * z_h[h_idx] + sigma_c * z_c[t_idx, h_idx]
        # binomial log-likelihood kernel: y log p + (n - y) log(1 - p), stable on the logit
        pm.Potential("y", -(y * pm.math.log1pexp(-eta) + (n - y) * pm.math.log1pexp(eta)).sum())
        if method == "advi":
            # PyMC logs "Finished [100%]: Average Loss = ..." at INFO even without a progress
            # bar; the stored diagnostics carry the loss, so keep command output clean.
            logging.getLogger("pymc").setLevel(logging.WARNING)
            approx = pm.fit(
                n=iterations,
                method="advi",
                random_seed=seed,
                progressbar=False,
                obj_optimizer=pm.adam(learning_rate=0.02),
                callbacks=[
                    pm.callbacks.CheckParametersConvergence(
                        every=200, diff="absolute", tolerance=ADVI_TOLERANCE
                    )
                ],
            )
            idata = approx.sample(draws, random_seed=seed)
            losses = np.asarray(approx.hist)
            diagnostics = {"iterations": int(losses.size),
                           "final_loss": float(np.mean(losses[-max(1, losses.size // 10):]))}  # fmt: skip
        else:
            idata = pm.sample(
                draws=draws, tune=draws, chains=2, cores=1, random_seed=seed,
                progressbar=False, compute_convergence_checks=False, target_accept=0.9,
            )  # fmt: skip
            import arviz as az

            rhat = az.rhat(idata)
            diagnostics = {
                "divergences": int(idata.sample_stats["diverging"].sum()),
                "max_rhat": float(max(float(rhat[v].max()) for v in rhat.data_vars)),
            }
    post = idata.posterior
    names = ("mu", "sigma_topic", "sigma_hour", "sigma_cell", "z_topic", "z_hour", "z_cell")
    out = {name: post[name].values.reshape(-1, *post[name].shape[2:]) for name in names}
    return out, diagnostics


def _effects(draws: Mapping[str, np.ndarray], cells: pd.DataFrame, topics: list[str]) -> list:
    mu = draws["mu"][:, None]
    a = draws["sigma_topic"][:, None] * draws["z_topic"]
    b = draws["sigma_hour"][:, None] * draws["z_hour"]
    c = draws["sigma_cell"][:, None, None] * draws["z_cell"]
    topic_n = cells.groupby("topic")["posts"].sum()
    hour_n = cells.groupby("hour")["posts"].sum()
    cell_n = cells.set_index(["topic", "hour"])["posts"]
    rows: list[tuple] = []

    def add(level: str, samples: np.ndarray, keys: list[tuple[str | None, int | None]], counts):
        mean = samples.mean(axis=0)
        low, high = hdi(samples)
        for j, (topic, hour) in enumerate(keys):
            rows.append((level, topic, hour, float(mean[j]), float(low[j]), float(high[j]),
                         int(counts[j])))  # fmt: skip

    add("global", expit(mu), [(None, None)], [int(cells["posts"].sum())])
    add("topic", expit(mu + a), [(t, None) for t in topics],
        [int(topic_n.get(t, 0)) for t in topics])  # fmt: skip
    add("hour", expit(mu + b), [(None, h) for h in HOURS], [int(hour_n.get(h, 0)) for h in HOURS])
    cell_draws = expit(mu[:, :, None] + a[:, :, None] + b[:, None, :] + c)
    keys = [(t, h) for t in topics for h in HOURS]
    add("cell", cell_draws.reshape(cell_draws.shape[0], -1), keys,
        [int(cell_n.get((t, h), 0)) for t, h in keys])  # fmt: skip
    return rows


def fit_model(
    services: Services,
    environment: str,
    *,
    method: str = "advi",
    draws: int = 1000,
    now: datetime | None = None,
    seed: int = 0,
    iterations: int = 20_000,
) -> ModelSummary:
    """Fit the model on every measured post of ``environment`` and store its summaries.

    ``iterations`` caps ADVI's optimisation (it stops earlier once the parameters converge).
    """
    environment = check_environment(environment)
    now = as_utc(now)
    if method not in METHODS:
        raise ValidationError("method", method, "one of " + ", ".join(METHODS))
    for name, value, lo in (("draws", draws, 10), ("iterations", iterations, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValidationError(name, value, f"an integer >= {lo}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", seed, "a non-negative integer")
    cells = _load_cells(services, environment)
    n_posts = int(cells["posts"].sum())
    if n_posts < MIN_POSTS:
        raise XbotError(
            f"model: {n_posts} measured posts in {environment}; a fit needs at least "
            f"{MIN_POSTS} posted tweets with impressions (run `xbot learn run` first)"
        )
    _configure_pytensor(services.settings.xbot_home)
    topics = sorted(cells["topic"].unique())
    started = time.perf_counter()
    phi, kappa = dispersion(cells)
    samples, diagnostics = _posterior(cells, topics, method, draws, seed, iterations, phi)
    diagnostics.update(phi=phi, kappa_mean=kappa, cells=len(cells))
    rows = _effects(samples, cells, topics)
    seconds = time.perf_counter() - started
    with services.engine.begin() as conn:
        fit_id = conn.execute(
            sa.text(
                "insert into model_fits (environment, fitted_at, method, draws, n_posts, "
                "seconds, diagnostics) values (:e, :t, :m, :d, :n, :s, cast(:g as jsonb)) "
                "returning id"
            ),
            {"e": environment, "t": now, "m": method, "d": draws, "n": n_posts,
             "s": seconds, "g": json.dumps(diagnostics)},
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.text(
                "insert into model_effects (fit_id, level, topic, hour, mean, hdi_low, "
                "hdi_high, posts) values (:f, :l, :t, :h, :m, :lo, :hi, :n)"
            ),
            [{"f": fit_id, "l": r[0], "t": r[1], "h": r[2], "m": r[3], "lo": r[4], "hi": r[5],
              "n": r[6]} for r in rows],
        )  # fmt: skip
    return ModelSummary(
        fit_id=fit_id,
        environment=environment,
        method=method,
        draws=draws,
        n_posts=n_posts,
        seconds=seconds,
        diagnostics=diagnostics,
        effects=latest_summary(services, environment),
    )


def latest_summary(services: Services, environment: str) -> pd.DataFrame:
    """The newest fit's effects (columns ``SUMMARY_COLUMNS``); empty when never fitted."""
    environment = check_environment(environment)
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select f.id as fit_id, f.fitted_at, f.method, e.level, e.topic, e.hour, e.mean, "
                "e.hdi_low, e.hdi_high, e.posts from model_effects e "
                "join model_fits f on f.id = e.fit_id "
                "where f.id = (select max(id) from model_fits where environment = :e) "
                "order by array_position(array['global','topic','hour','cell'], e.level), "
                "e.topic nulls first, e.hour nulls first"
            ),
            {"e": environment},
        ).all()
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def prior_from_model(
    services: Services, environment: str, *, baseline: float, strength: float = 10.0
) -> dict[str, dict[str, tuple[float, float]]] | None:
    """Bandit priors (empirical Bayes) from the latest fit, or None when there is no fit.

    The bandit's arms estimate P(reward) = P(a post's rate beats ``baseline``), not the rate
    itself, so each topic's and hour's modelled rate r is turned into that probability under
    the fitted overdispersion: q = P(Beta(r kappa, (1 - r) kappa) > baseline). The prior is
    Beta(q s, (1 - q) s) with s = ``strength`` pseudo-posts: enough to skip the cold start,
    small enough that a few weeks of evidence outweigh it. Pass ``baseline`` from
    :func:`xbot.reward.baseline_median` so it matches the reward being learned; or call
    :func:`flag_prior`, which does.
    """
    if not (math.isfinite(baseline) and 0 <= baseline <= 1):
        raise ValidationError("baseline", baseline, "a number from 0 to 1")
    if not (math.isfinite(strength) and strength > 0):
        raise ValidationError("strength", strength, "a number > 0")
    summary = latest_summary(services, environment)
    if summary.empty:
        return None
    with services.engine.connect() as conn:
        kappa = conn.execute(
            sa.text("select (diagnostics ->> 'kappa_mean')::double precision from model_fits "
                    "where id = :i"),
            {"i": int(summary["fit_id"].iloc[0])},
        ).scalar_one()  # fmt: skip
    out: dict[str, dict[str, tuple[float, float]]] = {"topic": {}, "hour": {}}
    for row in summary[summary["level"].isin(["topic", "hour"])].itertuples():
        r = min(max(float(row.mean), 1e-6), 1 - 1e-6)
        q = float(stats.beta.sf(baseline, r * kappa, (1 - r) * kappa))
        q = min(max(q, 0.01), 0.99)
        meta = {"topic": row.topic} if row.level == "topic" else {"hour": int(row.hour)}
        (arm,) = arms_of(meta)[row.level]
        out[row.level][arm] = (q * strength, (1 - q) * strength)
    return out


def flag_prior(
    services: Services, environment: str, flags: Flags, now: datetime
) -> dict[str, dict[str, tuple[float, float]]] | None:
    """The bandit prior the flags ask for: the model's when ``model_priors`` is on, else None.

    The one place deriving it, for the scheduler's decisions and ``xbot bandit report``: with
    the flag on, :func:`prior_from_model` at the reward's current baseline (the median the
    learning loop would use at ``now``); None (the pooled prior) when the flag is off or no
    model has been fitted yet.
    """
    if not flags.model_priors:
        return None
    with services.engine.connect() as conn:
        baseline = baseline_median(conn, environment, now, RewardRule())
    return prior_from_model(services, environment, baseline=baseline)
