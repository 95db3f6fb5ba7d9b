"""From a shared subspace to neurons and to a unique basis: ridge readouts and the canonical
basis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg as sla

from .._linalg import stacked_times

if TYPE_CHECKING:
    from ._problem import SubspaceProblem


def readout(
    W: np.ndarray,
    C: np.ndarray,
    A: np.ndarray,
    session: np.ndarray | None = None,
    *,
    forms: np.ndarray | None = None,
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
    forms : ndarray, shape (S, d, d), optional
        ``W'C_sW`` when already known (:meth:`SubspaceProblem.forms`): ``C`` is then not read.

    Returns
    -------
    ndarray, shape (d, n)
    """
    if C.ndim == 2:
        return np.linalg.solve(W.T @ C @ W, W.T @ A)
    M = np.matmul(W.T, stacked_times(C, W)) if forms is None else forms  # (S, d, d)
    return np.einsum("ndk,kn->dn", np.linalg.inv(M)[session], W.T @ A)


def canonical_basis(
    W: np.ndarray,
    problem: SubspaceProblem,
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
    problem : SubspaceProblem
        Gives the pooled forms ``Q'C_bar Q`` and ``Q'G_bar Q``.
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
    b, a = problem.pooled_forms(Q)
    evals, R = sla.eigh((a + a.T) / 2, (b + b.T) / 2)
    order = np.argsort(evals)[::-1]
    Wc = Q @ R[:, order]
    var = np.einsum("qd,qk,kd->d", Wc, cov_pooled, Wc)
    Wc = Wc / np.sqrt(np.where(var > 0, var, 1.0))
    view = Wc if sign_map is None else sign_map @ Wc
    peak = view[np.argmax(np.abs(view), axis=0), np.arange(Wc.shape[1])]
    Wc = Wc * np.where(peak < 0, -1.0, 1.0)
    return Wc, evals[order]
