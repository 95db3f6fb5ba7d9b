"""The statistics pass: one chunked read of a session, accumulating its sufficient statistics.

Each chunk of samples is read once (behavior with the margin its lag windows need, neural data
and covariates at its rows), the design of its valid rows is built and multiplied, and the
products are added to the blocks (folds) the rows belong to. Long contiguous runs of rows take
the lagged route of :mod:`sharedrep.stats.lagged` (``Phi'Phi`` from lagged products of the
behavior, no design built); short runs (trials of a few windows) take the direct product.

Numerical care: sums are taken about shifts (the first chunk's means for behavior and
covariates; for a neuron whose mean is large against its spread, its mean too), so that a
constant offset of 1e8 does not cost the variance its digits; non-finite products are traced
to the sample that caused them (a value written after the session was built, a lazy source
holding NaN) or to an overflow of the data's scale.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import Session
from ..data._session import _is_lazy
from ..errors import DataError, SourceError
from ..features import TemporalExpansion, consecutive_runs, drift_basis, valid_rows
from .containers import SessionStats, Shifts
from .lagged import lagged_products, worth_structuring

__all__ = [
    "DEFAULT_CHUNK_ENTRIES",
    "chunk_ranges",
    "compute_stats",
    "nuisance_names",
    "nuisance_rows",
    "stats_shift",
]

#: default bound on the number of design entries held at once (rows x q), ~64 MB of float64
DEFAULT_CHUNK_ENTRIES = 8_000_000
#: entries of a batch of ``[Phi, nu, 1, y]`` rows (about 2 MB of float64: a core's L2 cache)
_BATCH_ENTRIES = 262_144
#: values beyond these magnitudes overflow or underflow when squared and summed
_HUGE, _TINY = 1e150, 1e-150
#: a neuron is summed about its mean when |mean| exceeds this many standard deviations
_OFFSET_SD = 10.0
#: rows of the first chunk the shifts (and the scale checks) are taken from
_SHIFT_ROWS = 1024
#: from this many behavioral features on, the lagged route also computes Phi'Y lag by lag.
#: Lag by lag reads the neurons once per lag in products of p rows; the design route builds
#: the run's design in cache-sized batches for one product (thinner as q grows). Measured at
#: 40 lags, 8 x 20,000 x 100 (2 cores): the design route faster at p = 10 (1.4x) and p = 25
#: (pass 0.91 -> 0.72 s), lag by lag faster at p = 50 (fold pass 2.98 vs 3.16 s)
LAGGED_CROSS_FEATURES = 40


def nuisance_names(session: Session, drift: int) -> tuple[str, ...]:
    """Names of a session's nuisance columns: its covariates, then ``drift1 .. drift<k>``."""
    return tuple(session.covariate_names) + tuple(f"drift{j}" for j in range(1, drift + 1))


@dataclass
class _Piece:
    """The data of one chunk: the valid rows and everything read for them."""

    rows: np.ndarray  # absolute sample indices of the valid rows, (r,)
    block: np.ndarray  # behavior, float64 copy, samples base .. base + len - 1 (zero-padded)
    base: int  # absolute index of block[0] (may be negative: padding before the recording)
    segments: np.ndarray | None  # segment label of each block sample (-1 beyond the recording)
    y: np.ndarray  # neural samples holding the rows (a view of the caller's data, any dtype)
    y_pos: np.ndarray  # positions of the rows in ``y``, sorted, (r,)
    nu: np.ndarray  # nuisance regressors at the rows, (r, c)
    omitted: np.ndarray  # absolute indices of unusable samples among the chunk's own samples
    fill: np.ndarray  # the value of "zero" of zero-padded features in the block's coordinates


def _explained_not_warned(fn: Callable[..., SessionStats]) -> Callable[..., SessionStats]:
    """Run ``fn`` without numpy's overflow/invalid warnings: the pass checks its products and
    explains a non-finite one (:func:`_not_finite`); numpy's warning would only come first."""

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> SessionStats:
        with np.errstate(over="ignore", invalid="ignore"):  # a new state per call: thread-safe
            return fn(*args, **kwargs)

    return inner


@_explained_not_warned
def compute_stats(
    session: Session,
    expansion: TemporalExpansion,
    *,
    folds: np.ndarray | None = None,
    n_folds: int | None = None,
    gram: bool = False,
    chunk_size: int | None = None,
    rows: slice | tuple[int, int] | None = None,
    shift: Shifts | None = None,
    drift: int = 0,
    out: np.ndarray | None = None,
) -> SessionStats:
    """One pass over a session, accumulating its sufficient statistics.

    Parameters
    ----------
    session : Session
    expansion : TemporalExpansion
        Lags (basis, zero-padded features) of the design.
    folds : ndarray of int, shape (n_samples,), optional
        Block index ``0 .. n_folds-1`` of each sample; statistics are kept per block.
    n_folds : int, optional
        Number of blocks (default ``folds.max() + 1``, or 1 without folds).
    gram : bool
        Accumulate the full neural Gram matrix ``y'y`` (n x n) instead of per-neuron sums of
        squares. Costs ``n^2`` per row; only the ``"correlation"`` objective needs it.
    chunk_size : int, optional
        Samples per chunk. Peak memory is about ``chunk_size * (p + n)`` floats of data, plus at
        most ``chunk_size * q`` of design (built only for runs too short for the lagged
        route), plus the ``q * (q + n)`` statistics, whatever the recording length. Default:
        ~64 MB of data per chunk and of design at once.
    rows : slice or (start, stop), optional
        Only the rows (samples ``t`` of the design) in ``[start, stop)`` enter; the lag window
        may reach before ``start``. Statistics of disjoint ranges taken about the same
        ``shift`` add up to those of their union (this is how a cluster splits a session).
        A range without a valid row gives zero statistics.
    shift : Shifts, optional
        Values the sums are taken about (default: from the first chunk, see
        :func:`stats_shift`).
    drift : int
        Number of smooth functions of recording time (:func:`~sharedrep.features.drift_basis`)
        added to the session's covariates as nuisance regressors.
    out : ndarray, shape (K, q, q), optional
        Where to accumulate ``phi_phi`` (zeroed first; C-ordered float64). A caller that stacks
        the sessions' Grams (:meth:`~sharedrep.backend.SerialBackend.cohort_stats`) gives
        each session its slice of one array, which a fit can then standardize in place.

    Returns
    -------
    SessionStats

    Raises
    ------
    DataError
        The session is too short for the lags (no valid row); a value read is NaN or inf under
        ``nan_policy="raise"`` (a lazy source, or an array changed after the session was
        built); values so large or small that their squares overflow or underflow.
    SourceError
        A lazily read source could not be read (e.g. its file disappeared); names the session.
    """
    name = session.name or "<unnamed>"
    p, n = session.n_features, session.n_neurons
    expansion.check_features(p)
    q = expansion.n_columns(p)
    start, stop = _row_range(session, rows)
    if not expansion.pads_all and expansion.span > session.n_samples:
        raise _too_short(session, expansion)  # before allocating a design that cannot exist
    if folds is None:
        fold_of = None
        K = 1 if n_folds is None else int(n_folds)
    else:
        fold_of = np.asarray(folds, dtype=np.int64)
        K = int(fold_of.max()) + 1 if n_folds is None else int(n_folds)
    c = session.n_covariates + int(drift)
    if shift is not None:
        for what, got, want in (("x", shift.x, p), ("nu", shift.nu, c), ("y", shift.y, n)):
            if np.shape(got) != (want,):
                raise ValueError(
                    f"session {name!r}: shift.{what} must have shape ({want},), got {np.shape(got)}"
                )
    step = _chunk_rows(session, c, chunk_size)
    batch = _batch_rows(q + c + 1 + n, chunk_size)  # rows of [Phi, nu, 1, y] built at once

    count, omitted = np.zeros(K), np.zeros(K)
    sum_phi, sum_y, sum_nu = np.zeros((K, q)), np.zeros((K, n)), np.zeros((K, c))
    phi_phi = _zeroed(out, (K, q, q), name)
    phi_y, phi_nu = np.zeros((K, q, n)), np.zeros((K, q, c))
    nu_nu, nu_y = np.zeros((K, c, c)), np.zeros((K, c, n))
    y_sq = np.zeros((K, n, n)) if gram else np.zeros((K, n))
    sum_x, sum_xx = np.zeros((K, p)), np.zeros((K, p))
    # without a basis the design is built lag-major (faster gathers): Phi'Phi is added to the
    # totals in the design's feature-major order, the other statistics reordered at the end
    lag_major = expansion.basis is None
    lag_to_basis = None if lag_major else _basis_map(expansion, p)
    t = q + c + 1  # columns of [Phi, nu, 1]
    width = t + n  # columns of [Phi, nu, 1, y]
    buf = np.empty((0, width))

    for piece in _pieces(session, expansion, step, start, stop, drift):
        if fold_of is not None and piece.omitted.size:
            np.add.at(omitted, fold_of[piece.omitted], 1)
        elif piece.omitted.size:
            omitted[0] += piece.omitted.size
        if not piece.rows.size:
            continue
        if shift is None:
            shift = _shifts(session, piece)
        _apply_shift(piece, shift, session.n_covariates)
        at = piece.rows - piece.base  # positions of the rows in the block
        x0 = piece.block[at]  # behavior at lag 0
        labels = None if fold_of is None else fold_of[piece.rows]
        blocks = [(0, slice(None))] if labels is None else _split_by_block(labels)
        for k, sel in blocks:
            at_k, pos_k = at[sel], piece.y_pos[sel]
            tail = np.hstack([piece.nu[sel], np.ones((at_k.size, 1))])  # [nu, 1]
            # M = [Phi, nu, 1]'[Phi, nu, 1, y]: one GEMM per batch of rows, as the products of
            # a prebuilt design would be (its tail rows hold the nuisance and count sums)
            M = np.zeros((t, width))
            ysq = np.zeros((n, n)) if gram else np.zeros(n)
            direct, cross_only = [], []
            for a, b in _runs(at_k, piece.segments):
                if not worth_structuring(b - a, expansion.lags.size, expansion.span, p):
                    direct.append((a, b))
                    continue
                z = _run_samples(piece, expansion, int(at_k[a]), b - a)
                # with few features, a product per lag with the neurons is a thin, slow GEMM:
                # the design of the run is then built for Phi'[nu, 1, Y] (one GEMM), and only
                # Phi'Phi, the q^2 part, comes from the lagged route
                per_lag = p >= LAGGED_CROSS_FEATURES
                rhs: tuple[np.ndarray, ...] = ()
                if per_lag:
                    y_run = np.empty((b - a, n))
                    _neural_rows(piece, pos_k[a:b], shift.y, y_run)
                    rhs = (tail[a:b], y_run)
                    M[q:, q:t] += tail[a:b].T @ tail[a:b]
                    M[q:, t:] += tail[a:b].T @ y_run
                    ysq += _squares(y_run, gram)
                else:
                    cross_only.append((a, b))
                if lag_to_basis is None:  # Phi'Phi straight into the fold's total
                    _, crosses = lagged_products(z, expansion.lags, b - a, rhs, into=phi_phi[k])
                else:
                    g, crosses = lagged_products(z, expansion.lags, b - a, rhs)
                    M[:q, :q] += lag_to_basis.T @ g @ lag_to_basis
                    crosses = [lag_to_basis.T @ c for c in crosses]
                if per_lag:
                    M[:q, q:t] += crosses[0]
                    M[:q, t:] += crosses[1]
            for runs, gram_too in ((direct, True), (cross_only, False)):
                for idx in _batches(runs, batch):
                    rows_k = at_k[idx]
                    if buf.shape[0] < rows_k.size:
                        buf = np.empty((rows_k.size, width))
                    rows_buf = buf[: rows_k.size]  # [Phi, nu, 1, y] of the batch
                    build = expansion.lag_major_rows if lag_major else expansion.design_rows
                    phi = rows_buf[:, :q]
                    build(piece.block, rows_k, phi, segments=piece.segments, fill=piece.fill)
                    rows_buf[:, q:t] = tail[idx]
                    y_b = rows_buf[:, t:]
                    _neural_rows(piece, pos_k[idx], shift.y, y_b)
                    left = rows_buf[:, :t]
                    if gram_too:  # a symmetric product (BLAS syrk: half the flops of a GEMM)
                        M[:, :t] += left.T @ left
                    # Phi'Phi of runs on the lagged route came from there
                    skip = t if gram_too else q
                    M[:, skip:] += left.T @ rows_buf[:, skip:]
                    ysq += _squares(y_b, gram)
            # M's q x q block holds the direct rows (and, with a basis, the lagged ones)
            in_M = bool(direct) or not lag_major
            # a Gram's off-diagonal entries are bounded by its diagonal: the lagged part, added
            # to the totals already, is finite when their diagonal is
            if not (
                np.isfinite(M if in_M else M[:, q:]).all()
                and np.isfinite(np.diagonal(phi_phi[k])).all()
            ):
                raise _not_finite(session, piece)
            if in_M:
                pp = M[:q, :q]
                # the direct rows' product is symmetric exactly (syrk); the basis-mapped
                # lagged part B'(Phi'Phi)B only to round-off
                if lag_to_basis is not None:
                    pp += pp.T
                    pp *= 0.5
                if lag_major:  # added in the design's feature-major order, in place
                    L = expansion.lags.size
                    phi_phi[k].reshape(p, L, p, L)[...] += pp.reshape(L, p, L, p).transpose(
                        1, 0, 3, 2
                    )
                else:
                    phi_phi[k] += pp
            phi_nu[k] += M[:q, q : q + c]
            sum_phi[k] += M[:q, q + c]
            phi_y[k] += M[:q, t:]
            nu_nu[k] += M[q : q + c, q : q + c]
            sum_nu[k] += M[q + c, q : q + c]
            count[k] += M[q + c, q + c]
            nu_y[k] += M[q : q + c, t:]
            sum_y[k] += M[q + c, t:]
            y_sq[k] += ysq
            xk = x0[sel]
            sum_x[k] += xk.sum(axis=0)
            sum_xx[k] += np.einsum("ij,ij->j", xk, xk)

    if shift is None:  # no valid row in the range
        if rows is None:
            raise _too_short(session, expansion, int(omitted.sum()))
        raise ValueError(
            f"session {name!r}: rows {start}..{stop} hold no valid row; pass the session's "
            "shift (see stats_shift) so that empty ranges give zero statistics"
        )
    if lag_major:
        order = expansion.lag_major_order(p)
        sum_phi, phi_y, phi_nu = sum_phi[:, order], phi_y[:, order], phi_nu[:, order]
    # the shift seen through the design: a constant behavior block of one window
    tau_max = expansion.window[1]
    shift_phi = expansion.design_rows(np.tile(shift.x, (expansion.span, 1)), np.array([tau_max]))[0]
    return SessionStats(
        name,
        count,
        sum_phi,
        sum_y,
        phi_phi,
        phi_y,
        y_sq,
        sum_x,
        sum_xx,
        sum_nu,
        nu_nu,
        phi_nu,
        nu_y,
        omitted,
        shift,
        shift_phi,
        nuisance_names(session, int(drift)),
    )


def _zeroed(out: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``out`` zeroed, after checking it can hold a session's ``phi_phi``; a new array without."""
    if out is None:
        return np.zeros(shape)
    if out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(
            f"session {name!r}: out must be a C-ordered float64 array of shape {shape}, got "
            f"{out.dtype} {out.shape}"
        )
    out[...] = 0.0
    return out


def _basis_map(expansion: TemporalExpansion, p: int) -> np.ndarray:
    """``(L p, p k)``: lag-major lag-space design columns to the feature-major basis design."""
    B = expansion.basis
    L, k = B.shape
    out = np.zeros((L, p, p, k))
    out[:, np.arange(p), np.arange(p), :] = B[:, None, :]
    return out.reshape(L * p, p * k)


def _runs(at: np.ndarray, segments: np.ndarray | None) -> list[tuple[int, int]]:
    """``[a, b)`` positions in ``at`` of runs of consecutive samples within one segment."""
    if at.size == 0:
        return []
    cut = np.diff(at) != 1
    if segments is not None:
        cut |= segments[at[1:]] != segments[at[:-1]]
    edges = np.flatnonzero(cut) + 1
    starts, stops = np.r_[0, edges], np.r_[edges, at.size]
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _run_samples(
    piece: _Piece, expansion: TemporalExpansion, first: int, n_rows: int
) -> np.ndarray:
    """The block samples a run of rows reads, zero-padded features set to "zero" outside the
    run's segment (the lagged route needs them as values, not as a rule)."""
    tau_min, tau_max = expansion.window
    z = piece.block[first - tau_max : first + n_rows - tau_min]
    if expansion.zero_edges is not None and piece.segments is not None:
        seg = piece.segments[first - tau_max : first + n_rows - tau_min]
        out = seg != piece.segments[first]
        if out.any():
            z = z.copy()
            zero = np.flatnonzero(expansion.zero_edges)
            z[np.ix_(np.flatnonzero(out), zero)] = piece.fill[zero]
    return z


def _batches(runs: list[tuple[int, int]], size: int) -> list[slice | np.ndarray]:
    """Row selections of at most ``size`` rows covering ``runs`` (slices where the runs touch:
    views of the rows, no copies)."""
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and merged[-1][1] == a:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) == 1:
        a, b = merged[0]
        return [slice(i, min(i + size, b)) for i in range(a, b, size)]
    if not merged:
        return []
    idx = np.concatenate([np.arange(a, b) for a, b in merged])
    return [idx[i : i + size] for i in range(0, idx.size, size)]


def _split_by_block(labels: np.ndarray) -> list[tuple[int, np.ndarray | slice]]:
    """Row selections of each block label within a chunk (slices when sorted, no copies)."""
    if labels[0] == labels[-1] and np.all(labels == labels[0]):
        return [(int(labels[0]), slice(None))]
    if np.all(labels[1:] >= labels[:-1]):
        edges = np.flatnonzero(np.diff(labels)) + 1
        starts, stops = np.r_[0, edges], np.r_[edges, labels.size]
        return [(int(labels[a]), slice(a, b)) for a, b in zip(starts, stops, strict=True)]
    return [(int(k), np.flatnonzero(labels == k)) for k in np.unique(labels)]


def _neural_rows(piece: _Piece, pos: np.ndarray, shift_y: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = y[pos] - shift_y`` in float64, for a batch small enough to stay in cache
    (the caller's array is read once, never copied whole, never written)."""
    runs = consecutive_runs(pos)
    if runs is not None:  # continuous data or trials: a block copy per run of samples
        for a, b in runs:
            start = int(pos[a])
            out[a:b] = piece.y[start : start + b - a]
    elif piece.y.dtype == out.dtype and piece.y.flags.c_contiguous:
        np.take(piece.y, pos, axis=0, out=out)  # one copy (fancy indexing makes two)
    else:
        out[...] = piece.y[pos]
    if shift_y.any():
        out -= shift_y


def _squares(y: np.ndarray, gram: bool) -> np.ndarray:
    """The neurons' sums of squares (n,), or their Gram matrix (n, n)."""
    return y.T @ y if gram else np.einsum("ij,ij->j", y, y)


# -- shifts ------------------------------------------------------------------------------------
def _shifts(session: Session, piece: _Piece) -> Shifts:
    """Shifts from the first rows of the first chunk with valid rows: their means (see the
    module docstring). Any shift near the mean keeps the sums accurate, so a few thousand
    rows are enough; non-finite values further on are traced when the products are checked."""
    head = slice(0, _SHIFT_ROWS)
    at = (piece.rows - piece.base)[head]
    x0, nu_head = piece.block[at], piece.nu[head]
    y = np.asarray(piece.y[piece.y_pos[head]], dtype=float)
    c_cov = session.n_covariates
    if not all(np.isfinite(a).all() for a in (x0, y, nu_head[:, :c_cov])):
        raise _not_finite(session, piece)  # before a NaN shift hides where it came from
    _check_scale(session, x0, "behavior", session.feature_names)
    _check_scale(session, y, "neural", session.neuron_names)
    if c_cov:
        _check_scale(session, nu_head[:, :c_cov], "covariates", session.covariate_names)
    mean_y = y.mean(axis=0)
    sd_y = y.std(axis=0)
    shift_y = np.where(np.abs(mean_y) > _OFFSET_SD * sd_y, mean_y, 0.0)
    nu = np.zeros(piece.nu.shape[1])
    nu[:c_cov] = nu_head[:, :c_cov].mean(axis=0)
    return Shifts(x0.mean(axis=0), nu, shift_y)


def _apply_shift(piece: _Piece, shift: Shifts, n_covariates: int) -> None:
    piece.block -= shift.x  # samples beyond the recording (raw 0) become -shift: "zero"
    piece.fill = -shift.x
    if n_covariates:
        piece.nu[:, :n_covariates] -= shift.nu[:n_covariates]
    # the neurons are shifted batch by batch as they are gathered (_neural_rows)


def _check_scale(session: Session, values: np.ndarray, what: str, names) -> None:
    """Refuse data whose squares overflow or underflow (the fit would silently lose them)."""
    peak = np.abs(values).max(axis=0) if values.size else np.zeros(values.shape[1])
    bad = (peak > _HUGE) | ((peak > 0) & (peak < _TINY))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"session {session.name or '<unnamed>'!r}: {what} {names[j]!r} has values of "
            f"magnitude {peak[j]:.3g}, whose squares {'overflow' if peak[j] > 1 else 'underflow'}"
            " double precision; rescale it (e.g. to standard deviation 1 or to sensible units)"
        )


def stats_shift(
    session: Session,
    expansion: TemporalExpansion,
    *,
    chunk_size: int | None = None,
    drift: int = 0,
) -> Shifts:
    """The shifts a whole-session :func:`compute_stats` pass uses (from the first chunk).

    Statistics of chunks of one session add only when they are taken about the same shifts;
    compute them once with this function (it reads one chunk) and pass them to every
    per-chunk :func:`compute_stats` call.

    Parameters
    ----------
    session : Session
    expansion : TemporalExpansion
    chunk_size : int, optional
        As in :func:`compute_stats` (the same value gives the same shifts).
    drift : int
        As in :func:`compute_stats`.

    Returns
    -------
    Shifts
    """
    step = _chunk_rows(session, session.n_covariates + drift, chunk_size)
    for piece in _pieces(session, expansion, step, 0, session.n_samples, drift):
        if piece.rows.size:
            return _shifts(session, piece)
    raise _too_short(session, expansion)


# -- chunks --------------------------------------------------------------------------------------
def chunk_ranges(
    session: Session, expansion: TemporalExpansion, *, chunk_size: int | None = None
) -> list[tuple[int, int]]:
    """Sample ranges ``[start, stop)`` of the chunks of a statistics pass (one task each).

    Parameters
    ----------
    session : Session
    expansion : TemporalExpansion
    chunk_size : int, optional
        As in :func:`compute_stats`.

    Returns
    -------
    list of (int, int)
        Consecutive ranges covering ``0 .. n_samples``.
    """
    step = _chunk_rows(session, session.n_covariates, chunk_size)
    T = session.n_samples
    return [(a, min(a + step, T)) for a in range(0, T, step)]


def _chunk_rows(session: Session, n_nuisance: int, chunk_size: int | None) -> int:
    """Samples read per chunk: the data of a chunk (behavior, neurons, nuisance) stay within
    ``DEFAULT_CHUNK_ENTRIES`` values; the design is never built whole (see ``_batch_rows``)."""
    if chunk_size is not None:
        if not (isinstance(chunk_size, int | np.integer) and chunk_size >= 1):
            raise ValueError(f"chunk_size must be a positive number of rows, got {chunk_size!r}")
        return int(chunk_size)
    width = session.n_features + session.n_neurons + n_nuisance + 1
    return max(1024, DEFAULT_CHUNK_ENTRIES // width)


def _batch_rows(width: int, chunk_size: int | None) -> int:
    """Rows of ``[Phi, nu, 1, y]`` the direct route builds at once: a batch that stays in cache
    between being written and being multiplied (a design built whole streams through memory
    twice and, freshly allocated, page-faults on every write)."""
    rows = max(256, _BATCH_ENTRIES // max(width, 1))
    return rows if chunk_size is None else min(rows, int(chunk_size))


def _row_range(session: Session, rows: slice | tuple[int, int] | None) -> tuple[int, int]:
    """``(start, stop)`` sample range of a ``rows`` argument (the whole session for None)."""
    T = session.n_samples
    if rows is None:
        return 0, T
    if isinstance(rows, slice):
        if rows.step not in (None, 1):
            raise ValueError(f"rows must be a contiguous slice, got step {rows.step}")
        start, stop, _ = rows.indices(T)
    else:
        start, stop = (int(v) for v in rows)
    if not 0 <= start <= stop <= T:
        raise ValueError(
            f"session {session.name!r}: rows {start}..{stop} outside the recording (0..{T})"
        )
    return start, stop


def _pieces(
    session: Session,
    expansion: TemporalExpansion,
    step: int,
    start: int,
    stop: int,
    drift: int,
) -> Iterator[_Piece]:
    """The chunks of ``[start, stop)``, ``step`` samples each, aligned to multiples of ``step``
    from sample 0 (a pass over a sub-range reads the same chunks as the whole pass does)."""
    a = (start // step) * step
    while a < stop:
        yield _read_piece(session, expansion, max(a, start), min(a + step, stop), drift)
        a += step


def _read_piece(
    session: Session, expansion: TemporalExpansion, a: int, b: int, drift: int
) -> _Piece:
    """Read samples ``[a, b)`` with the margin their windows need, and find the valid rows."""
    T = session.n_samples
    tau_min, tau_max = expansion.window
    lo, hi = a - max(tau_max, 0), b + max(-tau_min, 0)  # samples rows a..b-1 and their windows
    wa, wb = max(lo, 0), min(hi, T)
    block = np.zeros((hi - lo, session.n_features))
    block[wa - lo : wb - lo] = _read(session, "behavior", wa, wb)  # a float64 copy
    seg = None
    if expansion.zero_edges is not None or session.segments is not None:
        seg = np.full(hi - lo, -1, dtype=np.int64)
        seg[wa - lo : wb - lo] = 0 if session.segments is None else session.segments[wa:wb]
    lazy_omit = session.nan_policy == "omit" and any(_is_lazy(x) for x in session._arrays())
    if lazy_omit:  # the session could not know its unusable samples before reading them
        neural_w = _read(session, "neural", wa, wb)
        cov_w = None if session.covariates is None else _read(session, "covariates", wa, wb)
        usable_w = np.isfinite(block[wa - lo : wb - lo]).all(axis=1)
        usable_w &= np.isfinite(neural_w).all(axis=1)
        if cov_w is not None:
            usable_w &= np.isfinite(cov_w).all(axis=1)
        block[wa - lo : wb - lo][~usable_w] = 0.0  # never read by a valid row; keep finite
    else:
        usable_w = session.usable[wa:wb] if session.n_omitted else None
    seg_w = None if session.segments is None else session.segments[wa:wb]
    ok = valid_rows(wb - wa, expansion.lags, seg_w, usable_w, pad=expansion.pads_all)
    rows = np.flatnonzero(ok[a - wa : b - wa]) + a
    own = usable_w[a - wa : b - wa] if usable_w is not None else None
    omitted = np.empty(0, dtype=np.int64) if own is None else np.flatnonzero(~own) + a
    if lazy_omit:
        y, y_pos = neural_w, rows - wa
        nu = nuisance_rows(
            session, rows, drift, covariates=None if cov_w is None else cov_w[rows - wa]
        )
    elif rows.size:
        first, last = int(rows[0]), int(rows[-1])
        y, y_pos = _read(session, "neural", first, last + 1, copy=False), rows - first
        nu = nuisance_rows(session, rows, drift)
    else:
        y, y_pos = np.zeros((0, session.n_neurons)), rows
        nu = np.zeros((0, session.n_covariates + drift))
    return _Piece(rows, block, lo, seg, y, y_pos, nu, omitted, np.zeros(session.n_features))


def nuisance_rows(
    session: Session, rows: np.ndarray, drift: int, *, covariates: np.ndarray | None = None
) -> np.ndarray:
    """The nuisance regressors of a session at some rows: covariates, then drift functions.

    Parameters
    ----------
    session : Session
    rows : ndarray of int, shape (r,)
        Sorted sample indices.
    drift : int
        Number of drift functions (see :func:`~sharedrep.features.drift_basis`).
    covariates : ndarray, shape (r, c), optional
        The covariates at the rows, when already read.

    Returns
    -------
    ndarray, shape (r, n_covariates + drift)
    """
    parts = [np.zeros((rows.size, 0))]
    if session.covariates is not None:
        if covariates is None and rows.size:
            first, last = int(rows[0]), int(rows[-1])
            covariates = _read(session, "covariates", first, last + 1)[rows - first]
        elif covariates is None:
            covariates = np.zeros((0, session.n_covariates))
        parts.append(np.asarray(covariates, dtype=float).reshape(rows.size, -1))
    if drift:
        parts.append(drift_basis(rows, session.n_samples, drift))
    return np.hstack(parts)


def _read(session: Session, what: str, a: int, b: int, copy: bool = True) -> np.ndarray:
    """Samples ``a .. b-1`` of the session's ``what`` array; a vanished source is named."""
    try:
        values = getattr(session, what)[a:b]
    except (OSError, KeyError, SourceError) as err:
        # a file that vanished or a store that was deleted: say which session and where
        raise SourceError(
            f"session {session.name or '<unnamed>'!r}: could not read {what} samples "
            f"{a}..{b - 1}: {err}"
        ) from err
    out = np.array(values, dtype=float) if copy else np.asarray(values)
    if out.shape[0] != b - a:
        raise SourceError(
            f"session {session.name or '<unnamed>'!r}: reading {what} samples {a}..{b - 1} "
            f"returned {out.shape[0]} samples; the source is shorter than the "
            f"{session.n_samples} samples it had when the session was built"
        )
    return out


def _not_finite(session: Session, piece: _Piece) -> DataError:
    """Explain non-finite products: a NaN/inf in the data read, or an overflow of its scale."""
    name = session.name or "<unnamed>"
    for what, values, lazy in (
        ("behavior", piece.block, _is_lazy(session.behavior)),
        ("neural", piece.y[piece.y_pos], _is_lazy(session.neural)),
        ("covariates", piece.nu, session.covariates is not None and _is_lazy(session.covariates)),
    ):
        bad = ~np.isfinite(values).all(axis=1)
        if what == "behavior":  # only samples of the recording that the analysis uses
            sample = piece.base + np.arange(bad.size)
            inside = (sample >= 0) & (sample < session.n_samples)
            bad &= inside
            if session.n_omitted:
                bad[inside] &= session.usable[sample[inside]]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            sample = piece.base + i if what == "behavior" else int(piece.rows[i])
            why = (
                "found while reading the data; clean it or pass nan_policy='omit'"
                if lazy
                else "the array was changed after the Session was built, which validates its "
                "arrays on construction; build the Session again"
            )
            return DataError(f"session {name!r}: NaN or inf in {what} at sample {sample} ({why})")
    return DataError(
        f"session {name!r}: the statistics overflowed double precision in samples "
        f"{int(piece.rows[0])}..{int(piece.rows[-1])}: the data are too large in magnitude; "
        "rescale behavior and neural data (e.g. to standard deviation 1)"
    )


def _too_short(session: Session, expansion: TemporalExpansion, omitted: int = 0) -> DataError:
    lo, hi = expansion.window
    T = session.n_samples
    if omitted:  # the samples were there: nan_policy="omit" excluded them
        return DataError(
            f"session {session.name or '<unnamed>'!r}: nan_policy='omit' excluded {omitted} of "
            f"its {T} samples (NaN or inf read in them), which leaves no window of "
            f"{expansion.span} consecutive usable samples for lags {lo}..{hi}"
            + (": a neuron or feature that is NaN throughout? Remove it" if omitted >= T else "")
        )
    return DataError(
        f"session {session.name or '<unnamed>'!r} is too short for lags {lo}..{hi}: no window "
        f"of {expansion.span} consecutive samples fits inside one segment (with event "
        "regressors, edges='zero' keeps the samples near a segment's edges)"
    )
