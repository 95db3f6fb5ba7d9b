"""The objective ``F(W) = sum_s w_s tr[(W'C_sW)^-1 W'G_sW]``, its gradient, and the L-BFGS
ascent of it over orthonormal bases (re-orthonormalised at restarts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize


@dataclass(frozen=True)
class SubspaceFit:
    """Result of :meth:`SubspaceProblem.fit`.

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
    """``F(W)`` and its Euclidean gradient (dense matrices; the reference formula).

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
    return _objective(W, np.concatenate([C, G]).reshape(2 * S * q, q), weights)


def _objective(W: np.ndarray, CG: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`subspace_objective` with ``C`` and ``G`` stacked, ``(2 S q, q)``: every product
    with ``W`` is one GEMM (the evaluations of an ascent are many, the matrices small)."""
    q, d = W.shape
    S = weights.size
    P = (CG @ W).reshape(2, S, q, d)  # C_s W, G_s W
    return _value_grad(W, P[0], P[1], weights)


def _value_grad(
    W: np.ndarray, CW: np.ndarray, GW: np.ndarray, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """``F`` and its gradient from the products ``C_s W`` and ``G_s W``, each (S, q, d)."""
    M = np.matmul(W.T, CW)  # W'C_sW
    N = np.matmul(W.T, GW)  # W'G_sW
    Minv = np.linalg.inv(M)
    MinvN = Minv @ N
    value = float(weights @ np.trace(MinvN, axis1=1, axis2=2))
    # sum_s w_s 2 (G_s W - C_s W M^-1 N) M^-1
    inner = (GW - CW @ MinvN) * (2 * weights)[:, None, None]
    grad = np.matmul(inner, Minv).sum(axis=0)
    return value, grad


def _rgrad_norm(U: np.ndarray, g: np.ndarray, scale: float) -> float:
    """Norm of the gradient across ``span(U)`` (0 at a stationary point), relative to ``F``."""
    Q, _ = np.linalg.qr(U)
    return float(np.linalg.norm(g - Q @ (Q.T @ g))) / scale


def _ascend(
    U0: np.ndarray,
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    scale: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, float, int, bool, float]:
    """L-BFGS ascent of ``objective`` from ``U0``, with re-orthonormalising restarts (``F`` is
    invariant to the basis, L-BFGS's metric is not).

    Returns the orthonormal basis, ``F``, iterations, convergence and the relative Riemannian
    gradient norm at the end.
    """
    q, d = U0.shape
    # L-BFGS's own work per iteration grows with memory x variables: keep it light when the
    # variables are many (a search subspace of hundreds of columns times d)
    maxcor = 30 if q * d <= 1000 else 10

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = objective(x.reshape(q, d))
        return -f / scale, -g.ravel() / scale

    U, _ = np.linalg.qr(U0)
    f_prev = objective(U)[0]
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
                "maxcor": maxcor,
            },
        )
        n_iter += int(res.nit)
        U, _ = np.linalg.qr(res.x.reshape(q, d))
        f, g = objective(U)
        grad_norm = _rgrad_norm(U, g, scale)
        converged = grad_norm < np.sqrt(tol) or (f - f_prev) <= tol * scale
        if converged or n_iter >= max_iter:
            break
        f_prev = f
    return U, f, n_iter, converged, grad_norm
