"""Model selection from sufficient statistics: cross-validation, ``ShaReDCV`` and transfer.

Modules: ``_fold_fits`` (the machinery below), ``_cv`` (cross-validation, ``ShaReDCV``),
``_transfer`` (new animals).

Everything here rests on one piece of machinery, :class:`FoldStats`: the statistics of every
session are computed ONCE, per fold (whole segments, or contiguous blocks; the same fold index in
every session). The training statistics of fold ``k`` are ``total - fold k`` (a subtraction in
q-space) and the held-out fold is scored from its own statistics
(:meth:`~sharedrep.stats.StackedStats.residual_ss`), so no fit or score ever reads the raw data
again. Cross-validation scores every rank of a training fold from one prepared problem
(:func:`_cv_fold`); transfer to a new animal and the held-out R² of the encoding map
(:mod:`sharedrep.inference`) go through :meth:`FoldStats.heldout`, which takes any fitter.
"""

from __future__ import annotations

from ._cv import CVResults, ShaReDCV, cross_validate, cv_provenance, one_se_choice
from ._fold_fits import CV_TOL, DEFAULT_ALPHAS, RULES, FoldStats, score_block, with_coef
from ._transfer import TransferResults, transfer

__all__ = [
    "CV_TOL",
    "DEFAULT_ALPHAS",
    "RULES",
    "CVResults",
    "FoldStats",
    "ShaReDCV",
    "TransferResults",
    "cross_validate",
    "cv_provenance",
    "one_se_choice",
    "score_block",
    "transfer",
    "with_coef",
]
