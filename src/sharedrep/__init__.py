"""sharedrep: Shared Representation Discovery (ShaReD).

One behavioral representation shared by every animal, mapped onto each animal's own neurons,
with no alignment of trials or time courses across animals.

>>> import sharedrep as sr
>>> cohort, truth = sr.simulate.cohort(n_sessions=4, seed=0)
>>> model = sr.ShaReD(n_components=3, lags=truth.lags).fit(cohort)

Every public name is loaded on first use (PEP 562): ``import sharedrep`` imports neither
numpy's companions (pandas, xarray, scipy, matplotlib) nor the file readers (pynwb, pynapple,
pooch), so that scripts and ``sharedrep --help`` start quickly; ``sr.ShaReD`` imports what the
estimator needs the first time it is touched. ``dir(sr)`` and ``__all__`` list every name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    DataError,
    ModelFileError,
    NotFittedError,
    OutputError,
    SharedRepWarning,
    SourceError,
)

__version__ = "0.1.0"

#: public name -> module that defines it (relative to this package)
_ATTRIBUTES: dict[str, str] = {
    "CVResults": "selection",
    "Cohort": "data",
    "EncodingMap": "inference",
    "GroupComparison": "inference",
    "LearningTrends": "inference",
    "PopulationComparison": "inference",
    "LeverTruth": "simulate",
    "Scores": "metrics",
    "Session": "data",
    "SessionFit": "estimator",
    "SessionStats": "stats",
    "ShaReD": "estimator",
    "ShaReDCV": "selection",
    "TemporalExpansion": "features",
    "TransferResults": "selection",
    "benjamini_hochberg": "inference",
    "bootstrap_loadings": "inference",
    "compare_conditions": "inference",
    "compare_groups": "inference",
    "compare_populations": "inference",
    "compute_stats": "stats",
    "cross_validate": "selection",
    "encoding_map": "inference",
    "learning_trends": "inference",
    "load": "persist",
    "load_cohort": "io",
    "open_hdf5": "sources",
    "open_npy": "sources",
    "open_zarr": "sources",
    "peak_lag": "inference",
    "raised_cosine_basis": "features",
    "report": "reporting",
    "save_model": "persist",
    "save_session": "io.npz",
    "transfer": "selection",
    "use_cluster": "backend",
    "use_serial": "backend",
    "variance_split": "inference",
    "write_npz": "io.npz",
}
#: public submodules, imported on first access as ``sr.<name>``
_SUBMODULES = ("datasets", "inference", "io", "plot", "simulate", "sources")
#: the other modules of the package, reachable as attributes as they were when imported eagerly
_INTERNAL = (
    "backend",
    "baselines",
    "cli",
    "config",
    "data",
    "estimator",
    "features",
    "metrics",
    "persist",
    "reporting",
    "selection",
    "solver",
    "stats",
)

#: every public name (tests/test_api.py checks it against the tables above)
__all__ = [
    "CVResults",
    "Cohort",
    "DataError",
    "EncodingMap",
    "GroupComparison",
    "LearningTrends",
    "LeverTruth",
    "ModelFileError",
    "NotFittedError",
    "OutputError",
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
    "datasets",
    "encoding_map",
    "inference",
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
    "save_session",
    "simulate",
    "sources",
    "transfer",
    "use_cluster",
    "use_serial",
    "variance_split",
    "write_npz",
]


def __getattr__(name: str) -> Any:
    """Import a public name (or submodule) on first access and keep it in the namespace."""
    if name in _SUBMODULES or name in _INTERNAL:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _ATTRIBUTES:
        source = _ATTRIBUTES[name]
        module = importlib.import_module(f".{source}", __name__)
        # save_session is write_npz under the name the README's "Your own data" uses
        value = getattr(module, "write_npz" if name == "save_session" else name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - what static analysers and IDEs see
    from . import datasets, inference, io, plot, simulate, sources
    from .backend import use_cluster, use_serial
    from .data import Cohort, Session
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
    from .io.npz import write_npz
    from .io.npz import write_npz as save_session
    from .metrics import Scores
    from .persist import load, save_model
    from .reporting import report
    from .selection import CVResults, ShaReDCV, TransferResults, cross_validate, transfer
    from .simulate import LeverTruth
    from .sources import open_hdf5, open_npy, open_zarr
    from .stats import SessionStats, compute_stats
