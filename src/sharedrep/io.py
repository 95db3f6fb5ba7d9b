"""Reading sessions from files and from pynapple objects.

Three sources, each giving one :class:`~sharedrep.data.Session`:

* **NWB** (:func:`read_nwb`, ``Session.from_nwb``; needs ``pip install sharedrep[nwb]``).
  Behavior comes from the ``processing["behavior"]`` module: plain ``TimeSeries``,
  ``SpatialSeries`` inside ``Position`` / ``CompassDirection``, series inside
  ``BehavioralTimeSeries``, and pose keypoints in the ndx-pose layout (a ``PoseEstimation``
  container of ``PoseEstimationSeries``; their confidence is not used). Neural data come from the
  ``Units`` table (spike times counted in bins of ``bin_size`` seconds) or from the ``ophys``
  module (a ``RoiResponseSeries``, alone or inside ``Fluorescence`` / ``DfOverF``). The
  ``trials`` table gives the segments; the subject id and session metadata are copied.
* **pynapple** (:func:`from_pynapple`, ``Session.from_pynapple``): behavior as ``Tsd`` /
  ``TsdFrame`` (or a dict of them), neural activity as a ``TsGroup`` of spike trains (counted in
  bins of ``bin_size``) or a ``TsdFrame`` (e.g. calcium traces), epochs as an ``IntervalSet``.
* **npz** (:func:`read_npz`, ``Session.from_npz``; written by :func:`write_npz`), read with
  ``allow_pickle=False``.

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

npz files
---------
One session per file, keys (``allow_pickle=False``; strings as numpy unicode arrays):

=================  ===========  ==============================================================
key                shape        meaning
=================  ===========  ==============================================================
``behavior``       (T, p)       behavioral variables (required)
``neural``         (T, n)       neural activity on the same time base (required)
``behavior_names`` (p,)         feature names (default ``x0, x1, ...``)
``neuron_names``   (n,)         neuron ids (default ``n0, n1, ...``)
``trial``          (T,)         trial id of each sample; ``-1``: outside any trial (each
                                stretch of ``-1`` is its own segment); all ``-1``: continuous
``bin_s``          ()           sample interval in seconds (the rate is ``1 / bin_s``)
``time``           (T,)         sample times in seconds (checked against ``bin_s``)
``subject``        ()           animal id
``condition``      ()           condition label
other 0-d keys     ()           kept in ``session.metadata`` (e.g. ``session``, ``area``,
                                ``source``, ``license``)
=================  ===========  ==============================================================

Folder of sessions
------------------
:func:`load_cohort` reads a folder holding **one file per session**, ``*.npz`` and/or ``*.nwb``
(no subfolders), in sorted file-name order, into a :class:`~sharedrep.data.Cohort`. Each
session is named after its file name without the suffix (unique within a folder); the file's
own session id is kept in ``metadata["session_id"]``. All sessions must share their behavioral
feature names and sampling rate; a mismatch is an error naming the files. For example::

    reaching/
        m1_stevenson2011.npz
        s1_area2.npz

Errors about a file (missing module, unknown series name, no overlap in time, mismatched
rates, an unreadable file) are :class:`~sharedrep.errors.DataError` whose message starts with
the file's path and names the missing or inconsistent part.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import Cohort, Session
from .errors import DataError, SharedRepWarning

__all__ = ["from_pynapple", "load_cohort", "read_npz", "read_nwb", "write_npz"]

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


# -- NWB --------------------------------------------------------------------------------------
def _module(nwb: Any, name: str) -> Any:
    """A processing module by its conventional name (exact, else ignoring case), or None."""
    if name in nwb.processing:
        return nwb.processing[name]
    matches = [m for key, m in nwb.processing.items() if key.lower() == name]
    return matches[0] if len(matches) == 1 else None


def _nwb_series(container: Any, TimeSeries: type) -> dict[str, Any]:
    """Time series of a processing module by path: ``"name"`` or ``"container/name"``."""
    out: dict[str, Any] = {}
    for obj in container.data_interfaces.values():
        if isinstance(obj, TimeSeries):
            out[obj.name] = obj
            continue
        # Position, BehavioralTimeSeries, PoseEstimation (ndx-pose), Fluorescence, DfOverF, ...
        for child in obj.children:
            if isinstance(child, TimeSeries):
                out[f"{obj.name}/{child.name}"] = child
    return out


def _select(
    available: Mapping[str, Any], wanted: Sequence[str] | str | None, source: str, what: str
) -> list[str]:
    """Paths of the requested series: full paths, series names, or container names."""
    if wanted is None:
        return list(available)
    if isinstance(wanted, str):
        wanted = [wanted]
    chosen: list[str] = []
    for w in wanted:
        if w in available:
            hits = [w]
        else:
            hits = [p for p in available if p.split("/")[-1] == w or p.split("/")[0] == w]
        if not hits:
            raise DataError(
                f"{source}: no {what} series named {w!r}; available: {sorted(available)}"
            )
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _feature_names(path: str, series: Any, k: int, SpatialSeries: type) -> list[str]:
    base = path.split("/")[-1]
    if k == 1:
        return [base]
    if isinstance(series, SpatialSeries) and k <= 3:  # includes ndx-pose keypoints
        return [f"{base}_{ax}" for ax in "xyz"[:k]]
    return [f"{base}_{i}" for i in range(k)]


def _series_values(series: Any) -> np.ndarray:
    get = getattr(series, "get_data_in_units", None)
    return np.asarray(get() if get is not None else series.data[:], dtype=float)


def _nwb_behavior(nwb: Any, wanted: Any, source: str, pynwb: Any) -> list[_Series]:
    module = _module(nwb, "behavior")
    if module is None:
        raise DataError(
            f"{source}: no 'behavior' processing module (modules: {sorted(nwb.processing)})"
        )
    available = _nwb_series(module, pynwb.TimeSeries)
    if not available:
        raise DataError(f"{source}: the 'behavior' module holds no time series")
    out = []
    for path in _select(available, wanted, source, "behavior"):
        series = available[path]
        values = _series_values(series)
        if values.ndim > 2:
            raise DataError(f"{source}: behavior series {path!r} has {values.ndim}-D data")
        t = np.asarray(series.get_timestamps(), dtype=float)
        _check_times(t, f"behavior series {path!r}", source)
        if t.size != values.shape[0]:
            raise DataError(
                f"{source}: behavior series {path!r} has {values.shape[0]} samples but "
                f"{t.size} timestamps"
            )
        k = 1 if values.ndim == 1 else values.shape[1]
        names = _feature_names(path, series, k, pynwb.behavior.SpatialSeries)
        out.append(_Series(path, names, t, values))
    return out


def _nwb_units(nwb: Any, source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    units = nwb.units
    if units is None or len(units) == 0:
        raise DataError(f"{source}: no Units table (or an empty one)")
    if "spike_times" not in units.colnames:
        raise DataError(f"{source}: the Units table has no 'spike_times' column")
    ragged = units["spike_times"]  # hdmf VectorIndex: ends of each unit's spikes in .target
    flat = np.asarray(ragged.target.data[:], dtype=float)
    ends = np.asarray(ragged.data[:], dtype=np.int64)
    counts = np.diff(np.concatenate([[0], ends]))
    unit_of_spike = np.repeat(np.arange(ends.size), counts)
    ids = [str(i) for i in np.asarray(units.id[:])]
    return flat, unit_of_spike, ids


def _nwb_ophys(nwb: Any, wanted: str | None, source: str, pynwb: Any) -> tuple[str, Any]:
    module = _module(nwb, "ophys")
    if module is None:
        if wanted is None:
            raise DataError(
                f"{source}: no neural data: the Units table is missing or empty and there is no "
                f"'ophys' processing module (modules: {sorted(nwb.processing)})"
            )
        raise DataError(
            f"{source}: neural={wanted!r} asks for imaging data but there is no 'ophys' "
            f"processing module (modules: {sorted(nwb.processing)})"
        )
    available = {
        p: s
        for p, s in _nwb_series(module, pynwb.TimeSeries).items()
        if isinstance(s, pynwb.ophys.RoiResponseSeries)
    }
    if not available:
        raise DataError(f"{source}: the 'ophys' module holds no RoiResponseSeries")
    paths = _select(available, wanted, source, "ophys RoiResponseSeries")
    if len(paths) != 1:
        raise DataError(
            f"{source}: neural={wanted!r} matches {len(paths)} RoiResponseSeries {paths}; "
            "name one with neural="
        )
    return paths[0], available[paths[0]]


def _roi_names(series: Any, n: int) -> list[str]:
    try:
        rows = np.asarray(series.rois.data[:], dtype=np.int64)
        ids = np.asarray(series.rois.table.id[:])
        names = [str(i) for i in ids[rows]]
    except (AttributeError, IndexError, TypeError):
        return [f"roi{i}" for i in range(n)]
    return names if len(names) == n else [f"roi{i}" for i in range(n)]


def _nwb_metadata(nwb: Any, path: Path) -> tuple[str | None, dict[str, Any]]:
    subject = None
    meta: dict[str, Any] = {"source_file": str(path)}
    for key in ("identifier", "session_id", "session_description", "lab", "institution"):
        value = getattr(nwb, key, None)
        if value is not None:
            meta[key] = value
    if getattr(nwb, "session_start_time", None) is not None:
        meta["session_start_time"] = nwb.session_start_time.isoformat()
    if getattr(nwb, "experimenter", None):
        meta["experimenter"] = list(nwb.experimenter)
    if nwb.subject is not None:
        subject = nwb.subject.subject_id
        for key in ("species", "sex", "age", "genotype", "strain"):
            value = getattr(nwb.subject, key, None)
            if value is not None:
                meta[f"subject_{key}"] = value
    return subject, meta


def read_nwb(
    path: str | os.PathLike[str],
    behavior: str | Sequence[str] | None = None,
    neural: str | None = None,
    *,
    bin_size: float | None = None,
    trials: bool | None = None,
    resample: str = "auto",
    out_of_range: str = "trim",
    name: str | None = None,
    condition: str | None = None,
    nan_policy: str = "raise",
) -> Session:
    """Read one session from an NWB file (see the module docstring for the layout).

    Parameters
    ----------
    path : str or path-like
        The ``.nwb`` (HDF5) file.
    behavior : str or list of str, optional
        Series of ``processing["behavior"]`` to use, by name (``"speed"``), by container
        (``"Position"``, ``"pose"``: all its series) or by path (``"Position/hand"``), in the
        order given. Default: every series of the module. A series with ``k`` columns gives ``k``
        features: ``name`` (k = 1), ``name_x, name_y[, name_z]`` (spatial series and pose
        keypoints), ``name_0 ...`` otherwise. Values are in the series' units
        (``conversion`` and ``offset`` applied).
    neural : str, optional
        ``"units"``: spike times of the ``Units`` table, counted in bins of ``bin_size`` seconds
        laid out over the behavior's common time range. Any other string names a
        ``RoiResponseSeries`` of the ``ophys`` module (``"DfOverF"``, ``"Fluorescence"``, or a
        path such as ``"DfOverF/RoiResponseSeries"``), sampled at its frame times. Default:
        ``"units"`` when the file has units, else the only ``RoiResponseSeries``.
    bin_size : float, optional
        Bin width in seconds; required for ``"units"``.
    trials : bool, optional
        Use the ``trials`` table as segments: ``None`` (default) when the file has one, ``True``
        to require it, ``False`` to ignore it. The table itself is kept in
        ``metadata["trials"]``.
    resample : {"auto", "linear", "mean"}
        How behavior is put on the neural time base (see the module docstring).
    out_of_range : {"trim", "raise"}
        Neural samples outside the behavior's time range: excluded with a warning, or an error.
    name : str, optional
        Session name (default: the file name without suffix).
    condition : str, optional
        Condition label.
    nan_policy : {"raise", "omit"}
        Passed to :class:`~sharedrep.data.Session` (pose trackers often leave NaN).

    Returns
    -------
    Session
        Behavior ``(T, p)`` and neural ``(T, n)`` on the neural time base; ``session.time``
        holds the sample times in seconds, ``session.rate`` the rate in Hz, ``subject`` the
        NWB subject id, and ``metadata`` the session metadata.

    Raises
    ------
    DataError
        The file is not readable NWB, lacks the module, series, table or column asked for, its
        behavior and neural data do not overlap in time, or its timestamps are not increasing;
        the message starts with the file's path.
    ImportError
        pynwb is not installed.

    Notes
    -----
    The Units table's ``obs_intervals`` are not used: a bin in which a unit was not observed
    counts zero spikes. Restrict ``behavior`` or the file to the observed period if that matters.
    """
    pynwb = _optional("pynwb", "nwb")
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"no NWB file at {path}")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
    except Exception as err:  # h5py/hdmf raise many types for a file that is not NWB
        raise DataError(
            f"{source}: not a readable NWB file ({type(err).__name__}: {err})"
        ) from None
    with io:
        try:
            nwb = io.read()
        except Exception as err:
            raise DataError(
                f"{source}: pynwb could not read the file ({type(err).__name__}: {err})"
            ) from None
        beh = _nwb_behavior(nwb, behavior, source, pynwb)
        has_units = nwb.units is not None and len(nwb.units) > 0
        if neural is None and has_units:
            neural = "units"
        split_gaps = False
        if neural == "units":
            if bin_size is None:
                raise DataError(
                    f"{source}: counting the Units' spike times needs bin_size (seconds)"
                )
            spikes, unit_of_spike, neuron_names = _nwb_units(nwb, source)
            lo, hi, ranges = _common_range(beh)
            if hi <= lo:
                raise DataError(
                    f"{source}: the behavioral series do not overlap in time ({ranges})"
                )
            edges = _regular_bins(lo, hi, float(bin_size), source)
            if spikes.size and (spikes.max() < lo or spikes.min() >= hi):
                raise DataError(
                    f"{source}: no overlap in time between the spikes "
                    f"({spikes.min():.6g}-{spikes.max():.6g} s) and the behavior "
                    f"({lo:.6g}-{hi:.6g} s)"
                )
            Y = _bin_counts(spikes, unit_of_spike, len(neuron_names), edges)
            t = (edges[:-1] + edges[1:]) / 2
            bins = (edges[:-1], edges[1:])
            rate = 1.0 / float(bin_size)
            neural_source = {"neural": "units", "bin_size": float(bin_size)}
        else:
            if bin_size is not None:
                raise DataError(
                    f"{source}: bin_size applies to spike times only; imaging data keep their "
                    "frame times"
                )
            label, series = _nwb_ophys(nwb, neural, source, pynwb)
            Y = _series_values(series)
            Y = Y[:, None] if Y.ndim == 1 else Y
            t = np.asarray(series.get_timestamps(), dtype=float)
            _check_times(t, f"neural series {label!r}", source)
            if t.size != Y.shape[0]:
                raise DataError(
                    f"{source}: neural series {label!r} has {Y.shape[0]} samples but "
                    f"{t.size} timestamps"
                )
            bins = _bins_around(t)
            neuron_names = _roi_names(series, Y.shape[1])
            rate = _measured_rate(t)
            split_gaps = True
            neural_source = {"neural": f"ophys/{label}"}
        labels = None
        if trials is not False:
            table = nwb.trials
            if table is None:
                if trials:
                    raise DataError(f"{source}: trials=True but the file has no trials table")
            else:
                labels = _interval_labels(
                    t, table["start_time"][:], table["stop_time"][:], source, "the trials table"
                )
        subject, meta = _nwb_metadata(nwb, path)
        if labels is not None:
            try:
                meta["trials"] = nwb.trials.to_dataframe()
            except Exception:  # columns pandas cannot hold (references): keep the times
                meta["trials"] = pd.DataFrame(
                    {
                        "start_time": nwb.trials["start_time"][:],
                        "stop_time": nwb.trials["stop_time"][:],
                    }
                )
        meta.update(neural_source)
    return _assemble(
        source,
        beh,
        t,
        bins,
        Y,
        neuron_names,
        resample=resample,
        out_of_range=out_of_range,
        interval_labels=labels,
        split_gaps=split_gaps,
        name=name if name is not None else path.stem,
        subject=subject,
        condition=condition,
        rate=rate,
        metadata=meta,
        nan_policy=nan_policy,
    )


# -- pynapple ---------------------------------------------------------------------------------
def _nap_behavior(behavior: Any, nap: Any) -> list[_Series]:
    items = behavior.items() if isinstance(behavior, Mapping) else [(None, behavior)]
    out = []
    for key, obj in items:
        if isinstance(obj, nap.TsdFrame):
            names = [str(c) for c in obj.columns]
            if key is not None and len(names) == 1:
                names = [str(key)]
            label = str(key) if key is not None else "behavior"
        elif isinstance(obj, nap.Tsd):
            label = str(key) if key is not None else "behavior"
            names = [label]
        else:
            raise DataError(
                f"behavior{'' if key is None else f'[{key!r}]'} must be a pynapple Tsd or "
                f"TsdFrame, got {type(obj).__name__}"
            )
        t = np.asarray(obj.t, dtype=float)
        _check_times(t, f"behavior {label!r}", "pynapple input")
        out.append(_Series(label, names, t, np.asarray(obj.values, dtype=float)))
    if not out:
        raise DataError("pynapple input: no behavior given")
    return out


def from_pynapple(
    behavior: Any,
    neural: Any,
    *,
    bin_size: float | None = None,
    epochs: Any = None,
    resample: str = "auto",
    out_of_range: str = "trim",
    name: str | None = None,
    subject: str | None = None,
    condition: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    nan_policy: str = "raise",
) -> Session:
    """Build a session from pynapple objects.

    Parameters
    ----------
    behavior : Tsd, TsdFrame, or dict of str to Tsd / TsdFrame
        Behavioral variables, each on its own timestamps (seconds). Feature names: the
        TsdFrame's columns, or the dict key of a Tsd.
    neural : TsGroup or TsdFrame
        ``TsGroup``: spike trains, counted in bins of ``bin_size`` seconds with
        ``TsGroup.count`` over the behavior's common time range (restricted to ``epochs``);
        neurons are named by the group's keys. ``TsdFrame``: activity sampled at its own
        timestamps (e.g. calcium imaging); neurons are named by its columns.
    bin_size : float, optional
        Bin width in seconds; required for a ``TsGroup``.
    epochs : IntervalSet, optional
        Keep only samples inside these intervals (pynapple's ``restrict``); each interval is
        a segment.
    resample : {"auto", "linear", "mean"}
        See the module docstring.
    out_of_range : {"trim", "raise"}
        Neural samples outside the behavior's time range: excluded with a warning, or an error.
    name, subject, condition : str, optional
    metadata : mapping, optional
    nan_policy : {"raise", "omit"}

    Returns
    -------
    Session
        On the neural time base, with ``session.time`` in seconds.
    """
    nap = _optional("pynapple", "pynapple")
    source = f"session {name!r} (pynapple input)" if name else "pynapple input"
    beh = _nap_behavior(behavior, nap)
    lo, hi, _ = _common_range(beh)
    if epochs is not None and not isinstance(epochs, nap.IntervalSet):
        raise DataError(
            f"{source}: epochs must be a pynapple IntervalSet, got {type(epochs).__name__}"
        )
    meta = dict(metadata or {})
    split_gaps = False
    if isinstance(neural, nap.TsGroup):
        if bin_size is None:
            raise DataError(f"{source}: counting a TsGroup's spikes needs bin_size (seconds)")
        if not (np.isfinite(bin_size) and bin_size > 0):
            raise DataError(f"{source}: bin_size must be a positive number of seconds")
        if hi <= lo:
            raise DataError(f"{source}: the behavioral series do not overlap in time")
        support = nap.IntervalSet(start=lo, end=hi)
        if epochs is not None:
            support = support.intersect(epochs)
            if len(support) == 0:
                raise DataError(
                    f"{source}: no overlap in time between the epochs and the behavior "
                    f"({lo:.6g}-{hi:.6g} s)"
                )
        counts = neural.count(float(bin_size), ep=support)
        t = np.asarray(counts.t, dtype=float)
        if t.size == 0:
            raise DataError(f"{source}: no complete bin of {bin_size} s inside the time range")
        Y = np.asarray(counts.values, dtype=float)
        bins = (t - bin_size / 2, t + bin_size / 2)
        neuron_names = [str(k) for k in counts.columns]
        rate = 1.0 / float(bin_size)
        ivals = support if epochs is not None else None  # one interval: no segments
        meta.setdefault("bin_size", float(bin_size))
    elif isinstance(neural, nap.TsdFrame | nap.Tsd):
        if bin_size is not None:
            raise DataError(f"{source}: bin_size applies to a TsGroup of spike trains only")
        if epochs is not None:
            neural = neural.restrict(epochs)
        t = np.asarray(neural.t, dtype=float)
        _check_times(t, "neural data", source)
        Y = np.asarray(neural.values, dtype=float)
        Y = Y[:, None] if Y.ndim == 1 else Y
        bins = _bins_around(t)
        names = getattr(neural, "columns", None)
        neuron_names = [str(c) for c in names] if names is not None else ["n0"]
        rate = _measured_rate(t)
        ivals = epochs
        split_gaps = True
    else:
        raise DataError(
            f"{source}: neural must be a pynapple TsGroup (spike trains) or TsdFrame, got "
            f"{type(neural).__name__}"
        )
    labels = None
    if ivals is not None:
        labels = _interval_labels(
            t, np.asarray(ivals.start), np.asarray(ivals.end) + 1e-12, source, "epochs"
        )
        inside = labels >= 0  # pynapple's restrict: samples outside the epochs are dropped
        if not inside.any():
            raise DataError(f"{source}: no neural sample lies inside the epochs")
        t, Y, labels = t[inside], Y[inside], labels[inside]
        bins = (bins[0][inside], bins[1][inside])
    return _assemble(
        source,
        beh,
        t,
        bins,
        Y,
        neuron_names,
        resample=resample,
        out_of_range=out_of_range,
        interval_labels=labels,
        split_gaps=split_gaps,
        name=name,
        subject=subject,
        condition=condition,
        rate=rate,
        metadata=meta,
        nan_policy=nan_policy,
    )


# -- npz --------------------------------------------------------------------------------------
_NPZ_REQUIRED = ("behavior", "neural")
#: keys with a meaning in the layout; metadata never writes over them
_NPZ_RESERVED = frozenset(
    {"behavior", "neural", "behavior_names", "neuron_names", "trial", "time", "bin_s"}
    | {"subject", "condition", "session", "source_file"}
)


def _scalar(value: np.ndarray) -> Any:
    return value.item() if value.ndim == 0 else value


def read_npz(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    condition: str | None = None,
    nan_policy: str = "raise",
) -> Session:
    """Read one session from an ``.npz`` file (keys in the module docstring).

    Parameters
    ----------
    path : str or path-like
    name : str, optional
        Session name (default: the file name without suffix; the file's ``session`` key is kept
        in ``metadata["session_id"]``).
    condition : str, optional
        Overrides the file's ``condition`` key.
    nan_policy : {"raise", "omit"}

    Returns
    -------
    Session

    Raises
    ------
    DataError
        Not an npz archive, a required key missing, a pickled (object) member, shapes that
        disagree, or ``time`` that disagrees with ``bin_s``; the message starts with the path.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"no npz file at {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:  # zipfile / numpy raise several types for a bad archive
        raise DataError(
            f"{source}: not a readable npz archive ({type(err).__name__}: {err})"
        ) from None
    if not hasattr(archive, "files"):
        raise DataError(f"{source}: a single .npy array, not an npz archive of a session")
    with archive:
        missing = [k for k in _NPZ_REQUIRED if k not in archive.files]
        if missing:
            raise DataError(
                f"{source}: required keys {missing} are missing (keys: {sorted(archive.files)})"
            )
        data: dict[str, Any] = {}
        for key in archive.files:
            try:
                data[key] = archive[key]
            except ValueError as err:  # object arrays need pickle, which is never used
                raise DataError(
                    f"{source}: key {key!r} holds pickled Python objects, which are not read "
                    f"({err})"
                ) from None
            except Exception as err:
                raise DataError(
                    f"{source}: key {key!r} is unreadable ({type(err).__name__}: {err})"
                ) from None
    behavior, neural = data.pop("behavior"), data.pop("neural")
    features = data.pop("behavior_names", None)
    if features is not None:
        features = [str(f) for f in features]
    neurons = data.pop("neuron_names", None)
    trial = data.pop("trial", None)
    time = data.pop("time", None)
    bin_s = data.pop("bin_s", None)
    subject = data.pop("subject", None)
    cond = data.pop("condition", None)
    meta: dict[str, Any] = {"source_file": source}
    if "session" in data:
        meta["session_id"] = str(_scalar(data.pop("session")))
    for key, value in data.items():
        meta[key] = _scalar(value)
    rate = None
    if bin_s is not None:
        bin_s = float(bin_s)
        if not (np.isfinite(bin_s) and bin_s > 0):
            raise DataError(f"{source}: bin_s must be a positive number of seconds, got {bin_s}")
        rate = 1.0 / bin_s
    if time is not None:
        time = np.asarray(time, dtype=float)
        if time.shape != (behavior.shape[0],):
            raise DataError(
                f"{source}: time has shape {time.shape}, behavior has {behavior.shape[0]} samples"
            )
        _check_times(time, "time", source)
        if bin_s is not None and time.size > 1:
            step = float(np.median(np.diff(time)))
            if abs(step - bin_s) > 0.01 * bin_s:
                raise DataError(
                    f"{source}: mismatched rates: bin_s is {bin_s} s but the time stamps are "
                    f"{step:.6g} s apart"
                )
        elif time.size > 1:
            rate = _measured_rate(time)
    segments = None
    if trial is not None:
        trial = np.asarray(trial)
        if trial.shape != (behavior.shape[0],):
            raise DataError(
                f"{source}: trial has shape {trial.shape}, behavior has {behavior.shape[0]} samples"
            )
        if not np.issubdtype(trial.dtype, np.integer):
            raise DataError(f"{source}: trial must hold integer ids, got dtype {trial.dtype}")
        if np.any(trial < -1):
            raise DataError(f"{source}: trial ids must be >= 0, or -1 outside any trial")
        if np.any(trial != -1):
            segments = _segments(np.arange(trial.size, dtype=float), trial, split_gaps=False)
    behavior_in: Any = behavior
    if time is not None:
        behavior_in = pd.DataFrame(behavior, index=pd.Index(time, name="time"), columns=features)
    try:
        return Session(
            behavior_in,
            neural,
            segments,
            name=name if name is not None else path.stem,
            subject=None if subject is None else str(_scalar(subject)),
            condition=condition
            if condition is not None
            else (None if cond is None else str(_scalar(cond))),
            feature_names=features,
            neuron_names=None if neurons is None else [str(n) for n in neurons],
            rate=rate,
            metadata=meta,
            nan_policy=nan_policy,
        )
    except DataError as err:
        raise DataError(f"{source}: {err}") from None


def write_npz(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write a session in the npz layout read by :func:`read_npz`.

    Parameters
    ----------
    session : Session
        In-memory or lazy arrays (read in full here).
    path : str or path-like
        Destination, used as given.

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Metadata values that are strings, numbers or booleans are written as 0-d keys; other
    metadata (tables, lists) are not part of the layout and are left out.
    """
    out: dict[str, Any] = {
        "behavior": np.asarray(session.behavior),
        "neural": np.asarray(session.neural),
        "behavior_names": np.array(session.feature_names),
        "neuron_names": np.array(session.neuron_names),
    }
    if session.segments is not None:
        out["trial"] = session.segments.astype(np.int64)
    if session.rate is not None:
        out["bin_s"] = np.float64(1.0 / session.rate)
    if session.time is not None:
        out["time"] = np.asarray(session.time, dtype=float)
    for key in ("subject", "condition"):
        if getattr(session, key) is not None:
            out[key] = np.array(str(getattr(session, key)))
    for key, value in session.metadata.items():
        if key == "session_id":
            out.setdefault("session", np.array(str(value)))
        elif key not in _NPZ_RESERVED and isinstance(value, str | int | float | bool):
            out[key] = np.array(value)
    path = Path(path)
    with open(path, "wb") as f:
        np.savez(f, allow_pickle=False, **out)
    return path


# -- folders ----------------------------------------------------------------------------------
_READERS = {".npz": "npz", ".nwb": "nwb"}


def _session_files(folder: Path) -> list[Path]:
    """The session files (``*.npz``, ``*.nwb``) of a folder, in sorted name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _READERS and p.is_file())


def load_cohort(
    folder: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    conditions: Mapping[str, str] | None = None,
    nwb: Mapping[str, Any] | None = None,
    nan_policy: str = "raise",
) -> Cohort:
    """Read a folder of sessions, one file per session (layout in the module docstring).

    Parameters
    ----------
    folder : str or path-like
    pattern : str, optional
        Glob of the files to read (default: ``*.npz`` and ``*.nwb``).
    conditions : mapping of str to str, optional
        Condition of each session, by session name (file name without suffix).
    nwb : mapping, optional
        Keyword arguments for :func:`read_nwb` (``behavior``, ``neural``, ``bin_size``, ...).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    Cohort
        Sessions in sorted file-name order.

    Raises
    ------
    DataError
        No session file, a file that cannot be read (named), or sessions whose behavioral
        features or sampling rates differ (the files are named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder at {folder}")
    if pattern is None:
        files = _session_files(folder)
    else:
        files = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not files:
        raise DataError(f"{folder}: no session files ({pattern or '*.npz, *.nwb'})")
    conditions = dict(conditions or {})
    unknown = sorted(set(conditions) - {p.stem for p in files})
    if unknown:
        raise DataError(f"{folder}: conditions given for sessions without a file: {unknown}")
    sessions = []
    for p in files:
        kind = _READERS.get(p.suffix.lower())
        cond = conditions.get(p.stem)
        if kind == "npz":
            sessions.append(read_npz(p, condition=cond, nan_policy=nan_policy))
        elif kind == "nwb":
            sessions.append(read_nwb(p, condition=cond, nan_policy=nan_policy, **dict(nwb or {})))
        else:
            raise DataError(f"{p}: unknown session file type {p.suffix!r} (use .npz or .nwb)")
    _check_consistent(files, sessions)
    return Cohort(sessions)


def _check_consistent(files: Iterable[Path], sessions: Sequence[Session]) -> None:
    files = list(files)
    ref_file, ref = files[0], sessions[0]
    for f, s in zip(files[1:], sessions[1:], strict=True):
        if s.feature_names != ref.feature_names:
            raise DataError(
                f"{f}: behavioral features {list(s.feature_names)} differ from "
                f"{list(ref.feature_names)} in {ref_file}; every session needs the same ones"
            )
    rates = {str(f): s.rate for f, s in zip(files, sessions, strict=True) if s.rate is not None}
    if len(set(rates.values())) > 1:
        listed = ", ".join(f"{f}: {r:.6g} Hz" for f, r in rates.items())
        raise DataError(
            f"mismatched rates: {listed}; lags are counted in samples, so every session needs "
            "the same sampling rate"
        )
