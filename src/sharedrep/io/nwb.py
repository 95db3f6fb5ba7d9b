"""NWB files (:func:`read_nwb`, ``Session.from_nwb``; needs ``pip install sharedrep[nwb]``).

Behavior comes from the ``processing["behavior"]`` module: plain ``TimeSeries``,
``SpatialSeries`` inside ``Position`` / ``CompassDirection``, series inside
``BehavioralTimeSeries``, and pose keypoints in the ndx-pose layout (a ``PoseEstimation``
container of ``PoseEstimationSeries``; their confidence is not used). Neural data come from the
``Units`` table (spike times counted in bins of ``bin_size`` seconds) or from the ``ophys``
module (a ``RoiResponseSeries``, alone or inside ``Fluorescence`` / ``DfOverF``). The
``trials`` table gives the segments; the subject id and session metadata are copied. The time
base and segments follow :mod:`sharedrep.io._timebase`.

Per-neuron metadata (``Session.neuron_info``) come from the columns of the ``Units`` table, or of
the ``PlaneSegmentation`` the ROI series refers to (its rows in the series' order): every column
with one number, boolean or string per neuron (an electrode group is named, and its location
added as ``location``). Columns that are not one value per neuron (ragged lists, references)
are listed in ``metadata["neuron_info_skipped"]``; spike times, masks and waveforms are data,
not metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import Session
from ..errors import DataError
from ._timebase import (
    _assemble,
    _bin_counts,
    _bins_around,
    _check_times,
    _common_range,
    _interval_labels,
    _measured_rate,
    _optional,
    _regular_bins,
    _Series,
)


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


#: table columns that are data, not per-neuron metadata (spikes, masks, waveforms, references)
_NOT_METADATA = frozenset(
    {"spike_times", "obs_intervals", "electrodes", "waveforms", "waveform_mean", "waveform_sd"}
    | {"image_mask", "pixel_mask", "voxel_mask"}
)


def _metadata_value(v: Any) -> Any:
    """A table cell as a plain value: bytes decoded, an NWB object (electrode group) by name."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if hasattr(v, "name") and hasattr(v, "fields"):  # pynwb/hdmf containers
        return str(v.name)
    return v


def _table_metadata(
    table: Any, rows: np.ndarray | None = None
) -> tuple[pd.DataFrame | None, list[str]]:
    """Per-row scalar columns of an NWB DynamicTable (Units, PlaneSegmentation), in ``rows``.

    Returns the table (one row per selected row, a RangeIndex) and the names of the columns
    left out because they are not one scalar per row (ragged lists, masks, references).
    """
    from hdmf.common.table import DynamicTableRegion, VectorIndex

    columns: dict[str, Any] = {}
    skipped: list[str] = []
    for name in table.colnames:
        if name in _NOT_METADATA:
            continue
        col = table[name]
        if isinstance(col, VectorIndex | DynamicTableRegion):
            skipped.append(name)
            continue
        values = np.asarray([_metadata_value(v) for v in col.data[:]], dtype=object)
        if values.ndim != 1:
            skipped.append(name)
            continue
        values = values if rows is None else values[rows]
        if all(isinstance(v, bool | np.bool_) for v in values):
            columns[name] = values.astype(bool)
        elif all(
            isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values
        ):
            columns[name] = values.astype(
                float if any(isinstance(v, float | np.floating) for v in values) else np.int64
            )
        else:
            columns[name] = [v if isinstance(v, str) else str(v) for v in values]
        if name == "electrode_group":
            groups = np.asarray(col.data[:], dtype=object)
            groups = groups if rows is None else groups[rows]
            loc = [getattr(g, "location", None) for g in groups]
            if "location" not in table.colnames and all(isinstance(v, str) for v in loc):
                columns["location"] = loc
    return (pd.DataFrame(columns) if columns else None), skipped


def _roi_names(series: Any, n: int) -> list[str]:
    try:
        rows = np.asarray(series.rois.data[:], dtype=np.int64)
        ids = np.asarray(series.rois.table.id[:])
        names = [str(i) for i in ids[rows]]
    except (AttributeError, IndexError, TypeError):
        return [f"roi{i}" for i in range(n)]
    return names if len(names) == n else [f"roi{i}" for i in range(n)]


def _roi_metadata(series: Any, n: int) -> tuple[pd.DataFrame | None, list[str]]:
    """Columns of the PlaneSegmentation behind a RoiResponseSeries, for its ROIs in order."""
    try:
        rows = np.asarray(series.rois.data[:], dtype=np.int64)
        table = series.rois.table
    except (AttributeError, IndexError, TypeError):
        return None, []
    if rows.size != n:
        return None, []
    return _table_metadata(table, rows)


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
            neuron_info, skipped = _table_metadata(nwb.units)
            t = (edges[:-1] + edges[1:]) / 2
            bins = (edges[:-1], edges[1:])
            rate = 1.0 / float(bin_size)
            neural_source = {"neural": "units", "bin_size": float(bin_size)}
        else:
            if bin_size is not None and neural is None:  # bin_size says "spikes": there are none
                ophys = _module(nwb, "ophys")
                found = (
                    "its neural data are imaging (series of the 'ophys' module: "
                    f"{sorted(_nwb_series(ophys, pynwb.TimeSeries))})"
                    if ophys is not None
                    else f"it has no 'ophys' module either (modules: {sorted(nwb.processing)})"
                )
                raise DataError(
                    f"{source}: bin_size asks to count the spike times of the Units table, but "
                    f"the file has no Units table (or an empty one); {found}. Drop bin_size to "
                    "read imaging data at their frame times"
                )
            if bin_size is not None:
                raise DataError(
                    f"{source}: bin_size applies to spike times (neural='units') only; "
                    f"neural={neural!r} is imaging data, which keep their frame times"
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
            neuron_info, skipped = _roi_metadata(series, Y.shape[1])
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
        if skipped:
            meta["neuron_info_skipped"] = skipped
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
        neuron_info=neuron_info,
    )
