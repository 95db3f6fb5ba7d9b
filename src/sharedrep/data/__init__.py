"""Data containers: one :class:`Session` per recording, a :class:`Cohort` of sessions.

A session holds behavior ``(n_samples, n_features)`` and neural activity
``(n_samples, n_neurons)`` sampled on the same time base, optional segment ids (trials or
continuous blocks) and metadata. Sessions of a cohort share their behavioral feature names and
nothing else: neuron counts, lengths and trial structure are free.

Arrays are kept by reference, not copied. In-memory numpy arrays are validated on construction;
array-likes that are read lazily (``np.memmap``, zarr, h5py) are validated chunk by chunk when
their statistics are computed, so that constructing a session never reads a large file.

Modules: :mod:`._session` (one recording), :mod:`._cohort` (sessions together).
"""

from ._cohort import Cohort, as_cohort
from ._session import NAN_POLICIES, Session

__all__ = ["NAN_POLICIES", "Cohort", "Session", "as_cohort"]
