"""Statistics of a fitted ShaReD model, one module per analysis.

* :mod:`~sharedrep.inference.encoding`: :func:`encoding_map`, per neuron the held-out R² of
  the shared model and the unique (drop-one) contribution of each component, with p-values from
  a null that keeps autocorrelation (:mod:`~sharedrep.inference.nulls`) and
  Benjamini–Hochberg q-values within session.
* :mod:`~sharedrep.inference.conditions`: :func:`compare_conditions`, per condition (e.g. naive
  vs expert) the fraction of neurons encoding each component, the encoding strength and each
  component's peak lag, with differences tested by permuting condition labels within subject.
* :mod:`~sharedrep.inference.groups`: :func:`compare_groups`, encoding in a labelled group of
  neurons (an optogenetic tag, a cell type) against the rest, per condition and its change
  with learning, tested with neurons nested in animals.
* :mod:`~sharedrep.inference.populations`: :func:`compare_populations`, the timing of
  populations recorded together (thalamic axons and M1 neurons) under one ``W``: who leads.
* :mod:`~sharedrep.inference.days`: :func:`learning_trends`, trends over days of encoding,
  strength and timing, per group, tested within animal.
* :mod:`~sharedrep.inference.bootstrap`: :func:`bootstrap_loadings` and :func:`peak_lag`,
  temporal filters (variable x lag) with bootstrap-over-sessions confidence bands.
* :mod:`~sharedrep.inference.variance`: :func:`variance_split`, per session the held-out
  variance explained by the shared part, by the shared part plus private dimensions, and by a
  full-rank ridge ceiling.
* :mod:`~sharedrep.inference.permutation`: the FDR correction, the permutation schemes, and
  the intervals over animals that every test above calls.
"""

from .bootstrap import bootstrap_loadings, peak_lag
from .conditions import compare_conditions
from .days import LearningTrends, learning_trends
from .encoding import EncodingMap, encoding_map
from .groups import GroupComparison, compare_groups
from .permutation import benjamini_hochberg, label_permutations
from .populations import PopulationComparison, compare_populations
from .variance import variance_split

__all__ = [
    "EncodingMap",
    "GroupComparison",
    "LearningTrends",
    "PopulationComparison",
    "benjamini_hochberg",
    "bootstrap_loadings",
    "compare_conditions",
    "compare_groups",
    "compare_populations",
    "encoding_map",
    "label_permutations",
    "learning_trends",
    "peak_lag",
    "variance_split",
]
