"""The encoding map: which neurons encode the shared representation, with valid p-values.

Validity of the null (the reason for cross-fitting)
---------------------------------------------------
If ``W`` were fitted on the very neurons being tested, it would have adapted to their noise:
the observed alignment of neural and behavioral data would look better than any shifted
alignment for reasons that have nothing to do with behavior, and p-values would be too small.
By default, each session is therefore tested with a ``W`` estimated WITHOUT its neural data:
leave-one-session-out when the cohort has several sessions, cross-fitting over folds (``W``
from the other folds, tested on the held-out fold) when it has one. The components of each
cross-fitted ``W`` are aligned to the model's components (least squares in the session's
design metric) so that "component j" means the same thing in every test. ``cross_fit="none"``
reproduces the invalid in-sample procedure for comparison. The nulls are in
:mod:`sharedrep.inference.nulls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..backend import get_backend
from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..estimator import SessionFit, ShaReD
from ..metrics import _r2, principal_angles
from ..selection import FoldStats, with_coef
from ..stats import SessionStats
from ._common import (
    _align,
    _aux_params,
    _raw,
    _unwrap,
    check_count,
    check_fraction,
    check_seed,
)
from .nulls import _null_stats
from .permutation import benjamini_hochberg

NULLS = ("circular", "segments")
CROSS_FITS = ("auto", "session", "folds", "none")


# -- the encoding map ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EncodingMap:
    """Which neurons encode the shared representation, with calibrated p-values.

    Attributes
    ----------
    neurons : pandas.DataFrame
        One row per neuron: ``session``, ``subject``, ``condition``, ``neuron``,
        ``r2_crossfit`` (cross-fitted held-out R² of the shared model: ``W`` fitted without the
        session, see ``cross_fit``, the readout on the other folds, scored on the held-out
        folds, pooled), ``r2_in_sample`` (the test statistic: R² of the readout fitted on the
        very samples scored, on the cross-fitted latents), ``p``, ``q`` (BH within session)
        and ``encodes`` (``q < fdr``), then the columns of the session's ``neuron_info``
        (population, tags, ...; a name the table already uses gets the prefix ``info_``). The
        names follow the package's scheme: ``heldout`` (cross-validation), ``crossfit`` (``W``
        never saw the session's scored samples) and ``in_sample``.
    components : pandas.DataFrame
        One row per neuron and component: the same identifiers, ``component``,
        ``delta_r2_crossfit`` (cross-fitted drop-one ΔR²: ``r2_crossfit`` of the full model
        minus that with the component's readout removed and the others refitted), ``p``, ``q``
        (BH within session and component), ``encodes`` and the ``neuron_info`` columns.
    sessions : pandas.DataFrame
        One row per session: ``n_neurons``, ``n_samples``, ``n_null`` (shifts or permutations
        used), ``min_shift`` (samples; NaN for the segment null), ``max_angle`` (largest
        principal angle, degrees, between the cross-fitted and the model's ``W`` in the
        session's design metric: large values mean the tested ``W`` differs from the model's),
        ``fraction_encoding``.
    null : str
    cross_fit : str
    fdr : float
    n_components : int
    split : str
        How the held-out folds were drawn, in words (e.g. ``"interleaved segments"``).
    stats : dict of str to SessionStats
        Whole-session statistics of the mapped sessions (reused by :func:`compare_conditions`
        instead of a second pass over the data).
    """

    neurons: pd.DataFrame
    components: pd.DataFrame
    sessions: pd.DataFrame
    null: str
    cross_fit: str
    fdr: float
    n_components: int
    split: str = "contiguous blocks"
    stats: dict[str, SessionStats] = field(default_factory=dict, repr=False)

    def summary(self) -> pd.DataFrame:
        """Fraction of neurons encoding (any component, and each one) per session."""
        per = self.components.pivot_table(
            index="session", columns="component", values="encodes", aggfunc="mean"
        )
        per.columns = [f"component_{c}" for c in per.columns]
        anyc = self.neurons.groupby("session")["encodes"].mean().rename("any")
        return pd.concat([anyc, per], axis=1)


def encoding_map(
    model: ShaReD,
    cohort: Cohort | Session | Sequence[Session],
    null: str = "circular",
    n_null: int = 1000,
    *,
    folds: int = 5,
    split: Any = "auto",
    fdr: float = 0.05,
    cross_fit: str = "auto",
    min_shift: int | None = None,
    seed: int | None = 0,
) -> EncodingMap:
    """Per-neuron encoding of the shared representation, with valid p-values and FDR control.

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        Fitted model; its parameters (rank, ridge, lags, ...) are reused for the cross-fitted
        representations, and its components name the components tested.
    cohort : Cohort, Session or list of Session
        The sessions to map (those the model was fitted on, typically).
    null : {"circular", "segments"}
        ``"circular"``: circular shifts of each session's neural data against its latents
        (FFT, all shifts at once). ``"segments"``: random permutations of whole segments of
        the neural data (needs segments; the direct computation, slower).
    n_null : int
        Circular shifts (evenly spaced over the allowed range) or segment permutations. Fewer
        are used, with a warning, when a session is too short for that many allowed shifts;
        ``EncodingMap.sessions["n_null"]`` records the number used.
    folds : int
        Folds for the held-out R² (and for cross-fitting a single session).
    split : {"auto", "interleaved", "blocks"} or mapping
        How samples are assigned to those folds (see :mod:`sharedrep.folds`).
    fdr : float
        False discovery rate for the ``encodes`` masks.
    cross_fit : {"auto", "session", "folds", "none"}
        Where the tested ``W`` comes from: ``"session"``: leave-one-session-out;
        ``"folds"``: fitted without the tested fold (all sessions); ``"auto"`` (default):
        ``"session"`` for several sessions, ``"folds"`` for one; ``"none"``: the model's own
        ``W`` (fitted on the tested neurons: anti-conservative, for comparison only).
    min_shift : int, optional
        Smallest circular shift (samples) in the null; default: lag span plus autocorrelation
        length (see the module documentation).
    seed : int, optional
        Random seed of the segment permutations.

    Returns
    -------
    EncodingMap

    Notes
    -----
    One statistics pass (per fold) gives the held-out R²; the null needs the time series of
    the latents, so each session's behavior and neural data are read once more, one session at
    a time (lazy arrays are read whole, session by session).
    """
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    if null not in NULLS:
        raise ValueError(f"null must be one of {NULLS}, got {null!r}")
    if cross_fit not in CROSS_FITS:
        raise ValueError(f"cross_fit must be one of {CROSS_FITS}, got {cross_fit!r}")
    if not (isinstance(n_null, int | np.integer) and n_null >= 19):
        raise ValueError(f"n_null must be an integer >= 19 (p-values down to 0.05), got {n_null!r}")
    fdr = check_fraction(fdr, "fdr")
    check_seed(seed)
    if min_shift is not None:
        check_count(min_shift, "min_shift", 1, " (samples) or None")
    for s in cohort:
        model._check_features(s)
    mode = cross_fit
    if mode == "auto":
        mode = "session" if len(cohort) > 1 else "folds"
    if mode == "session" and len(cohort) < 2:
        raise DataError("cross_fit='session' needs at least two sessions; use 'folds'")
    if model.coef_.shape[1] == 0:
        raise DataError(
            "the model has no shared component (n_components=0: cross-validation found no "
            "shared representation that predicts held-out data); there is nothing to map"
        )
    params = _aux_params(model)
    fs = FoldStats.compute(cohort, model, folds, split=split)
    K = fs.n_folds
    totals = fs.total()
    fold_models = None
    if mode == "folds":  # one W per held-out fold, from all sessions' other folds
        fold_models = [
            ShaReD(**params).fit_from_stats(fs.train(k), cohort, overwrite=True)  # its own copy
            for k in range(K)
        ]
    rng = np.random.default_rng(seed)
    neu_rows, comp_rows, ses_rows = [], [], []
    d = model.coef_.shape[1]
    target = _raw(model)
    metrics, per_folds = [], []
    for i in range(len(cohort)):
        metric = totals[i].centered()[0] / totals[i].count[0]
        # the tested model of each fold k (W aligned to the model's components)
        if mode == "session":
            others = [j for j in range(len(cohort)) if j != i]
            m = ShaReD(**params).fit_from_stats(
                [totals[j] for j in others], cohort.subset([cohort.names[j] for j in others])
            )
            per_fold = [_aligned(m, target, metric)] * K
        elif mode == "folds":
            per_fold = [_aligned(fm, target, metric) for fm in fold_models]
        else:
            per_fold = [model] * K
        metrics.append(metric)
        per_folds.append(per_fold)
    # the null statistics of each session are one task, run on a
    # cluster set by sharedrep.use_cluster (in this process otherwise); each session draws
    # from its own generator spawned from `seed`, so results do not depend on where they ran
    S = len(cohort)
    null_out = get_backend().map(
        _null_stats,
        [model] * S,
        list(cohort),
        [mode] * S,
        per_folds,
        [fs.labels(i) for i in range(S)],
        [null] * S,
        [n_null] * S,
        [min_shift] * S,
        rng.spawn(S),
    )
    for i, s in enumerate(cohort):
        metric, per_fold = metrics[i], per_folds[i]
        L = _cholT(metric)
        angle = max(
            float(principal_angles(L @ _raw(pm), L @ target).max())
            for pm in per_fold[:: max(1, K - 1)]
        )
        # held-out R², full model and each drop-one model, through the fold machinery
        r2_full, delta = _heldout_r2(fs, i, per_fold, d)
        obs, nulls, sst, n_used, shift0 = null_out[i]
        ess_obs, dess_obs = obs
        ess_null, dess_null = nulls
        ok = sst > 1e-12 * max(float(np.max(sst, initial=0.0)), 1.0)
        tol = 1e-10 * np.maximum(ess_obs, 1e-300)
        p_full = (1 + (ess_null >= ess_obs[None, :] - tol).sum(0)) / (1 + n_used)
        tolc = 1e-10 * np.maximum(dess_obs, 1e-300)
        p_comp = (1 + (dess_null >= dess_obs[None] - tolc).sum(0)) / (1 + n_used)  # (d, n)
        p_full = np.where(ok, p_full, np.nan)
        p_comp = np.where(ok[None, :], p_comp, np.nan)
        q_full = benjamini_hochberg(p_full)
        q_comp = np.stack([benjamini_hochberg(p_comp[j]) for j in range(d)])
        ids = {
            "session": s.name,
            "subject": s.subject,
            "condition": s.condition,
            "neuron": list(s.neuron_names),
        }
        enc = np.nan_to_num(q_full, nan=1.0) < fdr
        neu_rows.append(
            _with_neuron_info(
                pd.DataFrame(
                    {
                        **ids,
                        "r2_crossfit": r2_full,
                        "r2_in_sample": np.where(ok, ess_obs / np.where(ok, sst, 1.0), np.nan),
                        "p": p_full,
                        "q": q_full,
                        "encodes": enc,
                    }
                ),
                s,
            )
        )
        for j in range(d):
            comp_rows.append(
                _with_neuron_info(
                    pd.DataFrame(
                        {
                            **ids,
                            "component": j,
                            "delta_r2_crossfit": delta[j],
                            "p": p_comp[j],
                            "q": q_comp[j],
                            "encodes": np.nan_to_num(q_comp[j], nan=1.0) < fdr,
                        }
                    ),
                    s,
                )
            )
        ses_rows.append(
            (
                s.name,
                s.subject,
                s.condition,
                s.n_neurons,
                int(totals[i].count[0]),
                n_used,
                shift0,
                angle,
                float(enc.mean()),
            )
        )
    sessions = pd.DataFrame(
        ses_rows,
        columns=[
            "session",
            "subject",
            "condition",
            "n_neurons",
            "n_samples",
            "n_null",
            "min_shift",
            "max_angle",
            "fraction_encoding",
        ],
    ).set_index("session")
    return EncodingMap(
        neurons=pd.concat(neu_rows, ignore_index=True),
        components=pd.concat(comp_rows, ignore_index=True),
        sessions=sessions,
        null=null,
        cross_fit=mode,
        fdr=float(fdr),
        n_components=d,
        split=fs.split_description,
        stats=dict(zip(cohort.names, totals, strict=True)),
    )


def _with_neuron_info(frame: pd.DataFrame, session: Session) -> pd.DataFrame:
    """``frame`` (one row per neuron of ``session``, in order) with its neuron_info columns.

    A metadata column whose name the table already uses (``r2``, ``session``, ...) is added
    as ``info_<name>``.
    """
    info = session.neuron_info
    if info is None:
        return frame
    for col in info.columns:
        name = str(col) if str(col) not in frame.columns else f"info_{col}"
        frame[name] = info[col].to_numpy() if info[col].dtype.kind in "biufM" else info[col].array
    return frame


def _cholT(metric: np.ndarray) -> np.ndarray:
    """``L'`` with ``L L' = metric`` (jittered): Euclidean coordinates of the design metric."""
    q = metric.shape[0]
    jitter = 1e-10 * max(float(np.trace(metric)) / q, 1e-300)
    return np.linalg.cholesky(metric + jitter * np.eye(q)).T


def _aligned(m: ShaReD, target_raw: np.ndarray, metric: np.ndarray) -> ShaReD:
    """``m`` with its W rotated (within its span) to best match the target components."""
    R = _align(_raw(m), target_raw, metric)
    return with_coef(m, m.coef_ @ R)


def _heldout_r2(
    fs: FoldStats, i: int, per_fold: list[ShaReD], d: int
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out R² of session ``i`` (full model) and the drop-one ΔR² of each component."""
    session = fs.cohort[i]  # metadata only: the fold fits below may run on a cluster
    # each fold's training statistics, standardized like that fold's model, serve every
    # readout below (full, drop-one and rank 0 refit only the readout on them)
    train = [fs.stats[i].without(k) for k in range(fs.n_folds)]
    std = [m.standardize_like_fit([t]) for m, t in zip(per_fold, train, strict=True)]

    def readout(m: ShaReD, k: int) -> SessionFit:
        return m._session_fit(std[k], 0, train[k], session)  # = m.readout_from_stats

    def fitter_for(keep: np.ndarray):
        def fitter(k: int):
            m = (
                per_fold[k]
                if keep.size == d
                else with_coef(per_fold[k], per_fold[k].coef_[:, keep])
            )
            return m.coef_, m._column_scale, {session.name: readout(m, k)}

        return fitter

    def mean_fitter(k: int):
        # without its only component the model predicts the training mean (rank 0)
        m = per_fold[k]
        fit = readout(m, k)
        zero = replace(fit, readout=np.zeros((1, fit.readout.shape[1])))
        return np.zeros((m.coef_.shape[0], 1)), m._column_scale, {session.name: zero}

    _, sse, sst = fs.heldout(fitter_for(np.arange(d)), sessions=[i])
    full = _r2(sse[0], sst[0])
    delta = np.empty((d, full.size))
    for j in range(d):
        fitter = mean_fitter if d == 1 else fitter_for(np.delete(np.arange(d), j))
        _, e, t = fs.heldout(fitter, sessions=[i])
        delta[j] = full - _r2(e[0], t[0])
    return full, delta
