"""Trial-shaped data: arrays ``(trials, time, features)``, lists of trials, xarray with a trial dim.

Imaging and electrophysiology pipelines often hand over data already cut into trials (one
window around each stimulus or movement onset). :func:`from_trials` lays the trials end to end
as one session whose segments are the trials (a lag window never crosses from one trial into
another, and cross-validation folds are whole trials, interleaved over the recording by
default), and keeps the time of each sample within its trial (``Session.trial_time``, seconds
from the event) for trial-averaged figures.

Trials are assumed to be in recording order (the order folds are interleaved in, and the time
axis of ``ShaReD(drift=k)``); time is not assumed continuous between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data import Session
from ..errors import DataError

__all__ = ["from_trials"]


def _trial_arrays(
    data: Any, what: str, label: str, names: Sequence[str] | None
) -> tuple[list[np.ndarray], tuple[str, ...] | None, np.ndarray | None, np.ndarray | None]:
    """Per-trial 2-D arrays, column names, trial ids and within-trial times of one input.

    Accepts an array ``(trials, time, columns)``, a sequence of ``(time_k, columns)`` arrays
    (trials of different lengths), or an xarray DataArray with a ``trial`` dimension.
    """
    if type(data).__name__ == "DataArray":
        if "trial" not in data.dims:
            raise DataError(
                f"session {label!r}: {what} has dims {data.dims}; a 'trial' dimension is needed"
            )
        if data.ndim == 2:
            data = data.expand_dims("column", axis=-1)
        if data.ndim != 3:
            raise DataError(
                f"session {label!r}: {what} must have dims (trial, time, column), got {data.dims}"
            )
        time_dim = "time" if "time" in data.dims else next(d for d in data.dims[1:] if d != "trial")
        col_dim = next(d for d in data.dims if d not in ("trial", time_dim))
        data = data.transpose("trial", time_dim, col_dim)
        if names is None and col_dim in data.coords:
            names = [str(v) for v in data.coords[col_dim].values]
        trial_ids = np.asarray(data.coords["trial"].values) if "trial" in data.coords else None
        times = (
            np.asarray(data.coords[time_dim].values, dtype=float)
            if time_dim in data.coords
            else None
        )
        trials = list(np.asarray(data.values))
        return trials, None if names is None else tuple(names), trial_ids, times
    if isinstance(data, np.ndarray) and data.dtype != object:
        if data.ndim == 2 and what != "neural":
            data = data[:, :, None]  # one variable
        if data.ndim != 3:
            raise DataError(
                f"session {label!r}: {what} must be shaped (trials, time, columns), got "
                f"{data.shape}"
            )
        return list(data), None if names is None else tuple(names), None, None
    trials = [np.asarray(t) for t in data]
    for k, t in enumerate(trials):
        if t.ndim == 1:
            trials[k] = t[:, None]
        elif t.ndim != 2:
            raise DataError(
                f"session {label!r}: trial {k} of {what} must be 2-D (time, columns), got "
                f"shape {t.shape}"
            )
    return trials, None if names is None else tuple(names), None, None


def from_trials(
    behavior: Any,
    neural: Any,
    *,
    trial_time: Any = None,
    rate: float | None = None,
    trial_ids: Sequence[Any] | None = None,
    trial_info: pd.DataFrame | Mapping[str, Sequence[Any]] | None = None,
    covariates: Any = None,
    feature_names: Sequence[str] | None = None,
    neuron_names: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
    **session_kwargs: Any,
) -> Session:
    """A session from data cut into trials.

    Parameters
    ----------
    behavior : array (trials, time, features), sequence of (time_k, features) arrays, or DataArray
        Behavioral variables of each trial. A DataArray needs a ``trial`` dimension; its
        ``time`` dimension (or the other non-feature one) and coordinates give the within-trial
        times and the feature names.
    neural : same layouts, columns = neurons
        Neural activity of the same trials, sample for sample.
    trial_time : array-like, optional
        Time of each sample within its trial in seconds (e.g. from stimulus onset): shape
        ``(time,)`` shared by all trials, or one array per trial. Default: the DataArray's time
        coordinate, else ``sample index / rate`` when ``rate`` is given.
    rate : float, optional
        Sampling rate in Hz (default: from ``trial_time`` when it is evenly spaced).
    trial_ids : sequence, optional
        A label per trial (default: the DataArray's ``trial`` coordinate, else 0, 1, ...).
    trial_info : DataFrame or mapping of columns, optional
        One row per trial (stimulus, outcome, ...), kept in ``metadata["trials"]``.
    covariates : same layouts, optional
        Private nuisance regressors of each trial (running speed, pupil, ...), see
        :class:`~sharedrep.Session`.
    feature_names, neuron_names, covariate_names : sequence of str, optional
    **session_kwargs
        ``name``, ``subject``, ``condition``, ``metadata``, ``neuron_info``, ``nan_policy``.

    Returns
    -------
    Session
        Trials end to end; ``segments`` are the trial ids, ``trial_time`` the within-trial time.

    Raises
    ------
    DataError
        Inputs whose numbers of trials or trial lengths disagree, or trial times that do not
        fit the trials; the message names the session and the trial.

    Examples
    --------
    >>> import numpy as np, sharedrep as sr
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 49, 2)); Y = rng.normal(size=(20, 49, 5))
    >>> s = sr.Session.from_trials(X, Y, trial_time=np.arange(49) / 16 - 1.0, name="m1")
    >>> s.n_samples, int(s.segments.max()) + 1, s.rate
    (980, 20, 16.0)
    """
    label = session_kwargs.get("name") or "<unnamed>"
    xs, fnames, ids_b, t_b = _trial_arrays(behavior, "behavior", label, feature_names)
    ys, nnames, ids_n, t_n = _trial_arrays(neural, "neural", label, neuron_names)
    if len(xs) != len(ys):
        raise DataError(f"session {label!r}: {len(xs)} behavior trials but {len(ys)} neural trials")
    if not xs:
        raise DataError(f"session {label!r}: no trials")
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"session {label!r}: trial {k} has {x.shape[0]} behavior samples but "
                f"{y.shape[0]} neural samples"
            )
    for what, a, b in (("trial", ids_b, ids_n), ("time", t_b, t_n)):
        if a is not None and b is not None and not np.array_equal(a, b):
            raise DataError(
                f"session {label!r}: behavior and neural data have different {what} "
                "coordinates; they are paired by label, not by position: align them first"
            )
    lengths = np.array([x.shape[0] for x in xs])
    cov_flat = None
    if covariates is not None:
        cs, cnames, _, _ = _trial_arrays(covariates, "covariates", label, covariate_names)
        if [c.shape[0] for c in cs] != lengths.tolist():
            raise DataError(f"session {label!r}: covariate trials do not match the behavior's")
        cov_flat = np.concatenate(cs)
        covariate_names = cnames
    ids = trial_ids if trial_ids is not None else (ids_b if ids_b is not None else ids_n)
    ids = np.arange(len(xs)) if ids is None else np.asarray(ids)
    if ids.shape != (len(xs),):
        raise DataError(f"session {label!r}: {ids.size} trial ids for {len(xs)} trials")
    if pd.Index(ids).has_duplicates:
        raise DataError(f"session {label!r}: trial ids repeat; each trial needs its own id")
    coord = t_b if t_b is not None else t_n
    times = _within_trial_times(
        trial_time if trial_time is not None else coord, lengths, rate, label
    )
    if rate is None and times is not None:
        step = np.diff(times[: lengths[0]]) if lengths[0] > 1 else np.array([])
        if step.size and np.allclose(step, step[0], rtol=1e-6) and step[0] > 0:
            rate = float(1.0 / step[0])
    metadata = dict(session_kwargs.pop("metadata", None) or {})
    if trial_info is not None:
        info = pd.DataFrame(trial_info)
        if len(info) != len(xs):
            raise DataError(
                f"session {label!r}: trial_info has {len(info)} rows for {len(xs)} trials"
            )
        metadata["trials"] = info.set_axis(pd.Index(ids, name="trial"))
    return Session(
        np.concatenate(xs),
        np.concatenate(ys),
        np.repeat(ids, lengths),
        feature_names=fnames,
        neuron_names=nnames,
        covariates=cov_flat,
        covariate_names=covariate_names,
        trial_time=times,
        rate=rate,
        metadata=metadata,
        **session_kwargs,
    )


def _within_trial_times(
    trial_time: Any, lengths: np.ndarray, rate: float | None, label: str
) -> np.ndarray | None:
    """The within-trial time of every sample, trials end to end (or None)."""
    if trial_time is None:
        if rate is None:
            return None
        return np.concatenate([np.arange(n) / rate for n in lengths])
    t = trial_time
    if isinstance(t, np.ndarray) and t.ndim == 1 and t.dtype != object:
        if not np.all(lengths == t.size):
            raise DataError(
                f"session {label!r}: trial_time has {t.size} samples but trials have "
                f"{sorted(set(lengths.tolist()))}; give one array per trial for trials of "
                "different lengths"
            )
        return np.tile(np.asarray(t, dtype=float), lengths.size)
    parts = [np.asarray(a, dtype=float) for a in t]
    if [p.size for p in parts] != lengths.tolist():
        raise DataError(f"session {label!r}: trial_time arrays do not match the trial lengths")
    return np.concatenate(parts)
