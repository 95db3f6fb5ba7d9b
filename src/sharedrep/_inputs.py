"""Inputs of a Session: arrays, DataFrames and DataArrays as tables, their time labels, and the
fingerprint that identifies a recording.

* :func:`_as_table`: values (by the rules of :mod:`sharedrep._dtypes`), column names and the
  time labels (a DataFrame index, a DataArray coordinate) of one input.
* :func:`_check_aligned`: inputs that carry time labels must carry the same ones (samples are
  paired by position; nothing is reindexed).
* :func:`_fingerprint`: shape, neuron names and a checksum of a few sampled rows of the neural
  data (``Session.fingerprint``).
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._dtypes import check_dtype, real_frame, real_values
from .errors import DataError


def _as_table(
    data: Any, what: str, session: str, names: Sequence[str] | None
) -> tuple[Any, tuple[str, ...], pd.Index | None]:
    """Return ``(values, column_names, time_index)`` for an array, DataFrame or DataArray.

    Values follow the rules of :mod:`sharedrep._dtypes` (real numbers; nullable and object
    columns of numbers become float64 with NaN); lazy array-likes are checked by dtype only.
    """
    index = None
    where = f"session {session!r}: {what}"
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        names = names if names is not None else [str(c) for c in data.columns]
        index = data.index
        labels = names if len(names) == data.shape[1] else [str(c) for c in data.columns]
        values: Any = real_frame(data, where, labels)
    elif type(data).__name__ == "DataArray":  # xarray, without importing it for plain arrays
        if data.ndim == 1:
            data = data.expand_dims("feature", axis=1)
        if data.ndim != 2:
            raise DataError(f"{where} must be 2-D, got dims {data.dims}")
        if "time" in data.dims and data.dims[0] != "time":
            data = data.transpose("time", ...)
        other = data.dims[1]
        if names is None and other in data.coords:
            names = [str(v) for v in data.coords[other].values]
        if data.dims[0] in data.coords:
            index = pd.Index(np.asarray(data.coords[data.dims[0]].values), name=data.dims[0])
        values = real_values(np.asarray(data.values), where)
    elif isinstance(data, np.ndarray):
        values = real_values(data, where)  # numpy and memmap: kept by reference
    elif hasattr(data, "shape") and hasattr(data, "__getitem__"):
        values = data  # zarr, h5py, sharedrep sources: kept by reference, read lazily
        if hasattr(values, "dtype"):
            check_dtype(values.dtype, where)
    else:
        values = np.asarray(data)
        if values.ndim == 0:  # a scalar, a dict, None ...: not samples
            raise DataError(
                f"{where} must be an array, DataFrame or DataArray of samples, got a "
                f"{type(data).__name__}"
            )
        values = real_values(values, where)
    if values.ndim == 1:
        values = values[:, None] if isinstance(values, np.ndarray) else np.asarray(values)[:, None]
    if values.ndim != 2:
        raise DataError(f"{where} must be 2-D (samples x columns), got shape {values.shape}")
    ncol = values.shape[1]
    if values.shape[0] == 0:
        raise DataError(f"{where} has no samples (shape {tuple(values.shape)})")
    if ncol == 0 and what != "covariates":
        kind = {"behavior": "behavioral variable", "neural": "neuron"}[what]
        raise DataError(f"{where} has no columns: a session needs at least one {kind}")
    if names is None:
        prefix = {"behavior": "x", "neural": "n", "covariates": "c"}[what]
        names = [f"{prefix}{i}" for i in range(ncol)]
    names = tuple(str(n) for n in names)
    if len(names) != ncol:
        raise DataError(f"session {session!r}: {len(names)} {what} names for {ncol} columns")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"session {session!r}: duplicate {what} names {dup}")
    return values, names, index


def _labels_index(obj: Any) -> pd.Index | None:
    """The sample labels of a per-sample vector given as a pandas Series or a DataArray."""
    if isinstance(obj, pd.Series):
        return obj.index
    if type(obj).__name__ == "DataArray" and obj.ndim == 1 and obj.dims[0] in obj.coords:
        return pd.Index(np.asarray(obj.coords[obj.dims[0]].values))
    return None


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, numbers.Real) else str(v)


def _index_mismatch(a: pd.Index, b: pd.Index) -> np.ndarray | None:
    """Positions where two equally long sample indexes disagree (None when they agree).

    Numeric and datetime labels agree within a millionth of their median step (times computed
    in two ways differ in the last bits); other labels must be equal.
    """
    if a.equals(b):
        return None
    kinds = {np.asarray(a).dtype.kind, np.asarray(b).dtype.kind}
    if kinds <= set("iuf") or kinds == {"M"}:
        x = np.asarray(a).astype("int64" if kinds == {"M"} else float).astype(float)
        y = np.asarray(b).astype("int64" if kinds == {"M"} else float).astype(float)
        step = float(np.median(np.abs(np.diff(x)))) if x.size > 1 else 0.0
        off = ~(np.abs(x - y) <= 1e-6 * step)
    else:
        off = np.asarray(a, dtype=object) != np.asarray(b, dtype=object)
    return np.flatnonzero(off) if off.any() else None


def _check_aligned(indexes: Sequence[tuple[str, pd.Index | None]], label: str) -> None:
    """Refuse per-sample inputs whose time indexes (pandas index, xarray coordinate) differ.

    Samples are paired by position; labelled inputs must therefore carry the same labels.
    Nothing is reindexed (that would invent or drop samples).
    """
    given = [(what, idx) for what, idx in indexes if idx is not None]
    for what, idx in given[1:]:
        ref_what, ref = given[0]
        bad = _index_mismatch(ref, idx)
        if bad is None:
            continue
        i = int(bad[0])
        a, b = np.asarray(ref), np.asarray(idx)
        shift = ""
        if a.dtype.kind in "iuf" and b.dtype.kind in "iuf" and a.size > 1:
            step = float(np.median(np.diff(a.astype(float))))
            k = (float(b[0]) - float(a[0])) / step if step else 0.0
            if k and abs(k - round(k)) < 1e-6:
                shift = f"; {what} starts {abs(round(k))} samples {'later' if k > 0 else 'earlier'}"
        raise DataError(
            f"session {label!r}: {ref_what} and {what} carry different time labels "
            f"({ref_what}: {_fmt(a[0])}..{_fmt(a[-1])}, {what}: {_fmt(b[0])}..{_fmt(b[-1])}; "
            f"first difference at sample {i}: {_fmt(a[i])} vs {_fmt(b[i])}{shift}). Samples are "
            "paired by position and nothing is reindexed: align them first (DataFrame.reindex, "
            "xarray.align), or pass plain arrays (.to_numpy()) to pair them by position"
        )


#: rows of the neural data a fingerprint reads (evenly spaced over the recording)
FINGERPRINT_ROWS = 8


def _fingerprint(neural: Any, neuron_names: Sequence[str]) -> str:
    """``"<samples>x<neurons>:<sha256 prefix>"`` of neuron names and a few sampled rows."""
    T, n = int(neural.shape[0]), int(neural.shape[1])
    h = hashlib.sha256(f"{T}|{n}|".encode())
    h.update("\x1f".join(neuron_names).encode())
    for i in np.unique(np.linspace(0, T - 1, min(T, FINGERPRINT_ROWS)).round().astype(int)):
        row = np.ascontiguousarray(np.asarray(neural[int(i) : int(i) + 1], dtype=float))
        h.update(row.tobytes())
    return f"{T}x{n}:{h.hexdigest()[:16]}"
