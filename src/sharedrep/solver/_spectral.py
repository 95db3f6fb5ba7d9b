"""Leading singular vectors and eigen-ranges: the starts and the pooled spectrum."""

from __future__ import annotations

import numpy as np

#: below this size the start is an exact (full) decomposition; above it, a randomised one
_EXACT_START = 600


def _top_left_singular(M: np.ndarray, k: int, *, exact: bool) -> np.ndarray:
    """Top ``k`` left singular vectors of ``M`` (q, N), descending (q, k).

    Exact (a thin SVD) for small matrices or when asked; otherwise a randomised range finder
    with power iterations (Halko, Martinsson & Tropp 2011), seeded, refined by an exact SVD in
    the range found.
    """
    q, N = M.shape
    k = min(k, q)
    if exact or min(q, N) <= _EXACT_START or k > min(q, N) // 4:
        return _completed(np.linalg.svd(M, full_matrices=False)[0][:, :k], k)
    rng = np.random.default_rng(0)
    Y = M @ rng.normal(size=(N, k + 10))
    for _ in range(3):
        Y, _ = np.linalg.qr(Y)
        Y = M @ (M.T @ Y)
    Qr, _ = np.linalg.qr(Y)
    U, _, _ = np.linalg.svd(Qr.T @ M, full_matrices=False)
    return Qr @ U[:, :k]


def _range_of(vals: np.ndarray, vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors and eigenvalues (ascending, from ``eigh``) of a positive semi-definite
    matrix on its range, descending: ``(vecs, vals)`` with the round-off eigenvalues dropped."""
    vals, vecs = vals[::-1], vecs[:, ::-1]
    keep = vals > 1e-12 * max(vals.max(initial=0.0), np.finfo(float).tiny)
    return vecs[:, keep], vals[keep]


def _completed(V: np.ndarray, k: int) -> np.ndarray:
    """``V`` (q, k' <= k, orthonormal) completed to ``k`` orthonormal columns (seeded, random
    directions orthogonal to it: fewer singular vectors exist than were asked for)."""
    if V.shape[1] >= k:
        return V[:, :k]
    extra = np.random.default_rng(0).normal(size=(V.shape[0], k - V.shape[1]))
    extra -= V @ (V.T @ extra)
    extra -= V @ (V.T @ extra)
    return np.hstack([V, np.linalg.qr(extra)[0]])
