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


def reference_design(X: np.ndarray, lags, segments=None, usable=None, zero=None):
    """Lagged design by explicit loops, following the documented rule for trial edges.

    ``zero[j]`` True: feature j counts as 0 outside the row's segment (edges="zero"). A row t
    is kept when it is usable and, if any feature drops (``zero[j]`` False), its whole window
    lies inside its segment and holds only usable samples; if every feature is zero-padded,
    when the part of its window inside its segment holds only usable samples.

    Returns ``(Phi, rows)``: Phi has one row per kept sample t, columns (feature, lag) with
    value ``X[t - lag, feature]`` (or 0 outside the segment for zero-padded features).
    """
    T, p = X.shape
    lags = sorted(lags)
    seg = np.zeros(T, int) if segments is None else np.asarray(segments)
    ok = np.ones(T, bool) if usable is None else np.asarray(usable)
    zero = [False] * p if zero is None else list(zero)
    rows, out = [], []
    for t in range(T):
        if not ok[t]:
            continue
        src = [t - lag for lag in lags]
        window = range(min(src), max(src) + 1)
        inside = [u for u in window if 0 <= u < T and seg[u] == seg[t]]
        if not all(zero):
            if len(inside) != len(window) or not all(ok[u] for u in window):
                continue
        elif not all(ok[u] for u in inside):
            continue
        rows.append(t)
        row = []
        for j in range(p):
            for lag in lags:
                u = t - lag
                same = 0 <= u < T and seg[u] == seg[t]
                row.append(X[u, j] if same else 0.0)
        out.append(row)
    return np.array(out), np.array(rows)


def reference_drift(rows, T: int, k: int) -> np.ndarray:
    """The drift functions written out: k + 1 cubic B-splines on equally spaced knots over
    0..T-1 (Cox-de Boor recursion), the first left out."""
    degree = 3 if k >= 3 else k
    inner = list(np.linspace(0.0, T - 1.0, k + 2 - degree))
    knots = [inner[0]] * degree + inner + [inner[-1]] * degree

    def bump(i: int, r: int, x: float) -> float:
        if r == 0:  # half-open intervals, the last one closed at the recording's end
            if x == knots[-1]:
                return 1.0 if knots[i] < knots[i + 1] == x else 0.0
            return 1.0 if knots[i] <= x < knots[i + 1] else 0.0
        out = 0.0
        if knots[i + r] > knots[i]:
            out += (x - knots[i]) / (knots[i + r] - knots[i]) * bump(i, r - 1, x)
        if knots[i + r + 1] > knots[i + 1]:
            out += (
                (knots[i + r + 1] - x) / (knots[i + r + 1] - knots[i + 1]) * bump(i + 1, r - 1, x)
            )
        return out

    n_b = len(knots) - degree - 1
    return np.array([[bump(i, degree, float(t)) for i in range(1, n_b)] for t in rows])


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


@pytest.fixture()
def close_figures():
    """Close every pyplot figure a test leaves open (for the modules that plot)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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
