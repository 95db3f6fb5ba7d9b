"""sharedrep: Shared Representation Discovery (ShaReD).

One behavioral representation shared by every animal, mapped onto each animal's own neurons,
with no alignment of trials or time courses across animals.

>>> import sharedrep as sr
>>> cohort, truth = sr.simulate.cohort(n_sessions=4, seed=0)
>>> model = sr.ShaReD(n_components=3, lags=truth.lags).fit(cohort)
"""

from . import io, plot, simulate, sources
from .backend import use_cluster, use_serial
from .data import Cohort, Session
from .errors import DataError, ModelFileError, SharedRepWarning, SourceError
from .estimator import SessionFit, ShaReD
from .features import TemporalExpansion, raised_cosine_basis
from .inference import (
    EncodingMap,
    GroupComparison,
    LearningTrends,
    PopulationComparison,
    benjamini_hochberg,
    bootstrap_loadings,
    compare_conditions,
    compare_groups,
    compare_populations,
    encoding_map,
    learning_trends,
    peak_lag,
    variance_split,
)
from .io import load_cohort
from .metrics import Scores
from .persist import load, save_model
from .reporting import report
from .selection import CVResults, ShaReDCV, TransferResults, cross_validate, transfer
from .simulate import LeverTruth
from .sources import open_hdf5, open_npy, open_zarr
from .stats import SessionStats, compute_stats

__version__ = "0.1.0"

__all__ = [
    "CVResults",
    "Cohort",
    "DataError",
    "EncodingMap",
    "GroupComparison",
    "LearningTrends",
    "LeverTruth",
    "ModelFileError",
    "PopulationComparison",
    "Scores",
    "Session",
    "SessionFit",
    "SessionStats",
    "ShaReD",
    "ShaReDCV",
    "SharedRepWarning",
    "SourceError",
    "TemporalExpansion",
    "TransferResults",
    "__version__",
    "benjamini_hochberg",
    "bootstrap_loadings",
    "compare_conditions",
    "compare_groups",
    "compare_populations",
    "compute_stats",
    "cross_validate",
    "encoding_map",
    "io",
    "learning_trends",
    "load",
    "load_cohort",
    "open_hdf5",
    "open_npy",
    "open_zarr",
    "peak_lag",
    "plot",
    "raised_cosine_basis",
    "report",
    "save_model",
    "simulate",
    "sources",
    "transfer",
    "use_cluster",
    "use_serial",
    "variance_split",
]
