"""The fold machinery every model-selection step shares: per-fold statistics computed once
(:class:`FoldStats`), training statistics by subtraction, held-out scores, and the task that
fits every rank of one training fold (:func:`_cv_fold`)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_backend
from ..data import Cohort, Session, as_cohort
from ..estimator import SessionFit, ShaReD
from ..features import TemporalExpansion
from ..folds import (
    check_fold_sizes,
    check_split,
    cohort_fold_labels,
    describe_split,
    fold_labels,
)
from ..metrics import _r2
from ..solver import readout
from ..stats import SessionStats, StackedStats, stack, standardize

#: default ridge grid, in the units of ``ShaReD.alpha`` (summed squared standardized behavior)
DEFAULT_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
RULES = ("1se", "max")
#: optimiser tolerance of the many fits inside cross-validation: on the core benchmark's cohort
#: it moves no grid point's held-out R² by more than 0.05 of its standard error over folds
#: against tol 1e-10 (benchmarks/bench_cv_tolerance.py); the final refit uses the model's ``tol``
CV_TOL = 1e-6
#: guards the whole-session totals every FoldStats caches (fold tasks run in threads); one lock
#: for all, as a lock per instance would not survive the pickling that sends them to a cluster
_CACHE_LOCK = threading.Lock()


# -- the fold machinery ------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldStats:
    """Per-fold sufficient statistics of a cohort, from one pass over the data.

    Attributes
    ----------
    cohort : Cohort
        The sessions' metadata (names, neurons, subjects, segments) without their data
        (:meth:`~sharedrep.data.Cohort.without_data`): everything here works from ``stats``, so
        fold fits sent to a cluster do not carry the recordings.
    expansion : TemporalExpansion
    stats : list of SessionStats
        One per session, each with ``n_folds`` blocks (fold ``k`` is block ``k`` in every
        session; see :func:`sharedrep.folds.fold_labels`).
    split : str or mapping
        The fold rule (``"auto"``, ``"interleaved"``, ``"blocks"`` or explicit labels).
    """

    cohort: Cohort
    expansion: TemporalExpansion
    stats: list[SessionStats]
    split: Any = "auto"

    @classmethod
    def compute(
        cls,
        cohort: Cohort | Session | Sequence[Session],
        model: ShaReD,
        n_folds: int,
        *,
        split: Any = "auto",
        what: str = "folds",
    ) -> FoldStats:
        """One chunked pass over every session, keeping the statistics of each fold.

        Parameters
        ----------
        cohort : Cohort
        model : ShaReD
            Fitted or not: its lags, basis, edges, drift, chunk size and objective say which
            statistics are needed (see :meth:`~sharedrep.ShaReD.statistics`).
        n_folds : int
            Folds per session (at least 2).
        split : {"auto", "interleaved", "blocks"} or mapping
            How samples are assigned to folds (see :mod:`sharedrep.folds`).
        what : str
            The argument that set ``n_folds``, for messages (``"folds"``, ``"n_blocks"``).

        Raises
        ------
        DataError
            A session has fewer segments than folds, fold labels that do not fit, or a fold
            with fewer than two analysed samples.
        """
        if not (
            isinstance(n_folds, int | np.integer)
            and not isinstance(n_folds, bool | np.bool_)
            and n_folds >= 2
        ):
            raise ValueError(f"{what} must be an integer >= 2, got {n_folds!r}")
        check_split(split)
        cohort = as_cohort(cohort)
        labels = cohort_fold_labels(cohort, int(n_folds), split)
        stats = model.statistics(cohort, folds=labels, n_folds=int(n_folds))
        check_fold_sizes(cohort, [st.count for st in stats], int(n_folds), what)
        expansion = model._check_params(cohort.feature_names)
        return cls(cohort.without_data(), expansion, stats, split)

    @property
    def split_description(self) -> str:
        """The fold rule in words, e.g. ``"interleaved segments"`` (for tables and reports)."""
        return describe_split(self.split, list(self.cohort))

    def labels(self, i: int) -> np.ndarray:
        """Fold of each sample of session ``i`` (recomputed from the rule; no data read)."""
        return fold_labels(self.cohort[i], self.n_folds, self.split)

    @property
    def n_folds(self) -> int:
        """Number of folds ``K``."""
        return self.stats[0].n_blocks

    def train(self, k: int | Sequence[int]) -> list[SessionStats]:
        """Training statistics of fold(s) ``k`` in every session (total minus fold ``k``).

        Not cached: a subtraction per field is cheap next to the fits that use it, while ``K``
        cached training sets would double the memory the fold statistics hold (``S q^2`` floats
        each: 320 MB for 8 sessions at q = 1,000, where a 3-alpha CV peaked at 1.13 GB with the
        cache and at 0.78 GB without it). The sessions' ``phi_phi`` are slices of one
        ``(S, 1, q, q)`` array, which a fold task standardizes in place
        (:func:`~sharedrep.stats.standardize` with ``overwrite=True``): one copy of the Grams
        per task, not two.
        """
        totals = self.total()
        grams = np.empty((len(totals), *totals[0].phi_phi.shape))
        return [s.without(k, t, out=g) for s, t, g in zip(self.stats, totals, grams, strict=True)]

    def test(self, k: int | Sequence[int]) -> list[SessionStats]:
        """Statistics of fold(s) ``k`` alone in every session."""
        return [s.block(k) for s in self.stats]

    def test_stacked(self, k: int) -> StackedStats:
        """Statistics of fold ``k`` of every session, side by side (cached)."""
        cache = self.__dict__.setdefault("_test", {})
        if k not in cache:
            cache[k] = stack(self.test(k))
        return cache[k]

    def total(self) -> list[SessionStats]:
        """Whole-session statistics (all folds summed; cached: every fold's training set is
        this minus the fold)."""
        # under a lock: the first fold tasks, in threads, would otherwise each sum all S K q^2
        with _CACHE_LOCK:
            if "_total" not in self.__dict__:
                self.__dict__["_total"] = [s.total() for s in self.stats]
            return list(self.__dict__["_total"])

    def heldout(
        self,
        fitter: Callable[[int], tuple[np.ndarray, np.ndarray, Mapping[str, SessionFit]]],
        sessions: Sequence[int] | None = None,
        folds: Iterable[int] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Held-out residual and total sums of squares, fold by fold.

        Parameters
        ----------
        fitter : callable ``k -> (W, column_scale, session_fits)``
            Returns, for fold ``k``, the shared representation ``W`` (q, d) in standardized
            design units, the design column scales (q,) it assumes, and a readout per session
            (keyed by session name), all estimated WITHOUT fold ``k`` of the sessions scored.
        sessions : sequence of int, optional
            Positions of the sessions to score (default all).
        folds : iterable of int, optional
            Folds to hold out (default all).

        Returns
        -------
        per_fold : ndarray, shape (n_folds_used, n_sessions_scored)
            Per fold and session, the mean over neurons of the held-out R² of that fold (the
            spread over folds gives the standard error of cross-validation).
        sse, sst : list of ndarray, shape (n_s,)
            Per session scored, sums over folds of the held-out residual and total sums of
            squares (total about each fold's own mean); ``1 - sse / sst`` is the held-out R².
        """
        idx = list(range(len(self.stats))) if sessions is None else list(sessions)
        ks = list(range(self.n_folds)) if folds is None else list(folds)
        sse = [np.zeros(self.cohort[i].n_neurons) for i in idx]
        sst = [np.zeros(self.cohort[i].n_neurons) for i in idx]
        per_fold = np.full((len(ks), len(idx)), np.nan)
        # the fold fits run as tasks on a cluster set by sharedrep.use_cluster, else here
        fitted = get_backend().map(fitter, ks)
        for a, (k, (W, col, fits)) in enumerate(zip(ks, fitted, strict=True)):
            for b, i in enumerate(idx):
                fit = fits[self.cohort.names[i]]
                e, t = score_block(W, col, fit, self.stats[i].block(k))
                sse[b] += e
                sst[b] += t
                r2 = _r2(e, t)
                if np.isfinite(r2).any():
                    per_fold[a, b] = np.nanmean(r2)
        return per_fold, sse, sst


def score_block(
    W: np.ndarray, column_scale: np.ndarray, fit: SessionFit, block: SessionStats
) -> tuple[np.ndarray, np.ndarray]:
    """Residual and total sums of squares of a fitted session on a block of its statistics.

    Parameters
    ----------
    W : ndarray, shape (q, d)
        Shared representation (standardized design units).
    column_scale : ndarray, shape (q,)
        Design column scales the model was fitted with.
    fit : SessionFit
        Readout, means and neural scales of the session (from other blocks).
    block : SessionStats
        Statistics of the held-out block.

    Returns
    -------
    sse, sst : ndarray, shape (n,)
    """
    coef = fit.coef(W, column_scale)
    return block.residual_ss(coef, fit.intercept(coef), fit.nuisance_coef)


def _cv_fold(
    folds: FoldStats, k: int, alpha: float, ranks: Sequence[int], params: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, float]]]:
    """Held-out sums of squares of fold ``k`` of every session, for each rank at one ``alpha``.

    The training problem of the fold is standardized and prepared once and every rank is
    fitted from it, each from the solution of the rank fitted before, in the order
    :meth:`~sharedrep.solver.SubspaceProblem.fit_order` gives: for wide designs the largest
    first, then each smaller rank from the leading pooled directions of the rank above, in the
    search subspace the larger fits have grown; for narrow ones upwards from the smallest (the
    default start is kept where it starts higher).
    Readouts and held-out scores stay in the ``d`` latent dimensions, all sessions at once;
    each session's nuisance regressors are refitted with each rank. Rank 0 is the model of the
    intercepts and nuisance regressors alone. The task reads only ``folds``: fold fits can run in
    any order, in threads or on a cluster.

    Parameters
    ----------
    folds : FoldStats
    k : int
        Held-out fold.
    alpha : float
    ranks : sequence of int
        Distinct, in any order; 0 allowed.
    params : mapping
        The other :class:`~sharedrep.ShaReD` parameters.

    Returns
    -------
    sse, sst, offset : ndarray, shape (len(ranks), N)
        Per rank, the residual and total sums of squares of every neuron of the cohort on fold
        ``k`` (sessions' neurons side by side, in cohort order), and the part of the residual
        sum of squares due to the held-out block's mean alone (``T_k (mean - predicted
        mean)^2``: large when the baseline drifts between training and test data).
    stopped : list of (int, int, float)
        The ranks whose fit stopped at ``max_iter`` short of the tolerance: rank, iterations,
        relative gradient.
    """
    cohort = folds.cohort
    d_max = max(ranks)
    model = ShaReD(**params, n_components=max(d_max, 1), alpha=alpha)
    train = folds.train(k)
    std = standardize(
        train,
        model._check_params(cohort.feature_names),
        cohort.feature_names,
        zscore_neurons=model.zscore,
        ridge=alpha,
        overwrite=True,  # the task's own training Grams: standardized in place
    )
    trained = stack(train, gram=False)  # for the intercepts: training means
    if d_max > 0:
        model._check_rank(std, cohort, d_max)
        problem = model._subspace_problem(std, cohort)
    act = std.active
    A = np.concatenate([a[act] for a in std.cross], axis=1)
    neural_scale = np.concatenate(std.neural_scale)
    test = folds.test_stacked(k)
    # the nuisance fit of each session: Gamma = nu_y - nu_phi @ basis @ V (raw units, padded)
    c = test.nu_y.shape[0]
    nu_y = np.zeros((c, test.session.size))
    nu_phi = np.zeros((len(cohort), c, act.size))
    for s, part in enumerate(std.partials):
        nu_y[: part.nu_y.shape[0], test.offsets[s] : test.offsets[s + 1]] = part.nu_y
        nu_phi[s, : part.nu_phi.shape[0]] = part.nu_phi
    sse = np.empty((len(ranks), test.session.size))
    sst, offset = np.empty_like(sse), np.empty_like(sse)
    mean_phi, mean_y = test.means()
    W = None
    stopped: list[tuple[int, int, float]] = []  # (rank, iterations, gradient) short of tol
    models = {}  # rank position -> (basis, V, intercept, gamma) in raw units
    order = problem.fit_order(ranks) if d_max > 0 else range(len(ranks))
    for j in order:
        d = int(ranks[j])
        basis = np.zeros((act.size, d))
        if d > 0:
            fit = problem.fit(
                d,
                max_iter=model.max_iter,
                tol=model.tol,
                n_restarts=model.n_restarts,
                seed=model.random_state,
                init=W,
            )
            W = fit.W
            if not fit.converged:
                stopped.append((d, fit.n_iter, fit.grad_norm))
            # the model in raw units: coef = basis @ readout
            V = readout(W, problem.C, A, test.session, forms=problem.forms(W)) * neural_scale
            basis[act] = std.column_scale[act, None] * W
        else:
            V = np.zeros((0, test.session.size))
        gamma = nu_y - np.einsum("ncd,dn->cn", (nu_phi @ basis)[test.session], V) if c else None
        models[j] = basis, V, trained.intercept(V, basis, gamma), gamma
    # the held-out design Grams read once, with every rank's basis side by side
    ends = np.cumsum([models[j][0].shape[1] for j in range(len(ranks))])
    grams = test.projected_gram(np.hstack([models[j][0] for j in range(len(ranks))]))
    for j, (basis, V, intercept, gamma) in models.items():
        at = slice(ends[j] - basis.shape[1], ends[j])
        sse[j], sst[j] = test.residual_ss(
            V, intercept, basis, nuisance_coef=gamma, forms=grams[:, at, at]
        )
        predicted = intercept + np.einsum("nd,dn->n", (mean_phi @ basis)[test.session], V)
        if c:
            predicted += np.einsum("nc,cn->n", test.mean_nuisance()[test.session], gamma)
        offset[j] = test.count[test.session] * (mean_y - predicted) ** 2
    return sse, sst, offset, stopped


def _session_means(values: np.ndarray, session: np.ndarray, n_sessions: int) -> np.ndarray:
    """Mean of the finite ``values`` (N,) of each session's neurons, NaN where none is finite."""
    ok = np.isfinite(values)
    total = np.bincount(session[ok], weights=values[ok], minlength=n_sessions)
    count = np.bincount(session[ok], minlength=n_sessions)
    return np.divide(total, count, out=np.full(n_sessions, np.nan), where=count > 0)


def with_coef(model: ShaReD, W: np.ndarray) -> ShaReD:
    """A shallow copy of a fitted model with another shared representation ``W`` (q, d').

    Readouts computed from it (:meth:`~sharedrep.ShaReD.readout_from_stats`) use ``W``;
    ``session_fits_`` of the copy are emptied (they belonged to the old ``W``).
    """
    new = copy.copy(model)
    new.coef_ = np.asarray(W)
    new.session_fits_ = {}
    return new
