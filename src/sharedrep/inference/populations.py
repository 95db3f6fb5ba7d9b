"""Populations recorded together under one shared representation: who leads whom.

Thalamic axons and M1 neurons imaged in the same mice share one ``W`` (one set of temporal
filters) and each neuron has its own readout ``v_i``. A component has one time course, so two
populations can differ in timing only through how they mix the components: the timing of a
population is that of its neurons' *responses* ``h_i = W v_i`` (behavior -> the neuron's
z-scored activity, per variable and lag).

With smooth behavior (a lever's position and velocity), neighbouring lags are collinear and the
coefficients of ``h_i`` lag by lag are not identified (many filters predict the same activity).
What the data identify is the covariance of each lagged behavioral variable with the neuron's
shared prediction, ``c_i = Sigma h_i`` (``Sigma``: the pooled covariance of the standardized,
lagged behavior, one for all sessions and conditions, so that timing compares like with like):
the model's cross-covariance function of behavior and neuron.

Definitions
-----------
* Response energy of neuron ``i`` at lag ``l``: ``e_i(l) = sum_f c_i(f, l)^2`` over the chosen
  behavioral variables ``f`` (e.g. the movement's: lever position and velocity).
* Profile of a population in a session: the mean of ``e_i`` over its neurons, normalised to
  sum to one (each session counts equally; strongly driven neurons count more than silent
  ones, without any threshold).
* Pooled profile of a condition: the mean of its sessions' profiles.
* Peak lag: the centre of the profile's peak (:func:`profile_peak`: the lags around the
  maximum where the profile exceeds half of it, weighted by the excess). It does not move when
  a population's amplitude changes, so the measure is about timing only, and it moves
  continuously when a population shifts its mix of an earlier and a later response.
* Difference: peak lag of each later population in ``order`` minus the first's, in samples
  and seconds; > 0 means the first population's response peaks earlier (leads).

Statistics
----------
* p-value of a difference: population labels permuted among the neurons of each session
  (never across sessions or animals), the whole statistic recomputed for every permutation.
* Change of a difference between conditions (learning): when the same neurons are recorded in
  all sessions of an animal (matched by name), population labels are permuted within the
  animal, the same permutation in all its sessions; otherwise condition labels are permuted
  among the sessions of each animal (exact, but few distinct labellings with few animals).
* Intervals: bootstrap over animals (all sessions of a drawn animal enter together), as an
  estimate ± Student-t interval with ``A - 1`` degrees of freedom (see
  :func:`~sharedrep.inference.permutation.animal_interval`), and ``p_animals``, the matching
  test across animals.
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
    tracked_neurons,
    within_permutations,
)

__all__ = [
    "PopulationComparison",
    "compare_populations",
    "covariance_filters",
    "lag_covariance",
    "profile_peak",
    "response_energy",
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
        Index ``(condition, population)``: ``peak_lag`` (samples) of the pooled profile,
        ``se``, ``ci_low``, ``ci_high`` (bootstrap over animals), the same in seconds
        (``peak_lag_s``, ``ci_low_s``, ``ci_high_s``) when the rate is known, ``n_sessions``,
        ``n_neurons``.
    differences : pandas.DataFrame
        Index ``(condition, contrast)`` (``"m1 - thalamic_axon"``: the later population's peak
        minus the first's; > 0: the first leads): ``difference`` (samples), ``se``, ``ci_low``,
        ``ci_high``, ``p_value`` (labels permuted within session), ``p_animals``, and the
        seconds versions.
    change : pandas.DataFrame or None
        Index ``contrast``: the difference in the last condition minus the first (``change``,
        samples), ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``p_animals`` (and seconds);
        None with one condition.
    shares : pandas.DataFrame
        Index ``(condition, component)``: each population's share of its response energy
        carried by the component, and the differences with their permutation p-values: how the
        populations mix the components, which is what makes their timing differ.
    profiles : pandas.DataFrame
        Pooled profiles: index ``lag`` (samples; ``lag_s`` column in seconds), one column per
        ``(condition, population)``.
    sessions : pandas.DataFrame
        One row per session and population: ``subject``, ``condition``, ``peak_lag`` of the
        session's own profile, ``n_neurons``; and per session the differences.
    subjects : pandas.DataFrame
        Per animal and condition: the difference of its pooled profiles (the points behind
        the intervals).
    covariance : ndarray, shape (p * L, p * L)
        The pooled lagged-behavior covariance ``Sigma`` the responses were seen through
        (:func:`lag_covariance`).
    attrs : dict
        ``by``, ``order``, ``features``, ``permutation`` (scheme of the differences),
        ``change_permutation``, ``n_perm``, ``n_boot``, ``ci``, ``rate``, ``n_subjects``,
        ``n_missing`` (neurons without a label), ``n_unselected`` (left out by ``where``).
    """

    timing: pd.DataFrame
    differences: pd.DataFrame
    change: pd.DataFrame | None
    shares: pd.DataFrame
    profiles: pd.DataFrame
    sessions: pd.DataFrame
    subjects: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)


@dataclass
class _Design:
    """Per-session energies and labels of a population comparison (what permutations move)."""

    energy: list[np.ndarray]  # per session (n_s, L): response energy of each labelled neuron
    power: list[np.ndarray]  # per session (n_s, d): v_ij^2 times component j's filter energy
    codes: list[np.ndarray]  # per session (n_s,): population code
    n_pop: int

    def profiles(self, codes: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised profiles (B, S, P, L) and component shares (B, S, P, d) for labellings.

        ``codes``: per session (B, n_s) population codes (default: the observed, B = 1).
        A population absent from a session gives NaN there.
        """
        codes = [c[None] for c in self.codes] if codes is None else codes
        B = codes[0].shape[0]
        S, L, d = len(self.energy), self.energy[0].shape[1], self.power[0].shape[1]
        prof = np.full((B, S, self.n_pop, L), np.nan)
        share = np.full((B, S, self.n_pop, d), np.nan)
        pops = np.arange(self.n_pop)
        for s in range(S):
            onehot = (codes[s][:, :, None] == pops).astype(float)  # (B, n_s, P)
            n = onehot.sum(axis=1)  # (B, P)
            e = np.einsum("bnp,nl->bpl", onehot, self.energy[s])
            w = np.einsum("bnp,nd->bpd", onehot, self.power[s])
            with np.errstate(invalid="ignore", divide="ignore"):
                tot = e.sum(axis=2, keepdims=True)
                prof[:, s] = np.where((n[..., None] > 0) & (tot > 0), e / tot, np.nan)
                wt = w.sum(axis=2, keepdims=True)
                share[:, s] = np.where((n[..., None] > 0) & (wt > 0), w / wt, np.nan)
        return prof, share


def _pool(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over sessions (axis -3 of (..., S, P, X)) ignoring NaN sessions.

    ``weights``: (..., C, S) session weights of each condition (0 outside it).
    Returns (..., C, P, X).
    """
    ok = np.isfinite(values)
    v = np.where(ok, values, 0.0)
    num = np.einsum("...cs,...spx->...cpx", weights, v)
    den = np.einsum("...cs,...spx->...cpx", weights, ok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


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
        Behavioral variables whose response energy times the populations (default all; for
        timing relative to a movement, its variables, e.g. ``["lever_pos", "lever_vel"]``).
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
    C = len(levels)
    lags = model.expansion_.lags
    rate = cohort.rate
    subjects = np.array([str(s.subject) for s in cohort], dtype=object)
    subj_levels = list(dict.fromkeys(subjects))
    subj_code = np.array([subj_levels.index(u) for u in subjects])
    in_cond = (cond[None, :] == np.array(levels, dtype=object)[:, None]).astype(float)  # (C, S)
    rng = np.random.default_rng(seed)

    def statistics(prof: np.ndarray, share: np.ndarray, weights: np.ndarray):
        """Peaks (..., C, P), differences (..., C, P-1), shares (..., C, P, d)."""
        peaks = profile_peak(_pool(prof, weights), lags)
        return peaks, peaks[..., 1:] - peaks[..., :1], _pool(share, weights)

    prof0, share0 = design.profiles()
    peaks, diffs, shares = (x[0] for x in statistics(prof0, share0, in_cond[None]))
    # -- differences: labels permuted within each session ------------------------------------
    sess_of_row = np.concatenate([np.full(c.size, s) for s, c in enumerate(design.codes)])
    flat = np.concatenate(design.codes)
    perm = flat[within_permutations(sess_of_row, n_perm, rng)]
    split = np.cumsum([c.size for c in design.codes])[:-1]
    perm_codes = np.split(perm, split, axis=1)
    prof_b, share_b = design.profiles(perm_codes)
    _, diffs_null, shares_null = statistics(prof_b, share_b, in_cond[None])
    p_diff = permutation_pvalue(diffs, diffs_null)
    share_diff = shares[:, 1:] - shares[:, :1]
    p_share = permutation_pvalue(share_diff, shares_null[:, :, 1:] - shares_null[:, :, :1])
    # -- intervals: animals resampled ---------------------------------------------------------
    boot_w = cluster_bootstrap(len(subj_levels), n_boot, rng)[:, subj_code]  # (B, S)
    peaks_b, diffs_b, _ = statistics(
        prof0[0][None], share0[0][None], in_cond[None] * boot_w[:, None]
    )
    A = len(subj_levels)
    peak_iv = animal_interval(peaks, peaks_b, A, ci)
    diff_iv = animal_interval(diffs, diffs_b, A, ci)
    # -- change between conditions ------------------------------------------------------------
    change = None
    change_scheme = None
    if C >= 2:
        change, change_scheme = _change(
            design, cohort, labels, pops, diffs, diffs_b, in_cond, cond, levels, subjects,
            statistics, n_perm, rng, A, ci, rate,
        )  # fmt: skip
    tables = _tables(
        cohort, design, pops, levels, cond, subjects, lags, rate, peaks, peak_iv, diffs,
        diff_iv, p_diff, shares, share_diff, p_share, prof0, in_cond, counts, statistics,
        subj_levels, subj_code,
    )  # fmt: skip
    attrs = {
        "by": by,
        "order": pops,
        "features": list(features) if features is not None else list(model.feature_names_),
        "conditions": levels,
        "permutation": "population labels permuted among the neurons of each session",
        "change_permutation": change_scheme,
        "n_perm": int(n_perm),
        "n_boot": int(n_boot),
        "ci": float(ci),
        "rate": rate,
        "n_subjects": A,
        "n_missing": labels.n_missing,
        "n_unselected": labels.n_unselected,
        "interval": interval_method(A, ci),
    }
    return PopulationComparison(change=change, attrs=attrs, covariance=covariance, **tables)


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

    expansion = TemporalExpansion(model.expansion_.lags)
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


def covariance_filters(filters: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Cross-covariance of lagged behavior with responses: ``Sigma h`` per response.

    Parameters
    ----------
    filters : ndarray, shape (p, L, ...)
        Response filters in standardized units (e.g. ``W v_i``).
    covariance : ndarray, shape (p * L, p * L)
        From :func:`lag_covariance`.

    Returns
    -------
    ndarray, shape (p, L, ...)
    """
    p, L = filters.shape[:2]
    flat = filters.reshape(p * L, -1)
    return (covariance @ flat).reshape(filters.shape)


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
    """Response energies, component powers and population codes of the labelled neurons.

    ``together``: require a session that holds two of the populations (to compare them).
    """
    F = covariance_filters(model.loadings_.to_numpy(), covariance)  # (p, L, d)
    if features is not None:
        unknown = [f for f in features if f not in model.feature_names_]
        if unknown:
            raise DataError(
                f"features {unknown} are not behavioral variables of the model "
                f"{list(model.feature_names_)}"
            )
        F = F[[model.feature_names_.index(f) for f in features]]
    comp_energy = np.einsum("fld,fld->d", F, F)
    energy, power, codes = [], [], []
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
        h = np.einsum("fld,dn->fln", F, V)
        energy.append(response_energy(h).T)
        power.append((V**2).T * comp_energy[None, :])
        code = np.array([pops.index(str(v)) for v in vals[known]], dtype=int)
        codes.append(code)
        counts[s] = np.bincount(code, minlength=len(pops))
    if together and not np.any((counts > 0).sum(axis=1) >= 2):
        raise DataError(
            f"no session holds two of the populations {pops}; populations are compared within "
            "sessions (recorded together)"
        )
    return _Design(energy, power, codes, len(pops)), counts


def _change(
    design: _Design,
    cohort: Cohort,
    labels: Any,
    pops: list[str],
    diffs: np.ndarray,
    diffs_b: np.ndarray,
    in_cond: np.ndarray,
    cond: np.ndarray,
    levels: list[str],
    subjects: np.ndarray,
    statistics: Any,
    n_perm: int,
    rng: np.random.Generator,
    A: int,
    ci: float,
    rate: float | None,
) -> tuple[pd.DataFrame, str]:
    """Difference in the last condition minus the first, its test and interval."""
    change = diffs[-1] - diffs[0]
    names = np.concatenate(
        [np.asarray(s.neuron_names, dtype=object)[
            np.array([kk and str(vv) in pops for vv, kk in zip(v, k, strict=True)], bool)]
         for s, v, k in zip(cohort, labels.values, labels.keep, strict=True)]
    )  # fmt: skip
    row_session = np.concatenate([np.full(c.size, s) for s, c in enumerate(design.codes)])
    flat = np.concatenate(design.codes)
    ids = tracked_neurons(subjects[row_session], row_session, names, flat)
    if ids is not None:
        # the same neurons in every session of an animal: permute their labels within the
        # animal, the same permutation in all its sessions (a neuron keeps its history)
        first = np.unique(ids, return_index=True)[1]
        id_subject, id_code = subjects[row_session][first], flat[first]
        perm = id_code[within_permutations(id_subject, n_perm, rng)][:, ids]
        codes = np.split(perm, np.cumsum([c.size for c in design.codes])[:-1], axis=1)
        prof_b, share_b = design.profiles(codes)
        _, d_null, _ = statistics(prof_b, share_b, in_cond[None])
        scheme = "population labels permuted within animal (neurons matched across sessions)"
    else:
        perms, kind = label_permutations(subjects, cond, n_perm, rng)
        w = (perms[:, None, :] == np.array(levels, dtype=object)[None, :, None]).astype(float)
        prof0, share0 = design.profiles()
        _, d_null, _ = statistics(prof0[0][None], share0[0][None], w)
        scheme = f"condition labels permuted {kind}"
    null = d_null[:, -1] - d_null[:, 0]
    p = permutation_pvalue(change, null)
    iv = animal_interval(change, diffs_b[:, -1] - diffs_b[:, 0], A, ci)
    contrasts = [f"{q} - {pops[0]}" for q in pops[1:]]
    table = pd.DataFrame(
        {"change": change, **iv, "p_value": p}, index=pd.Index(contrasts, name="contrast")
    )
    table = table[["change", "se", "ci_low", "ci_high", "p_value", "p_animals"]]
    return _seconds(table, ["change", "se", "ci_low", "ci_high"], rate), scheme


def _seconds(table: pd.DataFrame, cols: list[str], rate: float | None) -> pd.DataFrame:
    if rate:
        for c in cols:
            table[f"{c}_s"] = table[c] / rate
    return table


def _tables(
    cohort, design, pops, levels, cond, subjects, lags, rate, peaks, peak_iv, diffs, diff_iv,
    p_diff, shares, share_diff, p_share, prof0, in_cond, counts, statistics, subj_levels,
    subj_code,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The result tables of :func:`compare_populations`."""
    C, P = len(levels), len(pops)
    idx = pd.MultiIndex.from_product([levels, pops], names=["condition", "population"])
    n_sess = np.array(
        [[(in_cond[c] * (counts[:, p] > 0)).sum() for p in range(P)] for c in range(C)]
    )
    n_neu = np.array([[(in_cond[c] * counts[:, p]).sum() for p in range(P)] for c in range(C)])
    timing = pd.DataFrame(
        {
            "peak_lag": peaks.ravel(),
            **{k: v.ravel() for k, v in peak_iv.items() if k != "p_animals"},
            "n_sessions": n_sess.ravel().astype(int),
            "n_neurons": n_neu.ravel().astype(int),
        },
        index=idx,
    )
    timing = _seconds(timing, ["peak_lag", "se", "ci_low", "ci_high"], rate)
    contrasts = [f"{q} - {pops[0]}" for q in pops[1:]]
    didx = pd.MultiIndex.from_product([levels, contrasts], names=["condition", "contrast"])
    differences = pd.DataFrame(
        {
            "difference": diffs.ravel(),
            **{k: v.ravel() for k, v in diff_iv.items() if k != "p_animals"},
            "p_value": p_diff.ravel(),
            "p_animals": diff_iv["p_animals"].ravel(),
        },
        index=didx,
    )
    differences = _seconds(differences, ["difference", "se", "ci_low", "ci_high"], rate)
    d = shares.shape[-1]
    sidx = pd.MultiIndex.from_product([levels, range(d)], names=["condition", "component"])
    share_cols = {f"share_{p}": shares[:, i, :].ravel() for i, p in enumerate(pops)}
    for j, q in enumerate(pops[1:]):
        share_cols[f"difference_{q}"] = share_diff[:, j, :].ravel()
        share_cols[f"p_value_{q}"] = p_share[:, j, :].ravel()
    share_table = pd.DataFrame(share_cols, index=sidx)
    pooled = _pool(prof0[0], in_cond)  # (C, P, L)
    profiles = pd.DataFrame(
        pooled.transpose(2, 0, 1).reshape(lags.size, C * P),
        index=pd.Index(lags, name="lag"),
        columns=idx,
    )
    if rate:
        profiles.insert(0, "lag_s", lags / rate)
    # per session: each population's own peak
    own = profile_peak(prof0[0], lags)  # (S, P)
    rows = []
    for s, session in enumerate(cohort):
        for p, pop in enumerate(pops):
            rows.append((session.name, subjects[s], cond[s], pop, own[s, p], int(counts[s, p])))
    sessions = pd.DataFrame(
        rows, columns=["session", "subject", "condition", "population", "peak_lag", "n_neurons"]
    )
    # per animal and condition: the difference of its pooled profiles
    sub_rows = []
    for a, subject in enumerate(subj_levels):
        w = in_cond * (subj_code == a)[None, :]
        if not w.any():
            continue
        _, df, _ = statistics(prof0[0][None], np.zeros((1, *prof0.shape[1:3], 1)), w[None])
        for c, level in enumerate(levels):
            if w[c].any():
                for j, contrast in enumerate(contrasts):
                    sub_rows.append((subject, level, contrast, float(df[0, c, j])))
    subject_table = pd.DataFrame(
        sub_rows, columns=["subject", "condition", "contrast", "difference"]
    )
    if rate:
        subject_table["difference_s"] = subject_table["difference"] / rate
    return {
        "timing": timing,
        "differences": differences,
        "shares": share_table,
        "profiles": profiles,
        "sessions": sessions,
        "subjects": subject_table,
    }
