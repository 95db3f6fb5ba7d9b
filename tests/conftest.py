"""Shared fixtures and independent reference computations for the tests.

The references here are written with explicit loops and textbook formulas, on purpose
independent of the library's vectorised code paths.

Multithreaded OpenBLAS on the many tiny q-space problems of model selection (28 x 28 solves,
L-BFGS steps) is 10x slower than one thread on a loaded 2-core machine (threads spin-wait for
each other). The tests pin BLAS to one thread; this must run before numpy is imported.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import sharedrep as sr  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def reference_design(X: np.ndarray, lags, segments=None, usable=None):
    """Lagged design by explicit loops: rows whose whole window is inside one segment.

    Returns ``(Phi, rows)``: Phi has one row per kept sample t, columns (feature, lag) with
    value ``X[t - lag, feature]``.
    """
    T, p = X.shape
    lags = sorted(lags)
    seg = np.zeros(T, int) if segments is None else np.asarray(segments)
    ok = np.ones(T, bool) if usable is None else np.asarray(usable)
    rows, out = [], []
    for t in range(T):
        src = [t - lag for lag in lags]
        window = range(min(src), max(src) + 1)
        if min(src) < 0 or max(src) >= T:
            continue
        if any(seg[u] != seg[t] or not ok[u] for u in window):
            continue
        rows.append(t)
        out.append([X[t - lag, j] for j in range(p) for lag in lags])
    return np.array(out), np.array(rows)


def reduced_rank_ridge(Phi: np.ndarray, Y: np.ndarray, alpha: float, d: int) -> np.ndarray:
    """Reduced-rank ridge regression (Mukherjee & Zhu 2011) through an SVD.

    Ridge fit ``B = (Phi'Phi + alpha I)^-1 Phi'Y``, then the top-d right singular vectors
    ``V_d`` of the augmented fitted values ``[Phi; sqrt(alpha) I] B``; the rank-d coefficient
    is ``B V_d V_d'`` and its column space ``span(B V_d)`` is the representation.
    Returns ``B V_d`` (q x d).
    """
    q = Phi.shape[1]
    B = np.linalg.solve(Phi.T @ Phi + alpha * np.eye(q), Phi.T @ Y)
    fitted = np.vstack([Phi @ B, np.sqrt(alpha) * B])
    _, _, vt = np.linalg.svd(fitted, full_matrices=False)
    return B @ vt[:d].T


@pytest.fixture(scope="session")
def small_cohort():
    return sr.simulate.cohort(
        n_sessions=4,
        n_samples=(600, 900),
        n_neurons=(8, 15),
        n_features=3,
        lags=range(-2, 3),
        seed=11,
    )


@pytest.fixture(scope="session")
def reaching_dir() -> Path:
    path = SHARED_DATA / "reaching"
    if not path.is_dir():
        pytest.skip("../shared/data/reaching is not available")
    return path
