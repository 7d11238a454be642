"""FeatureBandit: factored Thompson sampling over candidates described by features.

The engine the scheduler calls: one :class:`~xbot.policies.beta.BetaBandit`-style family per
feature (topic, hour, format, tag) and a candidate score that adds the sampled log-odds of the
candidate's own features. The propensity of the chosen candidate is
``epsilon / n + (1 - epsilon) * P_TS(its feature set wins) / copies``, the sampling part by Monte
Carlo over ``propensity_draws`` rows of which the decision's own draw is one. The shared rules
are listed in :mod:`xbot.policies`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal, TypeAlias

import numpy as np
from scipy import special, stats

from xbot.drift import ChangeDetector
from xbot.errors import ValidationError
from xbot.policies.base import (
    DEFAULT_PROPENSITY_DRAWS,
    Hyperparameters,
    _arm_name,
    _Evidence,
    _mass,
    _prior_pair,
    _reward,
    _seed,
    _Tuned,
)

__all__ = ["DEFAULT_FAMILIES", "Choice", "Encoded", "FeatureBandit"]

DEFAULT_FAMILIES = ("topic", "hour", "format", "tag")
# Propensity rows (never the decision's own row) for an arm whose posterior Beta(a, b) has
# a, b >= _NORMAL_MIN_COUNT come from the normal with the exact mean and variance of
# logit(Beta(a, b)) (digamma / trigamma), a quarter of the cost of two gamma draws; its skewness
# there is below 0.1 and the propensities it gives differ from exact draws by less than their
# Monte Carlo error (tests/test_policies_feature.py). Thinner posteriors are always drawn exactly.
_NORMAL_MIN_COUNT = 30.0


@dataclass(frozen=True)
class Choice:
    """The engine's pick: candidate ``index``, its propensity, every candidate's sampled score
    (aligned with the candidates passed in, ineligible ones included) and whether the pick came
    from the epsilon (uniform) branch."""

    index: int
    propensity: float
    scores: list[float]
    explored: bool


Features: TypeAlias = Mapping[str, "str | Sequence[str]"]

# Candidate parsing: a missing family, and the value types the column-wise fast path accepts.
_MISSING = object()
_SCALAR_KINDS = frozenset({str, object})
_LIST_KINDS = frozenset({str, list, tuple, object})


@dataclass(frozen=True)
class _Family:
    """One family's columns in a decision: the arms the candidates mention, each candidate's
    value id (-1: family absent), and per value id its arm columns (``index``, padded with the
    column ``len(arms)`` that holds zeros) with their weights (a tag list: 1/len). The last row
    of ``index``/``weight`` is the absent value, so value id -1 indexes it directly."""

    arms: list[str]
    codes: np.ndarray
    index: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """Candidates parsed once into arm columns (:meth:`FeatureBandit.encode`).

    :meth:`FeatureBandit.choose` accepts this in place of the feature mappings and skips the
    parse, which is most of the cost of a decision over hundreds of candidates: the scheduler
    encodes its pool once per cycle and every re-pick after a guard rejection reuses it.
    """

    size: int
    families: tuple[tuple[str, _Family], ...]

    def __len__(self) -> int:
        return self.size


@dataclass(frozen=True)
class _Plan:
    """Every arm a pool mentions, all families stacked into one column of posteriors, with
    what sampling needs; row ``a32.size`` of a sample is the padding row (0). Built once per
    encoded pool and reused until the evidence of one of its families changes, so a decision
    costs a few numpy calls whatever the number of families."""

    encoded: Encoded
    versions: tuple[int, ...]
    a32: np.ndarray
    b32: np.ndarray
    centre: np.ndarray  # per stacked arm: logit(m_f) of its family
    thin: np.ndarray  # stacked arms always drawn exactly
    mean: np.ndarray  # E[logit theta] - centre, every stacked arm
    sd: np.ndarray  # sd[logit theta], every stacked arm


@dataclass(frozen=True)
class _Layout:
    """The structure of a decision over an encoded pool and an eligible set, which does not
    depend on the evidence and so is built once for every pick that uses it: the distinct
    feature sets among the eligible (``group`` per eligible candidate, ``first`` member and
    ``copies`` per set), the families that vary, and two weight matrices over the stacked
    arms (+ the padding row) that turn a sample into scores: ``sets`` (feature sets x arms,
    varying families only) and ``candidates`` (every candidate x arms, all families)."""

    encoded: Encoded
    eligible: bytes
    group: np.ndarray
    first: np.ndarray
    copies: np.ndarray
    sets: np.ndarray
    candidates: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.first.size)


def _weights(rows: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """Dense (len(rows) x size) weights from per-row (row ids, weights) slot arrays."""
    out = np.zeros((rows.shape[0], size), dtype=np.float32)
    lines = np.arange(rows.shape[0])
    for slot in range(rows.shape[1]):  # within one slot each line names an arm once
        out[lines, rows[:, slot]] += weight[:, slot]
    out[:, size - 1] = 0.0  # the padding row contributes nothing
    return out


def _blocked_product(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w @ x`` in row blocks of at most 2**18 multiply-adds each.

    OpenBLAS runs products above 4 x 65536 multiply-adds on several threads; on busy cores those
    threads wait for a time slice and a 0.1 ms product takes several ms. Blocks this small run
    on the calling thread, which keeps the decision's tail latency flat.
    """
    rows = max(1, 2**18 // max(1, w.shape[1] * x.shape[1]))
    out = np.empty((w.shape[0], x.shape[1]), dtype=np.float32)
    for start in range(0, w.shape[0], rows):
        np.matmul(w[start : start + rows], x, out=out[start : start + rows])
    return out


class FeatureBandit(_Tuned):
    """Factored Thompson sampling over candidates described by features.

    Each family (topic, hour, format, tag) holds independent Beta posteriors per arm with a pooled
    prior per family (:func:`pooled_prior`); arms never seen get that prior. One decision draws
    ``theta`` for every arm the candidates mention and scores candidate ``c``:

        score(c) = sum over families f of  mean over c's arms x in f of
                   [ logit(theta_{f,x}) - logit(m_f) ]

    where ``m_f`` is the pooled prior mean of family f. Adding log-odds is a naive-Bayes/additive
    logit model: each family shifts the odds of success independently. Centering on ``logit(m_f)``
    makes an absent family (or empty tag list) count as an average arm instead of a large negative
    term. A list-valued family (tags) contributes the mean over its arms so that more tags do not
    mean a bigger score. The hour is the slot's hour (the caller's job), so it shifts every
    candidate equally today and matters for learning; it costs nothing in the propensity.

    ``prior``: ``"pooled"`` (default), a pair ``(a, b)`` for every arm of every family, or
    ``{family: {arm: (a, b)}}`` (e.g. from the PyMC model) with other arms pooled.
    """

    def __init__(
        self,
        families: Sequence[str] = DEFAULT_FAMILIES,
        epsilon: float = 0.2,
        decay: float = 1.0,
        seed: int | None = None,
        propensity_draws: int = DEFAULT_PROPENSITY_DRAWS,
        prior: tuple[float, float] | Literal["pooled"] | Mapping[str, Mapping[str, Any]] = (
            "pooled"
        ),
        drift_check: float = 0.0,
    ) -> None:
        self.hyper = Hyperparameters(epsilon, decay, propensity_draws, drift_check)
        self.detector = ChangeDetector(self.hyper.drift_check)
        if isinstance(families, str) or not isinstance(families, Sequence) or not families:
            raise ValidationError("families", families, "a non-empty sequence of family names")
        fams = [_arm_name("families", f) for f in families]
        if len(set(fams)) != len(fams):
            raise ValidationError("families", list(families), "distinct family names")
        self.families = tuple(fams)
        self._ev = {f: _Evidence() for f in fams}
        self._fixed: dict[str, dict[str, tuple[float, float]]] = {f: {} for f in fams}
        self._fixed_all: tuple[float, float] | None = None
        if isinstance(prior, str):
            if prior != "pooled":
                raise ValidationError(
                    "prior", prior, "'pooled', a pair (a, b) or {family: {arm: (a, b)}}"
                )
        elif isinstance(prior, Mapping):
            for fam, arms in prior.items():
                if fam not in self._ev:
                    raise ValidationError("prior", fam, "families: " + ", ".join(fams))
                if not isinstance(arms, Mapping):
                    raise ValidationError(f"prior[{fam!r}]", arms, "a mapping {arm: (a, b)}")
                for arm, pair in arms.items():
                    name = _arm_name(f"prior[{fam!r}]", arm)
                    self._fixed[fam][name] = _prior_pair(f"prior[{fam!r}][{arm!r}]", pair)
        else:
            self._fixed_all = _prior_pair("prior", prior)
        self.prior = prior
        self.seed = _seed(seed)
        self._rng = np.random.default_rng(self.seed)
        self._plans: dict[int, _Plan] = {}
        self._layouts: dict[int, _Layout] = {}

    # -- validation ---------------------------------------------------------------------------
    def _arms_of(self, features: Any, where: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(features, Mapping):
            raise ValidationError(where, features, "a mapping {family: arm or list of arms}")
        out: dict[str, tuple[str, ...]] = {}
        for fam, value in features.items():
            if fam not in self._ev:
                raise ValidationError(f"{where} family", fam, "one of " + ", ".join(self.families))
            if isinstance(value, str):
                arms: tuple[str, ...] = (_arm_name(f"{where}[{fam!r}]", value),)
            elif isinstance(value, Sequence):
                arms = tuple(dict.fromkeys(_arm_name(f"{where}[{fam!r}]", v) for v in value))
            else:
                raise ValidationError(f"{where}[{fam!r}]", value, "an arm name or list of names")
            if arms:
                out[fam] = arms
        return out

    # -- posterior ----------------------------------------------------------------------------
    def _family_prior(self, fam: str) -> tuple[float, float]:
        """The prior of an arm with no fixed prior in ``fam``."""
        if self._fixed_all is not None:
            return self._fixed_all
        return self._ev[fam].pooled()

    def _params(self, fam: str, arms: Sequence[str]) -> tuple[np.ndarray, np.ndarray, float]:
        """Posterior (a, b) for ``arms`` of ``fam`` (unseen arms: prior only) and the centre."""
        ev = self._ev[fam]
        pa, pb = self._family_prior(fam)
        pos = np.fromiter(map(ev.index.get, arms, repeat(-1)), dtype=np.int64, count=len(arms))
        seen = pos >= 0
        a = np.full(len(arms), pa)
        b = np.full(len(arms), pb)
        fixed = self._fixed[fam]
        for j, arm in enumerate(arms) if fixed else ():
            if arm in fixed:
                a[j], b[j] = fixed[arm]
        a[seen] += ev.alpha[pos[seen]]
        b[seen] += ev.beta[pos[seen]]
        return a, b, math.log(pa / pb)

    def _plan(self, encoded: Encoded) -> _Plan:
        """The stacked posteriors of ``encoded``'s arms (see :class:`_Plan`), cached."""
        versions = tuple(self._ev[fam].version for fam, _ in encoded.families)
        hit = self._plans.get(id(encoded))
        if hit is not None and hit.encoded is encoded and hit.versions == versions:
            return hit
        a_parts, b_parts, centres = [], [], []
        for fam, f in encoded.families:
            a, b, centre = self._params(fam, f.arms)
            a_parts.append(a)
            b_parts.append(b)
            centres.append(np.full(a.size, centre))
        a_all = np.concatenate(a_parts) if a_parts else np.zeros(0)
        b_all = np.concatenate(b_parts) if b_parts else np.zeros(0)
        centre_all = np.concatenate(centres) if centres else np.zeros(0)
        mask = (a_all >= _NORMAL_MIN_COUNT) & (b_all >= _NORMAL_MIN_COUNT)
        ta, tb = a_all, b_all  # moments of every arm: thin rows are overwritten by exact draws
        plan = _Plan(
            encoded=encoded,
            versions=versions,
            a32=a_all.astype(np.float32),
            b32=b_all.astype(np.float32),
            centre=centre_all.astype(np.float32),
            thin=np.flatnonzero(~mask),
            mean=(special.digamma(ta) - special.digamma(tb) - centre_all).astype(np.float32),
            sd=np.sqrt(special.polygamma(1, ta) + special.polygamma(1, tb)).astype(np.float32),
        )
        if len(self._plans) > 8:  # a scheduler keeps one pool per cycle
            self._plans.clear()
        self._plans[id(encoded)] = plan
        return plan

    def _layout(self, encoded: Encoded, elig: np.ndarray) -> _Layout:
        """The :class:`_Layout` of ``encoded`` restricted to ``elig``, cached."""
        key = elig.tobytes()
        hit = self._layouts.get(id(encoded))
        if hit is not None and hit.encoded is encoded and hit.eligible == key:
            return hit
        total = sum(len(f.arms) for _, f in encoded.families)
        # Distinct feature sets among the eligible: one key per eligible candidate, built from
        # the families whose value differs between eligible candidates.
        code = np.zeros(elig.size, dtype=np.int64)
        varying: list[bool] = []
        for _, f in encoded.families:
            codes = f.codes[elig]
            varying.append(bool(codes.min() != codes.max()))
            if varying[-1]:
                code = code * (f.index.shape[0] + 1) + codes + 1
        _, first, group = np.unique(code, return_index=True, return_inverse=True)
        sets = np.zeros((first.size, total + 1), dtype=np.float32)
        candidates = np.zeros((encoded.size, total + 1), dtype=np.float32)
        offset = 0
        for (_, f), vary in zip(encoded.families, varying, strict=True):
            # the family's padding column (len(arms)) becomes the stacked padding row
            rows = np.where(f.index == len(f.arms), total, f.index + offset)
            values = _weights(rows, f.weight, total + 1)  # value id x stacked arm
            candidates += values[f.codes]
            if vary:
                sets += values[f.codes[elig[first]]]
            offset += len(f.arms)
        layout = _Layout(
            encoded=encoded,
            eligible=key,
            group=group.reshape(-1),
            first=first,
            copies=np.bincount(group.reshape(-1), minlength=first.size),
            sets=sets,
            candidates=candidates,
        )
        if len(self._layouts) > 8:
            self._layouts.clear()
        self._layouts[id(encoded)] = layout
        return layout

    def posterior(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Posterior Beta(a, b) = prior + evidence per family and arm (arms with evidence or a
        fixed prior): the one computation behind the means, the intervals and the report."""
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for fam in self.families:
            arms = list(dict.fromkeys([*self._ev[fam].arms, *self._fixed[fam]]))
            a, b, _ = self._params(fam, arms)
            out[fam] = {arm: (float(a[j]), float(b[j])) for j, arm in enumerate(arms)}
        return out

    def expectations(self) -> dict[str, dict[str, float]]:
        """Posterior mean per family and arm (arms with evidence or a fixed prior)."""
        return {
            fam: {arm: a / (a + b) for arm, (a, b) in arms.items()}
            for fam, arms in self.posterior().items()
        }

    def credible_interval(self, mass: float = 0.94) -> dict[str, dict[str, tuple[float, float]]]:
        """Equal-tailed posterior interval per family and arm."""
        m = _mass(mass)
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for fam, arms in self.posterior().items():
            a = np.array([v[0] for v in arms.values()])
            b = np.array([v[1] for v in arms.values()])
            lo = stats.beta.ppf((1.0 - m) / 2.0, a, b)
            hi = stats.beta.ppf((1.0 + m) / 2.0, a, b)
            out[fam] = {arm: (float(lo[j]), float(hi[j])) for j, arm in enumerate(arms)}
        return out

    def predict_expectations(self, candidates: Sequence[Features]) -> list[float]:
        """Each candidate's chance of success at the posterior means, without sampling.

        The same additive log-odds model :meth:`choose` samples from, evaluated at
        ``logit E[theta]``: ``logit p = logit m + sum_f mean_x [logit E(theta_fx) - logit m_f]``
        with ``m`` the mean of the families' pooled prior means. Deterministic, so a person
        reviewing the queue sees a stable order (MABWiser's verb for the same question).
        """
        if isinstance(candidates, Sequence) and not isinstance(candidates, str) and not candidates:
            return []
        encoded = self.encode(candidates)
        plan = self._plan(encoded)
        layout = self._layout(encoded, np.arange(encoded.size))
        mean_logit = np.append(np.log(plan.a32 / plan.b32) - plan.centre, np.float32(0.0))
        score = layout.candidates.astype(np.float64) @ mean_logit.astype(np.float64)
        centres = [math.log(pa / pb) for pa, pb in map(self._family_prior, self.families)]
        base = float(np.mean(centres))
        return (1.0 / (1.0 + np.exp(-(base + score)))).tolist()

    # -- decisions ----------------------------------------------------------------------------
    def encode(self, candidates: Sequence[Features] | Encoded) -> Encoded:
        """Parse candidates into arm columns once; :meth:`choose` takes the result as it is.

        Unusual input (not plain dicts of non-empty strings or lists of them, or unknown
        families) is validated one candidate at a time, so the error names the candidate.
        """
        if isinstance(candidates, Encoded):
            return candidates
        if isinstance(candidates, (str, Mapping)) or not isinstance(candidates, Sequence):
            raise ValidationError("candidates", candidates, "a sequence of feature mappings")
        if not candidates:
            raise ValidationError("candidates", candidates, "at least one candidate")
        parsed = self._parse_fast(candidates)
        if parsed is None:  # unusual input: validate one by one (clear errors), then parse
            parsed = self._parse_fast(self._normalise(candidates))
            if parsed is None:  # pragma: no cover - _normalise only returns parseable dicts
                raise ValidationError("candidates", candidates, "feature mappings")
        return Encoded(len(candidates), tuple(parsed))

    def choose(
        self,
        candidates: Sequence[Features] | Encoded,
        eligible: Sequence[int] | None = None,
        exploit: Sequence[int] | None = None,
    ) -> Choice:
        """Pick one of ``candidates`` (restricted to the indices in ``eligible``).

        ``exploit``, a subset of ``eligible``, narrows the Thompson draw only: the epsilon
        branch stays uniform over every eligible candidate, so each keeps a probability of at
        least ``epsilon / n`` (the support off-policy evaluation needs), and a candidate
        outside ``exploit`` has exactly that (``link_policy=avoid``: :mod:`xbot.link_policy`).

        ``candidates`` are feature mappings or, cheaper, what :meth:`encode` made of them.
        Candidates with identical features always score the same, so the Monte Carlo ranks
        distinct feature sets and a tie among identical candidates is split uniformly; the
        propensity of the pick is ``epsilon / n + (1 - epsilon) * P(its feature set wins) / copies``.
        Families that are equal for every eligible candidate (the slot's hour) shift all scores
        alike and are left out of the Monte Carlo.

        Cost: Beta draws are made per *arm* (tens), not per candidate; the decision's own row is
        exact, the other propensity rows of well-observed arms come from the logit-normal with
        the exact moments (``_NORMAL_MIN_COUNT``). Each family's draws become scores per
        distinct value (a tag list: the mean over its tags) and are gathered per distinct
        feature set; posteriors are cached until the evidence changes.
        """
        encoded = self.encode(candidates)
        elig = self._eligible(eligible, encoded.size)
        drawn = elig if exploit is None else self._exploit(exploit, elig, encoded.size)
        layout = self._layout(encoded, drawn)
        eps = self.hyper.epsilon
        explore = bool(self._rng.random() < eps)
        n_groups = layout.n_groups
        draws = 1 if (eps >= 1.0 or n_groups == 1) else self.hyper.propensity_draws
        sample = self._sample_logit(self._plan(encoded), draws)
        table = _blocked_product(layout.sets, sample)  # feature set x draw
        decision = table[:, 0]
        tied = np.flatnonzero(decision == decision.max())
        winner = int(tied[self._rng.integers(tied.size)]) if tied.size > 1 else int(tied[0])
        pos: int | None
        if explore:
            index = int(elig[self._rng.integers(elig.size)])
            at = np.flatnonzero(drawn == index)  # where the draw has it, if it does
            pos = int(at[0]) if at.size else None
        else:
            mine = np.flatnonzero(layout.group == winner)
            pos = int(mine[self._rng.integers(mine.size)]) if mine.size > 1 else int(mine[0])
            index = int(drawn[pos])
        if pos is None:  # outside ``exploit``: only the epsilon branch picks it
            scores = layout.candidates @ sample[:, 0]
            return Choice(index, float(eps / elig.size), scores.tolist(), explore)
        g = int(layout.group[pos])
        if n_groups == 1:
            win = 1.0
        else:  # share of draws g wins, a tie of k feature sets crediting each 1/k
            others = np.full(draws, -np.inf, dtype=np.float32)  # best other set, per draw
            if g > 0:
                others = table[:g].max(axis=0)
            if g + 1 < n_groups:
                others = np.maximum(others, table[g + 1 :].max(axis=0))
            mine_row = table[g]
            win = float(np.count_nonzero(mine_row > others))
            for d in np.flatnonzero(mine_row == others):  # exact ties: rare with real draws
                win += 1.0 / int(np.count_nonzero(table[:, d] == others[d]))
            win /= draws
        propensity = eps / elig.size + (1.0 - eps) * win / int(layout.copies[g])
        scores = layout.candidates @ sample[:, 0]  # every candidate, the decision's draw
        return Choice(index, float(propensity), scores.tolist(), explore)

    def _parse_fast(self, candidates: Sequence[Any]) -> list[tuple[str, _Family]] | None:
        """Column-wise parse of well-formed candidates (dicts of non-empty str or list/tuple of
        str, known families); ``None`` for anything else so that :meth:`_normalise` can name the
        offending candidate. Python work is a few C-level passes per family (``map`` over dict
        methods); each distinct tag list is handled once, and its weights built in numpy."""
        if set(map(type, candidates)) != {dict} or not set().union(*candidates) <= set(self._ev):
            return None
        out = []
        n = len(candidates)
        for fam in self.families:
            values = list(map(dict.get, candidates, repeat(fam, n), repeat(_MISSING, n)))
            kinds = set(map(type, values))
            if kinds <= _SCALAR_KINDS:  # one arm per candidate: the value id is the arm column
                col = dict.fromkeys(values)
                col.pop(_MISSING, None)
                if "" in col:
                    return None
                if not col:
                    continue
                col = {arm: j for j, arm in enumerate(col)}
                col[_MISSING] = -1
                codes = np.fromiter(map(col.__getitem__, values), np.int64, n)
                del col[_MISSING]
                index = np.arange(len(col) + 1, dtype=np.int64)[:, None]
                weight = np.ones((len(col) + 1, 1), dtype=np.float32)
                out.append((fam, _Family(list(col), codes, index, weight)))
                continue
            if not kinds <= _LIST_KINDS:
                return None
            raw: dict[Any, int] = {}
            try:
                raw_codes = [
                    raw.setdefault(v if type(v) is not list else tuple(v), len(raw)) for v in values
                ]
            except TypeError:  # an unhashable element: let _normalise name it
                return None
            tuples = [() if k is _MISSING else (k,) if type(k) is str else k for k in raw]
            flat = [arm for k in tuples for arm in k]
            if not flat:
                continue
            if set(map(type, flat)) != {str} or "" in flat:
                return None
            cols = {arm: j for j, arm in enumerate(dict.fromkeys(flat))}  # first-seen order
            # each distinct arm set (order and repeats do not matter) is one value id
            sets: dict[frozenset[str], int] = {}
            value = np.array(
                [sets.setdefault(frozenset(k), len(sets)) if k else -1 for k in tuples],
                dtype=np.int64,
            )
            members = [arm for k in sets for arm in k]
            sizes = np.fromiter(map(len, sets), np.int64, len(sets))
            rows = np.repeat(np.arange(len(sets)), sizes)
            slots = np.arange(len(members)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            index = np.full((len(sets) + 1, int(sizes.max())), len(cols), dtype=np.int64)
            weight = np.zeros(index.shape, dtype=np.float32)
            index[rows, slots] = np.fromiter(map(cols.__getitem__, members), np.int64, len(members))
            weight[rows, slots] = np.repeat(1.0 / sizes, sizes)
            codes = value[np.asarray(raw_codes, dtype=np.int64)]
            out.append((fam, _Family(list(cols), codes, index, weight)))
        return out

    def _normalise(self, candidates: Sequence[Any]) -> list[dict[str, tuple[str, ...]]]:
        """Validate candidates one by one (errors name the candidate) into plain dicts."""
        out = []
        for i, cand in enumerate(candidates):
            if not isinstance(cand, Mapping):
                raise ValidationError(f"candidates[{i}]", cand, "a mapping {family: arm(s)}")
            out.append(self._arms_of(cand, f"candidates[{i}]"))
        return out

    def _sample_logit(self, plan: _Plan, draws: int) -> np.ndarray:
        """(stacked arms + 1) x ``draws`` centred log-odds, float32, last row 0.

        Column 0 (the decision's own draw) is exact: logit(X) for X = G_a / (G_a + G_b) is
        log G_a - log G_b, two float32 gamma draws per arm. Propensity columns 1.. are exact
        for thin posteriors and logit-normal with the exact moments (in antithetic pairs) for
        thick ones.
        """
        arms = plan.a32.size
        out = np.empty((arms + 1, draws), dtype=np.float32)
        out[arms] = 0.0
        if draws > 1:
            if plan.thin.size == arms:
                out[:arms] = self._exact_logit(plan.a32, plan.b32, draws, plan.centre)
                return out
            # antithetic pairs: columns 1..h are z, the rest -z (z fresh per decision). Each
            # column keeps the exact marginal; a set that wins at z tends to lose at -z, so
            # the win share's variance is no larger than with independent columns, for half
            # the random numbers.
            body = out[:arms, 1:]  # column 0 is the exact decision draw, filled below
            half = draws // 2
            z = self._rng.standard_normal((arms, half), dtype=np.float32)
            body[:, :half] = z
            np.negative(z[:, : draws - 1 - half], out=body[:, half:])
            body *= plan.sd[:, None]
            body += plan.mean[:, None]
            if plan.thin.size:
                thin = plan.thin
                out[thin] = self._exact_logit(
                    plan.a32[thin], plan.b32[thin], draws, plan.centre[thin]
                )
        out[:arms, :1] = self._exact_logit(plan.a32, plan.b32, 1, plan.centre)
        return out

    def _exact_logit(
        self, a: np.ndarray, b: np.ndarray, cols: int, centre: np.ndarray
    ) -> np.ndarray:
        """len(a) x ``cols`` exact centred logit(Beta(a, b)) draws: log G_a - log G_b."""
        size = (a.size, cols)
        ga = self._rng.standard_gamma(a[:, None], size=size, dtype=np.float32)
        gb = self._rng.standard_gamma(b[:, None], size=size, dtype=np.float32)
        tiny = np.float32(np.finfo(np.float32).tiny)
        out = np.log(np.maximum(ga, tiny))
        out -= np.log(np.maximum(gb, tiny))
        out -= centre[:, None]
        return out

    @classmethod
    def _exploit(cls, exploit: Sequence[int], elig: np.ndarray, n: int) -> np.ndarray:
        out = cls._eligible(exploit, n)
        if not np.isin(out, elig).all():
            raise ValidationError("exploit", list(exploit), "a non-empty subset of eligible")
        return out

    @staticmethod
    def _eligible(eligible: Sequence[int] | None, n: int) -> np.ndarray:
        allowed = f"a non-empty sequence of distinct candidate indices from 0 to {n - 1}"
        if eligible is None:
            return np.arange(n)
        if isinstance(eligible, str) or not isinstance(eligible, Sequence) or not eligible:
            raise ValidationError("eligible", eligible, allowed)
        kinds = set(map(type, eligible))
        if kinds <= {int, np.int64}:  # fast path: checked as an array
            out = np.fromiter(eligible, dtype=np.int64, count=len(eligible))
            if out.min() >= 0 and out.max() < n and np.unique(out).size == out.size:
                return out
        for i in eligible:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < n:
                raise ValidationError("eligible", i, allowed)
        if len(set(eligible)) != len(eligible):
            raise ValidationError("eligible", list(eligible), allowed)
        return np.asarray(eligible, dtype=np.int64)

    # -- learning -----------------------------------------------------------------------------
    def update(self, features: Features, reward: float) -> None:
        """Teach every arm of the post's features one outcome (each tag gets the full outcome)."""
        self.update_many([features], [reward])

    def update_many(self, features: Sequence[Features], rewards: Sequence[float]) -> None:
        """Teach many posts at once (a learning cycle); everything is validated first."""
        if len(features) != len(rewards):
            raise ValidationError("rewards", len(rewards), f"one reward per post ({len(features)})")
        parsed = [self._arms_of(f, f"features[{i}]") for i, f in enumerate(features)]
        r = [_reward(x) for x in rewards]
        means = self.expectations() if self.hyper.drift_check > 0.0 else {}
        for fam in self.families:
            ev = self._ev[fam]
            names = [arm for p in parsed for arm in p.get(fam, ())]
            if not names:
                continue
            ev.add(names)
            idx = np.fromiter((ev.index[a] for a in names), dtype=np.int64, count=len(names))
            rr = np.fromiter(
                (r[j] for j, p in enumerate(parsed) for _ in p.get(fam, ())),
                dtype=float,
                count=len(names),
            )
            restart = None
            if self.hyper.drift_check > 0.0:
                restart = self.detector.observe(fam, names, rr, means.get(fam, {}), ev.pairs())
            ev.learn(idx, rr)
            if restart is not None:
                ev.restart(restart)

    def decay_step(self) -> None:
        """Discount all evidence of every family by ``decay`` (once per learning cycle)."""
        for ev in self._ev.values():
            ev.decay(self.hyper.decay)

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> dict[str, dict[str, dict[str, float]]]:
        """Evidence without priors: {family: {arm: {"alpha", "beta", "pulls"}}}."""
        return {fam: ev.state() for fam, ev in self._ev.items()}

    @classmethod
    def from_state(
        cls, state: Mapping[str, Mapping[str, Mapping[str, float]]], **hyper: Any
    ) -> FeatureBandit:
        """Rebuild from :meth:`state`; ``hyper`` are the constructor's keyword arguments.

        ``families`` defaults to the default families plus any family present in ``state``.
        """
        if not isinstance(state, Mapping):
            raise ValidationError("state", state, "a mapping {family: {arm: {alpha, beta}}}")
        if "families" in hyper:
            families = list(hyper.pop("families"))
        else:
            families = [*DEFAULT_FAMILIES, *(f for f in state if f not in DEFAULT_FAMILIES)]
        bandit = cls(families, **hyper)
        for fam, arms in state.items():
            if fam not in bandit._ev:
                raise ValidationError("state family", fam, "one of " + ", ".join(families))
            if not isinstance(arms, Mapping):
                raise ValidationError(f"state[{fam!r}]", arms, "a mapping {arm: {alpha, beta}}")
            bandit._ev[fam].load(f"state[{fam!r}]", arms)
        return bandit
