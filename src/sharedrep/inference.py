"""Statistics of a fitted ShaReD model: which neurons encode what, with valid p-values.

* :func:`encoding_map`: per neuron, the held-out R² of the shared model and the unique
  (drop-one) contribution of each component, with p-values from a null that keeps
  autocorrelation and Benjamini–Hochberg q-values within session.
* :func:`compare_conditions`: per condition (e.g. naive vs expert), the fraction of neurons
  encoding each component, the encoding strength and each component's peak lag, with
  differences tested by permuting condition labels within subject.
* :func:`bootstrap_loadings` and :func:`peak_lag`: temporal filters (variable x lag) of each
  component with bootstrap-over-sessions confidence bands, and their peak lag.
* :func:`variance_split`: per session, the held-out variance explained by the shared part, by
  the shared part plus private dimensions, and by a full-rank ridge ceiling.

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
reproduces the invalid in-sample procedure for comparison.

The test statistic is the in-sample explained sum of squares of each neuron regressed on the
(cross-fitted) latents of its session (all components, or the drop-one increase for each
component). Under the circular null the neural data are shifted circularly against the latents
(the valid rows of a session treated as one sequence); shifts closer than ``min_shift`` samples
to 0 (mod the length) are excluded, with ``min_shift`` = the lag span of the design plus the
autocorrelation length of the latents and the neurons (the first lag at which the
autocorrelation falls below 0.1). For fixed latents, the cross-products ``Z'Y_tau`` of every
shift come from FFTs (one per column), so the null costs a few FFTs, not one fit per shift: the
shifts are evenly spaced multiples of a divisor of the sequence length, whose cross-products
are an inverse FFT of the folded cross-spectrum (see ``_circular_cross``; exact). The sequence
is the first ``N'`` valid rows, ``N'`` the largest FFT-friendly length not above their number
(more than 99% of the rows for sessions of 1000 samples or more). ``null="segments"`` instead
permutes whole segments (trials) of the neural data. p-values are
``(1 + #{null >= observed}) / (1 + n_null)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.fft as sfft
import scipy.linalg as sla
import xarray as xr

from .data import Cohort, Session, as_cohort
from .errors import DataError, SharedRepWarning
from .estimator import SessionFit, ShaReD
from .features import valid_rows
from .metrics import _r2
from .selection import CV_TOL, RULES, FoldStats, _fold_stats, with_coef
from .simulate import principal_angles
from .stats import SessionStats, fold_labels

__all__ = [
    "EncodingMap",
    "benjamini_hochberg",
    "bootstrap_loadings",
    "compare_conditions",
    "encoding_map",
    "peak_lag",
    "variance_split",
]

NULLS = ("circular", "segments")
CROSS_FITS = ("auto", "session", "folds", "none")
#: autocorrelation below this level counts as gone (for the default minimum shift)
ACF_LEVEL = 0.1


def _unwrap(model: Any) -> ShaReD:
    """The fitted ShaReD behind a model (a ShaReDCV gives its refitted best estimator)."""
    best = getattr(model, "__dict__", {}).get("best_estimator_")
    model = best if best is not None else model
    if not isinstance(model, ShaReD):
        raise TypeError(f"expected a fitted ShaReD or ShaReDCV, got {type(model).__name__}")
    model._check_fitted()
    return model


def _aux_params(model: ShaReD) -> dict[str, Any]:
    """The model's parameters for auxiliary refits (cross-fitting, bootstrap, folds).

    Their optimiser tolerance is relaxed to ``CV_TOL`` (as in cross-validation): the
    statistics they feed change far less than their own sampling variability.
    """
    params = model.get_params()
    params["tol"] = max(float(params["tol"]), CV_TOL)
    w = params["weights"]
    if not isinstance(w, str | Mapping):
        # explicit per-session weights: by name, so that refits on subsets of sessions work
        params["weights"] = dict(zip(model.session_weights_.index, np.asarray(w), strict=True))
    return params


# -- small exact pieces -------------------------------------------------------------------------
def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up FDR adjusted p-values).

    Parameters
    ----------
    p : ndarray, shape (m,)
        p-values; NaN entries are ignored (and stay NaN).

    Returns
    -------
    ndarray, shape (m,)
        ``q_i = min_{j: p_j >= p_i} p_j m / rank_j``, at most 1; rejecting ``q < level``
        controls the false discovery rate at ``level`` for independent or positively
        dependent tests.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def _align(B: np.ndarray, target: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """``R`` minimising ``||B R - target||`` in the metric (each target column regressed on B)."""
    M = B.T @ metric @ B
    M = M + 1e-12 * np.trace(M) / max(M.shape[0], 1) * np.eye(M.shape[0])
    return np.linalg.solve(M, B.T @ metric @ target)


def _raw(model: ShaReD, W: np.ndarray | None = None) -> np.ndarray:
    """``W`` (default the model's) as a map from the unscaled design, shape (q, d)."""
    return model._column_scale[:, None] * (model.coef_ if W is None else W)


def _prev_fast_len(n: int) -> int:
    """Largest FFT-friendly length ``<= n`` (only small prime factors)."""
    k = n
    while k > 1 and sfft.next_fast_len(k) != k:
        k -= 1
    return max(k, 1)


def _shift_grid(n: int, min_shift: int, n_null: int) -> tuple[int, np.ndarray]:
    """Spacing ``delta`` (a divisor of ``n``) and multiples ``k`` giving shifts ``k * delta``.

    The shifts are every multiple of the largest divisor of ``n`` that still leaves at least
    ``n_null`` of them in ``[min_shift, n - min_shift]`` (all allowed shifts when fewer exist).
    """
    divisors = sorted(
        {a for i in range(1, int(np.sqrt(n)) + 1) if n % i == 0 for a in (i, n // i)},
        reverse=True,
    )

    def multiples(delta: int) -> np.ndarray:
        return np.arange(-(-min_shift // delta), (n - min_shift) // delta + 1)

    for delta in divisors:
        ks = multiples(delta)
        if ks.size >= n_null:
            return delta, ks
    return 1, multiples(1)


def _autocorr_length(power: np.ndarray, n: int) -> int:
    """First lag at which the (circular) autocorrelation of every series is below 0.1.

    ``power``: power spectra (``|rfft|^2`` of centred series of ``n`` samples) along axis 0,
    shape (n_freq, k).
    """
    acf = sfft.irfft(power, n=n, axis=0)[: n // 2]
    acf = acf / np.where(acf[:1] > 0, acf[:1], 1.0)
    worst = np.abs(acf).max(axis=1)
    below = np.flatnonzero(worst < ACF_LEVEL)
    return int(below[0]) if below.size else n // 2


def _circular_cross(Zc: np.ndarray, FY: np.ndarray, delta: int, ks: np.ndarray) -> np.ndarray:
    """``c[m, j, i] = sum_t Zc[t, j] * Yc[(t - ks[m] * delta) mod n, i]``, all shifts at once.

    ``FY`` is the rFFT of the centred neurons (length ``n``, a multiple of ``delta``). The
    circular cross-correlation of a (component, neuron) pair at shift ``tau`` is the inverse
    DFT of the cross-spectrum ``FZ(f) conj(FY(f))``. Only shifts that are multiples of
    ``delta`` are wanted; ``exp(2 pi i f k delta / n)`` depends on ``f mod M`` only
    (``M = n / delta``), so they are the inverse FFT of length ``M`` of the cross-spectrum
    folded modulo ``M``: ``Q(r) = sum_a FZ(aM + r) conj(FY(aM + r))``, which for all pairs at
    once is one batched matrix product ``(M, d, delta) @ (M, delta, n)``. Exact; the n x d x n
    cross-spectrum is never formed. Neurons are processed in blocks to bound memory.
    """
    n, d = Zc.shape
    M = n // delta
    FZ = sfft.rfft(Zc, axis=0)
    H = FZ.shape[0]

    def full(F: np.ndarray) -> np.ndarray:
        # all n frequencies of a real series from its rfft (Hermitian symmetry)
        return np.concatenate([F, np.conj(F[1 : n - H + 1][::-1])], axis=0)

    A = np.ascontiguousarray(full(FZ).reshape(delta, M, d).transpose(1, 2, 0))  # (M, d, delta)
    k = FY.shape[1]
    out = np.empty((ks.size, d, k))
    block = max(1, int(4_000_000 // max(n, 1)))
    for a in range(0, k, block):
        B = np.conj(full(FY[:, a : a + block])).reshape(delta, M, -1).transpose(1, 0, 2)
        Q = A @ np.ascontiguousarray(B)  # (M, d, nb)
        r = sfft.ifft(Q, axis=0, workers=-1).real / delta
        out[:, :, a : a + block] = r[ks]
    return out


def _explained(c: np.ndarray, Minv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explained sum of squares of OLS on the latents, and the drop-one loss per component.

    ``c``: cross-products ``Zc'y`` shape (m, d, n); ``Minv``: ``(Zc'Zc)^-1`` (d, d).
    Returns ``ess`` (m, n) and ``dess`` (m, d, n) with ``dess_j = beta_j^2 / Minv_jj``.
    """
    beta = np.einsum("jk,mkn->mjn", Minv, c)
    ess = np.einsum("mjn,mjn->mn", c, beta)
    dess = beta**2 / np.diag(Minv)[None, :, None]
    return ess, dess


# -- the encoding map ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EncodingMap:
    """Which neurons encode the shared representation, with calibrated p-values.

    Attributes
    ----------
    neurons : pandas.DataFrame
        One row per neuron: ``session``, ``subject``, ``condition``, ``neuron``, ``r2``
        (held-out R² of the shared model, folds pooled), ``r2_in_sample`` (the test statistic:
        R² of OLS on the cross-fitted latents), ``p``, ``q`` (BH within session) and
        ``encodes`` (``q < fdr``).
    components : pandas.DataFrame
        One row per neuron and component: the same identifiers, ``component``, ``delta_r2``
        (held-out drop-one ΔR²: R² of the full model minus R² with that component's readout
        removed and the others refitted), ``p``, ``q`` (BH within session and component) and
        ``encodes``.
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
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr!r}")
    for s in cohort:
        model._check_features(s)
    mode = cross_fit
    if mode == "auto":
        mode = "session" if len(cohort) > 1 else "folds"
    if mode == "session" and len(cohort) < 2:
        raise DataError("cross_fit='session' needs at least two sessions; use 'folds'")
    params = _aux_params(model)
    fs = _fold_stats(cohort, model, folds)
    K = fs.n_folds
    totals = fs.total()
    fold_models = None
    if mode == "folds":  # one W per held-out fold, from all sessions' other folds
        fold_models = [ShaReD(**params).fit_from_stats(fs.train(k), cohort) for k in range(K)]
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
    # backend hook (issue 6): the null statistics of each session are one task, run on a
    # cluster set by sharedrep.use_cluster (in this process otherwise); each session draws
    # from its own generator spawned from `seed`, so results do not depend on where they ran
    from .backend import get_backend

    S = len(cohort)
    null_out = get_backend().map(
        _null_stats,
        [model] * S,
        list(cohort),
        [mode] * S,
        per_folds,
        [K] * S,
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
            pd.DataFrame(
                {
                    **ids,
                    "r2": r2_full,
                    "r2_in_sample": np.where(ok, ess_obs / np.where(ok, sst, 1.0), np.nan),
                    "p": p_full,
                    "q": q_full,
                    "encodes": enc,
                }
            )
        )
        for j in range(d):
            comp_rows.append(
                pd.DataFrame(
                    {
                        **ids,
                        "component": j,
                        "delta_r2": delta[j],
                        "p": p_comp[j],
                        "q": q_comp[j],
                        "encodes": np.nan_to_num(q_comp[j], nan=1.0) < fdr,
                    }
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
        stats=dict(zip(cohort.names, totals, strict=True)),
    )


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


def _session_arrays(model: ShaReD, s: Session) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Design ``(T_valid, q)``, neural data ``(T_valid, n)`` and row positions of a session."""
    rows = np.flatnonzero(
        valid_rows(
            s.n_samples, model.expansion_.lags, s.segments, s.usable if s.n_omitted else None
        )
    )
    phi = model.expansion_.design_rows(np.asarray(s.behavior, dtype=float), rows)
    Y = np.asarray(s.neural, dtype=float)[rows]
    return phi, Y, rows


def _null_stats(
    model: ShaReD,
    s: Session,
    mode: str,
    per_fold: list[ShaReD],
    K: int,
    null: str,
    n_null: int,
    min_shift: int | None,
    rng: np.random.Generator,
) -> tuple[tuple, tuple, np.ndarray, int, float]:
    """Observed and null statistics of one session, summed over its test units."""
    phi, Y, rows = _session_arrays(model, s)
    if mode == "folds":
        lab = fold_labels(s, K)[rows]
        units = [(np.flatnonzero(lab == k), per_fold[k]) for k in range(K)]
    else:
        units = [(np.arange(rows.size), per_fold[0])]
    seg = None if s.segments is None else s.segments[rows]
    if null == "segments" and seg is None:
        raise DataError(f"session {s.name!r} has no segments; null='segments' needs trials")
    prepared = []
    for idx, m in units:
        if null == "circular":
            # the first N' rows, N' the largest FFT-friendly length <= N (> 99% of the rows
            # for N >= 1000): a length with a large prime factor makes every FFT 5-10x slower
            idx = idx[: _prev_fast_len(idx.size)]
        Z = phi[idx] @ _raw(m)
        Zc = Z - Z.mean(axis=0)
        Yc = Y[idx] - Y[idx].mean(axis=0)
        prepared.append((idx, Zc, Yc))
    # how many null draws every unit supports
    if null == "circular":
        grids = []
        for _idx, Zc, Yc in prepared:
            N = Zc.shape[0]
            FY = sfft.rfft(Yc, axis=0, workers=-1)
            if min_shift is None:
                # mean autocorrelation over neurons (each normalised), worst latent
                py = np.abs(FY) ** 2
                py = (py / np.maximum(py.sum(axis=0), 1e-300)).mean(axis=1, keepdims=True)
                pz = np.abs(sfft.rfft(Zc, axis=0)) ** 2
                m0 = model.expansion_.span + max(_autocorr_length(pz, N), _autocorr_length(py, N))
            else:
                m0 = int(min_shift)
            delta, ks = _shift_grid(N, m0, n_null)
            grids.append((delta, ks, FY, m0))
        n_used = min(n_null, min(g[1].size for g in grids))
        if n_used < 19:
            raise DataError(
                f"session {s.name!r}: only {n_used} circular shifts are at least "
                f"{max(g[3] for g in grids)} samples from 0; the session is too short for a "
                "circular-shift null (use null='segments' or a smaller min_shift)"
            )
        if n_used < n_null:
            warnings.warn(
                f"session {s.name!r}: only {n_used} allowed circular shifts (n_null={n_null}); "
                f"p-values cannot go below {1 / (n_used + 1):.3g}",
                SharedRepWarning,
                stacklevel=3,
            )
        shift0 = float(max(g[3] for g in grids))
    else:
        n_used, shift0 = int(n_null), float("nan")
    d = per_fold[0].coef_.shape[1]
    n = Y.shape[1]
    ess_obs, dess_obs = np.zeros(n), np.zeros((d, n))
    ess_null, dess_null = np.zeros((n_used, n)), np.zeros((n_used, d, n))
    sst = np.zeros(n)
    for u, (idx, Zc, Yc) in enumerate(prepared):
        M = Zc.T @ Zc
        Minv = np.linalg.pinv(M)
        c0 = (Zc.T @ Yc)[None]
        e, de = _explained(c0, Minv)
        ess_obs += e[0]
        dess_obs += de[0]
        sst += np.einsum("tn,tn->n", Yc, Yc)
        if null == "circular":
            delta, ks, FY, _ = grids[u]
            pick = np.round(np.linspace(0, ks.size - 1, n_used)).astype(int)
            c = _circular_cross(Zc, FY, delta, ks[pick])
        else:
            c = np.empty((n_used, d, n))
            labels = seg[idx]
            starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
            pieces = np.split(np.arange(labels.size), starts[1:])
            for b in range(n_used):
                order = np.concatenate([pieces[t] for t in rng.permutation(len(pieces))])
                c[b] = Zc.T @ Yc[order]
        e, de = _explained(c, Minv)
        ess_null += e
        dess_null += de
    return (ess_obs, dess_obs), (ess_null, dess_null), sst, n_used, shift0


# -- temporal filters, peak lags and bootstrap bands --------------------------------------------
def peak_lag(loadings: xr.DataArray) -> xr.DataArray:
    """Peak lag of each component's temporal filter.

    The peak is the lag at which the filter's energy over behavioral variables,
    ``sum_feature loading(feature, lag)^2``, is largest.

    Parameters
    ----------
    loadings : xarray.DataArray, dims (feature, lag, component, ...)
        E.g. ``model.loadings_``; extra dims (e.g. ``sample``) are kept.

    Returns
    -------
    xarray.DataArray, dims (component, ...)
        Peak lag in samples (coordinate ``lag_s`` in seconds when ``loadings`` has it).
    """
    energy = (loadings**2).sum("feature")
    idx = energy.argmax("lag")
    lags = loadings["lag"].to_numpy()
    out = xr.DataArray(lags[idx.to_numpy()], dims=idx.dims, coords=idx.coords, name="peak_lag")
    if "lag_s" in loadings.coords:
        out = out.assign_coords(lag_s=(idx.dims, loadings["lag_s"].to_numpy()[idx.to_numpy()]))
    return out.drop_vars([c for c in ("lag",) if c in out.coords])


def _filters(model: ShaReD, W: np.ndarray) -> np.ndarray:
    """``W`` (..., q, d) in the model's standardized design units as filters (..., p, L, d)."""
    p, d = model.n_features_in_, W.shape[-1]
    filt = model.expansion_.lag_matrix(p) @ W
    return filt.reshape(*W.shape[:-2], p, model.expansion_.lags.size, d)


def bootstrap_loadings(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    n_boot: int = 200,
    *,
    ci: float = 0.95,
    seed: int | None = 0,
    stats: Sequence[SessionStats] | None = None,
) -> xr.Dataset:
    """Temporal filters of each component with bootstrap-over-sessions confidence bands.

    Sessions are resampled with replacement; each resample refits ``W`` from the sessions'
    statistics (a session drawn ``m`` times gets ``m`` times its weight), and the refitted
    components are aligned to the model's (least squares in the pooled design metric) before
    percentiles are taken. Bands therefore reflect animal-to-animal variability, the relevant
    uncertainty for a claim about animals; with few sessions (< 8) they are rough.

    Parameters
    ----------
    model : ShaReD
        Fitted on ``cohort``.
    cohort : Cohort or list of Session
        At least two sessions.
    n_boot : int
        Bootstrap resamples.
    ci : float
        Coverage of the percentile bands.
    seed : int, optional
    stats : sequence of SessionStats, optional
        Whole-session statistics of ``cohort`` (to skip the statistics pass).

    Returns
    -------
    xarray.Dataset
        ``loadings`` (feature, lag, component): the model's filters; ``lower``, ``upper``:
        percentile bands; ``se``: bootstrap standard deviation; ``peak_lag`` (component) and
        ``peak_lag_lower``, ``peak_lag_upper``: the peak lag (samples) and its percentile
        interval; ``samples`` (sample, feature, lag, component): the aligned resamples.
    """
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    S = len(cohort)
    if S < 2:
        raise DataError("bootstrap over sessions needs at least two sessions")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if stats is None:
        from .stats import cohort_stats

        stats = cohort_stats(
            cohort,
            model.expansion_,
            gram=model.objective == "correlation",
            chunk_size=model.chunk_size,
        )
    stats = [st.total() for st in stats]
    params = _aux_params(model)
    base_w = model.session_weights_.reindex(list(cohort.names)).to_numpy()
    if not np.all(np.isfinite(base_w)):
        raise DataError("the model was not fitted on these sessions (weights missing)")
    rng = np.random.default_rng(seed)
    metric = model.design_covariance_
    samples = np.empty((n_boot, *model.loadings_.shape))
    for b in range(n_boot):
        counts = np.bincount(rng.integers(0, S, size=S), minlength=S)
        keep = np.flatnonzero(counts)
        params_b = {**params, "weights": counts[keep] * base_w[keep]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SharedRepWarning)
            mb = ShaReD(**params_b).fit_from_stats(
                [stats[j] for j in keep], cohort.subset([cohort.names[j] for j in keep])
            )
        # the resample's W in the model's standardized units, aligned to its components
        scale = np.divide(
            mb._column_scale,
            model._column_scale,
            out=np.zeros_like(mb._column_scale),
            where=model._column_scale != 0,
        )
        Wb = scale[:, None] * mb.coef_
        samples[b] = _filters(model, Wb @ _align(Wb, model.coef_, metric))
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    est = model.loadings_
    dims = est.dims
    coords = {k: v for k, v in est.coords.items()}
    da = xr.DataArray(samples, dims=("sample", *dims), coords=coords)
    peaks = peak_lag(da)
    ds = xr.Dataset(
        {
            "loadings": est,
            "lower": (dims, np.quantile(samples, lo, axis=0)),
            "upper": (dims, np.quantile(samples, hi, axis=0)),
            "se": (dims, samples.std(axis=0, ddof=1)),
            "peak_lag": ("component", peak_lag(est).to_numpy()),
            "peak_lag_lower": ("component", np.quantile(peaks.to_numpy(), lo, axis=0)),
            "peak_lag_upper": ("component", np.quantile(peaks.to_numpy(), hi, axis=0)),
            "samples": da,
        },
        attrs={"ci": ci, "n_boot": n_boot, "resampled": "sessions"},
    )
    return ds


# -- condition comparison -----------------------------------------------------------------------
def _session_filters(model: ShaReD, cohort: Cohort, stats: Sequence[SessionStats]) -> np.ndarray:
    """Each session's own estimate of the component filters, shape (S, p, L, d).

    With the session's readout ``V_s`` fixed, the least-squares filters of that session alone are
    ``W_s = (C_s + alpha I)^-1 A_s V_s' (V_s V_s')^-1`` (the W-step of alternating least squares
    restricted to one session), in the model's component basis and standardized units.
    """
    # with the model's behavior scales, each session is standardized on its own: one call
    std = model.standardize_like_fit(stats, warn=False)
    act = std.active
    C = std.cov[:, act][:, :, act] + model.alpha * np.eye(int(act.sum()))  # (S, q', q')
    V = [model.session_fits_[s.name].readout for s in cohort]
    AV = np.stack([A[act] @ v.T for A, v in zip(std.cross, V, strict=True)])  # (S, q', d)
    VV = np.stack([v @ v.T for v in V])  # (S, d, d)
    W = np.zeros((len(V), *model.coef_.shape))
    W[:, act] = np.linalg.solve(C, AV) @ np.linalg.pinv(VV)
    return _filters(model, W)


def _label_permutations(
    subjects: np.ndarray, labels: np.ndarray, n_perm: int, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """Condition labels permuted within subject (or between subjects when none has two)."""
    within = any(len(set(labels[subjects == u])) > 1 for u in np.unique(subjects))
    perms = np.empty((n_perm, labels.size), dtype=labels.dtype)
    if within:
        groups = [np.flatnonzero(subjects == u) for u in np.unique(subjects)]
        for b in range(n_perm):
            lab = labels.copy()
            for g in groups:
                lab[g] = labels[g][rng.permutation(g.size)]
            perms[b] = lab
        return perms, "within-subject"
    # every subject has a single condition: the subject is the unit that is permuted
    subj, first = np.unique(subjects, return_index=True)
    inv = np.searchsorted(subj, subjects)
    subj_lab = labels[first]
    for b in range(n_perm):
        perms[b] = subj_lab[rng.permutation(subj.size)][inv]
    return perms, "between-subject"


def compare_conditions(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    by: str = "condition",
    *,
    encoding: EncodingMap | None = None,
    n_perm: int = 1000,
    order: Sequence[str] | None = None,
    seed: int | None = 0,
    **encoding_kwargs: Any,
) -> pd.DataFrame:
    """Compare conditions (e.g. naive vs expert) under one shared representation.

    For each condition and component: the fraction of the condition's neurons that encode the
    component (``q < fdr`` in the :func:`encoding_map`), the encoding strength (mean held-out
    drop-one ΔR² over all the condition's neurons, a threshold-free measure) and the
    component's peak lag (of the weighted mean of the sessions' own filters, see
    ``_session_filters``). Row ``component="any"`` gives the fraction encoding the shared
    model at all and its mean held-out R². Differences are tested by permuting condition labels
    among the sessions of each subject (the paired design of a longitudinal study); when no
    subject was recorded in two conditions, labels are permuted between subjects instead and
    the table says so. Two conditions: the statistic is the difference (second minus first,
    two-sided p); more: the range over conditions.

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

    Returns
    -------
    pandas.DataFrame
        Index ``(component, measure)`` with measures ``fraction_encoding``, ``strength``,
        ``peak_lag`` (samples; and ``peak_lag_s`` in seconds when the rate is known); one
        column per condition, then ``difference`` (or ``range``), ``p_value``. ``attrs`` hold
        ``permutation`` (scheme), ``n_perm``, ``fdr``, ``n_sessions`` and ``n_neurons`` per
        condition.
    """
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
    perms, scheme = _label_permutations(subjects, labels, n_perm, rng)
    names = list(cohort.names)
    d = encoding.n_components
    # per-session sufficient summaries: counts and sums, so that any labelling aggregates fast
    nn = encoding.neurons.groupby("session", sort=False)
    n_s = nn.size().reindex(names).to_numpy(float)
    enc_any = nn["encodes"].sum().reindex(names).to_numpy(float)
    r2_any = nn["r2"].sum().reindex(names).to_numpy(float)
    n_ok = nn["r2"].count().reindex(names).to_numpy(float)
    cc = encoding.components.groupby(["session", "component"], sort=False)
    enc_c = cc["encodes"].sum().unstack().reindex(index=names, columns=range(d)).to_numpy(float)
    dr2_c = cc["delta_r2"].sum().unstack().reindex(index=names, columns=range(d)).to_numpy(float)
    if all(n in encoding.stats for n in names):
        stats = [encoding.stats[n] for n in names]
    else:
        from .stats import cohort_stats

        stats = [
            st.total() for st in cohort_stats(cohort, model.expansion_, chunk_size=model.chunk_size)
        ]
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
    if len(conds) == 2:
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


# -- private dimensions and the split of explained variance ------------------------------------
def variance_split(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    max_private: int = 5,
    *,
    folds: int = 5,
    rule: str = "1se",
    ceiling_alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
) -> pd.DataFrame:
    """Per session: held-out variance explained by shared, shared + private and full-rank models.

    For each fold ``k``, ``W`` is refitted on the other folds of every session (the model's
    parameters), each session's readout too, and the session's *private* dimensions are a
    reduced-rank ridge regression of what the shared part leaves, on the same training data:
    the top generalised eigenvectors of ``(A_r A_r', C + alpha I)`` with the residual
    cross-products ``A_r = A - C W V`` (all in q-space). The ceiling is a full-rank ridge
    regression of the session alone, with its ridge the best of ``ceiling_alphas`` for that
    session (the maximum over a grid is slightly optimistic, as befits a ceiling). Everything
    is scored on the held-out fold.

    Parameters
    ----------
    model : ShaReD
        Gives rank, ridge, lags, etc.
    cohort : Cohort or list of Session
    max_private : int
        Largest number of private dimensions tried per session.
    folds : int
    rule : {"1se", "max"}
        How the number of private dimensions is chosen per session from its held-out R² curve
        (the standard error is over folds).
    ceiling_alphas : sequence of float
        Ridge penalties tried for the full-rank ceiling.

    Returns
    -------
    pandas.DataFrame
        Index ``session``; columns ``subject``, ``condition``, ``n_private`` (chosen),
        ``r2_shared``, ``r2_private`` (shared + chosen private), ``r2_full`` (full-rank ridge),
        ``alpha_full`` (its ridge),
        ``shared_fraction`` (``r2_shared / r2_full``), ``private_fraction``
        (``(r2_private - r2_shared) / r2_full``); ``attrs["curve"]``: held-out R² of each
        session for 0..max_private private dimensions.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be '1se' or 'max', got {rule!r}")
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    params = _aux_params(model)
    fs = _fold_stats(cohort, model, folds)
    K = fs.n_folds
    S = len(cohort)
    alphas = [float(a) for a in ceiling_alphas]
    R = max_private + 1 + len(alphas)  # ranks 0..max_private, then full rank per alpha
    sse = [np.zeros((R, s.n_neurons)) for s in cohort]
    sst = [np.zeros(s.n_neurons) for s in cohort]
    per_fold = np.full((K, S, R), np.nan)
    for k in range(K):
        train = fs.train(k)
        m = ShaReD(**params).fit_from_stats(train, cohort)
        for i, s in enumerate(cohort):
            coefs, fit = _private_coefs(m, train[i], s, max_private, alphas)
            test = fs.stats[i].block(k)
            for r, coef in enumerate(coefs):
                e, t = test.residual_ss(coef, fit.intercept(coef))
                sse[i][r] += e
                per_fold[k, i, r] = np.nanmean(_r2(e, t)) if np.any(t > 0) else np.nan
            sst[i] += t
    rows, curve = [], {}
    for i, s in enumerate(cohort):
        r2 = np.array([np.nanmean(_r2(sse[i][r], sst[i])) for r in range(R)])
        curve[s.name] = r2[: max_private + 1]
        se = np.nanstd(per_fold[:, i, : max_private + 1], axis=0, ddof=1) / np.sqrt(K)
        curve_r2 = r2[: max_private + 1]
        best = int(np.nanargmax(curve_r2))
        if rule == "1se":
            threshold = curve_r2[best] - (se[best] if np.isfinite(se[best]) else 0.0)
            r_best = int(np.flatnonzero(curve_r2 >= threshold)[0])
        else:
            r_best = best
        rows.append(
            (
                s.name,
                s.subject,
                s.condition,
                r_best,
                r2[0],
                r2[r_best],
                float(np.nanmax(r2[max_private + 1 :])),
                alphas[int(np.nanargmax(r2[max_private + 1 :]))],
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "session",
            "subject",
            "condition",
            "n_private",
            "r2_shared",
            "r2_private",
            "r2_full",
            "alpha_full",
        ],
    ).set_index("session")
    out["shared_fraction"] = out["r2_shared"] / out["r2_full"]
    out["private_fraction"] = (out["r2_private"] - out["r2_shared"]) / out["r2_full"]
    out.attrs["curve"] = pd.DataFrame(
        curve, index=pd.Index(range(max_private + 1), name="n_private")
    ).T
    return out


def _private_coefs(
    m: ShaReD, train: SessionStats, s: Session, max_private: int, alphas: Sequence[float]
) -> tuple[list[np.ndarray], SessionFit]:
    """Raw-unit coefficient maps (q, n): shared + 0..max_private private dims, then full-rank
    ridge for each of ``alphas``."""
    std = m.standardize_like_fit([train])
    fit = m._session_fit(std, 0, train, s)  # = m.readout_from_stats(train, s), std reused
    act = std.active
    qa = int(act.sum())
    C0 = std.cov[0][np.ix_(act, act)]
    C = C0 + m.alpha * np.eye(qa)
    A = std.cross[0][act]
    W = m.coef_[act]
    shared = W @ fit.readout
    resid = A - C0 @ shared
    G = resid @ resid.T
    r_max = min(max_private, qa)
    if r_max > 0:
        _, U = sla.eigh((G + G.T) / 2, C, subset_by_index=[qa - r_max, qa - 1])
        U = U[:, ::-1]
    col = m._column_scale[act]
    sd = fit.neural_scale

    def raw(B: np.ndarray) -> np.ndarray:
        out = np.zeros((m.coef_.shape[0], B.shape[1]))
        out[act] = col[:, None] * B * sd[None, :]
        return out

    coefs = []
    for r in range(max_private + 1):
        rr = min(r, r_max)
        if rr == 0:
            coefs.append(raw(shared))
            continue
        Ur = U[:, :rr]
        P = Ur @ np.linalg.solve(Ur.T @ C @ Ur, Ur.T @ resid)
        coefs.append(raw(shared + P))
    for a in alphas:
        coefs.append(raw(np.linalg.solve(C0 + a * np.eye(qa), A)))
    return coefs, fit
