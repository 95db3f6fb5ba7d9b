"""Model selection from sufficient statistics: cross-validation, ``ShaReDCV`` and transfer.

Everything here rests on one piece of machinery, :class:`FoldStats`: the statistics of every
session are computed ONCE, per fold (whole segments, or contiguous blocks; the same fold index in
every session). The training statistics of fold ``k`` are ``total - fold k`` (a subtraction in
q-space) and the held-out fold is scored from its own statistics
(:meth:`~sharedrep.stats.StackedStats.residual_ss`), so no fit or score ever reads the raw data
again. Cross-validation scores every rank of a training fold from one prepared problem
(:func:`_cv_fold`); transfer to a new animal and the held-out R² of the encoding map
(:mod:`sharedrep.inference`) go through :meth:`FoldStats.heldout`, which takes any fitter.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .backend import get_backend
from .data import Cohort, Session, as_cohort
from .errors import DataError, NotFittedError, SharedRepWarning
from .estimator import SessionFit, ShaReD
from .features import TemporalExpansion
from .folds import (
    check_fold_sizes,
    check_split,
    cohort_fold_labels,
    describe_split,
    fold_labels,
)
from .metrics import Scores, _r2
from .solver import readout
from .stats import SessionStats, StackedStats, stack, standardize

__all__ = [
    "CVResults",
    "FoldStats",
    "ShaReDCV",
    "TransferResults",
    "cross_validate",
    "cv_provenance",
    "one_se_choice",
    "transfer",
]

#: default ridge grid, in the units of ``ShaReD.alpha`` (summed squared standardized behavior)
DEFAULT_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
RULES = ("1se", "max")
#: optimiser tolerance of the many fits inside cross-validation: on the core benchmark's cohort
#: it moves no grid point's held-out R² by more than 0.05 of its standard error over folds
#: against tol 1e-10 (benchmarks/bench_cv_tolerance.py); the final refit uses the model's ``tol``
CV_TOL = 1e-6


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
        """Training statistics of fold(s) ``k`` in every session (total minus fold ``k``)."""
        if not np.isscalar(k):
            return [s.without(k) for s in self.stats]
        # cached per fold: a grid search asks for the same training sets many times
        cache = self.__dict__.setdefault("_train", {})
        if k not in cache:
            cache[k] = [s.without(k) for s in self.stats]
        return cache[k]

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
        """Whole-session statistics (all folds summed)."""
        return [s.total() for s in self.stats]

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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out sums of squares of fold ``k`` of every session, for each rank at one ``alpha``.

    The training problem of the fold is standardized and prepared once and every rank is
    fitted from it, each starting from the solution of the rank below (completed with the best
    pooled directions orthogonal to it; the default start is kept where it starts higher).
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
        Increasing; 0 allowed.
    params : mapping
        The other :class:`~sharedrep.ShaReD` parameters.

    Returns
    -------
    sse, sst, offset : ndarray, shape (len(ranks), N)
        Per rank, the residual and total sums of squares of every neuron of the cohort on fold
        ``k`` (sessions' neurons side by side, in cohort order), and the part of the residual
        sum of squares due to the held-out block's mean alone (``T_k (mean - predicted
        mean)^2``: large when the baseline drifts between training and test data).
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
    )
    if d_max > 0:
        model._check_rank(std, cohort, d_max)
        problem = model._subspace_problem(std, cohort)
    act = std.active
    A = np.concatenate([a[act] for a in std.cross], axis=1)
    neural_scale = np.concatenate(std.neural_scale)
    trained = stack(train, gram=False)  # for the intercepts: training means
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
    for j, d in enumerate(ranks):
        basis = np.zeros((act.size, d))
        if d > 0:
            W = problem.fit(
                d,
                max_iter=model.max_iter,
                tol=model.tol,
                n_restarts=model.n_restarts,
                seed=model.random_state,
                init=W,
            ).W
            # the model in raw units: coef = basis @ readout
            V = readout(W, problem.C, A, test.session) * neural_scale
            basis[act] = std.column_scale[act, None] * W
        else:
            V = np.zeros((0, test.session.size))
        gamma = nu_y - np.einsum("ncd,dn->cn", (nu_phi @ basis)[test.session], V) if c else None
        intercept = trained.intercept(V, basis, gamma)
        sse[j], sst[j] = test.residual_ss(V, intercept, basis, nuisance_coef=gamma)
        predicted = intercept + np.einsum("nd,dn->n", (mean_phi @ basis)[test.session], V)
        if c:
            predicted += np.einsum("nc,cn->n", test.mean_nuisance()[test.session], gamma)
        offset[j] = test.count[test.session] * (mean_y - predicted) ** 2
    return sse, sst, offset


def _session_means(values: np.ndarray, session: np.ndarray, n_sessions: int) -> np.ndarray:
    """Mean of the finite ``values`` (N,) of each session's neurons, NaN where none is finite."""
    ok = np.isfinite(values)
    total = np.bincount(session[ok], weights=values[ok], minlength=n_sessions)
    count = np.bincount(session[ok], minlength=n_sessions)
    return np.divide(total, count, out=np.full(n_sessions, np.nan), where=count > 0)


# -- cross-validation ---------------------------------------------------------------------------
def one_se_choice(summary: pd.DataFrame, rule: str = "1se") -> tuple[int, float]:
    """Choose ``(n_components, alpha)`` from a cross-validation summary.

    ``"max"``: the largest pooled held-out R². ``"1se"`` (default): the most parsimonious model
    whose pooled held-out R² is within one standard error (over folds) of the best one: the
    fewest components first, then the largest ``alpha`` (strongest ridge). This is the rule of
    Breiman et al. (1984) and of glmnet: differences smaller than the fold-to-fold noise do not
    justify a larger model.

    Parameters
    ----------
    summary : DataFrame
        Indexed by ``(n_components, alpha)`` with columns ``r2`` and ``se``.
    rule : {"1se", "max"}

    Returns
    -------
    n_components : int
    alpha : float
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    ok = summary[np.isfinite(summary["r2"].to_numpy())]
    if ok.empty:
        raise DataError(
            "cross-validation produced no finite held-out R²: every neuron is silent (no "
            "variance) in every held-out fold"
        )
    best = ok["r2"].idxmax()
    if rule == "max":
        return int(best[0]), float(best[1])
    se = ok.loc[best, "se"]
    threshold = ok.loc[best, "r2"] - (se if np.isfinite(se) else 0.0)
    within = ok[ok["r2"] >= threshold].reset_index()
    within = within.sort_values(["n_components", "alpha"], ascending=[True, False])
    first = within.iloc[0]
    return int(first["n_components"]), float(first["alpha"])


@dataclass(frozen=True)
class CVResults:
    """Held-out performance of every ``(n_components, alpha)`` of a cross-validation grid.

    Attributes
    ----------
    summary : pandas.DataFrame
        Index ``(n_components, alpha)``; columns ``r2`` (pooled held-out R²: mean over
        sessions of the mean over neurons, folds pooled by summing sums of squares), ``se``
        (standard error of the pooled R² over folds, ``std / sqrt(K)``), ``offset`` (the
        share of the held-out variance lost to the held-out blocks' means alone, i.e. to a
        baseline that moved between training and test data; same averaging as ``r2``),
        ``chosen`` (bool). Rank 0 (when in the grid) is the model of the intercepts and
        nuisance regressors alone.
    session : pandas.DataFrame
        Long table, one row per ``(n_components, alpha, session)``: ``subject``,
        ``condition``, ``r2`` (mean over the session's neurons of their held-out R²).
    neuron : pandas.DataFrame
        Long table, one row per ``(n_components, alpha, session, neuron)``: ``subject``,
        ``condition``, ``r2`` (NaN for neurons silent in a held-out fold).
    folds : pandas.DataFrame
        Long table, one row per ``(n_components, alpha, fold, session)``: ``r2`` of that
        session on that held-out fold alone.
    n_components : int
        Chosen number of components.
    alpha : float
        Chosen ridge penalty.
    rule : str
        Selection rule (``"1se"`` or ``"max"``).
    n_folds : int
    split : str
        How the folds were drawn, in words (e.g. ``"interleaved segments"``).
    diagnostics : dict of str to float
        At the chosen point: ``r2``, ``se``, ``offset`` (see ``summary``) and ``fold_ratio``
        (variance of the per-fold R² over folds against what the scatter of sessions within
        folds predicts).
    """

    summary: pd.DataFrame
    session: pd.DataFrame
    neuron: pd.DataFrame
    folds: pd.DataFrame
    n_components: int
    alpha: float
    rule: str
    n_folds: int
    split: str = "contiguous blocks"
    diagnostics: dict[str, float] = field(default_factory=dict)

    def scores(self, n_components: int | None = None, alpha: float | None = None) -> Scores:
        """Held-out :class:`~sharedrep.metrics.Scores` of one grid point (default: chosen)."""
        d = self.n_components if n_components is None else int(n_components)
        a = self.alpha if alpha is None else float(alpha)
        sel = self.neuron[(self.neuron["n_components"] == d) & (self.neuron["alpha"] == a)]
        if sel.empty:
            raise KeyError(f"(n_components={d}, alpha={a}) is not in the grid")
        neuron = sel.set_index(["session", "neuron"])["r2"]
        ses = self.session[(self.session["n_components"] == d) & (self.session["alpha"] == a)]
        session = ses.set_index("session")["r2"]
        return Scores(neuron, session, float(np.nanmean(session.to_numpy())))

    def __repr__(self) -> str:
        best = self.summary.loc[(self.n_components, self.alpha)]
        return (
            f"CVResults({self.n_folds}-fold over {self.split}, {len(self.summary)} grid "
            "points; chosen "
            f"n_components={self.n_components}, alpha={self.alpha:g} by {self.rule!r}: "
            f"held-out R²={best['r2']:.4f} ± {best['se']:.4f})"
        )


def _as_grid(values: int | float | Iterable, what: str, kind: type, lowest: int = 1) -> list:
    arr = [values] if np.isscalar(values) else list(values)
    if not arr:
        raise ValueError(f"{what} grid is empty")
    out = []
    for v in arr:
        if kind is int:
            if not (isinstance(v, int | np.integer) and v >= lowest):
                raise ValueError(f"{what} must be integers >= {lowest}, got {v!r}")
            out.append(int(v))
        else:
            if not (isinstance(v, int | float | np.number) and np.isfinite(v) and v >= 0):
                raise ValueError(f"{what} must be non-negative numbers, got {v!r}")
            out.append(float(v))
    if len(set(out)) != len(out):
        raise ValueError(f"{what} grid has duplicates: {out}")
    return sorted(out)


def _base_params(estimator: ShaReD | None, params: Mapping[str, Any]) -> dict[str, Any]:
    base = ShaReD().get_params() if estimator is None else estimator.get_params()
    bad = set(params) - set(base)
    if bad:
        raise ValueError(f"unknown ShaReD parameter(s) {sorted(bad)}; valid: {sorted(base)}")
    base.update(params)
    base.pop("n_components")
    base.pop("alpha")
    return base


def _cross_validate_stats(
    folds: FoldStats,
    grid_d: list[int],
    grid_a: list[float],
    params: Mapping[str, Any],
    rule: str,
    cv_tol: float | None,
) -> CVResults:
    cohort = folds.cohort
    p = dict(params)
    if cv_tol is not None:
        p["tol"] = max(float(p.get("tol", 0.0)), cv_tol)
    K, S = folds.n_folds, len(cohort)
    # one task per (alpha, fold), each fitting every rank (on a cluster if one is set)
    alphas, ks = zip(*[(a, k) for a in grid_a for k in range(K)], strict=True)
    task = partial(_cv_fold, folds, ranks=grid_d, params=p)
    results = get_backend().map(task, ks, alphas)
    session = folds.test_stacked(0).session
    summary_rows, ses_r2, fold_r2, neu_r2 = [], [], [], []
    for i, a in enumerate(grid_a):
        sse = np.stack([results[i * K + k][0] for k in range(K)])  # (K, D, N)
        sst = np.stack([results[i * K + k][1] for k in range(K)])
        off = np.stack([results[i * K + k][2] for k in range(K)]).sum(axis=0)  # (D, N)
        per_fold = np.array(
            [[_session_means(r, session, S) for r in _r2(sse[k], sst[k])] for k in range(K)]
        )  # (K, D, S)
        r2 = _r2(sse.sum(axis=0), sst.sum(axis=0))  # (D, N), folds pooled
        ses = np.array([_session_means(r, session, S) for r in r2])  # (D, S)
        se = np.std(np.nanmean(per_fold, axis=2), axis=0, ddof=1) / np.sqrt(K)
        total = sst.sum(axis=0)
        share = np.divide(off, total, out=np.full_like(off, np.nan), where=total > 0)
        offset = [float(np.nanmean(_session_means(o, session, S))) for o in share]
        summary_rows += [
            (d, a, float(np.nanmean(ses[j])), float(se[j]), offset[j]) for j, d in enumerate(grid_d)
        ]
        ses_r2.append(ses)
        fold_r2.append(per_fold)
        neu_r2.append(r2)
    summary = pd.DataFrame(summary_rows, columns=["n_components", "alpha", "r2", "se", "offset"])
    summary = summary.set_index(["n_components", "alpha"]).sort_index()
    d_best, a_best = one_se_choice(summary, rule)
    summary["chosen"] = [(d, a) == (d_best, a_best) for d, a in summary.index]
    diagnostics = _diagnose(summary, np.stack(fold_r2), grid_a, grid_d, folds, int(p["drift"]))
    return CVResults(
        summary=summary,
        session=_long_table(cohort, grid_a, grid_d, np.stack(ses_r2), "session"),
        neuron=_long_table(cohort, grid_a, grid_d, np.stack(neu_r2), "neuron"),
        folds=_long_table(cohort, grid_a, grid_d, np.stack(fold_r2), "fold"),
        n_components=d_best,
        alpha=a_best,
        rule=rule,
        n_folds=K,
        split=folds.split_description,
        diagnostics=diagnostics,
    )


def _diagnose(
    summary: pd.DataFrame,
    fold_r2: np.ndarray,
    grid_a: list[float],
    grid_d: list[int],
    folds: FoldStats,
    drift: int,
) -> dict[str, float]:
    """Numbers that tell whether the folds, not the model, decide the score; warns once.

    ``offset``: share of the held-out variance lost to the held-out blocks' means at the chosen
    point (a baseline that moved between training and test data). ``fold_ratio``: variance over
    folds of the per-fold R² (mean over sessions) against the variance expected from the scatter
    of sessions within folds; sessions that drift together make whole folds good or bad. The
    warning fires when the offsets cost more than 1% of the variance and more than the model
    explains, or when ``fold_ratio`` exceeds 5 (with at least 3 sessions) and the standard error
    over folds exceeds a quarter of the score: on the V1 recordings of the tests, contiguous
    blocks give 0.085 and 4.6, interleaved trials 0.005 and 0.3.
    """
    d_best = int(summary.index[summary["chosen"]][0][0])
    a_best = float(summary.index[summary["chosen"]][0][1])
    row = summary.loc[(d_best, a_best)]
    per = fold_r2[grid_a.index(a_best), :, grid_d.index(d_best), :]  # (K, S)
    K, S = per.shape
    between = float(np.nanvar(np.nanmean(per, axis=1), ddof=1)) if K > 1 else np.nan
    within = float(np.nanmean(np.nanvar(per, axis=1, ddof=1)) / S) if S > 1 else np.nan
    out = {
        "r2": float(row["r2"]),
        "se": float(row["se"]),
        "offset": float(row["offset"]),
        "fold_ratio": between / within if within and np.isfinite(within) else np.nan,
    }
    offsets = out["offset"] > 0.01 and out["offset"] > max(out["r2"], 0.0)
    # folds that differ much more than sessions do, by an amount that matters for the score
    spread = S >= 3 and out["fold_ratio"] > 5 and out["se"] > 0.25 * abs(out["r2"])
    if offsets or spread:
        trials = [s for s in folds.cohort if s.segments is not None]
        remedies = []
        if trials and "contiguous" in folds.split_description:
            remedies.append("split='interleaved' (trials spread over the whole recording)")
        if not drift:
            remedies.append("drift=k (k smooth functions of recording time per session)")
        advice = " or ".join(remedies) if remedies else "look for changes over the recording"
        warnings.warn(
            f"cross-validation over {folds.split_description}: the held-out blocks' means "
            f"differ from the training data's by {out['offset']:.3g} of the variance, against a "
            f"held-out R² of {out['r2']:.3g} ± {out['se']:.3g}, and the held-out R² varies "
            f"{out['fold_ratio']:.3g} times more across folds than the sessions within folds "
            f"predict: the baseline drifts over the recording, and the folds, not the model, "
            f"decide the score. Remedy: {advice}",
            SharedRepWarning,
            stacklevel=4,
        )
    return out


def _long_table(
    cohort: Cohort, grid_a: list[float], grid_d: list[int], r2: np.ndarray, level: str
) -> pd.DataFrame:
    """A long table of held-out R² over the grid, alpha-major then rank.

    ``r2`` is ``(A, D, S)`` per session, ``(A, D, N)`` per neuron, or ``(A, K, D, S)`` per fold
    and session.
    """
    A, D = len(grid_a), len(grid_d)
    names = np.array(cohort.names, dtype=object)
    if level == "fold":
        K = r2.shape[1]
        r2 = r2.transpose(0, 2, 1, 3)  # (A, D, K, S)
        inner = {"fold": np.repeat(np.arange(K), len(cohort)), "session": np.tile(names, K)}
    elif level == "session":
        inner = {
            "session": names,
            "subject": [s.subject for s in cohort],
            "condition": [s.condition for s in cohort],
        }
    else:
        sizes = [s.n_neurons for s in cohort]
        inner = {
            "session": np.repeat(names, sizes),
            "subject": np.repeat(np.array([s.subject for s in cohort], dtype=object), sizes),
            "condition": np.repeat(np.array([s.condition for s in cohort], dtype=object), sizes),
            "neuron": np.concatenate([np.asarray(s.neuron_names) for s in cohort]),
        }
    m = r2.size // (A * D)
    columns = {
        "n_components": np.tile(np.repeat(grid_d, m), A),
        "alpha": np.repeat(grid_a, D * m),
        **{key: np.tile(np.asarray(v), A * D) for key, v in inner.items()},
        "r2": r2.ravel(),
    }
    return pd.DataFrame(columns)


def cross_validate(
    cohort: Cohort | Session | Sequence[Session],
    n_components: int | Iterable[int] = range(1, 11),
    alpha: float | Iterable[float] = DEFAULT_ALPHAS,
    folds: int = 5,
    *,
    split: Any = "auto",
    rule: str = "1se",
    estimator: ShaReD | None = None,
    cv_tol: float | None = CV_TOL,
    **params: Any,
) -> CVResults:
    """Cross-validate the number of shared components and the ridge penalty.

    Folds are whole segments (trials) interleaved over the recording, or contiguous blocks for
    sessions
    without segments, with the same fold index in every session: fold ``k`` is held out of
    every session at once, ``W`` and all readouts are fitted on the rest, and each session's
    held-out fold is scored with its own readout. The statistics are computed in ONE pass over
    the data; training statistics are obtained by subtracting the held-out fold, so the cost
    of the grid is that of small q-space problems: one task per ``(alpha, fold)`` prepares its
    training problem once and fits the ranks in increasing order, each from the solution of
    the rank below (see :meth:`~sharedrep.solver.SubspaceProblem.start`). The tasks are
    independent, so results do not depend on the order in which threads or a cluster run them.

    Parameters
    ----------
    cohort : Cohort, Session or list of Session
    n_components : int or iterable of int
        Ranks ``d`` to try.
    alpha : float or iterable of float
        Ridge penalties to try (units of :class:`~sharedrep.ShaReD`'s ``alpha``).
    folds : int
        Number of folds ``K`` (>= 2; every session needs at least ``K`` segments).
    split : {"auto", "interleaved", "blocks"} or mapping of session name to fold labels
        How samples are assigned to folds (see :mod:`sharedrep.folds`): ``"auto"`` (default)
        interleaves the segments (trials) of sessions that have them, so that a slow drift of
        the recording does not decide the score, and cuts continuous sessions into contiguous
        blocks.
    rule : {"1se", "max"}
        ``"1se"`` (default): the fewest components, then the strongest ridge, whose pooled
        held-out R² is within one standard error (over folds) of the best; ``"max"``: the best.
        See :func:`one_se_choice`.
    estimator : ShaReD, optional
        Take the other parameters (lags, basis, edges, drift, objective, weights, ...) from
        this estimator.
    cv_tol : float or None
        Optimiser tolerance of the fits inside cross-validation (default ``1e-6``; ``None``:
        the estimator's own ``tol``).
    **params
        Other :class:`~sharedrep.ShaReD` parameters (``lags``, ``n_basis``, ``objective``,
        ``weights``, ``zscore``, ...); they override ``estimator``'s.

    Returns
    -------
    CVResults
        Tables of held-out R² per neuron, session, fold and pooled, and the chosen
        ``n_components`` and ``alpha``.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=1500, seed=0)
    >>> cv = sr.cross_validate(cohort, n_components=[1, 2, 3, 4], alpha=[1.0, 100.0],
    ...                        folds=3, lags=truth.lags)
    >>> cv.summary.columns.tolist()
    ['r2', 'se', 'offset', 'chosen']
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    grid_d = _as_grid(n_components, "n_components", int, lowest=0)
    grid_a = _as_grid(alpha, "alpha", float)
    base = _base_params(estimator, params)
    fs = FoldStats.compute(cohort, ShaReD(**base), folds, split=split)
    return _cross_validate_stats(fs, grid_d, grid_a, base, rule, cv_tol)


class ShaReDCV:
    """:class:`~sharedrep.ShaReD` with ``n_components`` and ``alpha`` chosen by cross-validation.

    ``fit`` computes the per-fold statistics once, runs :func:`cross_validate` on them and
    refits the chosen model on the summed statistics (no second pass over the data).

    Parameters
    ----------
    n_components : iterable of int
        Ranks to try.
    alpha : iterable of float
        Ridge penalties to try.
    folds : int
        Number of cross-validation folds (whole segments).
    split : {"auto", "interleaved", "blocks"} or mapping
        How samples are assigned to folds (see :func:`cross_validate`).
    rule : {"1se", "max"}
        Selection rule (see :func:`one_se_choice`).
    cv_tol : float or None
        Optimiser tolerance inside cross-validation.
    **params
        Any other :class:`~sharedrep.ShaReD` parameter (``lags``, ``n_basis``, ...).

    Attributes
    ----------
    cv_results_ : CVResults
    n_components_ : int
    alpha_ : float
    best_params_ : dict
        ``{"n_components": n_components_, "alpha": alpha_}`` (scikit-learn's name).
    best_estimator_ : ShaReD
        Refitted on all data with the chosen parameters. Its learned attributes (``coef_``,
        ``loadings_``, ``session_fits_``, ...) and methods (``transform``, ``predict``,
        ``score``, ``fit_readout``) are available on this object directly. It carries
        ``cv_provenance_``: how it was chosen (see :func:`cv_provenance`), saved with it by
        ``save`` and shown by :func:`sharedrep.report`.
    warnings_ : list of str
        The data warnings (:class:`~sharedrep.errors.SharedRepWarning`) met during the fit,
        each once, in order; they are also emitted (once each) and kept in the provenance.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=1500, seed=0)
    >>> model = sr.ShaReDCV(n_components=[1, 2, 3, 4], alpha=[1.0, 100.0], folds=3,
    ...                     lags=truth.lags).fit(cohort)
    >>> model.coef_.shape[1] == model.n_components_
    True
    """

    def __init__(
        self,
        n_components: Iterable[int] = range(1, 11),
        alpha: Iterable[float] = DEFAULT_ALPHAS,
        folds: int = 5,
        split: Any = "auto",
        rule: str = "1se",
        cv_tol: float | None = CV_TOL,
        **params: Any,
    ) -> None:
        self.n_components = n_components
        self.alpha = alpha
        self.folds = folds
        self.split = split
        self.rule = rule
        self.cv_tol = cv_tol
        self.params = params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters (scikit-learn convention)."""
        return {
            "n_components": self.n_components,
            "alpha": self.alpha,
            "folds": self.folds,
            "split": self.split,
            "rule": self.rule,
            "cv_tol": self.cv_tol,
            **self.params,
        }

    def set_params(self, **params: Any) -> ShaReDCV:
        """Set parameters (scikit-learn convention); returns self."""
        for k, v in params.items():
            if k in ("n_components", "alpha", "folds", "split", "rule", "cv_tol"):
                setattr(self, k, v)
            else:
                self.params[k] = v
        return self

    def __repr__(self) -> str:
        """Parameters that differ from their defaults, then, once fitted, the choice."""
        defaults = {
            "n_components": range(1, 11),
            "alpha": DEFAULT_ALPHAS,
            "folds": 5,
            "split": "auto",
            "rule": "1se",
            "cv_tol": CV_TOL,
            **ShaReD().get_params(),
        }
        shown = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not _same_param(v, defaults[k])
        ]
        text = f"ShaReDCV({', '.join(shown)})"
        cv = self.__dict__.get("cv_results_")
        if cv is not None:
            row = cv.summary.loc[(cv.n_components, cv.alpha)]
            text += (
                f" [fitted: n_components={cv.n_components}, alpha={cv.alpha:g} by {cv.rule!r}, "
                f"held-out R² {row['r2']:.3g} ± {row['se']:.2g}]"
            )
        return text

    def fit(self, cohort: Cohort | Session | Sequence[Session], y: None = None) -> ShaReDCV:
        """Cross-validate, then refit the chosen model on all data.

        Parameters
        ----------
        cohort : Cohort, Session or list of Session
        y : None
            Ignored.

        Returns
        -------
        self
        """
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {self.rule!r}")
        cohort = as_cohort(cohort)
        grid_d = _as_grid(self.n_components, "n_components", int, lowest=0)
        grid_a = _as_grid(self.alpha, "alpha", float)
        base = _base_params(None, self.params)
        with _DataWarnings() as seen:
            fs = FoldStats.compute(cohort, ShaReD(**base), self.folds, split=self.split)
            self.cv_results_ = _cross_validate_stats(
                fs, grid_d, grid_a, base, self.rule, self.cv_tol
            )
            self.n_components_ = self.cv_results_.n_components
            self.alpha_ = self.cv_results_.alpha
            self.best_estimator_ = ShaReD(
                n_components=self.n_components_, alpha=self.alpha_, **base
            ).fit_from_stats(fs.total(), cohort)
        self.warnings_ = seen.messages
        self.best_estimator_.cv_provenance_ = cv_provenance(self.cv_results_, seen.messages)
        return self

    @property
    def best_params_(self) -> dict[str, Any]:
        """The chosen ``{"n_components": ..., "alpha": ...}`` (scikit-learn's name)."""
        if "cv_results_" not in self.__dict__:
            raise NotFittedError("best_params_: this ShaReDCV is not fitted yet; call fit(cohort)")
        return {"n_components": self.n_components_, "alpha": self.alpha_}

    def __getattr__(self, name: str) -> Any:
        # learned attributes and methods of the refitted model, once fitted
        if name.startswith("__") or name in ("best_estimator_", "params"):
            raise AttributeError(name)
        best = self.__dict__.get("best_estimator_")
        if best is None:
            raise NotFittedError(
                f"{name!r}: this ShaReDCV is not fitted yet; call fit(cohort) first"
            )
        return getattr(best, name)


def _same_param(a: Any, b: Any) -> bool:
    """Whether a parameter value equals its default (ranges, tuples and lists alike)."""
    if isinstance(a, range | tuple | list | np.ndarray) and isinstance(b, range | tuple | list):
        return list(np.asarray(a).ravel()) == list(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


class _DataWarnings:
    """Collect the :class:`SharedRepWarning` messages of a block, then emit each once.

    Folds and refits meet the same finding again and again (a silent neuron in every fold that
    holds it); the block's warnings are recorded, and on exit every distinct warning is issued
    once, in order of first appearance. ``messages`` lists the data warnings' texts.
    """

    def __enter__(self) -> _DataWarnings:
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always", SharedRepWarning)
        self.messages: list[str] = []
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
        seen: set[tuple[type, str]] = set()
        for w in self._caught:
            key = (w.category, str(w.message))
            if key in seen:
                continue
            seen.add(key)
            if issubclass(w.category, SharedRepWarning):
                self.messages.append(str(w.message))
            if exc[0] is None:  # on an error, the error is the news
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def cv_provenance(cv: CVResults, data_warnings: Sequence[str] = ()) -> dict[str, Any]:
    """How a model was chosen by cross-validation, as plain values (stored in model files).

    Parameters
    ----------
    cv : CVResults
    data_warnings : sequence of str
        Data warnings met during the fit.

    Returns
    -------
    dict
        ``method`` (``"cross-validation"``), ``n_components_grid``, ``alpha_grid``, ``folds``,
        ``fold_scheme`` (in words), ``rule``, ``n_components`` and ``alpha`` (the choice),
        ``r2_heldout`` and ``se`` (its pooled held-out R² and standard error over folds),
        ``best`` (the grid point with the highest held-out R²: ``n_components``, ``alpha``,
        ``r2_heldout``, ``se``), ``summary`` (the grid: ``cv.summary``, index
        ``(n_components, alpha)``, columns ``r2``, ``se``, ``offset``, ``chosen``), ``diagnostics``
        (see :attr:`CVResults.diagnostics`) and ``warnings``.
    """
    summary = cv.summary
    chosen = summary.loc[(cv.n_components, cv.alpha)]
    finite = summary[np.isfinite(summary["r2"].to_numpy())]
    top = finite["r2"].idxmax() if not finite.empty else (cv.n_components, cv.alpha)
    best = summary.loc[top]
    return {
        "method": "cross-validation",
        "n_components_grid": sorted(int(d) for d in summary.index.get_level_values(0).unique()),
        "alpha_grid": sorted(float(a) for a in summary.index.get_level_values(1).unique()),
        "folds": int(cv.n_folds),
        "fold_scheme": f"{cv.split}; the same fold index in every session",
        "rule": cv.rule,
        "n_components": int(cv.n_components),
        "alpha": float(cv.alpha),
        "r2_heldout": float(chosen["r2"]),
        "se": float(chosen["se"]),
        "best": {
            "n_components": int(top[0]),
            "alpha": float(top[1]),
            "r2_heldout": float(best["r2"]),
            "se": float(best["se"]),
        },
        "summary": summary.copy(),
        "diagnostics": dict(cv.diagnostics),
        "warnings": list(data_warnings),
    }


# -- transfer to a new animal -------------------------------------------------------------------
@dataclass(frozen=True)
class TransferResults:
    """Leave-one-session-out transfer of the shared representation.

    Attributes
    ----------
    session : pandas.DataFrame
        One row per ``(session, train_fraction, method)``: ``subject``, ``condition``,
        ``n_train`` (samples used to fit the readout), ``n_test``, ``r2`` (mean held-out R²
        over the session's neurons). ``method`` is ``"shared"`` (W from the other sessions,
        readout fitted on the training part) or ``"individual"`` (reduced-rank ridge of the
        same rank fitted on the same training part alone).
    neuron : pandas.DataFrame
        The same per neuron (column ``neuron``).
    summary : pandas.DataFrame
        Index ``train_fraction``; columns ``shared``, ``individual`` (mean session R²),
        ``difference`` (shared minus individual), ``se`` (its standard error over sessions),
        ``wins`` (fraction of sessions where shared is better).
    split : str
        How each session was cut into blocks, in words.
    """

    session: pd.DataFrame
    neuron: pd.DataFrame
    summary: pd.DataFrame
    split: str = "contiguous blocks"


def transfer(
    cohort: Cohort | Sequence[Session],
    train_fraction: float | Iterable[float] = (0.05, 0.1, 0.2, 0.5),
    *,
    n_components: int = 3,
    alpha: float = 1.0,
    folds: int = 5,
    n_blocks: int = 20,
    split: Any = "auto",
    estimator: ShaReD | None = None,
    **params: Any,
) -> TransferResults:
    """How well the shared representation transfers to a new animal.

    For each session ``s`` in turn (leave-one-session-out): ``W`` is fitted on the other
    sessions only; session ``s`` is cut into ``n_blocks`` blocks of whole segments (by
    ``split``: interleaved segments for sessions with trials, contiguous blocks otherwise);
    ``folds`` rotations each hold out ``n_blocks / folds`` blocks for testing and fit the
    readout on the ``round(f * n_blocks)`` blocks that follow them (cyclically), for each
    training fraction ``f``: with interleaved blocks, both parts are trials spread over the
    whole recording. The same training data also fit an individual reduced-rank ridge
    regression of the same rank and ridge (no sharing). Held-out sums of squares are pooled
    over rotations. All from one statistics pass.

    Parameters
    ----------
    cohort : Cohort or list of Session
        At least two sessions.
    train_fraction : float or iterable of float
        Fractions of the left-out session used to fit its readout; each is rounded to whole
        blocks (at least one) and must leave the test blocks free
        (``f <= 1 - 1/folds``).
    n_components, alpha : int, float
        Rank and ridge of both the shared and the individual model (e.g. chosen by
        :func:`cross_validate`).
    folds : int
        Rotations of the test part.
    n_blocks : int
        Blocks per session (the resolution of ``train_fraction``); needs as many segments.
    split : {"auto", "interleaved", "blocks"} or mapping
        How samples are assigned to the blocks (see :mod:`sharedrep.folds`; explicit labels
        give ``n_blocks`` values).
    estimator : ShaReD, optional
        Take other parameters (lags, basis, edges, drift, ...) from this estimator.
    **params
        Other :class:`~sharedrep.ShaReD` parameters; they override ``estimator``'s.

    Returns
    -------
    TransferResults
    """
    cohort = as_cohort(cohort)
    if len(cohort) < 2:
        raise DataError("transfer needs at least two sessions (one is left out at a time)")
    fracs = sorted(set(_as_grid(train_fraction, "train_fraction", float)))
    if not (
        isinstance(n_blocks, int | np.integer)
        and not isinstance(n_blocks, bool | np.bool_)
        and n_blocks >= 2
    ):
        raise ValueError(f"n_blocks must be an integer >= 2, got {n_blocks!r}")
    if not (isinstance(folds, int | np.integer) and 2 <= folds <= n_blocks):
        raise ValueError(f"folds must be an integer in 2..n_blocks={n_blocks}, got {folds!r}")
    if n_blocks % folds:
        raise ValueError(f"n_blocks={n_blocks} must be a multiple of folds={folds}")
    per_test = n_blocks // folds
    if fracs[0] <= 0:
        raise ValueError(
            f"train_fraction must be positive (the readout needs training data), got {fracs[0]}"
        )
    n_train = {f: max(1, round(f * n_blocks)) for f in fracs}
    bad = [f for f, m in n_train.items() if m > n_blocks - per_test]
    if bad:
        raise ValueError(
            f"train_fraction {bad} leaves no room for the test blocks: with folds={folds} "
            f"the largest usable fraction is {1 - 1 / folds:g}"
        )
    base = _base_params(estimator, params)
    params_full = {**base, "n_components": int(n_components), "alpha": float(alpha)}
    fs = FoldStats.compute(cohort, ShaReD(**params_full), n_blocks, split=split, what="n_blocks")
    totals = fs.total()
    ses_rows, neu_rows = [], []
    for i, s in enumerate(cohort):
        others = [j for j in range(len(cohort)) if j != i]
        shared = ShaReD(**params_full).fit_from_stats(
            [totals[j] for j in others], cohort.subset([cohort.names[j] for j in others])
        )
        st = fs.stats[i]
        one = Cohort([s])
        for f in fracs:
            m = n_train[f]
            sums = {"shared": [0.0, 0.0], "individual": [0.0, 0.0]}
            n_tr = n_te = 0
            for r in range(folds):
                test = list(range(r * per_test, (r + 1) * per_test))
                train = [(r * per_test + per_test + j) % n_blocks for j in range(m)]
                tr_stats, te_stats = st.block(train), st.block(test)
                n_tr += int(tr_stats.count[0])
                n_te += int(te_stats.count[0])
                fit = shared.readout_from_stats(tr_stats, s)
                e, t = score_block(shared.coef_, shared._column_scale, fit, te_stats)
                sums["shared"][0] += e
                sums["shared"][1] += t
                indiv = _individual_fit(params_full, tr_stats, one, s.name)
                if indiv is None:
                    sums["individual"][0] += np.full(s.n_neurons, np.nan)
                    sums["individual"][1] += t
                else:
                    W, col, fit_i = indiv
                    e, t = score_block(W, col, fit_i, te_stats)
                    sums["individual"][0] += e
                    sums["individual"][1] += t
            for method, (e, t) in sums.items():
                r2 = _r2(np.asarray(e), np.asarray(t))
                mean = float(np.nanmean(r2)) if np.isfinite(r2).any() else np.nan
                ses_rows.append(
                    (s.name, s.subject, s.condition, f, method, n_tr / folds, n_te, mean)
                )
                neu_rows.append(
                    pd.DataFrame(
                        {
                            "session": s.name,
                            "subject": s.subject,
                            "condition": s.condition,
                            "train_fraction": f,
                            "method": method,
                            "neuron": list(s.neuron_names),
                            "r2": r2,
                        }
                    )
                )
    session = pd.DataFrame(
        ses_rows,
        columns=[
            "session",
            "subject",
            "condition",
            "train_fraction",
            "method",
            "n_train",
            "n_test",
            "r2",
        ],
    )
    wide = session.pivot_table(index=["train_fraction", "session"], columns="method", values="r2")
    diff = wide["shared"] - wide["individual"]
    g = diff.groupby(level="train_fraction")
    summary = pd.DataFrame(
        {
            "shared": wide["shared"].groupby(level="train_fraction").mean(),
            "individual": wide["individual"].groupby(level="train_fraction").mean(),
            "difference": g.mean(),
            "se": g.std(ddof=1) / np.sqrt(g.count()),
            "wins": (diff > 0).groupby(level="train_fraction").mean(),
        }
    )
    return TransferResults(
        session, pd.concat(neu_rows, ignore_index=True), summary, fs.split_description
    )


def _individual_fit(
    params: Mapping[str, Any], stats: SessionStats, one: Cohort, name: str
) -> tuple[np.ndarray, np.ndarray, SessionFit] | None:
    """Reduced-rank ridge of one session alone (a one-session ShaReD); None if rank too high."""
    try:
        with warnings.catch_warnings():
            # a small training part may have silent neurons; the shared fit reports them too
            warnings.simplefilter("ignore")
            m = ShaReD(**params).fit_from_stats([stats], one)
    except DataError:
        return None
    return m.coef_, m._column_scale, m.session_fits_[name]


def with_coef(model: ShaReD, W: np.ndarray) -> ShaReD:
    """A shallow copy of a fitted model with another shared representation ``W`` (q, d').

    Readouts computed from it (:meth:`~sharedrep.ShaReD.readout_from_stats`) use ``W``;
    ``session_fits_`` of the copy are emptied (they belonged to the old ``W``).
    """
    new = copy.copy(model)
    new.coef_ = np.asarray(W)
    new.session_fits_ = {}
    return new
