"""Dense linear algebra shared by the statistics and the solver (numpy only)."""

from __future__ import annotations

import numpy as np


def stacked_times(C: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``C_s W`` for every symmetric ``C_s`` of ``C`` (S, q, q), shape (S, q, k).

    Computed as ONE product ``W' [C_1 ... C_S]``: for a thin ``W``, S products ``C_s W`` are
    slow (BLAS packs each ``C_s`` for a few columns), while the transposed product streams the
    stack once (1.3-1.5x faster at q = 1,000-2,000 with 4-12 columns on the development
    machine).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(3, 5, 5)); C = A + A.transpose(0, 2, 1)
    >>> W = rng.normal(size=(5, 2))
    >>> bool(np.allclose(stacked_times(C, W), C @ W))
    True
    """
    S, q, _ = C.shape
    k = W.shape[1]
    return (W.T @ C.reshape(S * q, q).T).reshape(k, S, q).transpose(1, 2, 0)
