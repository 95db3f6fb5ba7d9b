"""Cross-validation of the rank and the ridge: :func:`cross_validate`, :class:`ShaReDCV`, the
one-standard-error rule, diagnostics and the provenance kept in model files."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..backend import get_backend
from ..data import Cohort, Session, as_cohort
from ..errors import DataError, NotFittedError, SharedRepWarning
from ..estimator import ShaReD, not_converged_message
from ..metrics import Scores, _r2
from ._fold_fits import CV_TOL, DEFAULT_ALPHAS, RULES, FoldStats, _cv_fold, _session_means


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
    tasks = zip(alphas, ks, results, strict=True)
    stopped = [(a, k, *fit) for a, k, r in tasks for fit in r[3]]
    if stopped:
        a, k, d, n_iter, grad = max(stopped, key=lambda fit: fit[-1])
        n_fits = len(results) * sum(r > 0 for r in grid_d)
        subject = f"{len(stopped)} of {n_fits} fold fits (worst: rank {d}, alpha {a}, fold {k})"
        warnings.warn(
            not_converged_message(subject, n_iter, grad, p["max_iter"], p["tol"]),
            SharedRepWarning,
            stacklevel=3,
        )
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
    sessions without segments, with the same fold index in every session: fold ``k`` is held out of
    every session at once, ``W`` and all readouts are fitted on the rest, and each session's
    held-out fold is scored with its own readout. The statistics are computed in ONE pass over
    the data; training statistics are obtained by subtracting the held-out fold, so the cost
    of the grid is that of small q-space problems: one task per ``(alpha, fold)`` prepares its
    training problem once and fits every rank from it, each from the solution of the rank
    fitted before (see :meth:`~sharedrep.solver.SubspaceProblem.fit_order`). The tasks are
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
