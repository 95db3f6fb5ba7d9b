"""Sufficient statistics of a session, per block of samples, and their algebra.

For each session and each block of samples (a cross-validation fold, or the whole session) the
statistics pass (:mod:`sharedrep.stats.accumulate`) accumulates raw sums of the lagged design
``phi`` (q columns), the session's private nuisance regressors ``nu`` (c columns: covariates,
then drift functions) and the neural data ``y`` (n columns):

    count, sum(phi), sum(nu), sum(y), phi'phi, phi'nu, nu'nu, phi'y, nu'y, sum(y**2) [or y'y],
    sum(x), sum(x**2)

where ``x`` is behavior at the valid rows (for the pooled standard deviation). Sums are taken
about per-session shifts (the first chunk's means) for numerical accuracy. Blocks add, so the
statistics of a training set are ``total - held-out fold``; nothing here reads the data.

The intercept and the nuisance regressors are per session and unpenalised: they are profiled
out (:meth:`SessionStats.partial`), so the model sees the design and the neural data with
their per-session means and everything the nuisance regressors explain removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.linalg as sla

from .._linalg import subtract_product

__all__ = ["Partial", "SessionStats", "Shifts", "StackedStats", "stack"]


@dataclass(frozen=True)
class Shifts:
    """Values the sums of one session are taken about (one per column).

    Attributes
    ----------
    x : ndarray, shape (p,)
        Behavior.
    nu : ndarray, shape (c,)
        Nuisance regressors.
    y : ndarray, shape (n,)
        Neural data (0 unless a neuron's mean is large against its spread, where the raw sum
        of squares would lose precision).
    """

    x: np.ndarray
    nu: np.ndarray
    y: np.ndarray

    def same_as(self, other: Shifts) -> bool:
        """Whether both are the same shifts (statistics about them can be added)."""
        return all(np.array_equal(getattr(self, k), getattr(other, k)) for k in ("x", "nu", "y"))


@dataclass(frozen=True)
class Partial:
    """Centred moments of one block with the nuisance regressors profiled out.

    With ``M`` the projection removing the session's mean and nuisance regressors from its
    valid rows, these are ``phi'M phi``, ``phi'M y`` and ``y'M y``.

    Attributes
    ----------
    cov_phi : ndarray, shape (q, q)
    cross : ndarray, shape (q, n)
    y_sq : ndarray, shape (n,) or (n, n)
        Per-neuron sum of squares, or the Gram matrix when it was accumulated.
    y_sq_centred : ndarray, shape (n,)
        Per-neuron centred sum of squares before the nuisance was removed.
    nu_phi : ndarray, shape (c, q)
        ``(nu'nu)^+ nu'phi`` of the centred blocks: the nuisance coefficients of a design
        column.
    nu_y : ndarray, shape (c, n)
        ``(nu'nu)^+ nu'y``: the nuisance coefficients of each neuron.
    """

    cov_phi: np.ndarray
    cross: np.ndarray
    y_sq: np.ndarray
    y_sq_centred: np.ndarray
    nu_phi: np.ndarray
    nu_y: np.ndarray

    def nuisance_coef(self, coef: np.ndarray) -> np.ndarray:
        """Nuisance coefficients ``(c, n)`` that go with a design coefficient ``coef`` (q, n).

        ``Gamma = (nu'nu)^+ nu'(y - phi coef)`` (centred): the least-squares nuisance fit of
        what the shared model leaves.
        """
        return self.nu_y - self.nu_phi @ coef


@dataclass(frozen=True)
class SessionStats:
    """Additive statistics of one session, per block of samples.

    All blocked arrays have a leading block axis of length K (folds; K = 1 for a whole
    session). Sums are about ``shifts``.

    Attributes
    ----------
    name : str
        Session name.
    count : ndarray, shape (K,)
        Number of valid rows.
    sum_phi : ndarray, shape (K, q)
    sum_y : ndarray, shape (K, n)
    phi_phi : ndarray, shape (K, q, q)
    phi_y : ndarray, shape (K, q, n)
    y_sq : ndarray, shape (K, n) or (K, n, n)
        Sum of squares per neuron, or the full neural Gram matrix when requested (needed by the
        ``"correlation"`` objective).
    sum_x, sum_xx : ndarray, shape (K, p)
        Sum and sum of squares of behavior at the valid rows (lag 0).
    sum_nu : ndarray, shape (K, c)
    nu_nu : ndarray, shape (K, c, c)
    phi_nu : ndarray, shape (K, q, c)
    nu_y : ndarray, shape (K, c, n)
        Sums and cross-products of the nuisance regressors (``c = 0`` without any).
    omitted : ndarray, shape (K,)
        Samples excluded because a value was not finite (``nan_policy="omit"``).
    shifts : Shifts
    shift_phi : ndarray, shape (q,)
        The behavior shift seen through the design (per column).
    nuisance_names : tuple of str
        Names of the nuisance columns (covariates, then ``drift<j>``).
    """

    name: str
    count: np.ndarray
    sum_phi: np.ndarray
    sum_y: np.ndarray
    phi_phi: np.ndarray
    phi_y: np.ndarray
    y_sq: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    sum_nu: np.ndarray
    nu_nu: np.ndarray
    phi_nu: np.ndarray
    nu_y: np.ndarray
    omitted: np.ndarray
    shifts: Shifts
    shift_phi: np.ndarray
    nuisance_names: tuple[str, ...] = field(default=())

    _BLOCKED = (
        "count",
        "sum_phi",
        "sum_y",
        "phi_phi",
        "phi_y",
        "y_sq",
        "sum_x",
        "sum_xx",
        "sum_nu",
        "nu_nu",
        "phi_nu",
        "nu_y",
        "omitted",
    )

    @property
    def n_blocks(self) -> int:
        """Number of blocks K."""
        return int(self.count.shape[0])

    @property
    def n_nuisance(self) -> int:
        """Number of nuisance columns ``c``."""
        return int(self.sum_nu.shape[1])

    @property
    def has_gram(self) -> bool:
        """Whether the full neural Gram matrix was accumulated."""
        return self.y_sq.ndim == 3

    @property
    def shift_x(self) -> np.ndarray:
        """Behavior shift, shape (p,)."""
        return self.shifts.x

    @property
    def shift_y(self) -> np.ndarray:
        """Neural shift, shape (n,)."""
        return self.shifts.y

    def _map(self, fn) -> SessionStats:
        return replace(self, **{k: fn(getattr(self, k)) for k in self._BLOCKED})

    def total(self) -> SessionStats:
        """Sum over blocks (K = 1)."""
        return self._map(lambda a: a.sum(axis=0, keepdims=True))

    def block(self, k: int | Sequence[int]) -> SessionStats:
        """Statistics of block(s) ``k`` only, summed."""
        if np.isscalar(k):  # one block: a view, no copy
            k = int(k)
            return self._map(lambda a: a[k : k + 1])
        idx = np.atleast_1d(k)
        return self._map(lambda a: a[idx].sum(axis=0, keepdims=True))

    def without(
        self,
        k: int | Sequence[int],
        total: SessionStats | None = None,
        out: np.ndarray | None = None,
    ) -> SessionStats:
        """Statistics of all blocks except ``k``: the training set of fold ``k``.

        The total minus the held-out blocks: a sum and a subtraction per field, not a copy of the
        kept blocks. ``total`` (:meth:`total`, when already at hand) spares the sum; ``out``,
        shape (1, q, q), receives the training ``phi_phi`` (e.g. a slice of one array for every
        session, which :func:`~sharedrep.stats.standardize` can then overwrite).
        """
        total, held = self.total() if total is None else total, self.block(k)
        fields = {f: getattr(total, f) - getattr(held, f) for f in self._BLOCKED if f != "phi_phi"}
        phi_phi = np.subtract(total.phi_phi, held.phi_phi, out=out)
        return replace(total, phi_phi=phi_phi, **fields)

    def __add__(self, other: SessionStats) -> SessionStats:
        """Block-wise sum of two statistics of the same session (same shifts)."""
        if not self.shifts.same_as(other.shifts):
            raise ValueError(
                f"session {self.name!r}: cannot add statistics taken about different shifts"
            )
        return replace(self, **{k: getattr(self, k) + getattr(other, k) for k in self._BLOCKED})

    # -- moments of the single block ---------------------------------------------------------
    def _one(self) -> SessionStats:
        return self if self.n_blocks == 1 else self.total()

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Means of the design ``(q,)`` and of neural activity ``(n,)`` over valid rows."""
        s = self._one()
        c = s.count[0]
        return s.sum_phi[0] / c + s.shift_phi, s.sum_y[0] / c + s.shift_y

    def mean_nuisance(self) -> np.ndarray:
        """Means of the nuisance regressors over valid rows, shape ``(c,)``."""
        s = self._one()
        return s.sum_nu[0] / s.count[0] + s.shifts.nu

    def partial(
        self, out: np.ndarray | None = None, column_scale: np.ndarray | None = None
    ) -> Partial:
        """Centred moments of the whole (summed) statistics, nuisance regressors profiled out.

        The nuisance fit is unpenalised least squares (a pseudo-inverse: collinear covariates,
        e.g. a trial index and a linear drift, are handled, not an error).

        Parameters
        ----------
        out : ndarray, shape (q, q), optional
            Where to write ``cov_phi`` (saves a ``q x q`` allocation per session when the
            caller stacks them).
        column_scale : ndarray, shape (q,), optional
            Scale ``cov_phi`` (only) by these on both sides, ``D cov_phi D``, in the same pass
            over it that copies and centres it (the standardized design's covariance).
        """
        s = self._one()
        c = s.count[0]
        mp, my, mn = s.sum_phi[0] / c, s.sum_y[0] / c, s.sum_nu[0] / c
        cov_phi = np.empty_like(s.phi_phi[0]) if out is None else out
        if column_scale is None:
            cov_phi[...] = s.phi_phi[0]
        else:
            _scaled_copy(s.phi_phi[0], column_scale, cov_phi)
        cross = s.phi_y[0] - c * np.outer(mp, my)
        y_sq = s.y_sq[0] - c * (np.outer(my, my) if s.has_gram else my * my)
        y_diag = np.diagonal(y_sq).copy() if s.has_gram else y_sq
        q, n = cross.shape
        # Phi'Phi - X Y': the mean (c mp mp') and the nuisance fit (n_phi' nu_phi) taken out in
        # one pass over it; scaled, D (P - X Y') D = D P D - (D X)(D Y)'
        X, Y = c * mp[:, None], mp[:, None]
        if s.n_nuisance:
            nn = s.nu_nu[0] - c * np.outer(mn, mn)
            n_phi = (s.phi_nu[0] - c * np.outer(mp, mn)).T  # (c, q)
            n_y = s.nu_y[0] - c * np.outer(mn, my)  # (c, n)
            inv = sla.pinvh(nn, atol=0.0, rtol=nn.shape[0] * 1e-12)  # relative cut-off
            nu_phi, nu_y = inv @ n_phi, inv @ n_y
            X, Y = np.hstack([X, n_phi.T]), np.hstack([Y, nu_phi.T])
        if column_scale is not None:
            X, Y = column_scale[:, None] * X, column_scale[:, None] * Y
        subtract_product(cov_phi, X, Y)
        if not s.n_nuisance:
            return Partial(cov_phi, cross, y_sq, y_diag, np.zeros((0, q)), np.zeros((0, n)))
        cross = cross - n_phi.T @ nu_y
        if s.has_gram:
            y_sq = y_sq - n_y.T @ nu_y
        else:
            y_sq = y_sq - np.einsum("cn,cn->n", n_y, nu_y)
        return Partial(cov_phi, cross, y_sq, y_diag, nu_phi, nu_y)

    def centered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(cov_phi, cross, y_sq)`` of :meth:`partial` (centred, nuisance profiled out)."""
        part = self.partial()
        return part.cov_phi, part.cross, part.y_sq

    def residual_ss(
        self,
        coef: np.ndarray,
        intercept: np.ndarray,
        nuisance_coef: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron residual and total sums of squares of a linear prediction.

        The prediction is ``y_hat = intercept + phi @ coef + nu @ nuisance_coef`` in the
        session's raw units (e.g. a model fitted on other blocks); the total sum of squares is
        about this block's own mean, so ``1 - sse / sst`` is the held-out R². See
        :meth:`StackedStats.residual_ss`.

        Parameters
        ----------
        coef : ndarray, shape (q, n)
        intercept : ndarray, shape (n,)
        nuisance_coef : ndarray, shape (c, n), optional

        Returns
        -------
        sse, sst : ndarray, shape (n,)
        """
        return stack([self]).residual_ss(coef, intercept, nuisance_coef=nuisance_coef)

    def behavior_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Count-weighted centred behavior: ``(count, sum (x - mean)^2)`` per feature.

        A centred sum of squares at round-off level of the sums it comes from is exactly 0: a
        feature constant over these rows (a one-hot bin never visited in a fold) must not get
        a standard deviation of 1e-8 and a scale of 1e8.
        """
        s = self._one()
        c = s.count[0]
        ss = s.sum_xx[0] - s.sum_x[0] ** 2 / c
        return c, np.where(ss > 1e-12 * s.sum_xx[0], ss, 0.0)


@dataclass(frozen=True)
class StackedStats:
    """Single-block statistics of several sessions side by side, to score them all at once.

    Design-axis arrays are stacked over sessions; neuron-axis arrays are concatenated over
    sessions, with ``session`` telling which session each neuron belongs to. Nuisance arrays
    are padded with zero columns to the largest ``c`` of the sessions. Sums are about the
    shifts, as in :class:`SessionStats`.

    Attributes
    ----------
    count : ndarray, shape (S,)
    sum_phi, shift_phi : ndarray, shape (S, q)
    phi_phi : tuple of ndarray, shapes (q, q)
        One per session, the sessions' own arrays (views, not a stacked copy: ``S`` matrices
        of ``q x q`` are the largest thing here, and every use multiplies them by a thin
        basis). Empty when stacked with ``gram=False`` (means and intercepts only).
    phi_y : ndarray, shape (q, N)
        ``N`` is the total number of neurons.
    sum_y, y_sq, shift_y : ndarray, shape (N,)
        ``y_sq`` is the sum of squares of each neuron (the diagonal of a Gram matrix).
    sum_nu, shift_nu : ndarray, shape (S, c)
    nu_nu : ndarray, shape (S, c, c)
    phi_nu : ndarray, shape (S, q, c)
    nu_y : ndarray, shape (c, N)
    session : ndarray of int, shape (N,)
        Position of each neuron's session.
    offsets : ndarray of int, shape (S + 1,)
        Neurons of session ``s`` are ``offsets[s]:offsets[s + 1]``.
    """

    count: np.ndarray
    sum_phi: np.ndarray
    shift_phi: np.ndarray
    phi_phi: tuple[np.ndarray, ...]
    phi_y: np.ndarray
    sum_y: np.ndarray
    y_sq: np.ndarray
    shift_y: np.ndarray
    sum_nu: np.ndarray
    shift_nu: np.ndarray
    nu_nu: np.ndarray
    phi_nu: np.ndarray
    nu_y: np.ndarray
    session: np.ndarray
    offsets: np.ndarray

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Means of the design ``(S, q)`` and of each neuron ``(N,)`` over valid rows."""
        mean_phi = self.sum_phi / self.count[:, None] + self.shift_phi
        return mean_phi, self.sum_y / self.count[self.session] + self.shift_y

    def mean_nuisance(self) -> np.ndarray:
        """Means of the (padded) nuisance regressors, shape ``(S, c)``."""
        return self.sum_nu / self.count[:, None] + self.shift_nu

    def intercept(
        self,
        readout: np.ndarray,
        basis: np.ndarray | None = None,
        nuisance_coef: np.ndarray | None = None,
    ) -> np.ndarray:
        """Intercepts ``(N,)`` that centre the prediction on these statistics' means.

        The prediction is ``phi @ basis @ readout + nu @ nuisance_coef`` (as
        :meth:`sharedrep.estimator.SessionFit.intercept` does for one session); ``basis`` None
        means ``readout`` is the full ``(q, N)`` coefficient matrix.
        """
        mean_phi, mean_y = self.means()
        proj = mean_phi if basis is None else mean_phi @ basis
        out = mean_y - _rowdot(proj, readout, self.session)
        if nuisance_coef is not None and nuisance_coef.size:
            out = out - _rowdot(self.mean_nuisance(), nuisance_coef, self.session)
        return out

    def projected_gram(self, basis: np.ndarray) -> np.ndarray:
        """``basis' Phi_s'Phi_s basis`` of every session, shape (S, k, k), for a basis (q, k).

        One product per session with all of ``basis``: scoring several bases (e.g. every rank
        of a fold) costs one read of each ``Phi_s'Phi_s`` with them side by side, then
        :meth:`residual_ss` takes the diagonal blocks as ``forms``.
        """
        return np.stack([basis.T @ (gram @ basis) for gram in self.phi_phi])

    def residual_ss(
        self,
        readout: np.ndarray,
        intercept: np.ndarray,
        basis: np.ndarray | None = None,
        *,
        nuisance_coef: np.ndarray | None = None,
        forms: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron residual and total sums of squares of a linear prediction.

        The prediction of neuron ``n`` (of session ``s``) is ``y_hat = intercept[n] + phi @
        basis @ readout[:, n] + nu @ nuisance_coef[:, n]`` in raw units; with ``basis`` None,
        ``readout`` is the full ``(q, N)`` coefficient matrix. A low-rank ``basis`` keeps every
        product in its ``d`` (+ ``c``) dimensions. The total sum of squares is about each
        block's own mean, so ``1 - sse / sst`` is the held-out R² of a model fitted on other
        blocks.

        Parameters
        ----------
        readout : ndarray, shape (d, N)
        intercept : ndarray, shape (N,)
        basis : ndarray, shape (q, d), optional
        nuisance_coef : ndarray, shape (c, N), optional
            Coefficients of the (padded) nuisance columns; None: no nuisance term.
        forms : ndarray, shape (S, d, d), optional
            ``basis' Phi_s'Phi_s basis`` when already known (:meth:`projected_gram`): the
            ``q x q`` matrices are then not read.

        Returns
        -------
        sse, sst : ndarray, shape (N,)
        """
        if basis is None:
            z_y, z_sum, z_shift = self.phi_y, self.sum_phi, self.shift_phi
            grams, z_nu = self.phi_phi, self.phi_nu
        else:
            z_y = basis.T @ self.phi_y
            z_sum, z_shift = self.sum_phi @ basis, self.shift_phi @ basis
            grams = self.projected_gram(basis) if forms is None else forms
            z_nu = np.matmul(basis.T, self.phi_nu)  # (S, d, c)
        nuisance = nuisance_coef is not None and nuisance_coef.size
        T = self.count[self.session]
        quad = np.empty(readout.shape[1])
        for s, gram in enumerate(grams):  # sessions own different neurons: one product each
            sl = slice(self.offsets[s], self.offsets[s + 1])
            w = readout[:, sl]
            quad[sl] = np.einsum("dn,dn->n", gram @ w, w)
            if nuisance:  # the nuisance columns are more design columns: [phi basis, nu]
                g = nuisance_coef[:, sl]
                quad[sl] += np.einsum("cn,cn->n", 2 * (z_nu[s].T @ w) + self.nu_nu[s] @ g, g)
        y_fit = np.einsum("dn,dn->n", z_y, readout)
        c = intercept + _rowdot(z_shift, readout, self.session) - self.shift_y
        lin = _rowdot(z_sum, readout, self.session)
        if nuisance:
            y_fit += np.einsum("cn,cn->n", self.nu_y, nuisance_coef)
            c += _rowdot(self.shift_nu, nuisance_coef, self.session)
            lin += _rowdot(self.sum_nu, nuisance_coef, self.session)
        # the intercept about the shifts
        sse = self.y_sq - 2 * y_fit + quad + T * c**2 + 2 * c * lin - 2 * c * self.sum_y
        sst = self.y_sq - self.sum_y**2 / T
        # a neuron silent in this block has sst at round-off level (yy and sum^2/T cancel):
        # call it exactly zero, so its R² is NaN rather than a huge negative number
        sst = np.where(sst > 1e-10 * np.maximum(self.y_sq, np.finfo(float).tiny), sst, 0.0)
        return np.maximum(sse, 0.0), sst


def _scaled_copy(M: np.ndarray, d: np.ndarray, out: np.ndarray) -> None:
    """``out = D M D`` with ``D = diag(d)``, by blocks of rows that stay in cache (one read of
    ``M``, one write of ``out``, no ``q x q`` temporary)."""
    step = max(1, 32768 // max(M.shape[1], 1))
    for a in range(0, M.shape[0], step):
        rows = out[a : a + step]
        np.multiply(M[a : a + step], d[None, :], out=rows)
        rows *= d[a : a + step, None]


def _rowdot(per_session: np.ndarray, readout: np.ndarray, session: np.ndarray) -> np.ndarray:
    """``per_session[session[n]] @ readout[:, n]`` for every neuron ``n``, shape (N,)."""
    return np.einsum("nd,dn->n", per_session[session], readout)


def stack(stats: Sequence[SessionStats], *, gram: bool = True) -> StackedStats:
    """Sessions' statistics (blocks summed) side by side, see :class:`StackedStats`.

    ``gram=False`` leaves out ``phi_phi`` (an empty tuple): enough for means and intercepts.
    """
    one = [s._one() for s in stats]
    sizes = [s.sum_y.shape[1] for s in one]
    c = max((s.n_nuisance for s in one), default=0)

    def pad(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        if all(a.shape[ax] == c for ax in axes):
            return a
        widths = [(0, 0)] * a.ndim
        for ax in axes:
            widths[ax] = (0, c - a.shape[ax])
        return np.pad(a, widths)

    return StackedStats(
        count=np.array([s.count[0] for s in one], dtype=float),
        sum_phi=np.stack([s.sum_phi[0] for s in one]),
        shift_phi=np.stack([s.shift_phi for s in one]),
        phi_phi=tuple(s.phi_phi[0] for s in one) if gram else (),
        phi_y=np.concatenate([s.phi_y[0] for s in one], axis=1),
        sum_y=np.concatenate([s.sum_y[0] for s in one]),
        y_sq=np.concatenate([np.diagonal(s.y_sq[0]) if s.has_gram else s.y_sq[0] for s in one]),
        shift_y=np.concatenate([s.shift_y for s in one]),
        sum_nu=np.stack([pad(s.sum_nu[0], (0,)) for s in one]),
        shift_nu=np.stack([pad(s.shifts.nu, (0,)) for s in one]),
        nu_nu=np.stack([pad(s.nu_nu[0], (0, 1)) for s in one]),
        phi_nu=np.stack([pad(s.phi_nu[0], (1,)) for s in one]),
        nu_y=np.concatenate([pad(s.nu_y[0], (0,)) for s in one], axis=1),
        session=np.repeat(np.arange(len(one)), sizes),
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(int),
    )
