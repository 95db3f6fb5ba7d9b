"""Sufficient statistics: one chunked pass over each session, then everything in q-space.

For each session and each block of samples (a cross-validation fold, or the whole session) we
accumulate raw sums of the lagged design ``phi`` (q columns) and the neural data ``y``
(n columns):

    count, sum(phi), sum(y), phi'phi, phi'y, sum(y**2)  [or y'y],  sum(x), sum(x**2)

where ``x`` is behavior at the valid rows (for the pooled standard deviation). Behavior sums are
taken about a per-session shift (the first chunk's means) for numerical accuracy. Blocks add, so the
statistics of a training set are ``total - held-out fold``; nothing here needs the raw data again.

:func:`standardize` turns the statistics of a cohort into the centred, scaled matrices of the
model (``C_s``, ``A_s``, ...) that the solver works on.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .data import Session, _is_lazy
from .errors import DataError, SharedRepWarning, SourceError
from .features import TemporalExpansion, valid_rows

__all__ = [
    "SessionStats",
    "StackedStats",
    "Standardized",
    "chunk_ranges",
    "compute_stats",
    "stack",
    "standardize",
    "stats_shift",
]

#: default bound on the number of design entries held at once (rows x q), ~64 MB of float64
DEFAULT_CHUNK_ENTRIES = 8_000_000


@dataclass(frozen=True)
class SessionStats:
    """Additive statistics of one session, per block of samples.

    All arrays have a leading block axis of length K (folds; K = 1 for a whole session).
    Sums are about ``shift_x`` (behavior) and ``shift_y`` (neural).

    Attributes
    ----------
    name : str
        Session name.
    count : ndarray, shape (K,)
        Number of valid rows.
    sum_phi : ndarray, shape (K, q)
    sum_y : ndarray, shape (K, n)
    phi_phi : ndarray, shape (K, q, q)
    phi_y : ndarray, shape (K, q, n)
    y_sq : ndarray, shape (K, n) or (K, n, n)
        Sum of squares per neuron, or the full neural Gram matrix when requested (needed by the
        ``"correlation"`` objective).
    sum_x, sum_xx : ndarray, shape (K, p)
        Sum and sum of squares of behavior at the valid rows (lag 0).
    shift_x : ndarray, shape (p,)
    shift_y : ndarray, shape (n,)
    shift_phi : ndarray, shape (q,)
        The behavior shift seen through the design (per column).
    """

    name: str
    count: np.ndarray
    sum_phi: np.ndarray
    sum_y: np.ndarray
    phi_phi: np.ndarray
    phi_y: np.ndarray
    y_sq: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    shift_phi: np.ndarray

    _BLOCKED = ("count", "sum_phi", "sum_y", "phi_phi", "phi_y", "y_sq", "sum_x", "sum_xx")

    @property
    def n_blocks(self) -> int:
        """Number of blocks K."""
        return int(self.count.shape[0])

    @property
    def has_gram(self) -> bool:
        """Whether the full neural Gram matrix was accumulated."""
        return self.y_sq.ndim == 3

    def _map(self, fn) -> SessionStats:
        return replace(self, **{k: fn(getattr(self, k)) for k in self._BLOCKED})

    def total(self) -> SessionStats:
        """Sum over blocks (K = 1)."""
        return self._map(lambda a: a.sum(axis=0, keepdims=True))

    def block(self, k: int | Sequence[int]) -> SessionStats:
        """Statistics of block(s) ``k`` only, summed."""
        idx = np.atleast_1d(k)
        return self._map(lambda a: a[idx].sum(axis=0, keepdims=True))

    def without(self, k: int | Sequence[int]) -> SessionStats:
        """Statistics of all blocks except ``k``: the training set of fold ``k``."""
        keep = np.setdiff1d(np.arange(self.n_blocks), np.atleast_1d(k))
        return self.block(keep)

    def __add__(self, other: SessionStats) -> SessionStats:
        """Block-wise sum of two statistics of the same session (same shifts)."""
        if not (
            np.array_equal(self.shift_x, other.shift_x)
            and np.array_equal(self.shift_y, other.shift_y)
        ):
            raise ValueError(
                f"session {self.name!r}: cannot add statistics taken about different shifts"
            )
        return replace(self, **{k: getattr(self, k) + getattr(other, k) for k in self._BLOCKED})

    # -- centred moments of the single block -----------------------------------------------
    def _one(self) -> SessionStats:
        return self if self.n_blocks == 1 else self.total()

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Means of the design ``(q,)`` and of neural activity ``(n,)`` over valid rows."""
        s = self._one()
        c = s.count[0]
        return s.sum_phi[0] / c + s.shift_phi, s.sum_y[0] / c + s.shift_y

    def centered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centred cross-products of the whole (summed) statistics.

        Returns
        -------
        cov_phi : ndarray, shape (q, q)
            ``sum (phi - mean)(phi - mean)'`` (not divided by the count).
        cross : ndarray, shape (q, n)
            ``sum (phi - mean)(y - mean)'``.
        y_sq : ndarray, shape (n,) or (n, n)
            Centred sum of squares per neuron, or the centred Gram matrix.
        """
        s = self._one()
        c = s.count[0]
        mp, my = s.sum_phi[0] / c, s.sum_y[0] / c
        cov_phi = s.phi_phi[0] - c * np.outer(mp, mp)
        cross = s.phi_y[0] - c * np.outer(mp, my)
        y_sq = s.y_sq[0] - c * (np.outer(my, my) if s.has_gram else my * my)
        return cov_phi, cross, y_sq

    def residual_ss(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron residual and total sums of squares of a linear prediction.

        The prediction is ``y_hat = intercept + phi @ coef`` in the session's raw units (e.g. a
        model fitted on other blocks); the total sum of squares is about this block's own mean,
        so ``1 - sse / sst`` is the held-out R². See :meth:`StackedStats.residual_ss`.

        Parameters
        ----------
        coef : ndarray, shape (q, n)
        intercept : ndarray, shape (n,)

        Returns
        -------
        sse, sst : ndarray, shape (n,)
        """
        return stack([self]).residual_ss(coef, intercept)

    def behavior_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Count-weighted centred behavior: ``(count, sum (x - mean)^2)`` per feature."""
        s = self._one()
        c = s.count[0]
        return c, s.sum_xx[0] - s.sum_x[0] ** 2 / c


@dataclass(frozen=True)
class StackedStats:
    """Single-block statistics of several sessions side by side, to score them all at once.

    Design-axis arrays are stacked over sessions; neuron-axis arrays are concatenated over
    sessions, with ``session`` telling which session each neuron belongs to. Sums are about the
    shifts, as in :class:`SessionStats`.

    Attributes
    ----------
    count : ndarray, shape (S,)
    sum_phi, shift_phi : ndarray, shape (S, q)
    phi_phi : ndarray, shape (S, q, q)
    phi_y : ndarray, shape (q, N)
        ``N`` is the total number of neurons.
    sum_y, y_sq, shift_y : ndarray, shape (N,)
        ``y_sq`` is the sum of squares of each neuron (the diagonal of a Gram matrix).
    session : ndarray of int, shape (N,)
        Position of each neuron's session.
    offsets : ndarray of int, shape (S + 1,)
        Neurons of session ``s`` are ``offsets[s]:offsets[s + 1]``.
    """

    count: np.ndarray
    sum_phi: np.ndarray
    shift_phi: np.ndarray
    phi_phi: np.ndarray
    phi_y: np.ndarray
    sum_y: np.ndarray
    y_sq: np.ndarray
    shift_y: np.ndarray
    session: np.ndarray
    offsets: np.ndarray

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Means of the design ``(S, q)`` and of each neuron ``(N,)`` over valid rows."""
        mean_phi = self.sum_phi / self.count[:, None] + self.shift_phi
        return mean_phi, self.sum_y / self.count[self.session] + self.shift_y

    def intercept(self, readout: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
        """Intercepts ``(N,)`` that centre the prediction ``phi @ basis @ readout`` on these
        statistics' means (as :meth:`sharedrep.estimator.SessionFit.intercept` does for one
        session); ``basis`` None means ``readout`` is the full ``(q, N)`` coefficient matrix."""
        mean_phi, mean_y = self.means()
        proj = mean_phi if basis is None else mean_phi @ basis
        return mean_y - _rowdot(proj, readout, self.session)

    def residual_ss(
        self, readout: np.ndarray, intercept: np.ndarray, basis: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron residual and total sums of squares of a linear prediction.

        The prediction of neuron ``n`` (of session ``s``) is
        ``y_hat = intercept[n] + phi @ basis @ readout[:, n]`` in raw units; with ``basis``
        None, ``readout`` is the full ``(q, N)`` coefficient matrix. A low-rank ``basis`` keeps
        every product in its ``d`` dimensions. The total sum of squares is about each block's
        own mean, so ``1 - sse / sst`` is the held-out R² of a model fitted on other blocks.

        Parameters
        ----------
        readout : ndarray, shape (d, N)
        intercept : ndarray, shape (N,)
        basis : ndarray, shape (q, d), optional

        Returns
        -------
        sse, sst : ndarray, shape (N,)
        """
        S, q = self.sum_phi.shape
        if basis is None:
            basis_y, basis_sum, basis_shift, gram = (
                self.phi_y,
                self.sum_phi,
                self.shift_phi,
                self.phi_phi,
            )
        else:
            basis_y = basis.T @ self.phi_y
            basis_sum, basis_shift = self.sum_phi @ basis, self.shift_phi @ basis
            gram = np.matmul(basis.T, (self.phi_phi.reshape(S * q, q) @ basis).reshape(S, q, -1))
        T = self.count[self.session]
        quad = np.empty(readout.shape[1])
        for s in range(S):  # sessions own different neurons: one product each
            sl = slice(self.offsets[s], self.offsets[s + 1])
            quad[sl] = np.einsum("dn,dn->n", gram[s] @ readout[:, sl], readout[:, sl])
        # the intercept about the shifts
        c = intercept + _rowdot(basis_shift, readout, self.session) - self.shift_y
        sse = (
            self.y_sq
            - 2 * np.einsum("dn,dn->n", basis_y, readout)
            + quad
            + T * c**2
            + 2 * c * _rowdot(basis_sum, readout, self.session)
            - 2 * c * self.sum_y
        )
        sst = self.y_sq - self.sum_y**2 / T
        # a neuron silent in this block has sst at round-off level (yy and sum^2/T cancel):
        # call it exactly zero, so its R² is NaN rather than a huge negative number
        sst = np.where(sst > 1e-10 * np.maximum(self.y_sq, np.finfo(float).tiny), sst, 0.0)
        return np.maximum(sse, 0.0), sst


def _rowdot(per_session: np.ndarray, readout: np.ndarray, session: np.ndarray) -> np.ndarray:
    """``per_session[session[n]] @ readout[:, n]`` for every neuron ``n``, shape (N,)."""
    return np.einsum("nd,dn->n", per_session[session], readout)


def stack(stats: Sequence[SessionStats]) -> StackedStats:
    """Sessions' statistics (blocks summed) side by side, see :class:`StackedStats`."""
    one = [s._one() for s in stats]
    sizes = [s.sum_y.shape[1] for s in one]
    return StackedStats(
        count=np.array([s.count[0] for s in one], dtype=float),
        sum_phi=np.stack([s.sum_phi[0] for s in one]),
        shift_phi=np.stack([s.shift_phi for s in one]),
        phi_phi=np.stack([s.phi_phi[0] for s in one]),
        phi_y=np.concatenate([s.phi_y[0] for s in one], axis=1),
        sum_y=np.concatenate([s.sum_y[0] for s in one]),
        y_sq=np.concatenate([np.diagonal(s.y_sq[0]) if s.has_gram else s.y_sq[0] for s in one]),
        shift_y=np.concatenate([s.shift_y for s in one]),
        session=np.repeat(np.arange(len(one)), sizes),
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(int),
    )


def _chunk_rows(expansion: TemporalExpansion, q: int, n: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive number of rows, got {chunk_size}")
        return int(chunk_size)
    return max(1024, DEFAULT_CHUNK_ENTRIES // max(q + n, 1))


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


def _valid_in(session: Session, expansion: TemporalExpansion, a: int, b: int) -> np.ndarray:
    """Valid rows (absolute sample indices) in ``[a, b)``, looking only at the samples nearby.

    Validity of row ``t`` depends on samples ``t - tau_max .. t - tau_min`` only, so it is
    computed on that window: memory stays proportional to the chunk, not the recording.
    """
    tau_min, tau_max = expansion.window
    w0, w1 = max(0, a - tau_max), min(session.n_samples, b - tau_min)
    if w1 <= w0:
        return np.empty(0, dtype=np.int64)
    seg = None if session.segments is None else session.segments[w0:w1]
    usable = session.usable[w0:w1] if session.n_omitted else None
    ok = valid_rows(w1 - w0, expansion.lags, seg, usable)
    return np.flatnonzero(ok[a - w0 : b - w0]) + a


def _iter_chunks(
    session: Session, expansion: TemporalExpansion, step: int, start: int, stop: int
) -> Iterator[np.ndarray]:
    """Valid rows of consecutive ``step``-sample ranges of ``[start, stop)`` (empty ones skipped).

    Chunks are aligned to multiples of ``step`` from sample 0, so a pass over a sub-range reads
    the same chunks as the whole-session pass does there.
    """
    a = (start // step) * step
    while a < stop:
        r = _valid_in(session, expansion, max(a, start), min(a + step, stop))
        if r.size:
            yield r
        a += step


def _read(session: Session, what: str, a: int, b: int) -> np.ndarray:
    """Samples ``a .. b-1`` of the session's ``what`` array; a vanished source is named."""
    try:
        return np.asarray(getattr(session, what)[a:b])
    except (OSError, KeyError, SourceError) as err:
        # a file that vanished or a store that was deleted: say which session and where
        raise SourceError(
            f"session {session.name or '<unnamed>'!r}: could not read {what} samples "
            f"{a}..{b - 1}: {err}"
        ) from err


def _read_behavior(session: Session, expansion: TemporalExpansion, r: np.ndarray) -> np.ndarray:
    """Behavior of a chunk with its lag margin, as a float64 copy."""
    tau_min, tau_max = expansion.window
    # a copy: the shift is subtracted in place and must never reach the caller's array
    return np.array(
        _read(session, "behavior", int(r[0]) - tau_max, int(r[-1]) - tau_min + 1), dtype=float
    )


def _read_chunk(
    session: Session, expansion: TemporalExpansion, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Behavior (with the lag margin, a float copy) and neural activity at the valid rows."""
    first, last = int(r[0]), int(r[-1])
    xb = _read_behavior(session, expansion, r)
    yb = _read(session, "neural", first, last + 1)
    if last - first + 1 != r.size:  # gather the valid rows (a view when contiguous)
        yb = yb[r - first]
    yb = yb.astype(float, copy=False)
    lazy = _is_lazy(session.behavior) or _is_lazy(session.neural)
    if lazy and not (np.isfinite(xb).all() and np.isfinite(yb).all()):
        raise DataError(
            f"session {session.name or '<unnamed>'!r}: NaN or inf in samples {first}..{last} "
            "(found while reading the data)"
        )
    return xb, yb


def _too_short(session: Session, expansion: TemporalExpansion) -> DataError:
    lo, hi = expansion.window
    return DataError(
        f"session {session.name or '<unnamed>'!r} is too short for lags {lo}..{hi}: no window "
        f"of {expansion.span} consecutive samples fits inside one segment"
    )


def stats_shift(
    session: Session, expansion: TemporalExpansion, *, chunk_size: int | None = None
) -> np.ndarray:
    """The behavior shift a whole-session :func:`compute_stats` pass uses (first chunk's means).

    Statistics of chunks of one session add only when they are taken about the same shift;
    compute it once with this function (it reads one chunk) and pass it to every per-chunk
    :func:`compute_stats` call. (Neural data are summed raw, about 0.)

    Parameters
    ----------
    session : Session
    expansion : TemporalExpansion
    chunk_size : int, optional
        As in :func:`compute_stats` (the same value gives the same shift).

    Returns
    -------
    ndarray, shape (n_features,)
        Mean behavior over the valid rows of the first non-empty chunk.
    """
    q = expansion.n_columns(session.n_features)
    step = _chunk_rows(expansion, q, session.n_neurons, chunk_size)
    for r in _iter_chunks(session, expansion, step, 0, session.n_samples):
        xb = _read_behavior(session, expansion, r)  # behavior only: neural sums are raw
        return xb[r - (int(r[0]) - expansion.window[1])].mean(axis=0)
    raise _too_short(session, expansion)


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
    q = expansion.n_columns(session.n_features)
    step = _chunk_rows(expansion, q, session.n_neurons, chunk_size)
    T = session.n_samples
    return [(a, min(a + step, T)) for a in range(0, T, step)]


def compute_stats(
    session: Session,
    expansion: TemporalExpansion,
    *,
    folds: np.ndarray | None = None,
    n_folds: int | None = None,
    gram: bool = False,
    chunk_size: int | None = None,
    rows: slice | tuple[int, int] | None = None,
    shift: np.ndarray | None = None,
) -> SessionStats:
    """One pass over a session, accumulating its sufficient statistics.

    Parameters
    ----------
    session : Session
    expansion : TemporalExpansion
        Lags (and basis) of the design.
    folds : ndarray of int, shape (n_samples,), optional
        Block index ``0 .. n_folds-1`` of each sample; statistics are kept per block.
    n_folds : int, optional
        Number of blocks (default ``folds.max() + 1``, or 1 without folds).
    gram : bool
        Accumulate the full neural Gram matrix ``y'y`` (n x n) instead of per-neuron sums of
        squares. Costs ``n^2`` per row; only the ``"correlation"`` objective needs it.
    chunk_size : int, optional
        Samples per chunk. Peak memory is about ``chunk_size * (q + n)`` floats plus the
        ``q * (q + n)`` statistics, whatever the recording length. Default: ~64 MB of design.
    rows : slice or (start, stop), optional
        Only the rows (samples ``t`` of the design) in ``[start, stop)`` enter; the lag window
        may reach before ``start``. Statistics of disjoint ranges taken about the same
        ``shift`` add up to those of their union (this is how a cluster splits a session).
        A range without a valid row gives zero statistics.
    shift : ndarray, shape (n_features,), optional
        Behavior values the sums are taken about (default: the means of the first chunk,
        see :func:`stats_shift`).

    Returns
    -------
    SessionStats

    Raises
    ------
    DataError
        The session is too short for the lags (no valid row), or a lazily read chunk holds NaN
        or inf under ``nan_policy="raise"``.
    SourceError
        A lazily read source could not be read (e.g. its file disappeared); names the session.
    """
    name = session.name or "<unnamed>"
    p, n = session.n_features, session.n_neurons
    q = expansion.n_columns(p)
    start, stop = _row_range(session, rows)
    if folds is None:
        fold_of = None
        K = 1 if n_folds is None else int(n_folds)
    else:
        fold_of = np.asarray(folds, dtype=np.int64)
        K = int(fold_of.max()) + 1 if n_folds is None else int(n_folds)
    shift_x = None if shift is None else np.asarray(shift, dtype=float)
    if shift_x is not None and shift_x.shape != (p,):
        raise ValueError(f"session {name!r}: shift must have shape ({p},), got {shift_x.shape}")

    tau_max = expansion.window[1]
    step = _chunk_rows(expansion, q, n, chunk_size)
    count = np.zeros(K)
    sum_phi, sum_y = np.zeros((K, q)), np.zeros((K, n))
    phi_phi, phi_y = np.zeros((K, q, q)), np.zeros((K, q, n))
    y_sq = np.zeros((K, n, n)) if gram else np.zeros((K, n))
    sum_x, sum_xx = np.zeros((K, p)), np.zeros((K, p))
    # Neural data are summed raw (shift 0): centring them would cost a full extra pass over
    # the largest array, and the cancellation in sum(y^2) - T mean^2 loses only
    # ~eps (mean/sd)^2 relative accuracy, negligible for counts, rates or dF/F.
    shift_y = np.zeros(n)
    # design buffer with a trailing column of ones: one product gives phi'phi, sum(phi),
    # the count, and with y, phi'y and sum(y)
    buf = np.empty((min(step, max(stop - start, 1)), q + 1))
    buf[:, q] = 1.0

    # without a basis the design is built lag-major (faster gathers) and the statistics are
    # put back in the feature-major order of the design at the end
    lag_major = expansion.basis is None
    for r in _iter_chunks(session, expansion, step, start, stop):
        xb, yb = _read_chunk(session, expansion, r)
        at = r - (int(r[0]) - tau_max)  # positions of the valid rows in the behavior block
        x0 = xb[at]  # behavior at lag 0 on the valid rows
        if shift_x is None:  # the first chunk's means: sums about them stay accurate
            shift_x = x0.mean(axis=0)
        xb -= shift_x
        x0 -= shift_x
        phi = buf[: r.size]
        if lag_major:
            expansion.lag_major_rows(xb, at, out=phi[:, :q])
        else:
            expansion.design_rows(xb, at, out=phi[:, :q])
        blocks = [(0, slice(None))] if fold_of is None else _split_by_block(fold_of[r])
        for k, sel in blocks:
            pk, yk = phi[sel], yb[sel]
            # the unavoidable products; numpy sees a'a and calls BLAS syrk itself
            pp = pk.T @ pk
            py = pk.T @ yk
            phi_phi[k] += pp[:q, :q]
            sum_phi[k] += pp[q, :q]
            count[k] += pp[q, q]
            phi_y[k] += py[:q]
            sum_y[k] += py[q]
            y_sq[k] += yk.T @ yk if gram else np.einsum("ij,ij->j", yk, yk)
            xk = x0[sel]
            sum_x[k] += xk.sum(axis=0)
            sum_xx[k] += np.einsum("ij,ij->j", xk, xk)

    if shift_x is None:  # no valid row in the range
        if rows is None:
            raise _too_short(session, expansion)
        raise ValueError(
            f"session {name!r}: rows {start}..{stop} hold no valid row; pass the session's "
            "shift (see stats_shift) so that empty ranges give zero statistics"
        )
    if lag_major:
        order = expansion.lag_major_order(p)
        phi_phi = phi_phi[:, order][:, :, order]
        sum_phi, phi_y = sum_phi[:, order], phi_y[:, order]
    # the shift seen through the design: a constant behavior block of one window
    shift_phi = expansion.design_rows(np.tile(shift_x, (expansion.span, 1)), np.array([tau_max]))[0]
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
        shift_x,
        shift_y,
        shift_phi,
    )


def _split_by_block(labels: np.ndarray) -> list[tuple[int, np.ndarray | slice]]:
    """Row selections of each block label within a chunk (slices when sorted, no copies)."""
    if labels[0] == labels[-1] and np.all(labels == labels[0]):
        return [(int(labels[0]), slice(None))]
    if np.all(labels[1:] >= labels[:-1]):
        edges = np.flatnonzero(np.diff(labels)) + 1
        starts, stops = np.r_[0, edges], np.r_[edges, labels.size]
        return [(int(labels[a]), slice(a, b)) for a, b in zip(starts, stops, strict=True)]
    return [(int(k), np.flatnonzero(labels == k)) for k in np.unique(labels)]


def fold_labels(session: Session, n_folds: int) -> np.ndarray:
    """Fold index of each sample: whole segments, in contiguous groups, ``0 .. n_folds-1``.

    Segments (in order of first appearance) are split into ``n_folds`` consecutive groups of
    nearly equal numbers of segments. Without segments, the recording is cut into ``n_folds``
    contiguous blocks of nearly equal length.

    Raises
    ------
    DataError
        Fewer segments than folds.
    """
    T = session.n_samples
    if session.segments is None:
        return (np.arange(T) * n_folds // T).astype(np.int64)
    n_seg = int(session.segments.max()) + 1
    if n_seg < n_folds:
        raise DataError(
            f"session {session.name!r} has {n_seg} segments, fewer than the "
            f"{n_folds} folds; use fewer folds or segments=None (contiguous blocks)"
        )
    return (session.segments * n_folds // n_seg).astype(np.int64)


# -- standardisation: statistics of a cohort -> the model's matrices ----------------------------
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
    """
    stats = [s._one() for s in stats]
    pooled = pooled_feature_scale(stats) if feature_scale is None else np.asarray(feature_scale)
    constant = ~(pooled > 1e-12 * max(1.0, float(np.max(pooled, initial=0.0))))
    if warn and constant.any() and feature_scale is None:
        warnings.warn(
            f"behavior features {[feature_names[i] for i in np.flatnonzero(constant)]} "
            "are constant in every session; they are left out of the fit "
            "(their loadings are 0)",
            SharedRepWarning,
            stacklevel=3,
        )
    if warn and feature_scale is None and len(stats) > 1:
        _warn_unit_mismatch(stats, pooled, feature_names)
    safe = np.where(constant, 1.0, pooled)
    col = expansion.column_scale(np.where(constant, 0.0, 1.0 / safe))
    covs, crosses, ysqs, nscales = [], [], [], []
    for s in stats:
        cov_phi, cross, y_sq = s.centered()
        var = (np.diag(y_sq) if y_sq.ndim == 2 else y_sq) / s.count[0]
        silent = ~(var > 1e-12 * max(1.0, float(np.max(var, initial=0.0))))
        if warn and silent.any():
            warnings.warn(
                f"session {s.name!r}: {int(silent.sum())} silent neuron(s) (no variance "
                f"over the analysed samples), index {np.flatnonzero(silent)[:10].tolist()}"
                "; they are kept with zero readout and R² NaN",
                SharedRepWarning,
                stacklevel=3,
            )
        sd = np.where(silent | (not zscore_neurons), 1.0, np.sqrt(np.where(silent, 1.0, var)))
        covs.append(cov_phi * np.outer(col, col))
        crosses.append(cross * col[:, None] / sd[None, :])
        ysqs.append(y_sq / np.outer(sd, sd) if y_sq.ndim == 2 else y_sq / sd**2)
        nscales.append(sd)
    return Standardized(
        names=tuple(s.name for s in stats),
        cov=np.stack(covs),
        cross=crosses,
        y_sq=ysqs,
        count=np.array([s.count[0] for s in stats]),
        feature_scale=np.where(constant, 1.0, pooled),
        column_scale=col,
        neural_scale=nscales,
        active=col != 0,
    )


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
