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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize

__all__ = [
    "SubspaceFit",
    "SubspaceProblem",
    "canonical_basis",
    "readout",
    "subspace_objective",
]


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
    return _objective(W, np.concatenate([C, G]).reshape(2 * S * q, q), weights)


def _objective(W: np.ndarray, CG: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`subspace_objective` with ``C`` and ``G`` stacked, ``(2 S q, q)``: every product
    with ``W`` is one GEMM (the evaluations of an ascent are many, the matrices small)."""
    q, d = W.shape
    S = weights.size
    P = (CG @ W).reshape(2, S, q, d)  # C_s W, G_s W
    MN = np.matmul(W.T, P)  # W'C_sW, W'G_sW
    Minv = np.linalg.inv(MN[0])
    MinvN = Minv @ MN[1]
    value = float(weights @ np.trace(MinvN, axis1=1, axis2=2))
    # sum_s w_s 2 (G_s W - C_s W M^-1 N) M^-1
    inner = (P[1] - P[0] @ MinvN) * (2 * weights)[:, None, None]
    grad = np.matmul(inner, Minv).sum(axis=0)
    return value, grad


@dataclass(frozen=True)
class SubspaceProblem:
    """``F`` of a cohort, prepared once for fits of any rank.

    ``F`` is maximised in coordinates whitened by the pooled ``C`` (well conditioned: ``F`` is a
    Rayleigh quotient there when all ``C_s`` are equal). Building them is the costly part of a
    small fit, and it does not depend on the rank: cross-validation over ranks builds one
    problem per training set and fits every rank from it.

    Attributes
    ----------
    C, G : ndarray, shape (S, q, q)
    weights : ndarray, shape (S,)
    C_bar, G_bar : ndarray, shape (q, q)
        Weighted sums over sessions.
    L, L_inv : ndarray, shape (q, q)
        Cholesky factor of ``C_bar`` and its inverse; a basis ``U`` in whitened coordinates is
        ``W = L_inv' U``.
    CG : ndarray, shape (2 S q, q)
        Whitened ``C_s`` then ``G_s``, stacked.
    G_white : ndarray, shape (q, q)
        Whitened ``G_bar``.
    starts : ndarray, shape (q, q)
        Eigenvectors of ``G_white``, descending: the default starts (the top generalised
        eigenvectors of the pooled problem).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2, 50, 6)); A = rng.normal(size=(2, 6, 3))
    >>> C = X.transpose(0, 2, 1) @ X; G = A @ A.transpose(0, 2, 1)
    >>> problem = SubspaceProblem.build(C, G, np.array([0.5, 0.5]))
    >>> fit = problem.fit(2)
    >>> fit.W.shape, bool(fit.converged)
    ((6, 2), True)
    """

    C: np.ndarray
    G: np.ndarray
    weights: np.ndarray
    C_bar: np.ndarray
    G_bar: np.ndarray
    L: np.ndarray
    L_inv: np.ndarray
    CG: np.ndarray
    G_white: np.ndarray
    starts: np.ndarray

    @classmethod
    def build(cls, C: np.ndarray, G: np.ndarray, weights: np.ndarray) -> SubspaceProblem:
        """Whiten the problem of ``(C, G, weights)``.

        Parameters
        ----------
        C, G : ndarray, shape (S, q, q)
            Symmetric; each ``C_s`` positive definite.
        weights : ndarray, shape (S,)
            Non-negative session weights.

        Raises
        ------
        numpy.linalg.LinAlgError
            The pooled ``C`` is singular.
        """
        S, q, _ = C.shape
        C_bar = np.tensordot(weights, C, axes=1)
        G_bar = np.tensordot(weights, G, axes=1)
        try:
            L = np.linalg.cholesky(C_bar)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(
                "the pooled design covariance is singular: features are collinear or constant; "
                "use alpha > 0"
            ) from err
        L_inv = sla.solve_triangular(L, np.eye(q), lower=True)
        CG = L_inv @ np.concatenate([C, G]) @ L_inv.T
        G_white = L_inv @ G_bar @ L_inv.T
        G_white = (G_white + G_white.T) / 2
        starts = np.linalg.eigh(G_white)[1][:, ::-1]
        return cls(C, G, weights, C_bar, G_bar, L, L_inv, CG.reshape(2 * S * q, q), G_white, starts)

    @property
    def n_sessions(self) -> int:
        """``S``."""
        return int(self.weights.size)

    def objective(self, U: np.ndarray) -> tuple[float, np.ndarray]:
        """``F`` and its gradient at a basis ``U`` (q, d) in whitened coordinates."""
        return _objective(U, self.CG, self.weights)

    def start(self, n_components: int, init: np.ndarray | None = None) -> np.ndarray:
        """The starting basis of an ascent, in whitened coordinates, shape (q, d).

        The top ``d`` pooled generalised eigenvectors, or ``init`` when it starts higher.
        ``init`` may have fewer than ``d`` columns (e.g. the solution of a smaller rank): it is
        completed with the best pooled directions orthogonal to it.
        """
        d = int(n_components)
        U0 = self.starts[:, :d]
        if init is None or self.n_sessions == 1:
            return U0
        init = np.asarray(init, dtype=float)
        if init.shape[1] > d:
            raise ValueError(f"init has {init.shape[1]} columns, more than n_components={d}")
        U1, _ = np.linalg.qr(self.L.T @ init)  # W = L_inv' U
        if U1.shape[1] < d:
            P = np.eye(U1.shape[0]) - U1 @ U1.T
            rest = np.linalg.eigh(P @ self.G_white @ P)[1][:, ::-1][:, : d - U1.shape[1]]
            U1 = np.hstack([U1, rest])
        return U1 if self.objective(U1)[0] > self.objective(U0)[0] else U0

    def fit(
        self,
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
        n_components : int
            ``d``.
        max_iter : int
            Most L-BFGS iterations (over all restarts).
        tol : float
            Relative tolerance on ``F`` and on the gradient.
        n_restarts : int
            Extra ascents from random starts (seeded by ``seed``); the best is kept. ``F`` is
            not concave: with strong shared structure the pooled eigen-start reaches the best
            optimum, but with weak or no shared structure other local optima exist.
        seed : int
            Seed of the random starts.
        init : ndarray, shape (q, d') with d' <= d, optional
            A starting basis (e.g. the solution on overlapping data, or of a smaller rank), see
            :meth:`start`.

        Returns
        -------
        SubspaceFit
        """
        U0 = self.start(n_components, init)
        f0, g0 = self.objective(U0)
        scale = max(abs(f0), np.finfo(float).tiny)
        if self.n_sessions == 1:  # the generalised eigenvectors are the exact answer
            return SubspaceFit(self.L_inv.T @ U0, f0, 0, True, _rgrad_norm(U0, g0, scale))
        best = _ascend(U0, self.objective, scale, max_iter, tol)
        rng = np.random.default_rng(seed)
        for _ in range(n_restarts):
            trial = _ascend(rng.normal(size=U0.shape), self.objective, scale, max_iter, tol)
            if trial[1] > best[1] * (1 + 1e-12):
                best = trial
        U, f, n_iter, converged, grad_norm = best
        return SubspaceFit(self.L_inv.T @ U, f, n_iter, converged, grad_norm)


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
                "maxcor": 30,
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


def readout(
    W: np.ndarray, C: np.ndarray, A: np.ndarray, session: np.ndarray | None = None
) -> np.ndarray:
    """Ridge readout of neurons from the shared latents: ``V = (W'CW)^-1 W'A``.

    Parameters
    ----------
    W : ndarray, shape (q, d)
    C : ndarray, shape (q, q) or (S, q, q)
        ``Phi'Phi + alpha I`` of the session, or of each of ``S`` sessions.
    A : ndarray, shape (q, n)
        ``Phi'Y`` of the session, or of all sessions' neurons side by side.
    session : ndarray of int, shape (n,), optional
        With ``C`` of shape (S, q, q): the session of each column of ``A``.

    Returns
    -------
    ndarray, shape (d, n)
    """
    if C.ndim == 2:
        return np.linalg.solve(W.T @ C @ W, W.T @ A)
    S, q, _ = C.shape
    M = np.matmul(W.T, (C.reshape(S * q, q) @ W).reshape(S, q, -1))  # (S, d, d)
    return np.einsum("ndk,kn->dn", np.linalg.inv(M)[session], W.T @ A)


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
