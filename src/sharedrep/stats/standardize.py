"""Standardisation: the statistics of a cohort turned into the matrices the solver works on.

Behavior is centred per session and scaled by the POOLED standard deviation over sessions (one
weight means the same thing in every animal); neural data are centred per session and, by
default, each neuron is scaled to unit variance in its session (each neuron counts equally).
Per-session means and nuisance regressors are profiled out (:meth:`SessionStats.partial`).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SharedRepWarning
from ..features import TemporalExpansion
from .containers import Partial, SessionStats

__all__ = ["Standardized", "pooled_feature_scale", "standardize"]

#: a neuron whose standard deviation is within this many units of round-off (eps x |mean|) of
#: zero is silent: constant data summed about a shift leave a few ulps, real noise far more
SILENT_ULPS = 1e3


@dataclass(frozen=True)
class Standardized:
    """Centred, scaled statistics of a cohort: the inputs of the solver.

    Attributes
    ----------
    names : tuple of str
    cov : ndarray, shape (S, q, q)
        ``C0_s = Phi_s' Phi_s`` of the standardized design (no ridge).
    cross : list of ndarray, shape (q, n_s)
        ``A_s = Phi_s' Y_s`` with neurons scaled by ``neural_scale``.
    y_sq : list of ndarray, shape (n_s,) or (n_s, n_s)
        Centred, scaled sums of squares (or Gram matrices) of neural activity.
    count : ndarray, shape (S,)
    feature_scale : ndarray, shape (p,)
        Pooled standard deviation of each behavioral feature (1 where constant).
    column_scale : ndarray, shape (q,)
        Multiplier applied to each design column (0 for constant features).
    neural_scale : list of ndarray, shape (n_s,)
        Standard deviation used for each neuron (1 for silent neurons or raw units).
    active : ndarray of bool, shape (q,)
        Design columns that carry variance (False for constant features).
    ridge : float
        Added to the diagonal of ``cov`` at informative columns (0: ``cov`` is ``C0_s``).
    partials : list of Partial
        Each session's centred, nuisance-profiled moments in raw units (for the nuisance
        coefficients that go with a fitted model).
    nuisance_r2 : list of ndarray, shape (n_s,)
        In-sample fraction of each neuron's variance explained by its session's nuisance
        regressors (0 without any).
    """

    names: tuple[str, ...]
    cov: np.ndarray
    cross: list[np.ndarray]
    y_sq: list[np.ndarray]
    count: np.ndarray
    feature_scale: np.ndarray
    column_scale: np.ndarray
    neural_scale: list[np.ndarray]
    active: np.ndarray
    ridge: float
    partials: list[Partial]
    nuisance_r2: list[np.ndarray]


def pooled_feature_scale(stats: Sequence[SessionStats]) -> np.ndarray:
    """Pooled standard deviation of each behavioral feature, per-session means removed.

    ``sqrt( sum_s sum_t (x_st - mean_s)^2 / sum_s T_s )``; 0 for a feature constant in every
    session.
    """
    counts, ss = zip(*(s.behavior_moments() for s in stats), strict=True)
    return np.sqrt(np.maximum(np.sum(ss, axis=0), 0.0) / np.sum(counts))


def standardize(
    stats: Sequence[SessionStats],
    expansion: TemporalExpansion,
    feature_names: Sequence[str],
    *,
    zscore_neurons: bool = True,
    feature_scale: np.ndarray | None = None,
    warn: bool = True,
    ridge: float = 0.0,
    overwrite: bool = False,
) -> Standardized:
    """Centre per session, scale behavior by the pooled std and (optionally) z-score neurons.

    Parameters
    ----------
    stats : sequence of SessionStats
        One per session (blocks are summed).
    expansion : TemporalExpansion
    feature_names : sequence of str
        For messages.
    zscore_neurons : bool
        Divide each neuron by its standard deviation in its session (default), so that each
        neuron counts equally; otherwise keep raw units.
    feature_scale : ndarray, shape (p,), optional
        Use these behavior scales instead of pooling them from ``stats`` (to map a new session
        with a fitted model's scaling).
    warn : bool
        Emit warnings for constant features, silent neurons and suspected unit mismatches.
    ridge : float
        Added to the diagonal of the standardized ``C0_s`` at informative columns (the model's
        ``alpha``), in place: the solver then needs no copy of the ``S x q x q`` matrices.
    overwrite : bool
        The caller owns ``stats`` and will not use their ``phi_phi`` again: when these are
        consecutive slices of one array (as :meth:`~sharedrep.backend.SerialBackend.cohort_stats`
        and :meth:`~sharedrep.selection.FoldStats.train` give them), they are standardized in
        place and that array becomes ``cov``, instead of a copy of ``S q^2`` floats (half the
        memory of a fit; at q = 2,000, 8 sessions, 256 MB less). Otherwise they are copied.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, _ = sr.simulate.cohort(n_sessions=2, n_samples=300, n_features=2, seed=0)
    >>> stats = sr.ShaReD(1, lags=range(3)).statistics(cohort)  # one array for all sessions
    >>> expansion = sr.TemporalExpansion(range(3))
    >>> copied = standardize(stats, expansion, cohort.feature_names)
    >>> spent = standardize(stats, expansion, cohort.feature_names, overwrite=True)
    >>> bool(np.allclose(copied.cov, spent.cov)), np.shares_memory(spent.cov, stats[0].phi_phi)
    (True, True)
    """
    stats = [s._one() for s in stats]
    pooled = pooled_feature_scale(stats) if feature_scale is None else np.asarray(feature_scale)
    constant = ~(pooled > 1e-12 * max(1.0, float(np.max(pooled, initial=0.0))))
    if warn and constant.any() and feature_scale is None:
        warnings.warn(
            f"behavior features {[feature_names[i] for i in np.flatnonzero(constant)]} "
            "are constant over the analysed samples of every session; they are left out of the "
            "fit (their loadings are 0). If they are events at the first samples of trials: "
            "with edges='drop' no analysed sample sees them, edges='zero' keeps those samples",
            SharedRepWarning,
            stacklevel=3,
        )
    if warn and feature_scale is None and len(stats) > 1:
        _warn_unit_mismatch(stats, pooled, feature_names)
    safe = np.where(constant, 1.0, pooled)
    col = expansion.column_scale(np.where(constant, 0.0, 1.0 / safe))
    q = col.size
    cov = _stacked([s.phi_phi[0] for s in stats]) if overwrite else None
    if cov is None:
        cov = np.empty((len(stats), q, q))
    active = np.flatnonzero(col != 0)
    crosses, ysqs, nscales, partials, nuis = [], [], [], [], []
    for i, s in enumerate(stats):
        # cov[i] scaled: standardized units (in place when it is the session's phi_phi)
        part = s.partial(out=cov[i], column_scale=col)
        cov_phi, cross, y_sq = part.cov_phi, part.cross, part.y_sq
        total = part.y_sq_centred / s.count[0]
        var = (np.diag(y_sq) if y_sq.ndim == 2 else y_sq) / s.count[0]
        # silent: no variance beyond the round-off of the neuron's own values (1e8 + noise of
        # sd 1 is not silent: doubles resolve it to 1e-8, and the sums are taken about a shift),
        # or none left once the nuisance regressors explained it
        resolution = SILENT_ULPS * np.finfo(float).eps * np.abs(s.means()[1])
        silent = ~(total > resolution**2 + np.finfo(float).tiny)
        silent |= ~(var > 1e-12 * total)
        if warn and silent.any():
            warnings.warn(
                f"session {s.name!r}: {int(silent.sum())} silent neuron(s) (no variance "
                f"over the analysed samples), index {np.flatnonzero(silent)[:10].tolist()}"
                "; they are kept with zero readout and R² NaN",
                SharedRepWarning,
                stacklevel=3,
            )
        sd = np.where(silent | (not zscore_neurons), 1.0, np.sqrt(np.where(silent, 1.0, var)))
        if ridge:
            cov_phi[active, active] += ridge
        crosses.append(cross * col[:, None] / sd[None, :])
        ysqs.append(y_sq / np.outer(sd, sd) if y_sq.ndim == 2 else y_sq / sd**2)
        nscales.append(sd)
        partials.append(part)
        nuis.append(np.where(total > 0, 1 - var / np.where(total > 0, total, 1.0), 0.0))
    return Standardized(
        names=tuple(s.name for s in stats),
        cov=cov,
        cross=crosses,
        y_sq=ysqs,
        count=np.array([s.count[0] for s in stats]),
        feature_scale=np.where(constant, 1.0, pooled),
        column_scale=col,
        neural_scale=nscales,
        active=col != 0,
        ridge=float(ridge),
        partials=partials,
        nuisance_r2=nuis,
    )


def _stacked(blocks: Sequence[np.ndarray]) -> np.ndarray | None:
    """The writeable, C-ordered ``(S, q, q)`` array whose slices are ``blocks``, in order, or
    None when they are not consecutive slices of one such array."""
    root = blocks[0]
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (
        root.flags.c_contiguous
        and root.flags.writeable
        and root.dtype == np.float64
        and root.size == len(blocks) * blocks[0].size
    ):
        return None
    stacked = root.reshape(len(blocks), *blocks[0].shape)  # a view: root is contiguous
    # the same memory, shape and strides: each block is that slice of the stack
    same = all(
        b.__array_interface__ == v.__array_interface__ for b, v in zip(blocks, stacked, strict=True)
    )
    return stacked if same else None


#: sessions already warned about by :func:`_warn_unit_mismatch`, by the identity of their
#: statistics pass (every fold and total of one pass shares its ``shift_x`` array): one warning
#: per session and pass, however many folds and refits standardize it
_UNITS_WARNED: dict[int, weakref.ref] = {}
#: a session's spread this many times off the reference (either way) suggests other units
UNIT_RATIO = 10.0


def _first_time(stats: Sequence[SessionStats]) -> bool:
    """True the first time these sessions' statistics pass is seen (then remembered)."""
    keys = [id(s.shift_x) for s in stats]
    known = [_UNITS_WARNED.get(k) for k in keys]
    if all(r is not None and r() is s.shift_x for r, s in zip(known, stats, strict=True)):
        return False
    for k, s in zip(keys, stats, strict=True):
        _UNITS_WARNED[k] = weakref.ref(s.shift_x, lambda _, k=k: _UNITS_WARNED.pop(k, None))
    return True


def _warn_unit_mismatch(
    stats: Sequence[SessionStats], pooled: np.ndarray, feature_names: Sequence[str]
) -> None:
    """Warn about sessions whose behavior spread is >10x off the others' (units differ?).

    The reference of a feature is the median over sessions of their standard deviations, so
    one session in other units is named, not the sessions around it (the pooled standard
    deviation is dominated by the outlier). With two sessions the median is their mean and no
    majority says which one is off: the warning names both and gives their ratio. Each session
    is warned about once per statistics pass, however many folds standardize it, with the
    ratio of the first standardization (in cross-validation, a training fold's).
    """
    sd = np.stack(
        [np.sqrt(np.maximum(ss, 0.0) / c) for c, ss in (s.behavior_moments() for s in stats)]
    )  # (S, p)
    names = [s.name for s in stats]
    ok = pooled > 0
    if len(stats) == 2:
        a, b = sd
        ratio = np.divide(a, b, out=np.ones_like(a), where=(b > 0) & ok)
        off = ok & (a > 0) & (b > 0) & ((ratio > UNIT_RATIO) | (ratio < 1 / UNIT_RATIO))
        if off.any() and _first_time(stats):
            shown = ", ".join(f"{feature_names[j]} {ratio[j]:.3g}" for j in np.flatnonzero(off))
            warnings.warn(
                f"sessions {names[0]!r} and {names[1]!r}: their standard deviations of behavior "
                f"differ more than {UNIT_RATIO:g}x (ratio {names[0]} / {names[1]}: {shown}); "
                "with two sessions there is no majority to say which one is off. Behavior is "
                "scaled by the pooled standard deviation so that a weight means the same in "
                "every session. Are the units the same?",
                SharedRepWarning,
                stacklevel=4,
            )
        return
    reference = np.median(sd, axis=0)
    ratio = sd / np.where(reference > 0, reference, 1.0)
    off = ok & (reference > 0) & (sd > 0) & ((ratio > UNIT_RATIO) | (ratio < 1 / UNIT_RATIO))
    for i in np.flatnonzero(off.any(axis=1)):
        if not _first_time([stats[i]]):
            continue
        shown = ", ".join(f"{feature_names[j]} {ratio[i, j]:.3g}" for j in np.flatnonzero(off[i]))
        warnings.warn(
            f"session {names[i]!r}: its behavior's spread is more than {UNIT_RATIO:g}x off the "
            f"other sessions' (ratio of its standard deviation to the median session's: "
            f"{shown}). Behavior is scaled by the pooled standard deviation so that a weight "
            "means the same in every session. Are the units the same as the others'?",
            SharedRepWarning,
            stacklevel=4,
        )
