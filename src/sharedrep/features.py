"""Temporal expansion of behavior: lags and an optional raised-cosine basis over lags.

Convention: the design column for feature ``j`` at lag ``tau`` holds ``x_j(t - tau)`` on the row
of neural sample ``t``. Positive lags: behavior in the past explains present activity (sensory
coding); negative lags: activity leads behavior (motor cortex).

A row is *valid* when its whole lag window ``[t - tau_max, t - tau_min]`` lies inside one segment
and contains only usable samples; other rows are left out of the statistics (never padded).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["TemporalExpansion", "raised_cosine_basis", "valid_rows"]


def raised_cosine_basis(lags: Sequence[int], n_basis: int) -> np.ndarray:
    """Raised-cosine bumps tiling a lag range.

    Parameters
    ----------
    lags : sequence of int, length L
        Lags in samples, sorted ascending.
    n_basis : int
        Number of bumps (``1 <= n_basis <= L``). Centres are evenly spaced from the first to the
        last lag, each bump reaches its neighbours' centres, so the bumps sum to one everywhere.

    Returns
    -------
    ndarray, shape (L, n_basis)
        Column ``k`` is bump ``k`` evaluated at each lag.

    Examples
    --------
    >>> B = raised_cosine_basis(range(-5, 6), 4)
    >>> B.shape, bool(np.allclose(B.sum(1), 1))
    ((11, 4), True)
    """
    lags = np.asarray(lags, dtype=float)
    L = lags.size
    if not 1 <= n_basis <= L:
        raise ValueError(f"n_basis must be between 1 and the number of lags ({L}), got {n_basis}")
    if n_basis == 1:
        return np.ones((L, 1))
    centres = np.linspace(lags[0], lags[-1], n_basis)
    spacing = centres[1] - centres[0]
    arg = np.clip((lags[:, None] - centres[None, :]) * np.pi / spacing, -np.pi, np.pi)
    return 0.5 * (1 + np.cos(arg))


def valid_rows(
    n_samples: int,
    lags: np.ndarray,
    segments: np.ndarray | None = None,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """Rows whose lag window stays inside one segment and uses only usable samples.

    Parameters
    ----------
    n_samples : int
        Length of the recording.
    lags : ndarray of int
        Lags in samples (any order).
    segments : ndarray of int, shape (n_samples,), optional
        Segment label of each sample; a change of label is a boundary.
    usable : ndarray of bool, shape (n_samples,), optional
        False for excluded samples; they act as boundaries too.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
    """
    lo, hi = int(np.min(lags)), int(np.max(lags))
    t = np.arange(n_samples)
    breaks = np.zeros(n_samples, dtype=bool)
    breaks[0] = True
    if segments is not None:
        breaks[1:] |= segments[1:] != segments[:-1]
    if usable is not None:
        # an unusable sample closes the run before it and opens a new one after it
        breaks[1:] |= ~usable[1:] | ~usable[:-1]
    run = np.cumsum(breaks) - 1
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], n_samples) - 1
    ok = (t - hi >= starts[run]) & (t - lo <= ends[run])
    if usable is not None:
        ok &= usable
    return ok


@dataclass(frozen=True)
class TemporalExpansion:
    """Maps behavior ``(T, p)`` to the lagged design ``(T, q)``.

    Parameters
    ----------
    lags : iterable of int
        Lags in samples (unique; sorted on construction).
    n_basis : int, optional
        If given, lags are projected onto this many raised-cosine bumps per feature, so
        ``q = p * n_basis`` instead of ``p * len(lags)``.

    Attributes
    ----------
    lags : ndarray of int, shape (L,)
    basis : ndarray, shape (L, k) or None
    """

    lags: np.ndarray
    n_basis: int | None = None
    basis: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __init__(self, lags: Iterable[int] = (0,), n_basis: int | None = None) -> None:
        arr = np.asarray(list(lags) if not isinstance(lags, np.ndarray) else lags)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"lags must be a non-empty 1-D sequence of integers, got {lags!r}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(arr == np.round(arr)):
                raise ValueError(f"lags are counted in samples and must be integers, got {lags!r}")
            arr = arr.astype(np.int64)
        if np.unique(arr).size != arr.size:
            raise ValueError(f"lags contain duplicates: {sorted(arr.tolist())}")
        arr = np.sort(arr).astype(np.int64)
        object.__setattr__(self, "lags", arr)
        object.__setattr__(self, "n_basis", None if n_basis is None else int(n_basis))
        object.__setattr__(
            self, "basis", None if n_basis is None else raised_cosine_basis(arr, int(n_basis))
        )

    # -- sizes ----------------------------------------------------------------------------
    @property
    def window(self) -> tuple[int, int]:
        """``(tau_min, tau_max)`` in samples."""
        return int(self.lags[0]), int(self.lags[-1])

    @property
    def span(self) -> int:
        """Number of consecutive samples a row's window covers."""
        return int(self.lags[-1] - self.lags[0] + 1)

    @property
    def n_per_feature(self) -> int:
        """Design columns per behavioral feature (lags, or basis functions)."""
        return self.lags.size if self.basis is None else self.basis.shape[1]

    def n_columns(self, n_features: int) -> int:
        """Design width ``q`` for ``n_features`` behavioral variables."""
        return n_features * self.n_per_feature

    def lag_matrix(self, n_features: int) -> np.ndarray:
        """Map from design columns to (feature, lag) columns, shape ``(p*L, q)``.

        The identity without a basis; block-diagonal copies of the basis otherwise. Filters in
        lag space are ``lag_matrix @ coef``.
        """
        if self.basis is None:
            return np.eye(n_features * self.lags.size)
        return np.kron(np.eye(n_features), self.basis)

    def column_scale(self, feature_scale: np.ndarray) -> np.ndarray:
        """Repeat a per-feature scale over each feature's design columns, shape ``(q,)``."""
        return np.repeat(np.asarray(feature_scale, dtype=float), self.n_per_feature)

    # -- design ---------------------------------------------------------------------------
    def design_rows(
        self, block: np.ndarray, rows: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Design rows from a block of behavior.

        Parameters
        ----------
        block : ndarray, shape (m, p)
            Behavior samples ``offset .. offset + m - 1`` (any offset).
        rows : ndarray of int, shape (r,)
            Rows wanted, as positions in ``block`` of the sample ``t`` whose window is taken;
            each needs ``rows - tau_max >= 0`` and ``rows - tau_min < m``.
        out : ndarray, shape (r, q), optional
            Buffer to write into (may be a column slice of a larger buffer).

        Returns
        -------
        ndarray, shape (r, q)
            Columns ordered feature-major: ``(feature 0, lag 0..L-1), (feature 1, ...)``.
        """
        tau_min, _tau_max = self.window
        m, p = block.shape
        r = rows.size
        # Windows over the time-reversed block: windows[i, j, k] = block[m-1-i-k, j], so the
        # window at i = m-1-t+tau_min holds x(t - tau_min - k), lags ascending with k.
        windows = sliding_window_view(block[::-1], self.span, axis=0)
        picked = windows[m - 1 - rows + tau_min]
        if self.lags.size != self.span:
            picked = picked[:, :, self.lags - tau_min]
        if self.basis is not None:
            res = np.matmul(picked, self.basis).reshape(r, -1)
        else:
            res = picked.reshape(r, p * self.lags.size)
        if out is None:
            return np.ascontiguousarray(res)
        out[...] = res
        return out

    def lag_major_rows(self, block: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Design rows with columns ordered lag-major, ``(lag 0: features), (lag 1: ...)``.

        The fast path of the statistics pass (one contiguous gather per lag instead of one
        strided gather per row); :meth:`lag_major_order` maps the columns back. No basis.

        Parameters
        ----------
        block : ndarray, shape (m, p)
            As in :meth:`design_rows`.
        rows : ndarray of int, shape (r,)
            As in :meth:`design_rows`.
        out : ndarray, shape (r, q)
            Buffer to write into.

        Returns
        -------
        ndarray, shape (r, q)
        """
        if self.basis is not None:
            raise ValueError("lag-major rows are only defined without a basis")
        p = block.shape[1]
        for i, lag in enumerate(self.lags):
            np.take(block, rows - lag, axis=0, out=out[:, i * p : (i + 1) * p])
        return out

    def lag_major_order(self, n_features: int) -> np.ndarray:
        """Index of each feature-major column among the lag-major ones, shape ``(q,)``."""
        L = self.lags.size
        return (np.arange(L)[None, :] * n_features + np.arange(n_features)[:, None]).ravel()

    def design(self, behavior: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Full design of an in-memory recording, NaN on rows that are not valid.

        Parameters
        ----------
        behavior : ndarray, shape (T, p)
        valid : ndarray of bool, shape (T,)
            Rows to fill (see :func:`valid_rows`).

        Returns
        -------
        ndarray, shape (T, q)
        """
        behavior = np.asarray(behavior, dtype=float)
        T, p = behavior.shape
        out = np.full((T, self.n_columns(p)), np.nan)
        rows = np.flatnonzero(valid)
        if rows.size:
            out[rows] = self.design_rows(behavior, rows)
        return out

    def column_index(self, feature_names: Sequence[str]) -> list[tuple[str, int]]:
        """(feature, lag-or-basis index) label of each design column."""
        inner = self.lags.tolist() if self.basis is None else list(range(self.basis.shape[1]))
        return [(f, k) for f in feature_names for k in inner]
