"""What a recording may hold: the value rules of every array sharedrep reads, stated once.

Behavior, neural activity, covariates and trial times are real numbers. Accepted:

* numpy booleans (events as 0/1), integers and real floating point numbers of any width,
  kept as they are (by reference);
* pandas nullable columns (``Int64``, ``Float64``, ``boolean``, ...): read as float64 with
  missing values (``pd.NA``) as NaN, which the session's ``nan_policy`` then handles;
* object columns or arrays whose every entry is a real number or missing (``None``, ``pd.NA``,
  NaN): read as float64 the same way.

Refused, with a :class:`~sharedrep.errors.DataError` naming the session, the array, the column
and the first offending value: complex numbers (the imaginary part would be dropped), text
(including numbers written as text: nothing is parsed), dates and durations (times belong in
the index or ``time``), categorical columns (labels are not quantities) and structured records.
Lazy sources (``np.memmap``, zarr, HDF5) are checked by dtype when they are opened.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["ACCEPTED", "check_dtype", "real_frame", "real_values"]

#: the values a recording may hold, in words (for messages)
ACCEPTED = "real numbers (booleans, integers or floats)"

_WHY = {
    "c": "complex numbers, whose imaginary part would be dropped; pass the real part, the "
    "magnitude (np.abs) or both as separate columns",
    "U": "text; nothing is parsed: convert the values to numbers first",
    "S": "bytes; nothing is parsed: convert the values to numbers first",
    "M": "dates or times; times belong in the index (or `time`), not among the values",
    "m": "durations; convert them to numbers of seconds first",
    "V": "structured records; pass one numeric column per variable",
}


def check_dtype(dtype: Any, where: str) -> None:
    """Raise :class:`DataError` unless arrays of ``dtype`` hold real numbers.

    Parameters
    ----------
    dtype : numpy dtype or anything ``np.dtype`` accepts
    where : str
        What the array is, for the message (e.g. ``"session 'm1': behavior"``).
    """
    dt = np.dtype(dtype)
    if dt.kind in "biuf":
        return
    why = _WHY.get(dt.kind, "Python objects")
    raise DataError(f"{where} has dtype {dt}: {why}; a recording holds {ACCEPTED}")


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and np.isnan(v)


#: what ``pd.api.types.infer_dtype(..., skipna=True)`` says of object arrays that hold only
#: real numbers and missing values: those are converted in one vectorised call
_REAL_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "boolean", "empty"})


def _object_to_float(values: np.ndarray, where: str, names: Any = None) -> np.ndarray:
    """An object array of real numbers (or missing values) as float64 with NaN; else refuse."""
    if pd.api.types.infer_dtype(values.ravel(), skipna=True) in _REAL_KINDS:
        column = pd.Series(values.ravel(), dtype=object, copy=False)
        return column.to_numpy(dtype=float, na_value=np.nan).reshape(values.shape)
    # anything else, cell by cell: the first value that is no real number is named
    flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]
    out = np.empty(flat.shape, dtype=float)
    for j in range(flat.shape[1]):
        for i, v in enumerate(flat[:, j]):
            if _is_missing(v):
                out[i, j] = np.nan
            elif isinstance(v, numbers.Real | np.bool_) and not isinstance(v, str):
                out[i, j] = float(v)
            else:
                column = f" column {names[j]!r}" if names is not None else ""
                kind = "complex numbers" if isinstance(v, numbers.Complex) else type(v).__name__
                raise DataError(
                    f"{where}{column} holds {kind} (sample {i}: {v!r}); a recording holds "
                    f"{ACCEPTED}, and nothing is parsed or converted"
                )
    return out.reshape(values.shape)


def real_values(values: np.ndarray, where: str) -> np.ndarray:
    """An in-memory numpy array that holds real numbers: itself, or float64 from objects.

    Parameters
    ----------
    values : ndarray
    where : str
        For messages.

    Returns
    -------
    ndarray
        ``values`` unchanged (same object) for boolean, integer and float dtypes; float64 with
        NaN for missing entries of an object array of numbers.
    """
    if values.dtype.kind == "O":
        return _object_to_float(values, where)
    check_dtype(values.dtype, where)
    return values


def real_frame(frame: pd.DataFrame, where: str, names: Any) -> np.ndarray:
    """A DataFrame's values as a numpy array of real numbers, column by column.

    Numpy numeric columns of one dtype come back as ``frame.to_numpy()`` (no conversion);
    nullable and object columns of numbers become float64 with NaN for ``pd.NA``/``None``.

    Parameters
    ----------
    frame : DataFrame
    where : str
        For messages.
    names : sequence of str
        Column names for messages.

    Returns
    -------
    ndarray, shape (n_rows, n_columns)
    """
    columns, convert = [], False
    for j, (_, col) in enumerate(frame.items()):
        dt = col.dtype
        label = f"{where} column {names[j]!r}"
        if isinstance(dt, pd.CategoricalDtype):
            raise DataError(
                f"{label} is categorical (labels, not quantities); a recording holds {ACCEPTED}:"
                " code the categories as numeric columns (e.g. one 0/1 column each)"
            )
        if isinstance(dt, np.dtype) and dt.kind == "O":
            columns.append(_object_to_float(col.to_numpy(), where, [names[j]]))
            convert = True
        elif isinstance(dt, np.dtype):
            check_dtype(dt, label)
            columns.append(None)
        elif pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt):
            # a nullable extension type (Int64, Float64, boolean): pd.NA becomes NaN
            columns.append(col.to_numpy(dtype=float, na_value=np.nan))
            convert = True
        else:  # pandas' string, datetime-with-timezone, interval, period ... types
            raise DataError(f"{label} has dtype {dt}; a recording holds {ACCEPTED}")
    if not convert:
        values = frame.to_numpy()
        # columns of several kinds (booleans next to floats) come out as objects: as floats
        return frame.to_numpy(dtype=float) if values.dtype.kind == "O" else values
    columns = [
        frame.iloc[:, j].to_numpy(dtype=float) if c is None else c for j, c in enumerate(columns)
    ]
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))
