"""Learning over days: trends of encoding, strength and timing, tested within animal.

Sessions carry an ordered value (``metadata["day"]``, a session index, or any number); every
measure is computed per session, and its trend is the within-animal slope over days (one
regression with an intercept per animal: ``sum (d - mean_a d)(y - mean_a y) / sum (d - mean_a
d)^2``), so that differences between animals never make a trend.

Per-session measures (per group of neurons when ``by`` is given, and for ``"any"`` component
and each component):

* ``fraction_encoding``: fraction of the neurons encoding (``q < fdr`` in the encoding map);
* ``strength``: mean held-out ΔR² (held-out R² of the shared model for ``"any"``);
* ``peak_lag`` (component rows): the peak lag of the session's own estimate of the component's
  filter (as in :func:`~sharedrep.compare_conditions`), seen through the pooled behavior
  covariance (see :mod:`sharedrep.inference.populations`);
* ``timing`` (``"any"`` row): the timing of the group's response (the weighted mean peak lag
  of its neurons, as in :func:`~sharedrep.compare_populations`);
* with a label of two values, rows of group ``"<b> - <a>"`` hold the difference between the
  two groups (e.g. the enrichment of tagged neurons, or M1's response peak minus the axons':
  the thalamic lead).

Tests: days permuted among the sessions of each animal (exact: under no trend, an animal's
sessions are exchangeable), the slope recomputed each time; intervals and ``p_animals`` by
bootstrap over animals (:func:`~sharedrep.inference.permutation.animal_interval`).
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
from ._labels import neuron_labels, session_days
from .conditions import _session_filters
from .encoding import EncodingMap, encoding_map
from .groups import _neurons
from .permutation import (
    animal_interval,
    cluster_bootstrap,
    interval_method,
    permutation_pvalue,
    within_permutations,
)
from .populations import (
    _design,
    _feature_index,
    covariance_filters,
    lag_covariance,
    profile_peak,
)

__all__ = ["LearningTrends", "learning_trends"]


@dataclass(frozen=True)
class LearningTrends:
    """Trends over days of encoding, strength and timing, per group and component.

    Attributes
    ----------
    trends : pandas.DataFrame
        Index ``(group, component, measure)``: ``slope`` (change per day, within animal),
        ``se``, ``ci_low``, ``ci_high`` (over animals), ``p_value`` (days permuted within
        animal), ``p_animals``, ``first`` and ``last`` (mean over animals on the first and
        last day), ``n_sessions``.
    sessions : pandas.DataFrame
        The per-session values: ``session``, ``subject``, ``day``, ``group``, ``component``,
        ``measure``, ``value`` (the lines of :func:`sharedrep.plot.learning`).
    subjects : pandas.DataFrame
        Each animal's own slope per group, component and measure.
    attrs : dict
        ``day``, ``by``, ``groups``, ``features``, ``permutation``, ``n_perm``, ``n_boot``,
        ``ci``, ``interval``, ``rate``, ``fdr``, ``n_subjects``, ``n_missing``,
        ``n_unselected``, ``n_silent``.
    """

    trends: pd.DataFrame
    sessions: pd.DataFrame
    subjects: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)


def _within_slopes(
    days: np.ndarray, Y: np.ndarray, subj: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Within-animal OLS slopes of every column of ``Y`` (S, K) on ``days`` (B, S).

    ``weights`` (B', S): session weights (an animal's sessions share one, as in a bootstrap
    over animals); NaN entries of ``Y`` are left out. Returns (max(B, B'), K).
    """
    mask = np.isfinite(Y).astype(float)
    Yz = np.where(mask > 0, Y, 0.0)
    days = np.atleast_2d(days)
    w = np.ones((1, Y.shape[0])) if weights is None else np.atleast_2d(weights)
    num = np.zeros((max(days.shape[0], w.shape[0]), Y.shape[1]))
    den = np.zeros_like(num)
    for u in np.unique(subj):
        r = subj == u
        m, y = mask[r], Yz[r]  # (s_a, K)
        cnt = m.sum(0)  # (K,)
        with np.errstate(invalid="ignore", divide="ignore"):
            ybar = np.where(cnt > 0, y.sum(0) / cnt, 0.0)
            d = days[:, r]  # (B, s_a)
            dbar = np.where(cnt > 0, (d @ m) / cnt, 0.0)  # (B, K)
        wa = w[:, r][:, :1]  # (B', 1): the animal's weight
        yc = m * (y - ybar)
        num += wa * (d @ yc)
        den += wa * ((d**2) @ m - cnt * dbar**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, num / den, np.nan)


def learning_trends(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    day: str = "day",
    *,
    by: str | None = None,
    order: Sequence[Any] | None = None,
    where: str | None = None,
    encoding: EncodingMap | None = None,
    features: Sequence[str] | None = None,
    n_perm: int = 1000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    **encoding_kwargs: Any,
) -> LearningTrends:
    """Trends across days of encoding, strength and timing, tested within animal.

    Definitions are in the module documentation (:mod:`sharedrep.inference.days`).

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        One model fitted on all days.
    cohort : Cohort or list of Session
        Several sessions per animal, each with a numeric ``day``.
    day : str
        Session metadata key (or attribute) holding the day, or any ordered number.
    by : str, optional
        ``neuron_info`` column of labels: every measure per group (and the difference of two).
    order : sequence, optional
        Order of the labels of ``by`` (the difference is the second minus the first).
    where : str, optional
        Query on ``neuron_info`` selecting the neurons analysed.
    encoding : EncodingMap, optional
        The encoding map of ``cohort`` (else computed with ``encoding_kwargs``).
    features : sequence of str, optional
        Behavioral variables of the timing measures (default all).
    n_perm, n_boot : int
    ci : float
    seed : int, optional

    Returns
    -------
    LearningTrends

    Raises
    ------
    DataError
        A session without a numeric day, or no animal recorded on two different days.
    """
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    days = session_days(cohort, day)
    subjects = np.array([str(s.subject) for s in cohort], dtype=object)
    if not any(np.unique(days[subjects == u]).size > 1 for u in np.unique(subjects)):
        raise DataError(
            f"no animal was recorded on two different values of {day!r}: a trend within animal "
            "needs several days per animal"
        )
    if encoding is None:
        encoding = encoding_map(model, cohort, **encoding_kwargs)
    column = by if by is not None else "_all"
    info_cohort = cohort if by is not None else _all_group(cohort)
    labels = neuron_labels(info_cohort, column, where, order)
    if labels.numeric:
        raise DataError(f"neuron_info column {by!r} holds numbers; trends per group need labels")
    groups = [str(v) for v in labels.levels] if by is not None else ["all"]
    values, keys = _session_measures(model, info_cohort, encoding, labels, groups, features)
    rng = np.random.default_rng(seed)
    slopes = _within_slopes(days, values, subjects)[0]
    perm = within_permutations(subjects, n_perm, rng)
    null = _within_slopes(days[perm], values, subjects)
    p = permutation_pvalue(slopes, null)
    subj_levels = list(dict.fromkeys(subjects))
    code = np.array([subj_levels.index(u) for u in subjects])
    boot_w = cluster_bootstrap(len(subj_levels), n_boot, rng)[:, code]
    boot = _within_slopes(days, values, subjects, boot_w)
    iv = animal_interval(slopes, boot, len(subj_levels), ci)
    first, last = days == days.min(), days == days.max()
    with np.errstate(invalid="ignore"):
        mean_first = np.nanmean(np.where(first[:, None], values, np.nan), axis=0)
        mean_last = np.nanmean(np.where(last[:, None], values, np.nan), axis=0)
    trends = pd.DataFrame(
        {
            "slope": slopes,
            **{k: iv[k] for k in ("se", "ci_low", "ci_high")},
            "p_value": p,
            "p_animals": iv["p_animals"],
            "first": mean_first,
            "last": mean_last,
            "n_sessions": np.isfinite(values).sum(axis=0),
        },
        index=pd.MultiIndex.from_tuples(keys, names=["group", "component", "measure"]),
    )
    long = pd.DataFrame(values, columns=pd.MultiIndex.from_tuples(keys))
    long.index = pd.Index(cohort.names, name="session")
    sessions = long.stack(list(range(3)), future_stack=True).rename("value").reset_index()
    sessions.columns = ["session", "group", "component", "measure", "value"]
    sessions.insert(
        1, "subject", sessions["session"].map(dict(zip(cohort.names, subjects, strict=True)))
    )
    sessions.insert(2, "day", sessions["session"].map(dict(zip(cohort.names, days, strict=True))))
    sub_rows = []
    for a, u in enumerate(subj_levels):
        own = _within_slopes(days, values, subjects, (code == a)[None].astype(float))[0]
        for k, key in enumerate(keys):
            sub_rows.append((u, *key, own[k]))
    subj_table = pd.DataFrame(
        sub_rows, columns=["subject", "group", "component", "measure", "slope"]
    )
    attrs = {
        "day": day,
        "by": by,
        "groups": groups,
        "features": list(features) if features is not None else list(model.feature_names_),
        "permutation": f"{day!r} permuted among the sessions of each animal",
        "n_perm": int(n_perm),
        "n_boot": int(n_boot),
        "ci": float(ci),
        "interval": interval_method(len(subj_levels), ci),
        "rate": cohort.rate,
        "fdr": encoding.fdr,
        "n_subjects": len(subj_levels),
        "n_missing": labels.n_missing,
        "n_unselected": labels.n_unselected,
        "where": where,
    }
    return LearningTrends(trends, sessions, subj_table, attrs)


def _all_group(cohort: Cohort) -> Cohort:
    """The cohort with a one-label neuron_info column ``_all`` (every neuron in one group)."""
    out = []
    for s in cohort:
        info = (
            s.neuron_info.copy()
            if s.neuron_info is not None
            else pd.DataFrame(index=list(s.neuron_names))
        )
        info["_all"] = "all"
        out.append(s.replace(neuron_info=info))
    return Cohort(out)


def _session_measures(
    model: ShaReD,
    cohort: Cohort,
    encoding: EncodingMap,
    labels: Any,
    groups: list[str],
    features: Sequence[str] | None,
) -> tuple[np.ndarray, list[tuple[str, Any, str]]]:
    """The per-session values (S, K) of every (group, component, measure)."""
    nr, _ = _neurons(cohort, encoding, labels)
    S, d = len(cohort), encoding.n_components
    comps: list[Any] = ["any", *range(d)]
    cols: dict[tuple[str, Any, str], np.ndarray] = {}
    for g in groups:
        member = nr.value.astype(str) == g
        for j, comp in enumerate(comps):
            frac, strength = np.full(S, np.nan), np.full(S, np.nan)
            for s in range(S):
                r = (nr.session == s) & member
                if r.any():
                    frac[s] = nr.encodes[r, j].mean()
                    strength[s] = nr.strength[r, j].mean()
            cols[g, comp, "fraction_encoding"] = frac
            cols[g, comp, "strength"] = strength
    covariance = lag_covariance(model, cohort)
    if groups:
        design, _ = _design(model, cohort, labels, groups, features, covariance, together=False)
        timing = design.means()[0][0]  # (S, P)
        for i, g in enumerate(groups):
            cols[g, "any", "timing"] = timing[:, i]
    filt = _component_peaks(model, cohort, encoding, covariance, features)  # (S, d)
    for j in range(d):
        cols["all", j, "peak_lag"] = filt[:, j]
    if len(groups) == 2:
        a, b = groups
        contrast = f"{b} - {a}"
        for (g, comp, measure), v in list(cols.items()):
            if g == b and (a, comp, measure) in cols:
                cols[contrast, comp, measure] = v - cols[a, comp, measure]
    keys = list(cols)
    return np.column_stack([cols[k] for k in keys]), keys


def _component_peaks(
    model: ShaReD,
    cohort: Cohort,
    encoding: EncodingMap,
    covariance: np.ndarray,
    features: Sequence[str] | None,
) -> np.ndarray:
    """Peak lag of each session's own estimate of each component's filter, (S, d)."""
    names = list(cohort.names)
    if all(n in encoding.stats for n in names):
        stats = [encoding.stats[n] for n in names]
    else:
        stats = [st.total() for st in model.statistics(cohort)]
    filt = _session_filters(model, cohort, stats)  # (S, p, L, d)
    c = covariance_filters(np.moveaxis(filt, 0, -1), covariance, _feature_index(model, features))
    energy = np.einsum("fl...,fl...->l...", c, c)  # (L, d, S)
    return profile_peak(np.moveaxis(energy, 0, -1), model.expansion_.lags).T
