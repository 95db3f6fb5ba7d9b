"""Time bases shared by every reader: resampling behavior onto neural samples, segments.

Time base and resampling
------------------------
The neural samples define the time base (bin centres for spike counts, frame times for imaging),
because the model's lags are counted in neural samples. Each behavioral series is resampled onto
it with ``resample=``:

``"linear"``
    Linear interpolation at the neural sample times (``numpy.interp``); right when behavior is
    sampled as fast as, or slower than, the neural data.
``"mean"``
    The average of the behavior samples inside each neural bin (bin edges: the spike-count bins,
    or midpoints between imaging frames). Averaging, rather than picking the nearest sample,
    avoids aliasing when behavior is sampled much faster than the neural data (e.g. 500 Hz
    tracking, 20 Hz bins). A bin holding no behavior sample falls back to linear interpolation
    at its centre.
``"auto"`` (default)
    ``"mean"`` when the behavior has at least two samples per neural bin (median intervals),
    ``"linear"`` otherwise; chosen per series and recorded in ``session.metadata["resample"]``.

Behavior is never extrapolated. Neural samples outside the time range of any behavioral series
are excluded with a :class:`~sharedrep.errors.SharedRepWarning` that gives their number
(``out_of_range="trim"``, default; they can only lie at the start or end, so the remaining
samples stay evenly spaced), or are an error (``out_of_range="raise"``). For spike counts the
bins are laid out inside the behavior's time range in the first place. No overlap at all is an
error naming the file and the time ranges.

Segments
--------
NWB ``trials`` (and pynapple ``epochs``) become segments: lag windows never cross a segment
boundary and cross-validation folds are whole segments. With NWB, samples between trials are kept,
each stretch between two trials being a segment of its own. With pynapple, samples outside the
``epochs`` are dropped, as pynapple's ``restrict`` does. A gap in an imaging time base (a frame
interval over 1.5 times the median) also starts a new segment, so that no lag spans the gap.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data import Session
from ..errors import DataError, SharedRepWarning

RESAMPLE_METHODS = ("auto", "linear", "mean")
OUT_OF_RANGE = ("trim", "raise")
#: a frame interval longer than this many median intervals starts a new segment
GAP_FACTOR = 1.5


# -- shared machinery -------------------------------------------------------------------------
class _Series:
    """One behavioral source: feature names, sample times (s) and values (T, k)."""

    def __init__(self, label: str, names: list[str], t: np.ndarray, values: np.ndarray) -> None:
        self.label, self.names = label, names
        self.t = np.asarray(t, dtype=float)
        values = np.asarray(values, dtype=float)
        self.values = values[:, None] if values.ndim == 1 else values


def _check_times(t: np.ndarray, what: str, source: str) -> None:
    if t.size == 0:
        raise DataError(f"{source}: {what} has no samples")
    if not np.all(np.isfinite(t)):
        raise DataError(f"{source}: {what} has non-finite timestamps")
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise DataError(
            f"{source}: timestamps of {what} are not strictly increasing (sample {i + 1} at "
            f"{t[i + 1]:.6g} s follows {t[i]:.6g} s)"
        )


def _measured_rate(t: np.ndarray) -> float | None:
    """Sampling rate (Hz) from timestamps: 1 / median interval, to 6 significant digits.

    Rounded because timestamps stored as floats give rates that differ in the last bits
    between sessions of the same nominal rate, and a cohort requires equal rates.
    """
    if t.size < 2:
        return None
    return float(f"{1.0 / float(np.median(np.diff(t))):.6g}")


def _bins_around(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin ``[lo, hi)`` of each sample time: midpoints between neighbours, at most half the
    median interval from the sample (so a bin next to a gap does not reach into the gap)."""
    half = 0.5 * (float(np.median(np.diff(t))) if t.size > 1 else 1.0)
    mid = (t[1:] + t[:-1]) / 2
    lo = np.maximum(np.concatenate([[-np.inf], mid]), t - half)
    hi = np.minimum(np.concatenate([mid, [np.inf]]), t + half)
    return lo, hi


def _resample(
    series: _Series, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, method: str
) -> tuple[np.ndarray, str]:
    """Values of ``series`` on the neural samples ``t`` (bins ``[lo, hi)``), shape (len(t), k).

    ``t`` lies inside the series' time range (checked by the caller).
    """
    if method == "auto":
        src_dt = np.median(np.diff(series.t)) if series.t.size > 1 else np.inf
        method = "mean" if 2 * src_dt <= np.median(hi - lo) else "linear"
    vals = series.values
    if method == "linear":
        return _interp(series, t), "linear"
    # mean per bin by cumulative sums (one pass for all columns); NaNs are left out of a bin's
    # mean, and a bin of only NaNs is NaN (then handled by the session's nan_policy)
    first = np.searchsorted(series.t, lo, side="left")
    stop = np.searchsorted(series.t, hi, side="left")
    finite = np.isfinite(vals)
    # cumulative sums about the mean keep the differences accurate for long series with an
    # offset (e.g. positions in pixels)
    centre = np.array([np.mean(c[np.isfinite(c)]) if np.isfinite(c).any() else 0.0 for c in vals.T])
    csum = np.cumsum(np.where(finite, vals - centre, 0.0), axis=0)
    csum = np.vstack([np.zeros((1, vals.shape[1])), csum])
    ccount = np.vstack([np.zeros((1, vals.shape[1])), np.cumsum(finite, axis=0)])
    total, count = csum[stop] - csum[first], ccount[stop] - ccount[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1) + centre, np.nan)
    empty = stop == first  # no sample at all in the bin: interpolate at its centre
    if empty.any():
        out[empty] = _interp(series, t[empty])
    return out, "mean"


def _interp(series: _Series, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column of ``series`` at the times ``t``, shape (len(t), k)."""
    vals = series.values
    return np.column_stack([np.interp(t, series.t, vals[:, j]) for j in range(vals.shape[1])])


def _runs(mask: np.ndarray) -> np.ndarray:
    """Run id of each True sample of ``mask`` (a new id after every False stretch), -1 elsewhere."""
    starts = mask & ~np.concatenate([[False], mask[:-1]])
    run = np.cumsum(starts) - 1
    return np.where(mask, run, -1)


def _interval_labels(
    t: np.ndarray, starts: np.ndarray, stops: np.ndarray, source: str, what: str
) -> np.ndarray:
    """Index of the interval ``[start, stop)`` holding each time, -1 outside all intervals."""
    order = np.argsort(starts, kind="stable")
    starts, stops = np.asarray(starts, float)[order], np.asarray(stops, float)[order]
    if np.any(stops < starts):
        raise DataError(f"{source}: {what} has an interval that stops before it starts")
    if np.any(starts[1:] < stops[:-1]):
        i = int(np.flatnonzero(starts[1:] < stops[:-1])[0])
        raise DataError(
            f"{source}: {what} intervals overlap ({starts[i]:.6g}-{stops[i]:.6g} s and "
            f"{starts[i + 1]:.6g}-{stops[i + 1]:.6g} s); segments must not overlap"
        )
    k = np.searchsorted(starts, t, side="right") - 1
    inside = (k >= 0) & (t < stops[np.clip(k, 0, None)])
    return np.where(inside, order[np.clip(k, 0, None)], -1)


def _segments(t: np.ndarray, labels: np.ndarray | None, *, split_gaps: bool) -> np.ndarray | None:
    """Combine interval labels (-1: between intervals) and time gaps into segment ids."""
    parts = []
    if labels is not None:
        # each stretch outside the intervals is a segment of its own
        outside = _runs(labels < 0)
        parts.append(np.where(labels >= 0, labels, -2 - outside))
    if split_gaps and t.size > 2:
        dt = np.diff(t)
        gap = dt > GAP_FACTOR * np.median(dt)
        if gap.any():
            parts.append(np.concatenate([[0], np.cumsum(gap)]))
    if not parts:
        return None
    if len(parts) == 1:
        seg = parts[0]
    else:
        seg = pd.factorize(pd.MultiIndex.from_arrays(parts), sort=False)[0]
    # a label seen again after another one is a different segment (e.g. trial ids reused)
    change = np.concatenate([[True], seg[1:] != seg[:-1]])
    return np.cumsum(change) - 1


def _common_range(behavior: Sequence[_Series]) -> tuple[float, float, str]:
    """Time range covered by every behavioral series, and each series' range as text."""
    lo = max(float(s.t[0]) for s in behavior)
    hi = min(float(s.t[-1]) for s in behavior)
    ranges = ", ".join(f"{s.label} {s.t[0]:.6g}-{s.t[-1]:.6g} s" for s in behavior)
    return lo, hi, ranges


def _assemble(
    source: str,
    behavior: Sequence[_Series],
    t: np.ndarray,
    bins: tuple[np.ndarray, np.ndarray],
    neural: np.ndarray,
    neuron_names: Sequence[str],
    *,
    resample: str,
    out_of_range: str,
    interval_labels: np.ndarray | None = None,
    split_gaps: bool = False,
    name: str | None,
    subject: str | None,
    condition: str | None,
    rate: float | None,
    metadata: dict[str, Any],
    nan_policy: str,
    neuron_info: Any = None,
) -> Session:
    """Resample behavior onto the neural time base and build the session."""
    if resample not in RESAMPLE_METHODS:
        raise DataError(f"{source}: resample must be one of {RESAMPLE_METHODS}, got {resample!r}")
    if out_of_range not in OUT_OF_RANGE:
        raise DataError(
            f"{source}: out_of_range must be one of {OUT_OF_RANGE}, got {out_of_range!r}"
        )
    start, end, ranges = _common_range(behavior)
    keep = (t >= start) & (t <= end)
    if not keep.any():
        raise DataError(
            f"{source}: no overlap in time between the neural data "
            f"({t[0]:.6g}-{t[-1]:.6g} s) and the behavior ({ranges})"
        )
    n_out = int((~keep).sum())
    if n_out:
        msg = (
            f"{source}: {n_out} of {t.size} neural samples lie outside the time range covered "
            f"by every behavioral series ({ranges}); behavior is never extrapolated"
        )
        if out_of_range == "raise":
            raise DataError(msg + "; pass out_of_range='trim' to exclude them")
        warnings.warn(msg + "; they are excluded", SharedRepWarning, stacklevel=3)
    idx = np.flatnonzero(keep)
    t_k, lo_k, hi_k = t[idx], bins[0][idx], bins[1][idx]
    columns, names, methods = [], [], {}
    for s in behavior:
        values, used = _resample(s, t_k, lo_k, hi_k, resample)
        columns.append(values)
        names.extend(s.names)
        methods[s.label] = used
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{source}: behavioral feature names {dup} occur in several series")
    frame = pd.DataFrame(np.column_stack(columns), index=pd.Index(t_k, name="time"), columns=names)
    labels = None if interval_labels is None else interval_labels[idx]
    segments = _segments(t_k, labels, split_gaps=split_gaps)
    metadata = {**metadata, "resample": methods, "samples_out_of_range": n_out}
    try:
        return Session(
            frame,
            neural[idx],
            segments,
            name=name,
            subject=subject,
            condition=condition,
            neuron_names=list(neuron_names),
            rate=rate,
            metadata=metadata,
            neuron_info=neuron_info,
            nan_policy=nan_policy,
        )
    except DataError as err:
        raise DataError(f"{source}: {err}") from None


def _optional(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"reading this format needs {module}; install it with `pip install sharedrep[{extra}]`"
        ) from err


def _bin_counts(
    spike_times: np.ndarray, unit_of_spike: np.ndarray, n_units: int, edges: np.ndarray
) -> np.ndarray:
    """Spike counts per bin ``[e_k, e_k+1)`` and unit, shape (n_bins, n_units), one bincount."""
    b = np.searchsorted(edges, spike_times, side="right") - 1
    ok = (b >= 0) & (b < edges.size - 1)
    n_bins = edges.size - 1
    flat = np.bincount(b[ok] * n_units + unit_of_spike[ok], minlength=n_bins * n_units)
    return flat.reshape(n_bins, n_units).astype(float)


def _regular_bins(lo: float, hi: float, bin_size: float, source: str) -> np.ndarray:
    if not (np.isfinite(bin_size) and bin_size > 0):
        raise DataError(f"{source}: bin_size must be a positive number of seconds, got {bin_size}")
    n = int(np.floor((hi - lo) / bin_size + 1e-9))
    if n < 1:
        raise DataError(
            f"{source}: the behavior's time range {lo:.6g}-{hi:.6g} s is shorter than one bin "
            f"of {bin_size} s"
        )
    return lo + bin_size * np.arange(n + 1)
