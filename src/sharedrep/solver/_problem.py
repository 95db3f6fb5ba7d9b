"""``SubspaceProblem``: ``F`` of a cohort prepared once (pooled Cholesky, whitened factor,
pooled spectrum) and maximised in a growing search subspace (see :mod:`sharedrep.solver`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import scipy.linalg as sla

from .._linalg import stacked_times
from ._objective import SubspaceFit, _ascend, _objective, _rgrad_norm, _value_grad
from ._spectral import _EXACT_START, _completed, _range_of, _top_left_singular

#: most directions added to the search subspace by one expansion, and most outer rounds
_MAX_ROUNDS = 60
#: up to this design width the ascent runs in the whole (whitened) space at once
_WHOLE_SPACE = 200
#: a restricted problem is solved to a relative gradient of this fraction of the full one's
#: while the subspace still grows, and never more loosely than to this tolerance
_INEXACT, _LOOSEST = 0.1, 1e-3


class SubspaceProblem:
    """``F`` of a cohort, prepared once for fits of any rank.

    Building it factorises the pooled ``C`` (the only ``q^3`` step, once); fits of every rank
    then share a growing search subspace (cross-validation fits every rank from one problem per
    training set, in the order :meth:`fit_order` gives).

    Parameters
    ----------
    C : ndarray, shape (S, q, q)
        ``C_s``, symmetric positive definite (ridge included).
    weights : ndarray, shape (S,)
        Non-negative session weights.
    factors : sequence of ndarray, shapes (q, n_s), optional
        ``F_s`` with ``G_s = F_s F_s'``.
    G : ndarray, shape (S, q, q), optional
        ``G_s`` given densely instead of ``factors``.

    Attributes
    ----------
    C : ndarray, shape (S, q, q)
    weights : ndarray, shape (S,)
    C_bar : ndarray, shape (q, q)
        Weighted sum of the ``C_s``.
    L : ndarray, shape (q, q)
        Cholesky factor of ``C_bar`` (lower); a basis ``U`` in whitened coordinates is
        ``W = L'^-1 U``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2, 50, 6)); A = rng.normal(size=(2, 6, 3))
    >>> C = X.transpose(0, 2, 1) @ X
    >>> problem = SubspaceProblem.build(C, np.array([0.5, 0.5]), factors=list(A))
    >>> fit = problem.fit(2)
    >>> fit.W.shape, bool(fit.converged)
    ((6, 2), True)
    """

    def __init__(
        self,
        C: np.ndarray,
        weights: np.ndarray,
        L: np.ndarray,
        factors: Sequence[np.ndarray] | None,
        G: np.ndarray | None,
    ) -> None:
        self.C = C
        self.weights = np.asarray(weights, dtype=float)
        self.L = L
        self.factors = None if factors is None else [np.asarray(f, dtype=float) for f in factors]
        self._G = G
        self._top: np.ndarray | None = None  # top whitened pooled directions (q, r)
        self._white: np.ndarray | None = None  # the whitened pooled factor (q, N)
        # its eigenvectors (q, k) and eigenvalues (k,), descending, and the mean of the others
        self._spectrum: tuple[np.ndarray, np.ndarray, float] | None = None
        self._stacked: np.ndarray | None = None  # the restricted problem (see _projected)
        # the search subspace, r columns used of buffers that grow by doubling: the orthonormal
        # basis B (whitened), W_b = L'^-1 B, C_s W_b, F_s'W_b (or G_s W_b), and the restricted
        # problem P_s = B'C~_sB, H_s = B'G~_sB
        self._r = 0
        self._alloc(0)

    @classmethod
    def build(
        cls,
        C: np.ndarray,
        weights: np.ndarray,
        *,
        factors: Sequence[np.ndarray] | None = None,
        G: np.ndarray | None = None,
        C_bar: np.ndarray | None = None,
    ) -> SubspaceProblem:
        """Factorise the pooled ``C`` of ``(C, weights, factors or G)``.

        Parameters
        ----------
        C : ndarray, shape (S, q, q)
        weights : ndarray, shape (S,)
        factors : sequence of ndarray, shapes (q, n_s), optional
            ``F_s`` with ``G_s = F_s F_s'`` (cheaper than ``G`` when ``n_s < q``).
        G : ndarray, shape (S, q, q), optional
            Dense ``G_s`` (give this or ``factors``).
        C_bar : ndarray, shape (q, q), optional
            ``sum_s w_s C_s`` when the caller has it (formed with other sums of the ``C_s`` in
            one pass over them).

        Raises
        ------
        numpy.linalg.LinAlgError
            The pooled ``C`` is not positive definite.
        """
        if (G is None) == (factors is None):
            raise TypeError("give exactly one of G and factors")
        weights = np.asarray(weights, dtype=float)
        if C_bar is None:
            C_bar = np.tensordot(weights, C, axes=1)
        try:
            L = np.linalg.cholesky(C_bar)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(
                "the pooled design covariance (ridge included) is not positive definite: the "
                "design has collinear or constant columns that the ridge does not cover, or "
                "values at round-off level; a larger alpha, or fewer lags / a basis, helps"
            ) from err
        dense = None if G is None else np.asarray(G, dtype=float)
        if factors is not None:
            # a factor wider than it is tall is cheaper multiplied as a dense G_s
            if sum(f.shape[1] for f in factors) > 2 * C.shape[1]:
                dense = np.stack([f @ f.T for f in factors])
                factors = None
        return cls(C, weights, L, factors, dense)

    # -- the pieces ----------------------------------------------------------------------------
    @property
    def n_sessions(self) -> int:
        """``S``."""
        return int(self.weights.size)

    @property
    def q(self) -> int:
        """Design width."""
        return int(self.C.shape[1])

    @property
    def C_bar(self) -> np.ndarray:
        """Weighted sum of the ``C_s``, ``L L'``."""
        return self.L @ self.L.T

    @property
    def G(self) -> np.ndarray:
        """Dense ``G_s`` (S, q, q) (formed on demand: for checks and small problems)."""
        if self._G is not None:
            return self._G
        return np.stack([f @ f.T for f in self.factors])

    def fit_order(self, ranks: Sequence[int]) -> list[int]:
        """Positions of ``ranks`` in the order to fit them from this problem, each from the
        solution of the one before (``init``).

        The largest first when fits search a growing subspace (``q`` above a few hundred):
        each smaller rank then starts from the leading pooled directions of the rank above,
        in a subspace that already holds most of its answer (one expansion each instead of
        several; CV fold tasks at q = 240-1,000 ran 1.6-5x faster, on simulations with and
        without signal and on the V1 recordings). Increasing when the ascent runs in the whole
        space: there only the starts differ, and on the monkey reaching recordings the rank
        below gave the better ones (a fold task took 0.25 s fitted upwards, 0.42 s downwards).
        """
        order = sorted(range(len(ranks)), key=lambda j: ranks[j])
        return order[::-1] if self.q > _WHOLE_SPACE else order

    def unwhiten(self, U: np.ndarray) -> np.ndarray:
        """``W = L'^-1 U``: a whitened basis in the original coordinates."""
        return sla.solve_triangular(self.L, U, lower=True, trans="T", check_finite=False)

    def _white_gradient(self, grad: np.ndarray) -> np.ndarray:
        """The gradient with respect to ``U`` from the one with respect to ``W``: ``L^-1 g``."""
        return sla.solve_triangular(self.L, grad, lower=True, check_finite=False)

    def whiten(self, W: np.ndarray) -> np.ndarray:
        """``U = L' W``."""
        return self.L.T @ W

    def _gram_times(self, W: np.ndarray) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """``G_s W`` (S, q, k) and, with factors, ``F_s' W``."""
        if self.factors is None:
            return stacked_times(self._G, W), None
        FW = [f.T @ W for f in self.factors]
        return np.stack([f @ fw for f, fw in zip(self.factors, FW, strict=True)]), FW

    def objective(self, U: np.ndarray) -> tuple[float, np.ndarray]:
        """``F`` and its gradient at a basis ``U`` (q, d) in whitened coordinates."""
        W = self.unwhiten(U)
        value, grad = _value_grad(W, stacked_times(self.C, W), self._gram_times(W)[0], self.weights)
        return value, self._white_gradient(grad)

    def pooled_forms(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Q' C_bar Q`` and ``Q' G_bar Q`` for a basis ``Q`` (q, k) in original coordinates."""
        LQ = self.L.T @ Q
        if self.factors is None:
            Gbar_Q = np.tensordot(self.weights, np.matmul(self._G, Q), axes=1)
            return LQ.T @ LQ, Q.T @ Gbar_Q
        FQ = [np.sqrt(w) * (f.T @ Q) for w, f in zip(self.weights, self.factors, strict=True)]
        FQ = np.vstack(FQ)
        return LQ.T @ LQ, FQ.T @ FQ

    def _whitened_factor(self) -> np.ndarray:
        """``L^-1 [sqrt(w_s) F_s]`` (q, N), or a square root of the whitened dense ``G``."""
        if self._white is None:
            self._white = self._compute_whitened_factor()
        return self._white

    def _compute_whitened_factor(self) -> np.ndarray:
        if self.factors is None:
            Gbar = np.tensordot(self.weights, self._G, axes=1)
            white = sla.solve_triangular(self.L, Gbar, lower=True)
            white = sla.solve_triangular(self.L, white.T, lower=True)
            vals, vecs = np.linalg.eigh((white + white.T) / 2)
            self._spectrum = (*_range_of(vals, vecs), 0.0)  # known now: never recomputed
            return vecs * np.sqrt(np.maximum(vals, 0.0))
        B = np.hstack([np.sqrt(w) * f for w, f in zip(self.weights, self.factors, strict=True)])
        return sla.solve_triangular(self.L, B, lower=True, check_finite=False)

    def top(self, k: int) -> np.ndarray:
        """The top ``k`` eigenvectors of the whitened pooled ``G``, descending, (q, k).

        The generalised eigenvectors of ``(G_bar, C_bar)`` in whitened coordinates: exact for
        small problems and for one session (reduced-rank ridge), randomised (with power
        iterations) for large ones, where they only start an ascent.
        """
        k = min(int(k), self.q)
        if self._top is None or self._top.shape[1] < k:
            M = self._whitened_factor()
            # more than asked: starts of higher ranks and the search subspace draw on them
            have = 0 if self._top is None else self._top.shape[1]
            want = min(self.q, max(4 * k, 2 * have, 128))
            if (
                self.n_sessions > 1
                and self.q > _EXACT_START
                and (self.factors is None or M.shape[1] <= M.shape[0])
            ):
                # the whole spectrum is cheap here, and the preconditioner needs it anyway
                self._top = _completed(self._pooled_spectrum()[0][:, :want], want)
            else:
                self._top = _top_left_singular(M, want, exact=self.n_sessions == 1)
        return self._top[:, :k]

    @property
    def starts(self) -> np.ndarray:
        """The default start directions (whitened), as many as cheaply available."""
        return self.top(self.q if self.q <= _EXACT_START else min(self.q, 64))

    def start(self, n_components: int, init: np.ndarray | None = None) -> np.ndarray:
        """The starting basis of an ascent, in whitened coordinates, shape (q, d).

        The top ``d`` pooled generalised eigenvectors, or ``init`` when it starts higher.
        ``init`` may have fewer than ``d`` columns (e.g. the solution of a smaller rank): it is
        completed with the best pooled directions orthogonal to it (exactly for q up to a few
        hundred; for wider designs, the best within the leading pooled directions and the
        search subspace already built, a start only). With more than ``d`` columns (e.g. the
        solution of a larger rank) it is reduced to its ``d`` leading pooled generalised
        eigenvectors (the order :func:`canonical_basis` gives).
        """
        d = int(n_components)
        U0 = self.top(d)
        if init is None or self.n_sessions == 1:
            return U0
        init = np.asarray(init, dtype=float)
        if init.shape[1] > d:
            init = self._leading_within(init, d)
        U1, _ = np.linalg.qr(self.whiten(init))
        if U1.shape[1] < d:
            M = self._whitened_factor()
            if self.q <= _EXACT_START:
                rest = _top_left_singular(M - U1 @ (U1.T @ M), d - U1.shape[1], exact=True)
            else:  # within [leading pooled directions, search basis], outside span(init)
                T = np.hstack([self.top(4 * d), self._B])
                T, R = np.linalg.qr(T - U1 @ (U1.T @ T))
                T = T[:, np.abs(np.diag(R)) > 1e-8 * np.abs(np.diag(R)).max(initial=0.0)]
                T, _ = np.linalg.qr(T - U1 @ (U1.T @ T))  # an orthonormal basis outside U1
                vecs = np.linalg.eigh((T.T @ M) @ (M.T @ T))[1]
                rest = T @ vecs[:, ::-1][:, : d - U1.shape[1]]
            U1 = np.hstack([U1, rest])
        return U1 if self._value(U1) > self._value(U0) else U0

    def _leading_within(self, W: np.ndarray, d: int) -> np.ndarray:
        """The ``d`` leading generalised eigenvectors of the pooled ``(G, C)`` within
        ``span(W)`` (q, d), original coordinates."""
        Q, _ = np.linalg.qr(W)
        b, a = self.pooled_forms(Q)
        R = sla.eigh((a + a.T) / 2, (b + b.T) / 2)[1]
        return Q @ R[:, ::-1][:, :d]

    # -- the search subspace ---------------------------------------------------------------
    def _alloc(self, cap: int) -> None:
        """(Re)allocate the subspace buffers for ``cap`` columns, keeping the ``r`` used."""
        S, q, r = self.n_sessions, self.q, self._r
        old = self.__dict__.get("_buf")
        # only the first r columns (and r x r corners) are ever read, each written first
        new = {
            "B": np.empty((q, cap)),
            "Wb": np.empty((q, cap)),
            "CB": np.empty((S, q, cap)),
            "P": np.empty((S, cap, cap)),
            "H": np.empty((S, cap, cap)),
        }
        if self.factors is None:
            new["FB"] = np.empty((S, q, cap))  # G_s W_b
        else:
            new["FB"] = [np.empty((f.shape[1], cap)) for f in self.factors]  # F_s' W_b
        if old is not None and r:
            for key in ("B", "Wb", "CB"):
                new[key][..., :r] = old[key][..., :r]
            for key in ("P", "H"):
                new[key][:, :r, :r] = old[key][:, :r, :r]
            if self.factors is None:
                new["FB"][..., :r] = old["FB"][..., :r]
            else:
                for a, b in zip(new["FB"], old["FB"], strict=True):
                    a[:, :r] = b[:, :r]
        self._buf = new

    @property
    def _B(self) -> np.ndarray:
        return self._buf["B"][:, : self._r]

    def _extend(self, directions: np.ndarray) -> int:
        """Add the parts of ``directions`` (whitened) orthogonal to the subspace; returns how
        many columns were added. Costs one product of every ``C_s`` with the new columns."""
        B = self._B
        # what is left of a direction after projection is new only against the direction's
        # own size (against the residuals' size, round-off of a full subspace would pass)
        size = float(np.linalg.norm(directions, axis=0).max(initial=0.0))
        if self._r >= self.q or size == 0.0:
            return 0
        V = directions - B @ (B.T @ directions)
        V = V - B @ (B.T @ V)  # twice is enough (Kahan)
        Q, R = np.linalg.qr(V)
        diag = np.abs(np.diag(R))
        Q = Q[:, diag > 1e-10 * size]
        k, r = Q.shape[1], self._r
        if not k:
            return 0
        if r + k > self._buf["B"].shape[1]:
            self._alloc(max(2 * (r + k), 32))
        buf = self._buf
        Wn = self.unwhiten(Q)
        CBn = stacked_times(self.C, Wn)  # (S, q, k)
        buf["B"][:, r : r + k], buf["Wb"][:, r : r + k], buf["CB"][:, :, r : r + k] = Q, Wn, CBn
        Wb = buf["Wb"][:, : r + k]
        cross = np.matmul(Wb.T, CBn)  # (S, r + k, k): old and new against the new columns
        buf["P"][:, : r + k, r : r + k] = cross
        buf["P"][:, r : r + k, :r] = cross[:, :r].transpose(0, 2, 1)
        if self.factors is None:
            GBn = stacked_times(self._G, Wn)
            buf["FB"][:, :, r : r + k] = GBn
            crossH = np.matmul(Wb.T, GBn)
        else:
            crossH = []
            for fb, f in zip(buf["FB"], self.factors, strict=True):
                fb[:, r : r + k] = f.T @ Wn
                crossH.append(fb[:, : r + k].T @ fb[:, r : r + k])
            crossH = np.stack(crossH)
        buf["H"][:, : r + k, r : r + k] = crossH
        buf["H"][:, r : r + k, :r] = crossH[:, :r].transpose(0, 2, 1)
        self._r = r + k
        return k

    def _in_subspace(self, U: np.ndarray) -> np.ndarray | None:
        """``B'U`` when the whitened basis ``U`` lies in the search subspace, else None."""
        if not self._r:
            return None
        R = self._B.T @ U
        return R if np.linalg.norm(U - self._B @ R) <= 1e-10 * np.linalg.norm(U) else None

    def _value(self, U: np.ndarray) -> float:
        """``F`` at a whitened basis ``U``: from the subspace's projections when it lies there
        (no ``C_s`` read), else from the full problem."""
        R = self._in_subspace(U)
        return self.objective(U)[0] if R is None else self._restricted()(R)[0]

    def forms(self, W: np.ndarray) -> np.ndarray:
        """``W'C_sW`` (S, d, d) for a basis ``W`` (q, d) in original coordinates.

        From the search subspace's projections when ``W`` lies in it (a fit's solution does:
        ``(B'U)' B'C~_sB (B'U)``, no ``C_s`` read), else directly.
        """
        R = self._in_subspace(self.whiten(W))
        if R is not None:
            return np.matmul(R.T, np.matmul(self._projected()[0], R))
        return np.matmul(W.T, stacked_times(self.C, W))

    def _restricted(self) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``F`` and its gradient in the coordinates of the search subspace (already whitened:
        ``sum_s w_s B'C~_sB = B'B = I``)."""
        r = self._r
        CG = self._projected().reshape(2 * self.n_sessions * r, r)
        return partial(_objective, CG=CG, weights=self.weights)

    def _projected(self) -> np.ndarray:
        """``B'C~_sB`` and ``B'G~_sB`` stacked, (2, S, r, r): the problem restricted to the
        subspace, symmetrised; formed once per subspace (every start, fit and readout in it
        shares them)."""
        r = self._r
        if self._stacked is None or self._stacked.shape[-1] != r:
            PH = np.stack([self._buf["P"][:, :r, :r], self._buf["H"][:, :r, :r]])
            self._stacked = (PH + PH.transpose(0, 1, 3, 2)) / 2
        return self._stacked

    def _full_gradient(self, Qc: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``F``, its whitened gradient and ``U`` at ``U = B Qc``, from the stored products."""
        r, buf = self._r, self._buf
        CW = buf["CB"][:, :, :r] @ Qc  # C_s W
        if self.factors is None:
            GW = buf["FB"][:, :, :r] @ Qc
        else:
            GW = np.stack(
                [f @ (fb[:, :r] @ Qc) for f, fb in zip(self.factors, buf["FB"], strict=True)]
            )
        U, W = buf["B"][:, :r] @ Qc, buf["Wb"][:, :r] @ Qc
        value, grad = _value_grad(W, CW, GW, self.weights)
        return value, self._white_gradient(grad), U

    def _ascend_in_subspace(
        self,
        U0: np.ndarray,
        max_iter: int,
        tol: float,
        precondition: bool = True,
        inexact: bool = True,
    ) -> tuple[np.ndarray, float, int, bool, float]:
        """Maximise ``F`` from ``U0`` (whitened, q x d): L-BFGS in the search subspace, which is
        expanded, while the full problem's gradient is not small, by that gradient and (with
        ``precondition``) by the gradient preconditioned with the pooled problem (see
        :meth:`_preconditioned`). With ``inexact``, the restricted problems of a subspace that
        still grows are solved only as far as the full gradient asks."""
        d = U0.shape[1]
        room = min(self.q, d + max(d, 8))  # room to move: the next pooled directions too
        if self.q <= _WHOLE_SPACE:  # a small problem: the subspace is the whole space at once
            self._extend(np.hstack([U0, np.eye(self.q)]))
        else:
            self._extend(np.hstack([U0, self.top(room)]) if self._r < room else U0)
        whole = self._r == self.q
        final = whole  # the subspace cannot grow: its problem is then solved to tol
        Qc = self._B.T @ U0
        n_iter, converged, value, grad_norm = 0, False, -np.inf, np.inf
        for _ in range(_MAX_ROUNDS):
            inner = self._restricted()
            scale = max(abs(inner(Qc)[0]), np.finfo(float).tiny)
            # while the subspace still lacks directions of the optimum, its restricted problem
            # needs no more accuracy than the full gradient leaves (an inexact inner solve):
            # solved to tol every round, a smooth 60-lag design (q = 240, the monkey reaching
            # recordings) took 6,693 iterations where the whole-space ascent took 623
            loose = inexact and not final
            inner_tol = max(tol, min(_LOOSEST, (_INEXACT * grad_norm) ** 2)) if loose else tol
            Qc, _, it, done, _ = _ascend(Qc, inner, scale, max(max_iter - n_iter, 1), inner_tol)
            n_iter += it
            value, grad, U = self._full_gradient(Qc)
            Uo, _ = np.linalg.qr(U)
            rgrad = grad - Uo @ (Uo.T @ grad)
            grad_norm = float(np.linalg.norm(rgrad)) / max(abs(value), np.finfo(float).tiny)
            # converged as the plain ascent decides: a relative Riemannian gradient below
            # sqrt(tol) (the inner ascent then stopped on tol too), for the FULL problem
            converged = done if whole else grad_norm < np.sqrt(tol)
            if converged or n_iter >= max_iter or final:
                break
            # a product with every C_s streams them from memory whatever the number of new
            # columns: the preconditioned gradient comes along at little cost
            new = [rgrad, self._preconditioned(U, rgrad)] if precondition else [rgrad]
            if not self._extend(np.hstack(new)):
                final = True  # nothing new to add: one last ascent, to tol, in this subspace
                continue
            whole = final = self._r == self.q
            Qc = self._B.T @ U
        U, _ = np.linalg.qr(self._B @ Qc)
        return U, value, n_iter, converged, grad_norm

    def _pooled_spectrum(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Leading eigenvectors (q, k), descending, and eigenvalues (k,) of the whitened pooled
        ``G``, and the mean of its other eigenvalues.

        With dense ``G_s``, the decomposition that gave the whitened factor. With factors of
        at most ``q`` neurons in all, its whole range (the other eigenvalues are 0) from the
        small Gram of the factor, ``O(q N^2)``; otherwise the leading directions of
        :meth:`top` (a ``q^3`` decomposition would cost more than the expansions it saves).
        """
        M = self._whitened_factor()  # with dense G_s, this sets the spectrum too
        if self._spectrum is None:
            if M.shape[1] <= M.shape[0]:
                Z, vals = _range_of(*np.linalg.eigh(M.T @ M))
                self._spectrum = ((M @ Z) / np.sqrt(vals), vals, 0.0)
            else:
                V = self.top(min(self.q, 128))
                vals = np.sum((V.T @ M) ** 2, axis=1)
                rest = max(float(np.sum(M * M) - vals.sum()), 0.0) / max(self.q - V.shape[1], 1)
                self._spectrum = (V, vals, rest)
        return self._spectrum

    def _preconditioned(self, U: np.ndarray, rgrad: np.ndarray) -> np.ndarray:
        """The Riemannian gradient ``rgrad`` at ``U`` (whitened, q x d) with the inverse of the
        pooled problem's Hessian applied: ``(G_bar - theta_j I)^-1`` on each component, with
        ``theta_j`` the Ritz values of ``U`` in the pooled ``G`` (a Davidson correction).

        For the pooled problem (all ``C_s`` equal) this is a Newton step; with sessions that
        differ it is a better direction than the gradient alone: on designs of q = 1,000-2,000
        the ascent needed half the expansions, and converged where the gradient alone ran out
        of iterations (smooth behavior, 40 lags).
        """
        V, vals, rest = self._pooled_spectrum()
        Uo, T = np.linalg.qr(U)
        A = Uo.T @ self._whitened_factor()
        theta, R = np.linalg.eigh(A @ A.T)
        Uo = Uo @ R
        g = rgrad @ T.T @ R  # the gradient with respect to the basis Uo (F ignores the basis)
        g = g - Uo @ (Uo.T @ g)
        coef = V.T @ g  # (k, d)
        floor = 1e-3 * np.maximum(np.abs(theta), np.finfo(float).tiny)

        def shifted(eigenvalues: np.ndarray) -> np.ndarray:  # kept |.| >= floor, sign kept
            gap = eigenvalues - theta
            return np.where(np.abs(gap) < floor, np.where(gap < 0, -floor, floor), gap)

        # outside the directions of V, G_bar is taken as ``rest`` times the identity
        return V @ (coef / shifted(vals[:, None])) + (g - V @ coef) / shifted(np.asarray(rest))

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
            Most L-BFGS iterations (per start).
        tol : float
            Relative tolerance on ``F`` (inner ascent) and, through its square root, on the
            Riemannian gradient of the full problem.
        n_restarts : int
            Extra ascents from random starts (seeded by ``seed``); the best is kept. ``F`` is
            not concave: with strong shared structure the pooled eigen-start reaches the best
            optimum, but with weak or no shared structure other local optima exist.
        seed : int
            Seed of the random starts.
        init : ndarray, shape (q, d'), optional
            A starting basis (e.g. the solution on overlapping data, or of another rank), see
            :meth:`start`.

        Returns
        -------
        SubspaceFit
        """
        U0 = self.start(n_components, init)
        if self.n_sessions == 1:  # the generalised eigenvectors are the exact answer
            f0, g0 = self.objective(U0)
            scale = max(abs(f0), np.finfo(float).tiny)
            return SubspaceFit(self.unwhiten(U0), f0, 0, True, _rgrad_norm(U0, g0, scale))
        # a fit from a smaller rank's solution works in a subspace already grown by earlier
        # fits; the preconditioned directions, which make a first fit converge in half the
        # expansions, would grow it twice as fast, and its inner ascents with it. From a larger
        # rank's solution the subspace already holds most of the answer: they pay again.
        grow = init is not None and np.shape(init)[1] < int(n_components)
        # from a larger rank's solution, inexact inner solves only add expansion rounds (each
        # streams every C_s): a q = 1,000 CV fold task on noise took 1.26 s with them, 1.05 s
        # without; the monkey reaching recordings (q = 240) converge either way
        shrink = init is not None and np.shape(init)[1] > int(n_components)
        best = self._ascend_in_subspace(
            U0, max_iter, tol, precondition=not grow, inexact=not shrink
        )
        rng = np.random.default_rng(seed)
        for _ in range(n_restarts):
            trial = self._ascend_in_subspace(rng.normal(size=U0.shape), max_iter, tol)
            if trial[1] > best[1] * (1 + 1e-12):
                best = trial
        U, f, n_iter, converged, grad_norm = best
        return SubspaceFit(self.unwhiten(U), f, n_iter, converged, grad_norm)
