"""Cross-products of a lagged design from lagged products of the behavior (no design built).

For rows ``t = s .. e`` of a contiguous run, the design row holds ``z(t - a)`` for every lag
``a``, with ``z`` the behavior (already zero-padded outside the run's segment where the features
ask for it). Block ``(a, b)`` of ``Phi'Phi`` is ``sum_t z(t - a) z(t - b)'``. With ``zbar``
equal to ``z`` on the samples the rows read and 0 beyond them,

    sum over ALL t of zbar(t - a) zbar(t - b)' = F(b - a),
    F(delta) = sum_u zbar(u) zbar(u - delta)'

does not depend on ``a``: the lagged auto- and cross-covariances of the behavior. The rows that
``Phi'Phi`` leaves out of that sum are the ``span - 1`` virtual rows before ``s`` and after
``e`` whose windows still touch the samples, so

    Phi'Phi = Toeplitz(F) - E'E,   E = the design of those 2 (span - 1) edge rows,

exactly (no approximation: it is the same sum regrouped). This costs ``O(m p^2 span + span q^2)``
for ``m`` samples instead of ``O(m q^2)`` for the direct product (``q = p L``): for windows
of tens of lags, tens of times less. ``Phi' R`` for the right-hand sides (neurons, nuisance
regressors, ones) is one product per lag with a contiguous slice of ``z``, again without
building the design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._linalg import subtract_product

__all__ = ["lagged_products", "worth_structuring"]


#: fixed cost of one lagged-route call (Python and small-array work), in floating-point
#: operations of a large GEMM: about 150 us on the development machine
_CALL_FLOPS = 3e6


def worth_structuring(n_rows: int, n_lags: int, span: int, n_features: int) -> bool:
    """Whether the lagged route is cheaper than the direct product for a run of ``n_rows``.

    Direct: ``2 n q^2`` flops in one large GEMM (short runs are batched together). Lagged:
    about ``2 (n + span) p^2 span + 2 span q^2`` plus a fixed cost per run. With ``q = p L``
    the lagged route wins when ``n`` exceeds a few ``span``, the window has several lags and
    the run is long enough to pay for a call of its own (short trials of a narrow design are
    faster batched through the direct product).
    """
    if n_lags < 4:
        return False
    p2 = n_features * n_features
    direct = 2.0 * n_rows * n_lags * n_lags * p2
    lagged = 2.0 * ((n_rows + span) * span + span * n_lags * n_lags) * p2 + _CALL_FLOPS
    return lagged < 0.5 * direct


def lagged_products(
    z: np.ndarray,
    lags: np.ndarray,
    n_rows: int,
    rhs: Sequence[np.ndarray],
    *,
    into: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``Phi'Phi`` and ``Phi'R`` of ``n_rows`` consecutive rows, lag-major.

    Parameters
    ----------
    z : ndarray, shape (n_rows + span - 1, p)
        The samples the rows read: sample ``t - a`` of row ``t = s + i`` (``i = 0 ..
        n_rows - 1``) is ``z[i + a_max - a]``.
    lags : ndarray of int, shape (L,)
        Sorted lags.
    n_rows : int
    rhs : sequence of ndarray, each of shape (n_rows, k_i)
        Right-hand sides on the rows (neurons, nuisance regressors, a column of ones, ...).
    into : ndarray, shape (p L, p L), optional
        A C-ordered float64 accumulator in the design's feature-major order (``(feature 0:
        lags), (feature 1: lags), ...``): ``Phi'Phi`` is added to it, in place (no ``q x q``
        temporary), and it is returned as ``gram``.

    Returns
    -------
    gram : ndarray, shape (L p, L p)
        ``Phi'Phi``, columns lag-major: ``(lag 0: features), (lag 1: features), ...`` (or
        ``into``, updated).
    cross : list of ndarray, shapes (L p, k_i)
        ``Phi'R`` for each right-hand side.
    """
    m, p = z.shape
    a_min, a_max = int(lags[0]), int(lags[-1])
    span = a_max - a_min + 1
    if m != n_rows + span - 1:
        raise ValueError(
            f"z has {m} samples; {n_rows} rows of span {span} need {n_rows + span - 1}"
        )
    L = lags.size
    # F(delta) for every delta the lags need, 0 .. span - 1
    deltas = np.unique(np.abs(lags[None, :] - lags[:, None]))
    F = np.zeros((span, p, p))
    for dl in deltas:
        F[dl] = z[dl:].T @ z[: m - dl]
    # block (a, b) = F(b - a) when b >= a, F(a - b)' otherwise: with Fx[span - 1 + delta] that
    # block for delta = b - a of either sign, block row a is one gather (written once, in place)
    Fx = np.concatenate([F[:0:-1].transpose(0, 2, 1), F])
    if into is None:
        blocks = np.empty((L, p, L, p))
        for i, a in enumerate(lags):
            blocks[i] = Fx[span - 1 + lags - a].transpose(1, 0, 2)
        gram = blocks.reshape(L * p, L * p)  # exactly symmetric
    else:  # block row of lag i, feature-major: into[f1, i, f2, l2] += F-block (l2)[f1, f2]
        gram = into
        by_feature = into.reshape(p, L, p, L)
        for i, a in enumerate(lags):
            by_feature[:, i] += Fx[span - 1 + lags - a].transpose(1, 2, 0)
    # the edge rows: i in [-(span - 1), -1] and [n_rows, n_rows + span - 2]
    if span > 1:
        zp = np.pad(z, ((span - 1, span - 1), (0, 0)))
        edge = np.r_[np.arange(-(span - 1), 0), np.arange(n_rows, n_rows + span - 1)]
        pos = edge[:, None] + (a_max - lags)[None, :] + (span - 1)  # (2 span - 2, L)
        E = zp[pos]  # (edges, L, p)
        E = (E if into is None else E.transpose(0, 2, 1)).reshape(edge.size, L * p)
        subtract_product(gram, E.T, E.T)
    cross = [np.empty((L * p, r.shape[1])) for r in rhs]
    for i, a0 in enumerate(a_max - lags):  # lag a reads z[a_max - a :][:n_rows]
        zt = z[a0 : a0 + n_rows].T
        for out, r in zip(cross, rhs, strict=True):
            out[i * p : (i + 1) * p] = zt @ r
    return gram, cross
