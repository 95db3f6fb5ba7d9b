"""npz session files (:func:`read_npz`, ``Session.from_npz``; written by :func:`write_npz`).

One session per file, read with ``allow_pickle=False``; keys (strings as numpy unicode arrays):

=================  ===========  ==============================================================
key                shape        meaning
=================  ===========  ==============================================================
``behavior``       (T, p)       behavioral variables (required)
``neural``         (T, n)       neural activity on the same time base (required)
``behavior_names`` (p,)         feature names (default ``x0, x1, ...``)
``neuron_names``   (n,)         neuron ids (default ``n0, n1, ...``)
``trial``          (T,)         trial id of each sample; ``-1``: outside any trial (each
                                stretch of ``-1`` is its own segment); all ``-1``: continuous.
                                An id that occurs again later is the same trial (segment),
                                as in ``Session(segments=...)``
``bin_s``          ()           sample interval in seconds (the rate is ``1 / bin_s``)
``time``           (T,)         sample times in seconds (checked against ``bin_s``)
``trial_time``     (T,)         time of each sample within its trial, seconds (``trial_time_s``
                                is read too)
``covariates``     (T, c)       private nuisance regressors of the session (see ``Session``)
``covariate_names`` (c,)        their names
``subject``        ()           animal id
``condition``      ()           condition label
``neuron_info__C`` (n,)         column ``C`` of ``session.neuron_info`` (one value per neuron:
                                numbers, booleans or strings), e.g. ``neuron_info__population``
``neuron_info_``   (n,)         optional, bool: True where column ``C`` is missing (written
``missing__C``                  only for columns with gaps; a missing string is stored as ``""``,
                                a missing boolean as False, a missing integer as 0)
``neuron_info_``   (k,)         optional: the column names in order (default: archive order)
``columns``
other 0-d keys     ()           kept in ``session.metadata`` (e.g. ``session``, ``area``,
                                ``source``, ``license``)
=================  ===========  ==============================================================

Neuron metadata read back have the types they were written with: a column with gaps becomes
pandas' nullable ``"boolean"`` / ``"Int64"``, NaN (floats) or missing strings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import atomic_write
from ..data import Session
from ..errors import DataError
from ._timebase import _check_times, _measured_rate, _runs

_NPZ_REQUIRED = ("behavior", "neural")
#: keys with a meaning in the layout; metadata never writes over them
_NPZ_RESERVED = frozenset(
    {"behavior", "neural", "behavior_names", "neuron_names", "trial", "time", "bin_s"}
    | {"subject", "condition", "session", "source_file", "trial_time", "trial_time_s"}
    | {"covariates", "covariate_names", "neuron_info_columns"}
)
_INFO, _INFO_MISSING = "neuron_info__", "neuron_info_missing__"


def _read_neuron_info(data: dict[str, Any], n: int, source: str) -> pd.DataFrame | None:
    """Pop the ``neuron_info__*`` keys of an archive into a table (see the module docstring)."""
    order = data.pop("neuron_info_columns", None)
    keys = [k for k in data if k.startswith(_INFO)]
    missing = {
        k[len(_INFO_MISSING) :]: data.pop(k) for k in list(data) if k.startswith(_INFO_MISSING)
    }
    if not keys:
        if missing:
            raise DataError(f"{source}: {sorted(missing)} have missing-value masks but no values")
        return None
    names = [k[len(_INFO) :] for k in keys]
    if order is not None:
        order = [str(c) for c in np.atleast_1d(order)]
        if sorted(order) != sorted(names):
            raise DataError(
                f"{source}: neuron_info_columns lists {order} but the file has columns {names}"
            )
        names = order
    unknown = sorted(set(missing) - set(names))
    if unknown:
        raise DataError(f"{source}: missing-value masks for unknown neuron_info columns {unknown}")
    columns: dict[str, Any] = {}
    for name in names:
        values = np.asarray(data.pop(_INFO + name))
        if values.shape != (n,):
            raise DataError(
                f"{source}: key {_INFO + name!r} has shape {values.shape}; the file has {n} "
                "neurons (one value each)"
            )
        mask = missing.get(name)
        if mask is None or not np.asarray(mask).any():
            columns[name] = values.astype(object) if values.dtype.kind == "U" else values
            continue
        mask = np.asarray(mask)
        if mask.shape != (n,) or mask.dtype != bool:
            raise DataError(f"{source}: key {_INFO_MISSING + name!r} must be ({n},) booleans")
        if values.dtype.kind == "b":
            col = pd.array(values, dtype="boolean")
        elif values.dtype.kind in "iu":
            col = pd.array(values, dtype="Int64")
        elif values.dtype.kind == "f":
            col = values.astype(float)
        else:
            col = values.astype(object)
        col[mask] = (
            None if values.dtype.kind in "UO" else (np.nan if values.dtype.kind == "f" else pd.NA)
        )
        columns[name] = col
    return pd.DataFrame(columns)


def _neuron_info_keys(info: pd.DataFrame, name: str | None) -> dict[str, np.ndarray]:
    """The ``neuron_info__*`` keys of a session's neuron metadata (see the module docstring)."""
    out: dict[str, np.ndarray] = {"neuron_info_columns": np.array([str(c) for c in info.columns])}
    for col in info.columns:
        series = info[col]
        gaps = series.isna().to_numpy()
        kind = series.dtype
        if pd.api.types.is_bool_dtype(kind):
            values = series.fillna(False).to_numpy(dtype=bool)
            gaps = (
                gaps if isinstance(kind, pd.api.extensions.ExtensionDtype) else np.zeros_like(gaps)
            )
        elif pd.api.types.is_integer_dtype(kind):
            values = series.fillna(0).to_numpy(dtype=np.int64)
        elif pd.api.types.is_float_dtype(kind):
            values, gaps = series.to_numpy(dtype=float, na_value=np.nan), np.zeros_like(gaps)
        else:
            present = series[~gaps]
            if not all(isinstance(v, str) for v in present.astype(object)):
                raise DataError(
                    f"session {name!r}: neuron_info column {col!r} holds values that are neither "
                    "numbers, booleans nor strings; the npz layout cannot store it"
                )
            values = np.array(["" if g else str(v) for v, g in zip(series, gaps, strict=True)])
        out[_INFO + str(col)] = values
        if gaps.any():
            out[_INFO_MISSING + str(col)] = gaps
    return out


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
    trial_time = data.pop("trial_time", data.pop("trial_time_s", None))
    covariates = data.pop("covariates", None)
    covariate_names = data.pop("covariate_names", None)
    bin_s = data.pop("bin_s", None)
    subject = data.pop("subject", None)
    cond = data.pop("condition", None)
    neuron_info = _read_neuron_info(data, int(neural.shape[1]) if neural.ndim == 2 else 1, source)
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
            # a trial id is one segment wherever it occurs (as a Session's segments are, so that
            # write_npz then read_npz gives the same segments and folds); each stretch of -1
            # samples is a segment of its own
            segments = np.where(trial >= 0, trial, -2 - _runs(trial < 0))
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
            covariates=covariates,
            covariate_names=None if covariate_names is None else [str(c) for c in covariate_names],
            trial_time=trial_time,
            neuron_info=neuron_info,
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
    metadata (tables, lists) are not part of the layout and are left out. ``neuron_info`` is
    written column by column (``neuron_info__<column>``, see the module docstring); a column
    that is not numbers, booleans or strings raises :class:`~sharedrep.errors.DataError`.
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
    if session.trial_time is not None:
        out["trial_time"] = np.asarray(session.trial_time, dtype=float)
    if session.covariates is not None:
        out["covariates"] = np.asarray(session.covariates)
        out["covariate_names"] = np.array(session.covariate_names)
    for key in ("subject", "condition"):
        if getattr(session, key) is not None:
            out[key] = np.array(str(getattr(session, key)))
    if session.neuron_info is not None:
        out.update(_neuron_info_keys(session.neuron_info, session.name))
    for key, value in session.metadata.items():
        if key == "session_id":
            out.setdefault("session", np.array(str(value)))
        elif key not in _NPZ_RESERVED and isinstance(value, str | int | float | bool):
            out[key] = np.array(value)
    path = Path(path)
    with atomic_write(path, "session file") as f:
        np.savez(f, allow_pickle=False, **out)
    return path
