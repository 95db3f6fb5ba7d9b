"""Guards of the estimator: argument checks, lag windows that cannot fit, and which recording
a stored readout belongs to.

A readout ``V_s`` is fitted on one recording. Each :class:`~sharedrep.estimator.SessionFit`
keeps the :attr:`~sharedrep.data.Session.fingerprint` of that recording; before a stored readout
is used for a session, :func:`same_recording` says whether the session is that recording. A
session named by its position in a cohort (it was given no name) must be; a session the user
named may be other data of the same neurons (see ``ShaReD._session_fit_for``).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from .data import Cohort, Session
    from .estimator import SessionFit
    from .features import TemporalExpansion

__all__ = [
    "check_window",
    "describe_difference",
    "is_int",
    "is_real",
    "known_fingerprint",
    "naming_advice",
    "same_recording",
]


def is_int(v: Any, lowest: int) -> bool:
    """An integer (not a bool) of at least ``lowest``."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) and v >= lowest


def is_real(v: Any, lowest: float) -> bool:
    """A finite real number (not a bool) of at least ``lowest``."""
    return (
        isinstance(v, numbers.Real)
        and not isinstance(v, bool | np.bool_)
        and bool(np.isfinite(v))
        and v >= lowest
    )


def check_window(expansion: TemporalExpansion, cohort: Cohort) -> None:
    """Refuse lags that reach beyond every recording, before any statistics are allocated.

    With ``edges="drop"`` such a session has no complete window (the statistics pass names it);
    with every feature zero-padded, a lag as long as the longest segment only ever reads
    behavior outside it (a column of zeros), and the ``q x q`` statistics of a window of
    millions of lags would not fit in memory.
    """
    if not expansion.pads_all:
        return
    longest = max(
        s.n_samples
        if s.segments is None
        else int(np.max(np.diff(np.flatnonzero(np.r_[True, np.diff(s.segments) != 0, True]))))
        for s in cohort
    )
    reach = int(np.max(np.abs(expansion.lags)))
    if reach >= longest:
        lo, hi = expansion.window
        raise DataError(
            f"lags {lo}..{hi} reach {reach} samples, but the longest segment of the cohort has "
            f"{longest} samples: a lag of {longest} samples or more only reads behavior "
            "outside the segment (zero with edges='zero') and carries nothing; use lags "
            f"shorter than {longest} samples"
        )


def known_fingerprint(session: Session) -> str:
    """The session's fingerprint, or ``""`` for a metadata-only copy made without one."""
    try:
        return session.fingerprint
    except DataError:
        return ""


def same_recording(fit: SessionFit, session: Session) -> bool:
    """Whether a stored readout was fitted on this session's recording."""
    if fit.fingerprint:
        mine = known_fingerprint(session)
        return not mine or mine == fit.fingerprint
    # readouts of older model files: only the neurons can be compared
    return tuple(fit.neuron_names) == tuple(session.neuron_names)


def describe_difference(fit: SessionFit, session: Session) -> str:
    """How a session's recording differs from the one a readout was fitted on, in words."""
    theirs = fit.fingerprint.split(":")[0] if fit.fingerprint else "?"
    mine = known_fingerprint(session).split(":")[0]
    if tuple(fit.neuron_names) != tuple(session.neuron_names):
        return f"other neurons: {len(fit.neuron_names)} vs {session.n_neurons}"
    if theirs != mine:
        return f"samples x neurons {theirs} then, {mine} now"
    return f"same shape {mine} but other values"


def naming_advice(session: Session) -> str:
    how = (
        "Unnamed sessions are named by their position (session0, session1, ...): name "
        "each recording (Session(..., name='m7'))"
        if session.named_by_position
        else "Give the new recording its own name"
    )
    return how + " and call fit_readout(session) for a new animal"
