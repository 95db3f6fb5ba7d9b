"""Sufficient statistics: one chunked pass over each session, then everything in q-space.

* :mod:`~sharedrep.stats.containers`: :class:`SessionStats` (additive per-block sums of one
  session), :class:`StackedStats` (many sessions scored at once), their algebra (totals,
  folds by subtraction, centring, nuisance profiling, held-out sums of squares).
* :mod:`~sharedrep.stats.accumulate`: :func:`compute_stats`, the pass itself.
* :mod:`~sharedrep.stats.lagged`: ``Phi'Phi`` of a lagged design from lagged products of the
  behavior, exactly, for long runs of rows.
* :mod:`~sharedrep.stats.standardize`: :func:`standardize`, the cohort's statistics turned
  into the solver's matrices.

These are pure functions of the data; where they run (this process, threads, a cluster) is
decided by :mod:`sharedrep.backend` only.
"""

from .accumulate import (
    DEFAULT_CHUNK_ENTRIES,
    chunk_ranges,
    compute_stats,
    nuisance_names,
    nuisance_rows,
    stats_shift,
)
from .containers import Partial, SessionStats, Shifts, StackedStats, stack
from .standardize import Standardized, pooled_feature_scale, standardize

__all__ = [
    "DEFAULT_CHUNK_ENTRIES",
    "Partial",
    "SessionStats",
    "Shifts",
    "StackedStats",
    "Standardized",
    "chunk_ranges",
    "compute_stats",
    "nuisance_names",
    "nuisance_rows",
    "pooled_feature_scale",
    "stack",
    "standardize",
    "stats_shift",
]
