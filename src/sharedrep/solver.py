"""The optimisation of the shared representation, in q-space (no data, no I/O).

Given per-session matrices ``C_s = Phi_s'Phi_s + alpha I`` (q x q) and ``G_s`` (q x q), find the
d-dimensional subspace ``span(W)`` maximising

    F(W) = sum_s w_s tr[(W'C_sW)^-1 W'G_sW].

``F`` depends on ``span(W)`` only. For one session the maximiser is given by the top generalised
eigenvectors of ``(G, C)`` (reduced-rank ridge regression); for several sessions we start there
with the pooled matrices and ascend ``F`` with L-BFGS in coordinates whitened by the pooled ``C``
(well conditioned: ``F`` is a Rayleigh quotient there when all ``C_s`` are equal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize

__all__ = ["SubspaceFit", "canonical_basis", "fit_subspace", "readout", "subspace_objective"]


@dataclass(frozen=True)
class SubspaceFit:
    """Result of :func:`fit_subspace`.

    Attributes
    ----------
    W : ndarray, shape (q, d)
        A basis of the optimal subspace (not yet canonical).
    objective : float
        ``F(W)``.
    n_iter : int
        L-BFGS iterations (0 when the eigen-solution is exact, i.e. one session).
    converged : bool
    grad_norm : float
        Norm of the Riemannian gradient at the solution, relative to ``F``.
    """

    W: np.ndarray
    objective: float
    n_iter: int
    converged: bool
    grad_norm: float


def subspace_objective(
    W: np.ndarray, C: np.ndarray, G: np.ndarray, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """``F(W)`` and its Euclidean gradient.

    Parameters
    ----------
    W : ndarray, shape (q, d)
    C, G : ndarray, shape (S, q, q)
        Symmetric; each ``C_s`` positive definite.
    weights : ndarray, shape (S,)

    Returns
    -------
    value : float
    grad : ndarray, shape (q, d)
        ``sum_s w_s (2 G_s W M_s^-1 - 2 C_s W M_s^-1 N_s M_s^-1)``, ``M = W'CW``, ``N = W'GW``.
    """
    S, q, _ = C.shape
    d = W.shape[1]
    # sessions stacked: each product is one GEMM rather than S small ones
    CW = (C.reshape(S * q, q) @ W).reshape(S, q, d)
    GW = (G.reshape(S * q, q) @ W).reshape(S, q, d)
    M = np.matmul(W.T, CW)  # (S, d, d)
    N = np.matmul(W.T, GW)
    Minv = np.linalg.inv(M)
    MinvN = Minv @ N
    value = float(weights @ np.trace(MinvN, axis1=1, axis2=2))
    # sum_s w_s 2 (G_s W - C_s W M^-1 N) M^-1
    inner = (GW - CW @ MinvN) * (2 * weights)[:, None, None]
    grad = np.matmul(inner, Minv).sum(axis=0)
    return value, grad


def fit_subspace(
    C: np.ndarray,
    G: np.ndarray,
    weights: np.ndarray,
    n_components: int,
    *,
    max_iter: int = 2000,
    tol: float = 1e-10,
    n_restarts: int = 0,
    seed: int = 0,
    init: np.ndarray | None = None,
) -> SubspaceFit:
    """Maximise ``F`` over d-dimensional subspaces.

    Parameters
    ----------
    C, G : ndarray, shape (S, q, q)
    weights : ndarray, shape (S,)
        Non-negative session weights.
    n_components : int
        ``d``.
    max_iter : int
        Most L-BFGS iterations (over all restarts).
    tol : float
        Relative tolerance on ``F`` and on the gradient.
    n_restarts : int
        Extra ascents from random starts (seeded by ``seed``); the best is kept. ``F`` is not
        concave: with strong shared structure the pooled eigen-start reaches the best optimum,
        but with weak or no shared structure other local optima exist.
    seed : int
        Seed of the random starts.
    init : ndarray, shape (q, d), optional
        A starting basis (e.g. the solution on overlapping data, as in cross-validation). It
        is used when its objective beats the default start, the top generalised eigenvectors
        of the pooled problem.

    Returns
    -------
    SubspaceFit
    """
    S, q, _ = C.shape
    d = int(n_components)
    C_bar = np.tensordot(weights, C, axes=1)
    G_bar = np.tensordot(weights, G, axes=1)
    try:
        L = np.linalg.cholesky(C_bar)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(
            "the pooled design covariance is singular: features are collinear or constant; "
            "use alpha > 0"
        ) from err
    # whitened coordinates: C~_s = L^-1 C_s L^-T, G~_s likewise; W = L^-T U
    Linv = sla.solve_triangular(L, np.eye(q), lower=True)
    Ct = Linv @ C @ Linv.T
    Gt = Linv @ G @ Linv.T
    Gt_bar = Linv @ G_bar @ Linv.T
    _, evecs = np.linalg.eigh((Gt_bar + Gt_bar.T) / 2)
    U0 = evecs[:, ::-1][:, :d]
    f0, g0 = subspace_objective(U0, Ct, Gt, weights)
    if init is not None and S > 1:
        U1, _ = np.linalg.qr(L.T @ np.asarray(init, dtype=float))  # W = L^-T U
        f1, g1 = subspace_objective(U1, Ct, Gt, weights)
        if f1 > f0:
            U0, f0, g0 = U1, f1, g1
    scale = max(abs(f0), np.finfo(float).tiny)
    if S == 1:  # the generalised eigenvectors are the exact answer
        return SubspaceFit(Linv.T @ U0, f0, 0, True, _rgrad_norm(U0, g0, scale))

    best = _ascend(U0, Ct, Gt, weights, scale, max_iter, tol)
    rng = np.random.default_rng(seed)
    for _ in range(n_restarts):
        trial = _ascend(rng.normal(size=(q, d)), Ct, Gt, weights, scale, max_iter, tol)
        if trial[1] > best[1] * (1 + 1e-12):
            best = trial
    U, f, n_iter, converged, grad_norm = best
    return SubspaceFit(Linv.T @ U, f, n_iter, converged, grad_norm)


def _rgrad_norm(U: np.ndarray, g: np.ndarray, scale: float) -> float:
    """Norm of the gradient across ``span(U)`` (0 at a stationary point), relative to ``F``."""
    Q, _ = np.linalg.qr(U)
    return float(np.linalg.norm(g - Q @ (Q.T @ g))) / scale


def _ascend(
    U0: np.ndarray,
    Ct: np.ndarray,
    Gt: np.ndarray,
    weights: np.ndarray,
    scale: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, float, int, bool, float]:
    """L-BFGS ascent of ``F`` from ``U0`` in whitened coordinates, with re-orthonormalising
    restarts (``F`` is invariant to the basis, L-BFGS's metric is not).

    Returns the orthonormal basis, ``F``, iterations, convergence and the relative Riemannian
    gradient norm at the end.
    """
    q, d = U0.shape

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = subspace_objective(x.reshape(q, d), Ct, Gt, weights)
        return -f / scale, -g.ravel() / scale

    U, _ = np.linalg.qr(U0)
    f_prev = subspace_objective(U, Ct, Gt, weights)[0]
    n_iter, converged = 0, False
    for _ in range(5):
        res = minimize(
            neg,
            U.ravel(),
            jac=True,
            method="L-BFGS-B",
            options={
                "maxiter": max(max_iter - n_iter, 1),
                "ftol": tol * 1e-2,
                "gtol": tol,
                "maxcor": 30,
            },
        )
        n_iter += int(res.nit)
        U, _ = np.linalg.qr(res.x.reshape(q, d))
        f, g = subspace_objective(U, Ct, Gt, weights)
        grad_norm = _rgrad_norm(U, g, scale)
        converged = grad_norm < np.sqrt(tol) or (f - f_prev) <= tol * scale
        if converged or n_iter >= max_iter:
            break
        f_prev = f
    return U, f, n_iter, converged, grad_norm


def readout(W: np.ndarray, C: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Ridge readout of neurons from the shared latents: ``V = (W'CW)^-1 W'A``.

    Parameters
    ----------
    W : ndarray, shape (q, d)
    C : ndarray, shape (q, q)
        ``Phi'Phi + alpha I`` of the session.
    A : ndarray, shape (q, n)
        ``Phi'Y`` of the session.

    Returns
    -------
    ndarray, shape (d, n)
    """
    return np.linalg.solve(W.T @ C @ W, W.T @ A)


def canonical_basis(
    W: np.ndarray,
    C_bar: np.ndarray,
    G_bar: np.ndarray,
    cov_pooled: np.ndarray,
    sign_map: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A unique basis of ``span(W)``: ordered, scaled and signed.

    Components are ordered by the generalised eigenvalues of ``(W'G_bar W, W'C_bar W)`` (shared
    explained variance, descending), scaled so that each latent has unit pooled variance
    (``w' cov_pooled w = 1``), and signed so that the entry of largest magnitude of
    ``sign_map @ w`` is positive.

    Parameters
    ----------
    W : ndarray, shape (q, d)
    C_bar, G_bar : ndarray, shape (q, q)
        Weighted sums over sessions.
    cov_pooled : ndarray, shape (q, q)
        Pooled covariance of the design (per sample).
    sign_map : ndarray, shape (m, q), optional
        Map to the space in which signs are fixed (e.g. from basis to lags).

    Returns
    -------
    W : ndarray, shape (q, d)
    eigenvalues : ndarray, shape (d,)
    """
    Q, _ = np.linalg.qr(W)
    a = Q.T @ G_bar @ Q
    b = Q.T @ C_bar @ Q
    evals, R = sla.eigh((a + a.T) / 2, (b + b.T) / 2)
    order = np.argsort(evals)[::-1]
    Wc = Q @ R[:, order]
    var = np.einsum("qd,qk,kd->d", Wc, cov_pooled, Wc)
    Wc = Wc / np.sqrt(np.where(var > 0, var, 1.0))
    view = Wc if sign_map is None else sign_map @ Wc
    peak = view[np.argmax(np.abs(view), axis=0), np.arange(Wc.shape[1])]
    Wc = Wc * np.where(peak < 0, -1.0, 1.0)
    return Wc, evals[order]
