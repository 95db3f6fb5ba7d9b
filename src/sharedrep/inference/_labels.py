"""Labels the study analyses read: session conditions, days and per-neuron metadata columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort
from ..errors import DataError


def session_value(session: Any, key: str) -> Any:
    """A session attribute (``condition``, ``subject``, ...) or a key of its metadata."""
    if key in ("condition", "subject", "name"):
        return getattr(session, key)
    return session.metadata.get(key)


def session_conditions(
    cohort: Cohort, conditions: str | None, order: Sequence[Any] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Condition label of each session (as str) and the conditions in order.

    ``conditions=None``, or a cohort in which no session has that label, gives one condition
    ``"all"``. Sessions must all be labelled or none; ``order`` (default: first appearance)
    must list every label.
    """
    if conditions is None:
        return np.array(["all"] * len(cohort), dtype=object), ["all"]
    values = [session_value(s, conditions) for s in cohort]
    if all(v is None for v in values):
        return np.array(["all"] * len(cohort), dtype=object), ["all"]
    missing = [s.name for s, v in zip(cohort, values, strict=True) if v is None]
    if missing:
        raise DataError(
            f"sessions {missing} have no {conditions!r} label while others do; label every "
            "session or pass conditions=None"
        )
    labels = np.array([str(v) for v in values], dtype=object)
    levels = list(dict.fromkeys(labels)) if order is None else [str(c) for c in order]
    unlisted = sorted(set(labels) - set(levels))
    if unlisted:
        raise DataError(f"{conditions!r} labels {unlisted} are not in order={levels}")
    return labels, [c for c in levels if c in set(labels)]


def session_days(cohort: Cohort, day: str) -> np.ndarray:
    """The numeric day (or other ordered value) of each session, shape (S,)."""
    out = []
    for s in cohort:
        value = session_value(s, day)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"session {s.name!r}: {day!r} must be a number (a day, a session index), got "
                f"{value!r}"
            ) from None
        if not np.isfinite(number):
            raise DataError(f"session {s.name!r}: {day!r} is {value!r}, not a finite number")
        out.append(number)
    return np.array(out)


@dataclass(frozen=True)
class NeuronLabels:
    """One metadata column over a cohort's neurons, with the neurons left out and why.

    Attributes
    ----------
    values : list of ndarray
        Per session, the column's values for its neurons (object array).
    keep : list of ndarray of bool
        Per session, neurons that enter the analysis: selected by ``where`` and with a label.
    numeric : bool
        The column holds numbers (not booleans): a rank correlation, not groups.
    levels : list
        Group labels in order (empty for a numeric column).
    n_missing, n_unselected : int
        Neurons left out for a missing label, and by ``where``.
    """

    column: str
    values: list[np.ndarray]
    keep: list[np.ndarray]
    numeric: bool
    levels: list[Any]
    n_missing: int
    n_unselected: int


def neuron_labels(
    cohort: Cohort, column: str, where: str | None = None, order: Sequence[Any] | None = None
) -> NeuronLabels:
    """Read ``column`` of every session's ``neuron_info`` (restricted by the query ``where``)."""
    from ..data._session import _neuron_positions

    values, keep = [], []
    n_missing = n_unselected = 0
    dtypes = set()
    for s in cohort:
        info = s.neuron_info
        if info is None or column not in info.columns:
            have = [] if info is None else list(info.columns)
            raise DataError(
                f"session {s.name!r} has no neuron_info column {column!r} (its neuron_info "
                f"columns: {have}); give every session one, e.g. Session(..., neuron_info=...)"
            )
        col = info[column]
        dtypes.add(_kind(col))
        selected = np.ones(s.n_neurons, dtype=bool)
        if where is not None:
            selected[:] = False
            try:
                selected[_neuron_positions(where, s.neuron_names, info, s.name)] = True
            except DataError as err:
                if "keeps no neuron" not in str(err):
                    raise
        present = ~col.isna().to_numpy()
        n_missing += int((selected & ~present).sum())
        n_unselected += int((~selected).sum())
        values.append(np.asarray(col.astype(object), dtype=object))
        keep.append(selected & present)
    if len(dtypes) > 1:
        raise DataError(
            f"neuron_info column {column!r} is numeric in some sessions and labels in others"
        )
    numeric = dtypes == {"numeric"}
    if sum(int(k.sum()) for k in keep) == 0:
        raise DataError(
            f"no neuron has a {column!r} label"
            + (f" among those selected by {where!r}" if where else "")
        )
    levels: list[Any] = []
    if not numeric:
        seen = list(dict.fromkeys(v for vals, k in zip(values, keep, strict=True) for v in vals[k]))
        if dtypes == {"bool"}:
            seen = sorted(seen, key=bool)  # False, then True
        levels = seen if order is None else list(order)
        unlisted = [v for v in seen if v not in levels]
        if unlisted:
            raise DataError(f"{column!r} labels {unlisted} are not in order={list(levels)}")
    return NeuronLabels(column, values, keep, numeric, levels, n_missing, n_unselected)


def _kind(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return "numeric"
    present = col.dropna()
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return "bool"
    return "labels"
