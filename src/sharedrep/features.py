"""Temporal expansion of behavior: lags and an optional raised-cosine basis over lags.

Convention: the design column for feature ``j`` at lag ``tau`` holds ``x_j(t - tau)`` on the row
of neural sample ``t``. Positive lags: behavior in the past explains present activity (sensory
coding); negative lags: activity leads behavior (motor cortex).

A row is *valid* when its whole lag window ``[t - tau_max, t - tau_min]`` lies inside one segment
and contains only usable samples; other rows are left out of the statistics (never padded).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "EDGES",
    "TemporalExpansion",
    "drift_basis",
    "raised_cosine_basis",
    "resolve_edges",
    "valid_rows",
]


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


EDGES = ("drop", "zero")


def resolve_edges(edges: str | Mapping[str, str], feature_names: Sequence[str]) -> tuple[bool, ...]:
    """Which features count as zero outside their segment (``True``) and which are dropped.

    Parameters
    ----------
    edges : {"drop", "zero"} or mapping of str to {"drop", "zero"}
        One rule for every feature, or a rule per feature name or ``fnmatch`` pattern (e.g.
        ``{"grating_*_onset": "zero"}``); features no key matches are ``"drop"``. A feature
        matched by several keys takes the first one.
    feature_names : sequence of str

    Returns
    -------
    tuple of bool, length p
        True for zero-padded features.

    Raises
    ------
    ValueError
        An unknown rule, or a key that matches no feature (a typo would otherwise be silent).
    """
    names = [str(f) for f in feature_names]
    if isinstance(edges, str):
        if edges not in EDGES:
            raise ValueError(f"edges must be one of {EDGES} or a mapping, got {edges!r}")
        return tuple([edges == "zero"] * len(names))
    if not isinstance(edges, Mapping):
        raise ValueError(f"edges must be one of {EDGES} or a mapping, got {edges!r}")
    rule: dict[str, str] = {}
    for key, value in edges.items():
        if value not in EDGES:
            raise ValueError(f"edges[{key!r}] must be one of {EDGES}, got {value!r}")
        hits = [f for f in names if fnmatch.fnmatchcase(f, str(key))]
        if not hits:
            raise ValueError(
                f"edges key {key!r} matches no behavioral feature; features are {names}"
            )
        for f in hits:
            rule.setdefault(f, value)
    return tuple(rule.get(f, "drop") == "zero" for f in names)


def valid_rows(
    n_samples: int,
    lags: np.ndarray,
    segments: np.ndarray | None = None,
    usable: np.ndarray | None = None,
    *,
    pad: bool = False,
) -> np.ndarray:
    """Rows (samples ``t``) whose lag window can be built.

    Parameters
    ----------
    n_samples : int
        Length of the recording.
    lags : ndarray of int
        Lags in samples (any order).
    segments : ndarray of int, shape (n_samples,), optional
        Segment label of each sample; a change of label is a boundary.
    usable : ndarray of bool, shape (n_samples,), optional
        False for excluded samples (non-finite values).
    pad : bool
        False (edges ``"drop"``): the whole window ``[t - tau_max, t - tau_min]`` must lie
        inside the segment of ``t`` and hold only usable samples. True (every feature has
        edges ``"zero"``): behavior outside the segment counts as zero, so only the part of the
        window inside the segment must be usable.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
    """
    lo, hi = int(np.min(lags)), int(np.max(lags))
    t = np.arange(n_samples)
    if pad:
        seg_start, seg_end = _runs(n_samples, segments, None)
        a = np.maximum(t - hi, seg_start)
        b = np.minimum(t - lo, seg_end)
        ok = np.ones(n_samples, dtype=bool)
        if usable is not None:
            bad = np.concatenate([[0], np.cumsum(~usable)])
            inside = a <= b
            n_bad = bad[np.clip(b + 1, 0, n_samples)] - bad[np.clip(a, 0, n_samples)]
            ok = usable & ~(inside & (n_bad > 0))
        return ok
    start, end = _runs(n_samples, segments, usable)
    ok = (t - hi >= start) & (t - lo <= end)
    if usable is not None:
        ok &= usable
    return ok


def _runs(
    n_samples: int, segments: np.ndarray | None, usable: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample of the run (same segment, no unusable sample) of each sample."""
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
    return starts[run], ends[run]


def drift_basis(positions: np.ndarray, n_samples: int, n_functions: int) -> np.ndarray:
    """Smooth functions of recording time: cubic B-splines spread evenly over the recording.

    ``k + 1`` cubic B-splines with equally spaced knots span every cubic spline on them (any
    smooth drift slower than about ``k / 2`` cycles per recording, whatever its phase); the
    first is left out because, with the session's intercept, the rest span the same functions.
    Local support also means a drift fitted on interleaved trials interpolates into the held-out
    ones.

    Parameters
    ----------
    positions : ndarray of int, shape (r,)
        Sample indices ``t`` (``0 <= t < n_samples``).
    n_samples : int
        Length ``T`` of the recording.
    n_functions : int
        ``k``.

    Returns
    -------
    ndarray, shape (r, k)

    Examples
    --------
    >>> B = drift_basis(np.arange(100), 100, 3)
    >>> B.shape, bool(np.all(B >= 0) and np.all(B.sum(axis=1) <= 1 + 1e-12))
    ((100, 3), True)
    """
    from scipy.interpolate import BSpline

    k, degree = int(n_functions), 3
    inner = np.linspace(0.0, max(n_samples - 1, 1), k + 1 - degree + 1) if k + 1 > degree else None
    if inner is None:  # fewer functions than a cubic needs: lower the degree
        degree = k
        inner = np.array([0.0, max(n_samples - 1, 1)])
    knots = np.r_[[inner[0]] * degree, inner, [inner[-1]] * degree]
    x = np.clip(np.asarray(positions, dtype=float), inner[0], inner[-1])
    return BSpline.design_matrix(x, knots, degree).toarray()[:, 1:]


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
    zero_edges : sequence of bool, length p, optional
        Features whose value outside a row's segment counts as zero (event regressors: no event
        outside the trial), see :func:`resolve_edges`. Other features are ``"drop"``: a row is
        analysed only when their whole lag window lies inside its segment.

    Attributes
    ----------
    lags : ndarray of int, shape (L,)
    basis : ndarray, shape (L, k) or None
    """

    lags: np.ndarray
    n_basis: int | None = None
    zero_edges: tuple[bool, ...] | None = None
    basis: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        lags: Iterable[int] = (0,),
        n_basis: int | None = None,
        zero_edges: Sequence[bool] | None = None,
    ) -> None:
        arr = np.asarray(list(lags) if not isinstance(lags, np.ndarray) else lags)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"lags must be a non-empty 1-D sequence of integers, got {lags!r}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not (np.issubdtype(arr.dtype, np.number) and np.all(arr == np.round(arr))):
                raise ValueError(f"lags are counted in samples and must be integers, got {lags!r}")
            arr = arr.astype(np.int64)
        if np.unique(arr).size != arr.size:
            raise ValueError(f"lags contain duplicates: {sorted(arr.tolist())}")
        arr = np.sort(arr).astype(np.int64)
        zero = None if zero_edges is None else tuple(bool(z) for z in zero_edges)
        object.__setattr__(self, "lags", arr)
        object.__setattr__(self, "n_basis", None if n_basis is None else int(n_basis))
        object.__setattr__(self, "zero_edges", zero if zero and any(zero) else None)
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

    @property
    def pads_all(self) -> bool:
        """Every feature is zero-padded, so rows are kept up to the segment's edges."""
        return self.zero_edges is not None and all(self.zero_edges)

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

    def check_features(self, n_features: int) -> None:
        """Raise if ``zero_edges`` was resolved for another number of features."""
        if self.zero_edges is not None and len(self.zero_edges) != n_features:
            raise ValueError(
                f"zero_edges has {len(self.zero_edges)} entries for {n_features} features"
            )

    # -- rows -----------------------------------------------------------------------------
    def valid(
        self, n_samples: int, segments: np.ndarray | None = None, usable: np.ndarray | None = None
    ) -> np.ndarray:
        """Rows whose design can be built (see :func:`valid_rows`), shape ``(n_samples,)``."""
        return valid_rows(n_samples, self.lags, segments, usable, pad=self.pads_all)

    def margin(self, first: int, last: int, n_samples: int) -> tuple[int, int]:
        """Samples ``[a, b)`` of the recording that rows ``first .. last`` read."""
        tau_min, tau_max = self.window
        return max(0, first - tau_max), min(n_samples, last - tau_min + 1)

    # -- design ---------------------------------------------------------------------------
    def _outside(self, segments: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
        """``(r, L)``: True where lag ``l`` of row ``rows[i]`` reads outside the row's segment.

        ``segments`` labels the samples of the block (``-1`` for samples beyond the recording).
        None when no feature is zero-padded or nothing is outside.
        """
        if self.zero_edges is None or segments is None:
            return None
        src = rows[:, None] - self.lags[None, :]
        inside = (src >= 0) & (src < segments.size)
        out = ~inside
        out[inside] = (
            segments[src[inside]] != np.broadcast_to(segments[rows][:, None], src.shape)[inside]
        )
        return out if out.any() else None

    def design_rows(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray | None = None,
        *,
        segments: np.ndarray | None = None,
        fill: np.ndarray | None = None,
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
        segments : ndarray of int, shape (m,), optional
            Segment label of each block sample (``-1`` beyond the recording). Needed for
            zero-padded features: their values outside a row's segment are replaced by
            ``fill``.
        fill : ndarray, shape (p,), optional
            The value of "zero" in the block's coordinates (``-shift`` when the block has been
            shifted; default 0).

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
        outside = self._outside(segments, rows)
        if outside is not None:
            picked = np.array(picked)  # a copy: the fill must not reach the block
            zero = np.flatnonzero(self.zero_edges)
            values = np.zeros(p) if fill is None else np.asarray(fill, dtype=float)
            i, lag = np.nonzero(outside)
            picked[i[:, None], zero[None, :], lag[:, None]] = values[zero][None, :]
        if self.basis is not None:
            res = np.matmul(picked, self.basis).reshape(r, -1)
        else:
            res = picked.reshape(r, p * self.lags.size)
        if out is None:
            return np.ascontiguousarray(res)
        out[...] = res
        return out

    def lag_major_rows(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        *,
        segments: np.ndarray | None = None,
        fill: np.ndarray | None = None,
    ) -> np.ndarray:
        """Design rows with columns ordered lag-major, ``(lag 0: features), (lag 1: ...)``.

        The fast path of the statistics pass (one contiguous gather per lag instead of one
        strided gather per row); :meth:`lag_major_order` maps the columns back. No basis.

        Parameters
        ----------
        block, rows, segments, fill
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
        L, span = self.lags.size, self.span
        if L == span and block.flags.c_contiguous and block.shape[0] >= span:
            # consecutive lags: row t of the design is samples t - a_min, t - a_min - 1, ...,
            # which a view with a negative lag stride holds; one gather of whole rows
            windows = np.lib.stride_tricks.as_strided(
                block[span - 1 :],
                shape=(block.shape[0] - span + 1, span, p),
                strides=(block.strides[0], -block.strides[0], block.strides[1]),
                writeable=False,
            )
            by_lag = out.view()
            by_lag.shape = (out.shape[0], L, p)  # a view of ``out`` (an error if it cannot be)
            first = rows - int(self.lags[0]) - span + 1
            runs = consecutive_runs(rows)
            if runs is not None:  # trials: one strided copy per run of consecutive rows
                for a, b in runs:
                    by_lag[a:b] = windows[first[a] : first[a] + b - a]
            else:  # fancy indexing, not np.take: take copies a non-contiguous source whole
                by_lag[...] = windows[first]
        else:
            for i, lag in enumerate(self.lags):
                np.take(block, rows - lag, axis=0, out=out[:, i * p : (i + 1) * p])
        outside = self._outside(segments, rows)
        if outside is not None:
            zero = np.flatnonzero(self.zero_edges)
            values = np.zeros(p) if fill is None else np.asarray(fill, dtype=float)
            for i in np.flatnonzero(outside.any(axis=0)):
                out[np.ix_(np.flatnonzero(outside[:, i]), i * p + zero)] = values[zero]
        return out

    def lag_major_order(self, n_features: int) -> np.ndarray:
        """Index of each feature-major column among the lag-major ones, shape ``(q,)``."""
        L = self.lags.size
        return (np.arange(L)[None, :] * n_features + np.arange(n_features)[:, None]).ravel()

    def design(
        self, behavior: np.ndarray, valid: np.ndarray, segments: np.ndarray | None = None
    ) -> np.ndarray:
        """Full design of an in-memory recording, NaN on rows that are not valid.

        Parameters
        ----------
        behavior : ndarray, shape (T, p)
        valid : ndarray of bool, shape (T,)
            Rows to fill (see :meth:`valid`).
        segments : ndarray of int, shape (T,), optional
            Segment labels (for zero-padded features).

        Returns
        -------
        ndarray, shape (T, q)
        """
        behavior = np.asarray(behavior, dtype=float)
        T, p = behavior.shape
        out = np.full((T, self.n_columns(p)), np.nan)
        rows = np.flatnonzero(valid)
        if rows.size:
            out[rows] = self.rows_of(behavior, rows, segments)
        return out

    def rows_of(
        self, behavior: np.ndarray, rows: np.ndarray, segments: np.ndarray | None = None
    ) -> np.ndarray:
        """Design rows ``rows`` (sample indices) of a whole in-memory recording, ``(r, q)``.

        Windows that reach beyond the recording read zero-padded features as zero (rows with
        such windows are valid only when every feature is zero-padded).
        """
        tau_min, tau_max = self.window
        T = behavior.shape[0]
        before, after = max(tau_max, 0), max(-tau_min, 0)
        block = np.pad(np.asarray(behavior, dtype=float), ((before, after), (0, 0)))
        seg = np.zeros(T, dtype=np.int64) if segments is None else np.asarray(segments)
        seg = np.pad(seg, (before, after), constant_values=-1)
        if self.zero_edges is None:
            seg = None
        return self.design_rows(block, np.asarray(rows) + before, segments=seg)

    def column_index(self, feature_names: Sequence[str]) -> list[tuple[str, int]]:
        """(feature, lag-or-basis index) label of each design column."""
        inner = self.lags.tolist() if self.basis is None else list(range(self.basis.shape[1]))
        return [(f, k) for f in feature_names for k in inner]


def consecutive_runs(index: np.ndarray, min_run: int = 16) -> list[tuple[int, int]] | None:
    """Runs ``[a, b)`` of positions in ``index`` (sorted, int) whose values are consecutive,
    or None when the runs are shorter than ``min_run`` on average (a gather is then faster
    than a copy per run).

    The rows of a chunk of trials are runs of consecutive samples (each trial's rows): copying
    run by run reads memory in order, where a gather of single rows costs several times more.

    Examples
    --------
    >>> consecutive_runs(np.r_[np.arange(3, 40), np.arange(50, 90)])
    [(0, 37), (37, 77)]
    >>> consecutive_runs(np.arange(0, 40, 2)) is None
    True
    """
    n = index.size
    if n == 0:
        return []
    breaks = (np.flatnonzero(index[1:] - index[:-1] != 1) + 1).tolist()
    if (len(breaks) + 1) * min_run > n:
        return None
    return list(zip([0, *breaks], [*breaks, n], strict=True))
