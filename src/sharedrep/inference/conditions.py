"""Condition comparison (e.g. naive vs expert) under one shared representation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..estimator import ShaReD
from ..stats import SessionStats
from ._common import _filters, _unwrap, check_count, check_seed
from .encoding import EncodingMap, encoding_map
from .permutation import label_permutations


def _session_filters(model: ShaReD, cohort: Cohort, stats: Sequence[SessionStats]) -> np.ndarray:
    """Each session's own estimate of the component filters, shape (S, p, L, d).

    With the session's readout ``V_s`` fixed, the least-squares filters of that session alone are
    ``W_s = (C_s + alpha I)^-1 A_s V_s' (V_s V_s')^-1`` (the W-step of alternating least squares
    restricted to one session), in the model's component basis and standardized units.
    """
    # with the model's behavior scales, each session is standardized on its own: one call
    std = model.standardize_like_fit(stats, warn=False)
    act = std.active
    C = model._ridge_cov(std)  # (S, q', q')
    V = [model._session_fit_for(s).readout for s in cohort]  # each recording's own readout
    AV = np.stack([A[act] @ v.T for A, v in zip(std.cross, V, strict=True)])  # (S, q', d)
    VV = np.stack([v @ v.T for v in V])  # (S, d, d)
    W = np.zeros((len(V), *model.coef_.shape))
    W[:, act] = np.linalg.solve(C, AV) @ np.linalg.pinv(VV)
    return _filters(model, W)


def compare_conditions(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    by: str = "condition",
    *,
    encoding: EncodingMap | None = None,
    n_perm: int = 1000,
    order: Sequence[str] | None = None,
    seed: int | None = 0,
    ordered: bool = False,
    **encoding_kwargs: Any,
) -> pd.DataFrame:
    """Compare conditions (e.g. naive vs expert) under one shared representation.

    For each condition and component: the fraction of the condition's neurons that encode the
    component (``q < fdr`` in the :func:`encoding_map`), the encoding strength (mean cross-fitted
    drop-one ΔR² over all the condition's neurons, a threshold-free measure) and the
    component's peak lag (of the weighted mean of the sessions' own filters, see
    ``_session_filters``). Row ``component="any"`` gives the fraction encoding the shared
    model at all and its mean cross-fitted R². Differences are tested by permuting condition labels
    among the sessions of each subject (the paired design of a longitudinal study); when no
    subject was recorded in two conditions, labels are permuted between subjects instead and
    the table says so. Two conditions: the statistic is the difference (second minus first,
    two-sided p); more: the range over conditions, or, for ordered conditions (``ordered=True``:
    days of learning, in ``order``), the trend: the least-squares slope of the measure over the
    conditions' ranks 0, 1, 2, ... (change per step, two-sided p). For trends within each
    animal with numeric days, groups and intervals, see :func:`sharedrep.learning_trends`.

    Parameters
    ----------
    model : ShaReD
        One model fitted across all conditions.
    cohort : Cohort or list of Session
    by : {"condition", "subject"} or str
        Session attribute holding the condition label (or a key of ``Session.metadata``).
    encoding : EncodingMap, optional
        A precomputed encoding map of ``cohort`` (else computed with ``encoding_kwargs``).
    n_perm : int
        Label permutations.
    order : sequence of str, optional
        Condition order (default: order of first appearance).
    seed : int, optional
    ordered : bool
        The conditions are ordered (``order``): test a trend over them instead of a range.

    Returns
    -------
    pandas.DataFrame
        Index ``(component, measure)`` with measures ``fraction_encoding``, ``strength``,
        ``peak_lag`` (samples; and ``peak_lag_s`` in seconds when the rate is known); one
        column per condition, then ``difference`` (or ``range``, or ``trend``), ``p_value``.
        ``attrs`` hold ``permutation`` (scheme), ``n_perm``, ``fdr``, ``n_sessions`` and
        ``n_neurons`` per condition.
    """
    n_perm = check_count(n_perm, "n_perm", 1, " (label permutations)")
    check_seed(seed)
    if not isinstance(by, str):
        raise TypeError(f"by must be the name of a session attribute or metadata key, got {by!r}")
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    labels = []
    for s in cohort:
        lab = getattr(s, by) if by in ("condition", "subject") else s.metadata.get(by)
        if lab is None:
            raise DataError(f"session {s.name!r} has no {by!r} label")
        labels.append(str(lab))
    labels = np.array(labels, dtype=object)
    conds = list(dict.fromkeys(labels)) if order is None else [str(c) for c in order]
    missing = sorted(set(labels) - set(conds))
    if missing or len(conds) < 2:
        raise DataError(
            f"need at least two conditions covering every session; got {conds}, unlisted {missing}"
        )
    if encoding is None:
        encoding = encoding_map(model, cohort, **encoding_kwargs)
    absent = sorted(set(cohort.names) - set(encoding.neurons["session"]))
    if absent:
        raise DataError(f"the encoding map has no sessions {absent}; map this cohort first")
    subjects = np.array([str(s.subject) for s in cohort], dtype=object)
    rng = np.random.default_rng(seed)
    perms, scheme = label_permutations(subjects, labels, n_perm, rng)
    names = list(cohort.names)
    d = encoding.n_components
    # per-session sufficient summaries: counts and sums, so that any labelling aggregates fast
    nn = encoding.neurons.groupby("session", sort=False)
    n_s = nn.size().reindex(names).to_numpy(float)
    enc_any = nn["encodes"].sum().reindex(names).to_numpy(float)
    r2_any = nn["r2_crossfit"].sum().reindex(names).to_numpy(float)
    n_ok = nn["r2_crossfit"].count().reindex(names).to_numpy(float)
    cc = encoding.components.groupby(["session", "component"], sort=False)
    enc_c = cc["encodes"].sum().unstack().reindex(index=names, columns=range(d)).to_numpy(float)
    dr2_c = cc["delta_r2_crossfit"].sum().unstack()
    dr2_c = dr2_c.reindex(index=names, columns=range(d)).to_numpy(float)
    if all(n in encoding.stats for n in names):
        stats = [encoding.stats[n] for n in names]
    else:
        stats = [st.total() for st in model.statistics(cohort)]
    filt = _session_filters(model, cohort, stats)  # (S, p, L, d)
    w = model.session_weights_.reindex(names).to_numpy()
    w = np.where(np.isfinite(w), w, 1.0 / len(names))
    lags = model.expansion_.lags

    def measures(lab: np.ndarray) -> np.ndarray:
        """(n_labellings, C, 2 + 2d + d) measures for labellings ``lab`` (B, S)."""
        onehot = (lab[:, None, :] == np.array(conds, dtype=object)[None, :, None]).astype(float)
        N = onehot @ n_s
        frac_any = (onehot @ enc_any) / N
        str_any = (onehot @ r2_any) / (onehot @ n_ok)
        frac_c = np.einsum("bcs,sd->bcd", onehot, enc_c) / N[..., None]
        str_c = np.einsum("bcs,sd->bcd", onehot, dr2_c) / (onehot @ n_ok)[..., None]
        wf = np.einsum("bcs,s,spld->bcpld", onehot, w, filt)
        energy = (wf**2).sum(axis=2)  # (B, C, L, d)
        peak = lags[energy.argmax(axis=2)].astype(float)  # (B, C, d)
        return np.concatenate(
            [frac_any[..., None], str_any[..., None], frac_c, str_c, peak], axis=2
        )

    obs = measures(labels[None])[0]  # (C, M)
    null = measures(perms)  # (B, C, M)
    if ordered and len(conds) > 2:
        rank = np.arange(len(conds), dtype=float) - (len(conds) - 1) / 2
        stat_obs = rank @ obs / (rank @ rank)
        stat_null, stat_name = np.einsum("c,bcm->bm", rank, null) / (rank @ rank), "trend"
        p = (1 + (np.abs(stat_null) >= np.abs(stat_obs) - 1e-12).sum(0)) / (1 + n_perm)
    elif len(conds) == 2:
        stat_obs, stat_null, stat_name = obs[1] - obs[0], null[:, 1] - null[:, 0], "difference"
        p = (1 + (np.abs(stat_null) >= np.abs(stat_obs) - 1e-12).sum(0)) / (1 + n_perm)
    else:
        stat_obs, stat_null, stat_name = (
            obs.max(0) - obs.min(0),
            null.max(1) - null.min(1),
            "range",
        )
        p = (1 + (stat_null >= stat_obs - 1e-12).sum(0)) / (1 + n_perm)
    keys = [("any", "fraction_encoding"), ("any", "strength")]
    keys += [(j, "fraction_encoding") for j in range(d)]
    keys += [(j, "strength") for j in range(d)]
    keys += [(j, "peak_lag") for j in range(d)]
    table = pd.DataFrame(obs.T, columns=conds)
    table[stat_name] = stat_obs
    table["p_value"] = p
    table.index = pd.MultiIndex.from_tuples(keys, names=["component", "measure"])
    if cohort.rate is not None:
        sec = table.xs("peak_lag", level="measure", drop_level=False).copy()
        sec[[*conds, stat_name]] = sec[[*conds, stat_name]] / cohort.rate
        sec.index = pd.MultiIndex.from_tuples(
            [(c, "peak_lag_s") for c, _ in sec.index], names=["component", "measure"]
        )
        table = pd.concat([table, sec])
    table = table.sort_index(level="component", key=lambda i: i.map(str), sort_remaining=False)
    table.attrs.update(
        {
            "permutation": scheme,
            "n_perm": int(n_perm),
            "fdr": encoding.fdr,
            "null": encoding.null,
            "cross_fit": encoding.cross_fit,
            "n_sessions": {c: int((labels == c).sum()) for c in conds},
            "n_neurons": {c: int(n_s[labels == c].sum()) for c in conds},
        }
    )
    return table
