"""Shared fixtures and independent reference computations for the tests.

The references here are written with explicit loops and textbook formulas, on purpose
independent of the library's vectorised code paths.
"""

from __future__ import annotations

import os

# Multithreaded OpenBLAS is many times slower on the tiny q-space problems of model selection
# when the machine is oversubscribed (threads spin-wait); pin before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path

import numpy as np
import pytest

import sharedrep as sr

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


# -- example data: never downloaded in tests --------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _no_downloads(tmp_path_factory):
    """Fetchers cache in a temporary folder and may copy only from ../shared/data/raw.

    Any HTTP download fails the test that tries it. When ``../shared/data/raw`` exists it is the
    fetchers' mirror (a ``file://`` URL), so that code written for users (the tutorial:
    ``sr.datasets.fetch_reaching()``) runs unchanged on the local copies of the files.
    """
    import pooch

    mp = pytest.MonkeyPatch()

    def refuse(self, url, *args, **kwargs):
        # a ConnectionError, as when offline: code that copes with no network still can
        raise ConnectionError(f"a test tried to download {url}; tests serve files locally")

    mp.setattr(pooch.HTTPDownloader, "__call__", refuse)
    mp.setenv("SHAREDREP_DATA_DIR", str(tmp_path_factory.mktemp("sharedrep-cache")))
    raw = SHARED_DATA / "raw"
    if raw.is_dir():
        mp.setenv("SHAREDREP_DATA_MIRROR", raw.as_uri())
    else:
        mp.delenv("SHAREDREP_DATA_MIRROR", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def raw_data() -> Path:
    """``../shared/data/raw`` (the original public files), or skip."""
    path = SHARED_DATA / "raw"
    if not path.is_dir():
        pytest.skip("../shared/data/raw is not available")
    return path
