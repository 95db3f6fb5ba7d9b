"""pynapple objects (:func:`from_pynapple`, ``Session.from_pynapple``).

Behavior as ``Tsd`` / ``TsdFrame`` (or a dict of them), neural activity as a ``TsGroup`` of
spike trains (counted in bins of ``bin_size``) or a ``TsdFrame`` (e.g. calcium traces), epochs as
an ``IntervalSet``. The time base and segments follow :mod:`sharedrep.io._timebase`.

Per-neuron metadata (``Session.neuron_info``) are the pynapple metadata of the neural object:
the columns of ``TsGroup.metadata`` (e.g. set with ``TsGroup(..., metadata=...)`` or
``set_info``) except the firing ``rate`` pynapple computes itself, or the column metadata of a
``TsdFrame``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..data import Session
from ..errors import DataError
from ._timebase import (
    _assemble,
    _bins_around,
    _check_times,
    _common_range,
    _interval_labels,
    _measured_rate,
    _optional,
    _Series,
)


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
    neuron_info = _nap_metadata(neural, neuron_names)
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
        neuron_info=neuron_info,
    )


def _nap_metadata(neural: Any, names: list[str]) -> pd.DataFrame | None:
    """The per-neuron metadata of a TsGroup (without its computed ``rate``) or a TsdFrame."""
    table = getattr(neural, "metadata", None)
    if not isinstance(table, pd.DataFrame):
        return None
    table = table.drop(columns=[c for c in ("rate",) if c in table.columns and _is_group(neural)])
    if table.shape[1] == 0:
        return None
    table = table.copy()
    table.index = [str(i) for i in table.index]
    return table.loc[names] if set(names) <= set(table.index) else None


def _is_group(neural: Any) -> bool:
    return type(neural).__name__ == "TsGroup"
