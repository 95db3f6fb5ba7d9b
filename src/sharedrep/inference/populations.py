"""Populations recorded together under one shared representation: who leads whom.

Thalamic axons and M1 neurons imaged in the same mice share one ``W`` (one set of temporal
filters) and each neuron has its own readout ``v_i``. A component has one time course, so two
populations can differ in timing only through how they mix the components: the timing of a
population is that of its neurons' *responses* ``h_i = W v_i`` (behavior -> the neuron's
z-scored activity, per variable and lag).

With smooth behavior (a lever's position and velocity), neighbouring lags are collinear and the
coefficients of ``h_i`` lag by lag are not identified (many filters predict the same activity).
What the data identify is the covariance of the lagged behavioral variables with the neuron's
shared prediction: for the chosen variables ``F`` (e.g. the movement's: lever position and
velocity), ``c_i = Sigma_FF h_i,F``, the covariance of their lags with the part of the
prediction the model attributes to them (``Sigma``: the pooled covariance of the
standardized, lagged behavior, one for all sessions and conditions, so that timing compares
like with like). Responses to other variables (a cue, licks) do not enter, even when those
variables are correlated with the movement.

Definitions
-----------
* Response energy of neuron ``i`` at lag ``l``: ``e_i(l) = sum_f c_i(f, l)^2`` over ``F``.
* Timing of a neuron: ``t_i``, the centre of the peak of ``e_i`` (:func:`profile_peak`: the
  lags around the maximum where the profile exceeds half of it, weighted by the excess; it
  does not move when the response is scaled, and it moves continuously when a neuron mixes an
  earlier and a later response). Its weight ``w_i = (sum_l e_i(l))^2``, the square of its
  response energy: strongly driven neurons count more, and neurons without a response to the
  variables (whose timing is noise) count for nothing, without a threshold.
* Timing of a population in a session: the weighted mean ``m = sum w_i t_i / sum w_i`` over its
  neurons; in a condition, the mean over its sessions.
* Difference: in each session, the timing of each later population in ``order`` minus the
  first's; in a condition, the mean over its sessions (samples and seconds). > 0: the first
  population responds earlier (leads).

Statistics
----------
* p-value of a difference: the studentized statistic ``sum_s D_s / sqrt(sum_s V_s)`` (``V_s``:
  the sandwich variance of the session's two weighted means) with population labels permuted
  among the neurons of each session (never across sessions or animals). Studentizing keeps
  the test valid when the populations differ in size, spread and share of responding neurons
  (a permutation test of a difference of means is exact only when the two populations are
  exchangeable; studentized, it is also valid for equal means with unequal spreads: Chung &
  Romano 2013, Ann. Stat. 41, 484-507).
* Change of a difference between conditions (learning): the estimate is the difference in the
  last condition minus the first. When the same neurons are recorded in all sessions of an
  animal (matched by name), the test asks whether neurons change their timing differently in
  the two populations: each neuron's change of timing, weighted by the product of its
  response energies in the two conditions (a neuron recruited in one condition only has no
  timing to compare), studentized difference between populations, labels permuted within
  animal. Otherwise condition labels are permuted among the sessions of each animal (exact,
  but few labellings with few animals).
* Intervals: bootstrap over animals (all sessions of a drawn animal enter together), as an
  estimate ± Student-t interval with ``A - 1`` degrees of freedom (see
  :func:`~sharedrep.inference.permutation.animal_interval`), and ``p_animals``, the matching
  test across animals.
* Profiles (for figures): the mean response energy of each population, normalised to sum to
  one per session, averaged over the sessions of a condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..estimator import ShaReD
from ._common import _unwrap
from ._labels import neuron_labels, session_conditions
from .permutation import (
    animal_interval,
    cluster_bootstrap,
    interval_method,
    label_permutations,
    permutation_pvalue,
    studentize,
    tracked_neurons,
    within_permutations,
)

__all__ = [
    "PopulationComparison",
    "compare_populations",
    "covariance_filters",
    "lag_covariance",
    "neuron_timing",
    "profile_peak",
    "response_energy",
    "weighted_means",
]


def response_energy(filters: np.ndarray) -> np.ndarray:
    """Energy over lags of response filters: ``e[l, i] = sum_f filters[f, l, i]^2``.

    Parameters
    ----------
    filters : ndarray, shape (p, L, n)
        Response filters (behavioral variable, lag, neuron).

    Returns
    -------
    ndarray, shape (L, n)
    """
    return np.einsum("fln,fln->ln", filters, filters)


def profile_peak(profile: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Centre of the peak of energy profiles (the peak lag, robust to flat tops and noise).

    Around the profile's maximum, the contiguous lags where it is at least half its maximum
    are the peak; its centre is the mean of those lags weighted by the profile's excess over
    half the maximum. For a symmetric peak this is the lag of the maximum; unlike the argmax
    it moves continuously when two overlapping responses mix, it does not jump across a flat
    top, and it does not change when the profile is scaled.

    Parameters
    ----------
    profile : ndarray, shape (..., L)
        Non-negative profiles over ``lags``.
    lags : ndarray, shape (L,)
        Increasing lags (samples).

    Returns
    -------
    ndarray, shape (...)
        Peak lag in samples (NaN for an all-zero or non-finite profile).
    """
    profile = np.asarray(profile, dtype=float)
    lags = np.asarray(lags, dtype=float)
    bad = ~np.all(np.isfinite(profile), axis=-1) | ~(np.nanmax(profile, axis=-1, initial=0) > 0)
    safe = np.where(np.isfinite(profile), profile, 0.0)
    k = np.argmax(safe, axis=-1)
    half = 0.5 * np.take_along_axis(safe, k[..., None], -1)
    above = safe >= half
    # the run of lags above half the maximum that contains the maximum: no lag below half
    # between it and the maximum
    breaks = np.cumsum(~above, axis=-1)
    region = above & (breaks == np.take_along_axis(breaks, k[..., None], -1))
    weight = np.where(region, safe - half, 0.0)
    total = weight.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(total > 0, (weight * lags).sum(axis=-1) / total, lags[k])
    return np.where(bad, np.nan, centre)


@dataclass(frozen=True)
class PopulationComparison:
    """Timing of populations recorded together, per condition, and its change.

    Attributes
    ----------
    timing : pandas.DataFrame
        Index ``(condition, population)``: ``timing`` (samples: the weighted mean of the
        neurons' peak lags, averaged over sessions), ``se``, ``ci_low``, ``ci_high`` (over
        animals), the same in seconds (``timing_s``, ...) when the rate is known,
        ``n_sessions``, ``n_neurons``.
    differences : pandas.DataFrame
        Index ``(condition, contrast)`` (``"m1 - thalamic_axon"``: the later population's timing
        minus the first's; > 0: the first leads): ``difference`` (samples), ``se``, ``ci_low``,
        ``ci_high``, ``p_value`` (labels permuted within session, studentized), ``p_animals``,
        and the seconds versions.
    change : pandas.DataFrame or None
        Index ``contrast``: the difference in the last condition minus the first (``change``,
        samples), ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``p_animals`` (and seconds);
        None with one condition.
    shares : pandas.DataFrame
        Index ``(condition, component)``: each population's share of its response energy
        carried by the component (descriptive): how the populations mix the components, which
        is what makes their timing differ under one ``W``.
    profiles : pandas.DataFrame
        Pooled profiles: index ``lag`` (samples; and ``lag_s``, seconds, when the rate is
        known), one column per ``(condition, population)``.
    sessions : pandas.DataFrame
        One row per session and population: ``subject``, ``condition``, ``timing``, ``se``,
        ``weight`` (summed response energy), ``n_neurons``.
    subjects : pandas.DataFrame
        Per animal and condition: its difference (the points behind the intervals).
    neurons : pandas.DataFrame
        One row per analysed neuron: ``session``, ``neuron``, ``population``, ``timing``
        (samples), ``weight``.
    covariance : ndarray, shape (p * L, p * L)
        The pooled lagged-behavior covariance ``Sigma`` the responses were seen through
        (:func:`lag_covariance`).
    attrs : dict
        ``by``, ``order``, ``features``, ``conditions``, ``permutation``,
        ``change_permutation``, ``n_perm``, ``n_boot``, ``ci``, ``interval``, ``rate``,
        ``n_subjects``, ``n_missing`` (neurons without a label), ``n_unselected`` (left out
        by ``where``).
    """

    timing: pd.DataFrame
    differences: pd.DataFrame
    change: pd.DataFrame | None
    shares: pd.DataFrame
    profiles: pd.DataFrame
    sessions: pd.DataFrame
    subjects: pd.DataFrame
    neurons: pd.DataFrame
    covariance: np.ndarray = field(repr=False)
    attrs: dict[str, Any] = field(default_factory=dict)


def neuron_timing(energy: np.ndarray, lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron's timing (peak of its response energy) and weight (its total energy).

    Parameters
    ----------
    energy : ndarray, shape (n, L)
        Response energy of each neuron over ``lags``.
    lags : ndarray, shape (L,)

    Returns
    -------
    timing : ndarray, shape (n,)
        Samples (0 where a neuron has no response; its weight is then 0).
    weight : ndarray, shape (n,)
    """
    weight = energy.sum(axis=1) ** 2
    timing = profile_peak(energy, lags)
    ok = np.isfinite(timing) & (weight > 0)
    return np.where(ok, timing, 0.0), np.where(ok, weight, 0.0)


def weighted_means(
    t: np.ndarray, w: np.ndarray, member: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of ``t`` over the members of groups and their variances.

    ``member``: (..., n) 0/1 (one group per leading index). Returns ``m`` and ``V`` (...,):
    ``m = sum w t / sum w`` and the jackknife-type (HC3) sandwich variance
    ``V = sum w^2 (t - m)^2 / (1 - h)^2 / (sum w)^2`` with leverages ``h = w / sum w``: a
    neuron that carries most of its group's weight counts as uncertain, so that a group of a
    few responding neurons does not look precise (NaN for an empty group).
    """
    W = member @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (member @ (w * t)) / W
        h = member * w / W[..., None]
        r = member * w * (t - m[..., None]) / np.maximum(1 - h, 1e-3)
        V = (r**2).sum(axis=-1) / W**2
    ok = W > 0
    return np.where(ok, m, np.nan), np.where(ok, V, np.nan)


@dataclass
class _Design:
    """Per-session timing, weights and labels of the analysed neurons (what permutations move)."""

    timing: list[np.ndarray]  # per session (n_s,)
    weight: list[np.ndarray]  # per session (n_s,)
    energy: list[np.ndarray]  # per session (n_s, L)
    power: list[np.ndarray]  # per session (n_s, d): v_ij^2 times component j's energy
    codes: list[np.ndarray]  # per session (n_s,): population code
    names: list[np.ndarray]  # per session (n_s,): neuron names
    n_pop: int

    def means(self, codes: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean timing and its variance per session and population, (B, S, P).

        ``codes``: per session (B, n_s) population codes (default: the observed, B = 1).
        """
        codes = [c[None] for c in self.codes] if codes is None else codes
        B, S = codes[0].shape[0], len(self.codes)
        m = np.full((B, S, self.n_pop), np.nan)
        V = np.full_like(m, np.nan)
        for s in range(S):
            onehot = (codes[s][:, None, :] == np.arange(self.n_pop)[None, :, None]).astype(float)
            m[:, s], V[:, s] = weighted_means(self.timing[s], self.weight[s], onehot)
        return m, V

    def profiles(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalised energy profiles (S, P, L) and component shares (S, P, d), observed."""
        S, L, d = len(self.codes), self.energy[0].shape[1], self.power[0].shape[1]
        prof = np.full((S, self.n_pop, L), np.nan)
        share = np.full((S, self.n_pop, d), np.nan)
        for s in range(S):
            for p in range(self.n_pop):
                r = self.codes[s] == p
                if r.any():
                    e, w = self.energy[s][r].sum(0), self.power[s][r].sum(0)
                    if e.sum() > 0:
                        prof[s, p] = e / e.sum()
                    if w.sum() > 0:
                        share[s, p] = w / w.sum()
        return prof, share


def _mean_over(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over sessions, ignoring NaN: values (B, S, X), weights (..., C, S)."""
    ok = np.isfinite(values)
    v = np.where(ok, values, 0.0)
    num = np.einsum("...cs,...sx->...cx", weights, v)
    den = np.einsum("...cs,...sx->...cx", weights, ok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _studentized(D: np.ndarray, V: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_s D_s / sqrt(sum_s V_s)`` over each condition's sessions: D, V (B, S, X)."""
    ok = np.isfinite(D) & np.isfinite(V)
    num = np.einsum("cs,bsx->bcx", weights, np.where(ok, D, 0.0))
    den = np.einsum("cs,bsx->bcx", weights, np.where(ok, V, 0.0))
    count = np.einsum("cs,bsx->bcx", weights, ok.astype(float))
    return np.where(count > 0, studentize(num, den), np.nan)


def compare_populations(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    by: str = "population",
    *,
    order: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    where: str | None = None,
    conditions: str | None = "condition",
    condition_order: Sequence[str] | None = None,
    n_perm: int = 1000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> PopulationComparison:
    """Compare the timing of populations recorded together (does the thalamus lead M1?).

    Definitions and statistics are in the module documentation
    (:mod:`sharedrep.inference.populations`).

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        One model fitted on every session (one ``W`` for all populations).
    cohort : Cohort or list of Session
        Sessions whose ``neuron_info`` has the column ``by``.
    by : str
        ``neuron_info`` column naming each neuron's population (neurons without one are left
        out and counted).
    order : sequence of str, optional
        Populations to compare, the reference first (default: every label, in order of
        first appearance). Differences are each later population minus the first.
    features : sequence of str, optional
        Behavioral variables whose responses time the populations (default all; for timing
        relative to a movement, its variables, e.g. ``["lever_pos", "lever_vel"]``).
    where : str, optional
        Query on ``neuron_info`` selecting the neurons analysed.
    conditions : str or None
        Session attribute or metadata key of the condition (naive / expert); None, or
        sessions without it, pool all sessions.
    condition_order : sequence of str, optional
        Order of conditions (the change is the last minus the first).
    n_perm, n_boot : int
        Label permutations and bootstrap resamples of animals.
    ci : float
        Coverage of the intervals.
    seed : int, optional

    Returns
    -------
    PopulationComparison

    Raises
    ------
    DataError
        A session without the column, fewer than two populations, a feature the model does
        not have, or no session holding two populations.
    """
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    labels = neuron_labels(cohort, by, where, order)
    if labels.numeric:
        raise DataError(f"neuron_info column {by!r} holds numbers; populations need labels")
    pops = [str(v) for v in labels.levels]
    if len(pops) < 2:
        raise DataError(f"need at least two populations in {by!r}, found {pops}")
    cond, levels = session_conditions(cohort, conditions, condition_order)
    covariance = lag_covariance(model, cohort)
    design, counts = _design(model, cohort, labels, pops, features, covariance)
    ctx = _Context(
        design, cohort, pops, levels, cond, np.random.default_rng(seed), n_perm, n_boot, ci,
        model.expansion_.lags,
    )  # fmt: skip
    # -- differences: labels permuted within each session ------------------------------------
    m, V = design.means()
    D, VD = m[..., 1:] - m[..., :1], V[..., 1:] + V[..., :1]
    diffs = _mean_over(D, ctx.in_cond)[0]  # (C, P-1)
    timing = _mean_over(m, ctx.in_cond)[0]  # (C, P)
    z_obs = _studentized(D, VD, ctx.in_cond)[0]
    mb, Vb = design.means(ctx.within_session_codes())
    z_null = _studentized(mb[..., 1:] - mb[..., :1], Vb[..., 1:] + Vb[..., :1], ctx.in_cond)
    p_diff = permutation_pvalue(z_obs, z_null)
    # -- intervals: animals resampled ---------------------------------------------------------
    w_boot = ctx.in_cond[None] * ctx.boot_w[:, None]  # (B, C, S)
    diff_iv = animal_interval(diffs, _mean_over(D[0], w_boot), ctx.A, ci)
    time_iv = animal_interval(timing, _mean_over(m[0], w_boot), ctx.A, ci)
    change, change_scheme = (None, None)
    if len(levels) >= 2:
        change, change_scheme = _change(ctx, D[0], diffs, w_boot)
    tables = _tables(ctx, counts, timing, time_iv, diffs, diff_iv, p_diff, m[0], V[0], D[0])
    attrs = {
        "by": by,
        "order": pops,
        "features": list(features) if features is not None else list(model.feature_names_),
        "conditions": levels,
        "permutation": (
            "population labels permuted among the neurons of each session (studentized "
            "difference of weighted mean timings)"
        ),
        "change_permutation": change_scheme,
        "n_perm": int(n_perm),
        "n_boot": int(n_boot),
        "ci": float(ci),
        "interval": interval_method(ctx.A, ci),
        "rate": ctx.rate,
        "n_subjects": ctx.A,
        "n_missing": labels.n_missing,
        "n_unselected": labels.n_unselected,
    }
    return PopulationComparison(change=change, covariance=covariance, attrs=attrs, **tables)


@dataclass
class _Context:
    design: _Design
    cohort: Cohort
    pops: list[str]
    levels: list[str]
    cond: np.ndarray
    rng: np.random.Generator
    n_perm: int
    n_boot: int
    ci: float
    lags: np.ndarray

    def __post_init__(self) -> None:
        self.subjects = np.array([str(s.subject) for s in self.cohort], dtype=object)
        self.subj_levels = list(dict.fromkeys(self.subjects))
        self.subj_code = np.array([self.subj_levels.index(u) for u in self.subjects])
        self.in_cond = (self.cond[None, :] == np.array(self.levels, dtype=object)[:, None]).astype(
            float
        )  # (C, S)
        self.boot_w = cluster_bootstrap(self.A, self.n_boot, self.rng)[:, self.subj_code]
        self.rate = self.cohort.rate
        self.contrasts = [f"{q} - {self.pops[0]}" for q in self.pops[1:]]

    @property
    def A(self) -> int:
        return len(self.subj_levels)

    def within_session_codes(self) -> list[np.ndarray]:
        """Population codes permuted among each session's neurons, per session (P, n_s)."""
        codes = self.design.codes
        session = np.concatenate([np.full(c.size, s) for s, c in enumerate(codes)])
        perm = np.concatenate(codes)[within_permutations(session, self.n_perm, self.rng)]
        return np.split(perm, np.cumsum([c.size for c in codes])[:-1], axis=1)


def lag_covariance(model: ShaReD, cohort: Cohort | Sequence[Session]) -> np.ndarray:
    """Pooled per-sample covariance of the model's standardized, lagged behavior.

    Rows and columns ordered (feature, lag) over ``model.expansion_.lags``; behavior scaled as
    the model scales it. Without a basis this is ``model.design_covariance_``; with one
    (``n_basis``), the lag-resolved covariance comes from one statistics pass over ``cohort``.

    Returns
    -------
    ndarray, shape (p * L, p * L)
    """
    if model.n_basis is None:
        return model.design_covariance_
    from ..backend import cohort_stats
    from ..features import TemporalExpansion
    from ..stats import standardize

    # the model's lags and trial edges, without its basis
    expansion = TemporalExpansion(model.expansion_.lags, zero_edges=model.expansion_.zero_edges)
    stats = [
        st.total() for st in cohort_stats(as_cohort(cohort), expansion, chunk_size=model.chunk_size)
    ]
    std = standardize(
        stats,
        expansion,
        model.feature_names_,
        zscore_neurons=model.zscore,
        feature_scale=model.behavior_scale_,
        warn=False,
    )
    return std.cov.sum(axis=0) / std.count.sum()


def covariance_filters(
    filters: np.ndarray, covariance: np.ndarray, features: Sequence[int] | None = None
) -> np.ndarray:
    """Responses seen through the behavior covariance: ``Sigma_FF h_F`` per response.

    The covariance of each lagged behavioral variable of ``features`` with the part of the
    response that the filters attribute to those variables (all variables by default).

    Parameters
    ----------
    filters : ndarray, shape (p, L, ...)
        Response filters in standardized units (e.g. ``W v_i``).
    covariance : ndarray, shape (p * L, p * L)
        From :func:`lag_covariance`, rows ordered (feature, lag).
    features : sequence of int, optional
        Positions of the behavioral variables kept.

    Returns
    -------
    ndarray, shape (len(features), L, ...)
    """
    p, L = filters.shape[:2]
    idx = np.arange(p) if features is None else np.asarray(features, dtype=int)
    cols = (idx[:, None] * L + np.arange(L)[None, :]).ravel()
    flat = filters[idx].reshape(idx.size * L, -1)
    out = covariance[np.ix_(cols, cols)] @ flat
    return out.reshape(idx.size, L, *filters.shape[2:])


def _feature_index(model: ShaReD, features: Sequence[str] | None) -> list[int] | None:
    """Positions of ``features`` among the model's behavioral variables (None: all)."""
    if features is None:
        return None
    unknown = [f for f in features if f not in model.feature_names_]
    if unknown:
        raise DataError(
            f"features {unknown} are not behavioral variables of the model "
            f"{list(model.feature_names_)}"
        )
    return [model.feature_names_.index(f) for f in features]


def _design(
    model: ShaReD,
    cohort: Cohort,
    labels: Any,
    pops: list[str],
    features: Sequence[str] | None,
    covariance: np.ndarray,
    *,
    together: bool = True,
) -> tuple[_Design, np.ndarray]:
    """Timing, weights, energies and population codes of the labelled neurons.

    ``together``: require a session that holds two of the populations (to compare them).
    """
    F = covariance_filters(model.loadings_.to_numpy(), covariance, _feature_index(model, features))
    comp_energy = np.einsum("fld,fld->d", F, F)
    lags = model.expansion_.lags
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "w", "e", "pw", "codes", "names")}
    counts = np.zeros((len(cohort), len(pops)), dtype=int)
    for s, (session, vals, keep) in enumerate(zip(cohort, labels.values, labels.keep, strict=True)):
        fit = model.session_fits_.get(session.name)
        if fit is None:
            raise DataError(
                f"session {session.name!r} has no readout in the model; fit it on the cohort "
                "(or call model.fit_readout(session))"
            )
        known = np.array([k and str(v) in pops for v, k in zip(vals, keep, strict=True)], bool)
        V = fit.readout[:, known]  # (d, n_s)
        energy = response_energy(np.einsum("fld,dn->fln", F, V)).T  # (n_s, L)
        t, w = neuron_timing(energy, lags)
        code = np.array([pops.index(str(v)) for v in vals[known]], dtype=int)
        for key, value in (
            ("t", t),
            ("w", w),
            ("e", energy),
            ("pw", (V**2).T * comp_energy),
            ("codes", code),
            ("names", np.asarray(session.neuron_names, dtype=object)[known]),
        ):
            out[key].append(value)  # fmt: skip
        counts[s] = np.bincount(code, minlength=len(pops))
    if together and not np.any((counts > 0).sum(axis=1) >= 2):
        raise DataError(
            f"no session holds two of the populations {pops}; populations are compared within "
            "sessions (recorded together)"
        )
    design = _Design(out["t"], out["w"], out["e"], out["pw"], out["codes"], out["names"], len(pops))
    return design, counts


def _change(
    ctx: _Context, D: np.ndarray, diffs: np.ndarray, w_boot: np.ndarray
) -> tuple[pd.DataFrame, str]:
    """Difference in the last condition minus the first, its test and interval."""
    design = ctx.design
    change = diffs[-1] - diffs[0]
    row_session = np.concatenate([np.full(c.size, s) for s, c in enumerate(design.codes)])
    flat = np.concatenate(design.codes)
    names = np.concatenate(design.names)
    ids = tracked_neurons(ctx.subjects[row_session], row_session, names, flat)
    if ids is not None:
        p = _tracked_change(ctx, ids, row_session, flat)
        scheme = (
            "each neuron's change of timing (weight: the product of its response energies in "
            "the two conditions) compared between populations, studentized, labels permuted "
            "within animal (neurons matched across sessions)"
        )
    else:
        perms, kind = label_permutations(ctx.subjects, ctx.cond, ctx.n_perm, ctx.rng)
        levels = np.array(ctx.levels, dtype=object)
        w = (perms[:, None, :] == levels[None, :, None]).astype(float)  # (P, C, S)
        null = _mean_over(D, w)
        p = permutation_pvalue(change, null[:, -1] - null[:, 0])
        scheme = f"condition labels permuted {kind}"
    boot = _mean_over(D, w_boot)
    iv = animal_interval(change, boot[:, -1] - boot[:, 0], ctx.A, ctx.ci)
    table = pd.DataFrame(
        {"change": change, **{k: iv[k] for k in ("se", "ci_low", "ci_high")}, "p_value": p,
         "p_animals": iv["p_animals"]},
        index=pd.Index(ctx.contrasts, name="contrast"),
    )  # fmt: skip
    return _seconds(table, ["change", "se", "ci_low", "ci_high"], ctx.rate), scheme


def _tracked_change(
    ctx: _Context, ids: np.ndarray, row_session: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """p-value of the change: per-neuron timing changes compared between populations.

    For each neuron matched across an animal's sessions, its timing in the last condition minus
    the first, weighted by the product of its response energies in the two (``sqrt`` of the
    product of its two weights): a neuron that responds to the movement in only one condition
    has no timing to compare and counts for nothing. The population difference of the
    weighted mean changes, studentized and summed over animals, is compared with its
    distribution when labels are permuted among the neurons of each animal.
    """
    design = ctx.design
    t, w = np.concatenate(design.timing), np.concatenate(design.weight)
    row_cond = ctx.cond[row_session]
    n_id = int(ids.max()) + 1
    mean_t, mean_w = [], []
    for level in (ctx.levels[0], ctx.levels[-1]):
        r = row_cond == level
        W = np.bincount(ids[r], weights=w[r], minlength=n_id)
        T = np.bincount(ids[r], weights=(w * t)[r], minlength=n_id)
        N = np.bincount(ids[r], minlength=n_id)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_t.append(np.where(W > 0, T / W, np.nan))
            mean_w.append(np.where(N > 0, W / np.maximum(N, 1), 0.0))
    dt = mean_t[1] - mean_t[0]
    # a neuron counts by its weaker response energy (weights are squared energies)
    weight = np.sqrt(np.minimum(mean_w[0], mean_w[1]))
    keep = np.isfinite(dt) & (weight > 0)
    first = np.unique(ids, return_index=True)[1]
    subj, code = ctx.subjects[row_session][first][keep], codes[first][keep]
    dt, weight = dt[keep], weight[keep]
    perm = within_permutations(subj, ctx.n_perm, ctx.rng)
    all_codes = np.vstack([code[None], code[perm]])  # (1 + P, K)
    num = np.zeros((all_codes.shape[0], len(ctx.pops) - 1))
    var = np.zeros_like(num)
    for u in dict.fromkeys(subj):
        r = subj == u
        onehot = (all_codes[:, None, r] == np.arange(len(ctx.pops))[None, :, None]).astype(float)
        m, V = weighted_means(dt[r], weight[r], onehot)  # (1 + P, pops)
        d, v = m[:, 1:] - m[:, :1], V[:, 1:] + V[:, :1]
        ok = np.isfinite(d) & np.isfinite(v)
        num += np.where(ok, d, 0.0)
        var += np.where(ok, v, 0.0)
    z = studentize(num, var)
    return permutation_pvalue(z[0], z[1:])


def _seconds(table: pd.DataFrame, cols: list[str], rate: float | None) -> pd.DataFrame:
    if rate:
        for c in cols:
            table[f"{c}_s"] = table[c] / rate
    return table


def _tables(
    ctx: _Context, counts: np.ndarray, timing: np.ndarray, time_iv: dict, diffs: np.ndarray,
    diff_iv: dict, p_diff: np.ndarray, m: np.ndarray, V: np.ndarray, D: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """The result tables of :func:`compare_populations`."""
    levels, pops, rate, design = ctx.levels, ctx.pops, ctx.rate, ctx.design
    idx = pd.MultiIndex.from_product([levels, pops], names=["condition", "population"])
    n_sess = (ctx.in_cond[:, :, None] * (counts[None] > 0)).sum(axis=1)
    n_neu = (ctx.in_cond[:, :, None] * counts[None]).sum(axis=1)
    timing_table = pd.DataFrame(
        {"timing": timing.ravel(), **{k: time_iv[k].ravel() for k in ("se", "ci_low", "ci_high")},
         "n_sessions": n_sess.ravel().astype(int), "n_neurons": n_neu.ravel().astype(int)},
        index=idx,
    )  # fmt: skip
    timing_table = _seconds(timing_table, ["timing", "se", "ci_low", "ci_high"], rate)
    didx = pd.MultiIndex.from_product([levels, ctx.contrasts], names=["condition", "contrast"])
    differences = pd.DataFrame(
        {"difference": diffs.ravel(),
         **{k: diff_iv[k].ravel() for k in ("se", "ci_low", "ci_high")},
         "p_value": p_diff.ravel(), "p_animals": diff_iv["p_animals"].ravel()},
        index=didx,
    )  # fmt: skip
    differences = _seconds(differences, ["difference", "se", "ci_low", "ci_high"], rate)
    prof, share = design.profiles()
    pooled_share = _mean_over(share.reshape(share.shape[0], -1), ctx.in_cond)
    d = share.shape[-1]
    pooled_share = pooled_share.reshape(len(levels), len(pops), d)
    sidx = pd.MultiIndex.from_product([levels, range(d)], names=["condition", "component"])
    shares = pd.DataFrame(
        {f"share_{p}": pooled_share[:, i, :].ravel() for i, p in enumerate(pops)}, index=sidx
    )
    lags = ctx.design.energy[0].shape[1]
    pooled = _mean_over(prof.reshape(prof.shape[0], -1), ctx.in_cond).reshape(
        len(levels), len(pops), lags
    )
    lag_values = ctx.lags
    index = (
        pd.MultiIndex.from_arrays([lag_values, lag_values / rate], names=["lag", "lag_s"])
        if rate
        else pd.Index(lag_values, name="lag")
    )
    profiles = pd.DataFrame(pooled.transpose(2, 0, 1).reshape(lags, -1), index=index, columns=idx)
    weights = np.array([[w[c == p].sum() for p in range(len(pops))]
                        for w, c in zip(design.weight, design.codes, strict=True)])  # fmt: skip
    sessions = pd.DataFrame(
        [(session.name, ctx.subjects[s], ctx.cond[s], pop, m[s, p], np.sqrt(V[s, p]),
          weights[s, p], int(counts[s, p]))
         for s, session in enumerate(ctx.cohort) for p, pop in enumerate(pops)],
        columns=["session", "subject", "condition", "population", "timing", "se", "weight",
                 "n_neurons"],
    )  # fmt: skip
    sub_rows = []
    for a, subject in enumerate(ctx.subj_levels):
        alone = ctx.in_cond * (ctx.subj_code == a)[None, :]
        per = _mean_over(D, alone)  # (C, P-1)
        for c, level in enumerate(levels):
            if alone[c].any():
                for j, contrast in enumerate(ctx.contrasts):
                    sub_rows.append((subject, level, contrast, float(per[c, j])))
    subjects = pd.DataFrame(sub_rows, columns=["subject", "condition", "contrast", "difference"])
    if rate:
        subjects["difference_s"] = subjects["difference"] / rate
    neurons = pd.DataFrame(
        {
            "session": np.concatenate(
                [
                    np.full(c.size, s.name, dtype=object)
                    for s, c in zip(ctx.cohort, design.codes, strict=True)
                ]
            ),
            "neuron": np.concatenate(design.names),
            "population": np.array(pops, dtype=object)[np.concatenate(design.codes)],
            "timing": np.concatenate(design.timing),
            "weight": np.concatenate(design.weight),
        }
    )
    return {
        "timing": timing_table,
        "differences": differences,
        "shares": shares,
        "profiles": profiles,
        "sessions": sessions,
        "subjects": subjects,
        "neurons": neurons,
    }
