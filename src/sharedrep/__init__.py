"""sharedrep: Shared Representation Discovery (ShaReD).

One behavioral representation shared by every animal, mapped onto each animal's own neurons,
with no alignment of trials or time courses across animals.

>>> import sharedrep as sr
>>> cohort, truth = sr.simulate.cohort(n_sessions=4, seed=0)
>>> model = sr.ShaReD(n_components=3, lags=truth.lags).fit(cohort)
"""

from . import io, simulate
from .data import Cohort, Session
from .errors import DataError, ModelFileError, SharedRepWarning
from .estimator import SessionFit, ShaReD
from .features import TemporalExpansion, raised_cosine_basis
from .io import load_cohort
from .metrics import Scores
from .persist import load, save_model
from .stats import SessionStats, compute_stats

__version__ = "0.1.0"

__all__ = [
    "Cohort",
    "DataError",
    "ModelFileError",
    "Scores",
    "Session",
    "SessionFit",
    "SessionStats",
    "ShaReD",
    "SharedRepWarning",
    "TemporalExpansion",
    "__version__",
    "compute_stats",
    "io",
    "load",
    "load_cohort",
    "raised_cosine_basis",
    "save_model",
    "simulate",
]
