"""Pieces every analysis of a fitted model shares: unwrapping, auxiliary refits, alignment."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._guards import is_int
from ..estimator import ShaReD
from ..selection import CV_TOL


def _unwrap(model: Any) -> ShaReD:
    """The fitted ShaReD behind a model (a ShaReDCV gives its refitted best estimator)."""
    best = getattr(model, "__dict__", {}).get("best_estimator_")
    model = best if best is not None else model
    if not isinstance(model, ShaReD):
        raise TypeError(f"expected a fitted ShaReD or ShaReDCV, got {type(model).__name__}")
    model._check_fitted()
    return model


def _check_readouts(model: ShaReD, cohort: Any) -> None:
    """Every session of ``cohort`` has a readout of its own recording in ``model`` (an unnamed
    session that took a training session's position does not: see ``ShaReD.fit_readout``)."""
    for s in cohort:
        model._session_fit_for(s)


def _aux_params(model: ShaReD) -> dict[str, Any]:
    """The model's parameters for auxiliary refits (cross-fitting, bootstrap, folds).

    Their optimiser tolerance is relaxed to ``CV_TOL`` (as in cross-validation): the
    statistics they feed change far less than their own sampling variability.
    """
    params = model.get_params()
    params["tol"] = max(float(params["tol"]), CV_TOL)
    w = params["weights"]
    if not isinstance(w, str | Mapping):
        # explicit per-session weights: by name, so that refits on subsets of sessions work
        params["weights"] = dict(zip(model.session_weights_.index, np.asarray(w), strict=True))
    return params


def _align(B: np.ndarray, target: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """``R`` minimising ``||B R - target||`` in the metric (each target column regressed on B)."""
    M = B.T @ metric @ B
    M = M + 1e-12 * np.trace(M) / max(M.shape[0], 1) * np.eye(M.shape[0])
    return np.linalg.solve(M, B.T @ metric @ target)


def _raw(model: ShaReD, W: np.ndarray | None = None) -> np.ndarray:
    """``W`` (default the model's) as a map from the unscaled design, shape (q, d)."""
    return model._column_scale[:, None] * (model.coef_ if W is None else W)


def _filters(model: ShaReD, W: np.ndarray) -> np.ndarray:
    """``W`` (..., q, d) in the model's standardized design units as filters (..., p, L, d)."""
    p, d = model.n_features_in_, W.shape[-1]
    filt = model.expansion_.lag_matrix(p) @ W
    return filt.reshape(*W.shape[:-2], p, model.expansion_.lags.size, d)


# -- argument checks ---------------------------------------------------------------------------
def check_count(value: Any, name: str, lowest: int, why: str = "") -> int:
    """``value`` as an int, or a ``ValueError`` naming the argument (bools are not counts)."""
    if is_int(value, lowest):
        return int(value)
    raise ValueError(f"{name} must be an integer >= {lowest}{why}, got {value!r}")


def check_seed(seed: Any) -> None:
    """A seed for ``numpy.random.default_rng``: None or a non-negative integer."""
    if seed is None:
        return
    check_count(seed, "seed", 0, " or None")


def check_fraction(value: Any, name: str) -> float:
    """A number strictly between 0 and 1, or a ``ValueError`` naming the argument."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_) and 0 < value < 1:
        return float(value)
    raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
