"""The ShaReD estimator: one shared behavioral representation, a readout per session.

Modules: :mod:`._model` (``ShaReD``: parameters and fitting), :mod:`._new_sessions` (the fitted
model applied to sessions), :mod:`._session_fit` (what it knows about each session).
"""

from ._model import DEFAULT_LAGS, OBJECTIVES, WEIGHTINGS, ShaReD, not_converged_message
from ._session_fit import SessionFit

__all__ = [
    "DEFAULT_LAGS",
    "OBJECTIVES",
    "WEIGHTINGS",
    "SessionFit",
    "ShaReD",
    "not_converged_message",
]
