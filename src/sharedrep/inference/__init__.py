"""Statistics of a fitted ShaReD model, one module per analysis.

* :mod:`~sharedrep.inference.encoding`: :func:`encoding_map`, per neuron the held-out R² of
  the shared model and the unique (drop-one) contribution of each component, with p-values from
  a null that keeps autocorrelation (:mod:`~sharedrep.inference.nulls`) and
  Benjamini–Hochberg q-values within session.
* :mod:`~sharedrep.inference.conditions`: :func:`compare_conditions`, per condition (e.g. naive
  vs expert) the fraction of neurons encoding each component, the encoding strength and each
  component's peak lag, with differences tested by permuting condition labels within subject.
* :mod:`~sharedrep.inference.bootstrap`: :func:`bootstrap_loadings` and :func:`peak_lag`,
  temporal filters (variable x lag) with bootstrap-over-sessions confidence bands.
* :mod:`~sharedrep.inference.variance`: :func:`variance_split`, per session the held-out
  variance explained by the shared part, by the shared part plus private dimensions, and by a
  full-rank ridge ceiling.
* :mod:`~sharedrep.inference.permutation`: the FDR correction and the permutation schemes
  that every test above calls.
"""

from .bootstrap import bootstrap_loadings, peak_lag
from .conditions import compare_conditions
from .encoding import EncodingMap, encoding_map
from .permutation import benjamini_hochberg, label_permutations
from .variance import variance_split

__all__ = [
    "EncodingMap",
    "benjamini_hochberg",
    "bootstrap_loadings",
    "compare_conditions",
    "encoding_map",
    "label_permutations",
    "peak_lag",
    "variance_split",
]
