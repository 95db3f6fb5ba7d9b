"""``ShaReD``: the estimator's parameters and its fit (statistics pass, standardisation, q-space
solve, canonical basis, readouts and loadings)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._guards import check_window, is_int, is_real, known_fingerprint
from .._threads import single_blas_thread
from ..backend import cohort_stats
from ..data import Cohort, Session, as_cohort
from ..errors import DataError, NotFittedError, SharedRepWarning
from ..features import TemporalExpansion, resolve_edges
from ..solver import SubspaceProblem, canonical_basis, readout
from ..stats import SessionStats, Standardized, standardize
from ._new_sessions import NewSessions
from ._session_fit import SessionFit

__all__ = ["DEFAULT_LAGS", "ShaReD", "not_converged_message"]

#: default lags (samples), shared by ``ShaReD``, ``ShaReDCV`` and ``sharedrep fit``: a window of
#: -5..5 samples, symmetric because neural activity may lead behavior (motor cortex, negative
#: lags) or follow it (sensory areas, positive lags); 11 lags per variable keep q small. It is a
#: start, not a recommendation: choose the window in seconds for your sampling rate
DEFAULT_LAGS = range(-5, 6)

OBJECTIVES = ("variance", "correlation")
WEIGHTINGS = ("equal", "neurons", "samples")


def not_converged_message(
    subject: str, n_iter: int, grad_norm: float, max_iter: int, tol: float
) -> str:
    """What to say when the optimiser stops at ``max_iter`` short of its tolerance."""
    return (
        f"{subject} stopped after {n_iter} iterations without converging (relative gradient "
        f"{grad_norm:.1e}, tolerance {np.sqrt(tol):.1e}): the loadings may be off the optimum; "
        f"raise max_iter (now {max_iter}), or simplify the design (a larger alpha, fewer lags "
        "or a basis: long windows of smooth behavior converge slowly)"
    )


class ShaReD(NewSessions):
    """Shared Representation Discovery.

    Fits ``Y_s ≈ 1 mu_s' + Phi_s W V_s`` for every session ``s``: a behavioral representation
    ``W`` (q x d) shared by all sessions, and a readout ``V_s`` (d x n_s) per session that maps
    it onto that session's own neurons. Trials and time courses are never aligned across
    sessions. See ``SPEC.md`` of the project for the definition.

    Parameters
    ----------
    n_components : int
        Dimension ``d`` of the shared representation (0: no shared component, a null model of
        per-session intercepts and nuisance regressors, e.g. chosen by cross-validation).
    lags : iterable of int
        Lags in samples; negative lags let neural activity lead behavior. Default ``-5..5``
        (``DEFAULT_LAGS``, the same as ``sharedrep fit``): a symmetric window, since neurons may
        lead behavior (motor areas) or follow it (sensory areas); choose it in seconds for your
        sampling rate (``range(-5, 6)`` is +-250 ms at 20 Hz, +-167 ms at 30 Hz).
    n_basis : int, optional
        Project the lags of each feature onto this many raised-cosine bumps.
    edges : {"drop", "zero"} or mapping of feature name (or pattern) to {"drop", "zero"}
        What a lag window that reaches beyond its segment (trial) does. ``"drop"`` (default):
        the sample is left out of the analysis. ``"zero"``: the behavior outside the segment
        counts as zero (no event, baseline), so the sample keeps its full window: right for
        event regressors (stimulus onsets, cues, rewards coded as impulses), whose value outside
        a trial is indeed "no event". Per feature, e.g. ``{"grating_*_onset": "zero"}``
        (unlisted features drop). A sample is analysed when the windows of all "drop" features
        lie inside its segment, so continuous variables that cannot be zero-padded are best
        given as private ``covariates`` of the sessions (lag 0).
    drift : int
        Number of smooth functions of recording time (lowest DCT cosines, see
        :func:`~sharedrep.features.drift_basis`) fitted per session as private nuisance
        regressors next to the session's ``covariates``: slow drifts of each neuron's baseline
        over the recording. 0 (default): none.
    alpha : float
        Ridge penalty ``lambda`` added to ``Phi_s'Phi_s`` (in units of summed squared
        standardized behavior, as in scikit-learn's ``Ridge``).
    objective : {"variance", "correlation"}
        ``"variance"``: reduced-rank ridge regression (explained variance of neurons).
        ``"correlation"``: neural side whitened (a multi-session CCA with shared behavioral
        weights). Readouts are ridge regressions in both cases.
    weights : {"equal", "neurons", "samples"} or array-like or mapping
        Session weights ``w_s``. ``"equal"``: ``1 / tr(Y_s'Y_s)``, each session counts equally
        as a fraction of its own variance. ``"neurons"``: proportional to neuron count.
        ``"samples"``: proportional to sample count. Or explicit weights (per session, or a
        mapping from session name). Normalised to sum to one.
    zscore : bool
        z-score each neuron within its session (default), or keep raw units.
    whiten_alpha : float
        ``"correlation"`` only: ridge on the neural covariance, relative to its mean diagonal.
    chunk_size : int, optional
        Rows per chunk in the statistics pass (bounds memory; default ~64 MB of design).
    backend : None, "serial", "dask" or distributed.Client
        Where the statistics pass runs: None uses the cluster set by
        :func:`sharedrep.use_cluster` if any, else this process; ``"dask"`` runs each chunk of
        each session as a task on a ``dask.distributed`` cluster (a ``LocalCluster`` if none
        is set). Results equal the serial ones up to floating-point summation order.
    max_iter : int
        Most optimiser iterations (L-BFGS, over all expansions of its search subspace). A fit
        that stops here short of ``tol`` warns (:class:`~sharedrep.errors.SharedRepWarning`)
        and sets ``converged_ = False``.
    tol : float
        Relative convergence tolerance of the optimiser: on the objective, and through its
        square root on the relative gradient.
    n_restarts : int
        Extra optimiser runs from random starts; the best objective is kept. The objective is
        not concave: with clear shared structure the default start (the pooled eigen-solution)
        reaches the best optimum, but when sessions share little, other local optima exist.
    random_state : int
        Seed of those random starts (fits stay deterministic).

    Attributes
    ----------
    coef_ : ndarray, shape (q, d)
        ``W`` in the standardized design space (basis coefficients when ``n_basis`` is set).
    loadings_ : xarray.DataArray, dims (feature, lag, component)
        ``W`` as temporal filters of each behavioral variable (standardized units).
    readouts_ : dict of str to xarray.DataArray, dims (component, neuron)
        ``V_s`` of each session (z-scored neural units).
    session_fits_ : dict of str to SessionFit
        Everything needed to predict each session.
    behavior_scale_ : ndarray, shape (p,)
        Pooled standard deviation of each behavioral feature.
    session_weights_ : pandas.Series
        Normalised session weights.
    design_covariance_ : ndarray, shape (q, q)
        Pooled per-sample covariance of the standardized design.
    component_eigenvalues_ : ndarray, shape (d,)
        Shared explained-variance criterion of each component (ordering key).
    objective_ : float
        Value of the objective at the solution.
    n_iter_ : int
    converged_ : bool
    feature_names_ : tuple of str
    expansion_ : TemporalExpansion

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=4, seed=1)
    >>> model = sr.ShaReD(n_components=truth.n_components, lags=truth.lags).fit(cohort)
    >>> model.loadings_.dims
    ('feature', 'lag', 'component')
    >>> float(model.score(cohort)) > 0.15  # the noise ceiling is snr / (1 + snr) = 0.2
    True
    """

    def __init__(
        self,
        n_components: int = 3,
        *,
        lags: Sequence[int] | range = DEFAULT_LAGS,
        n_basis: int | None = None,
        edges: str | Mapping[str, str] = "drop",
        drift: int = 0,
        alpha: float = 1.0,
        objective: str = "variance",
        weights: str | Sequence[float] | Mapping[str, float] = "equal",
        zscore: bool = True,
        whiten_alpha: float = 0.1,
        chunk_size: int | None = None,
        backend: Any = None,
        max_iter: int = 2000,
        tol: float = 1e-10,
        n_restarts: int = 0,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.lags = lags
        self.n_basis = n_basis
        self.edges = edges
        self.drift = drift
        self.alpha = alpha
        self.objective = objective
        self.weights = weights
        self.zscore = zscore
        self.whiten_alpha = whiten_alpha
        self.chunk_size = chunk_size
        self.backend = backend
        self.max_iter = max_iter
        self.tol = tol
        self.n_restarts = n_restarts
        self.random_state = random_state

    # -- scikit-learn style parameter handling ----------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> ShaReD:
        """Set parameters (scikit-learn convention); returns self."""
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"invalid parameter {k!r} for ShaReD; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        """``n_components`` and every other parameter that differs from its default, then, once
        fitted, the rank learned and the sessions it has readouts for."""
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if k == "n_components" or not _same(v, defaults.get(k))
        ]
        text = f"{type(self).__name__}({', '.join(shown)})"
        if hasattr(self, "coef_"):
            d, n = int(self.coef_.shape[1]), len(getattr(self, "session_fits_", {}))
            text += f" [fitted: {d} shared component{'s' * (d != 1)}, {n} session{'s' * (n != 1)}]"
        return text

    def _check_params(self, feature_names: Sequence[str]) -> TemporalExpansion:
        """Validate the parameters; the temporal expansion for these behavioral features."""
        if not is_int(self.n_components, 0):
            raise ValueError(
                f"n_components must be a non-negative integer (0: no shared component, the "
                f"model of intercepts and nuisance regressors), got {self.n_components!r}"
            )
        if not is_real(self.alpha, 0.0):
            raise ValueError(f"alpha must be a non-negative number, got {self.alpha!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if isinstance(self.weights, str) and self.weights not in WEIGHTINGS:
            raise ValueError(
                f"weights must be one of {WEIGHTINGS} or explicit weights, got {self.weights!r}"
            )
        if not (is_real(self.whiten_alpha, 0.0) and self.whiten_alpha > 0):
            raise ValueError(f"whiten_alpha must be a positive number, got {self.whiten_alpha!r}")
        if not is_int(self.drift, 0):
            raise ValueError(f"drift must be a non-negative integer, got {self.drift!r}")
        if not isinstance(self.zscore, bool | np.bool_):
            raise ValueError(f"zscore must be True or False, got {self.zscore!r}")
        if not is_int(self.max_iter, 1):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not is_real(self.tol, 0.0):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        if not is_int(self.n_restarts, 0):
            raise ValueError(f"n_restarts must be a non-negative integer, got {self.n_restarts!r}")
        if not (self.random_state is None or is_int(self.random_state, 0)):
            raise ValueError(
                f"random_state must be a non-negative integer or None, got {self.random_state!r}"
            )
        zero = resolve_edges(self.edges, feature_names)
        return TemporalExpansion(self.lags, self.n_basis, zero)

    def statistics(
        self,
        cohort: Cohort | Session | Sequence[Session],
        *,
        folds: Sequence[np.ndarray] | None = None,
        n_folds: int | None = None,
    ) -> list[SessionStats]:
        """The sufficient statistics this model needs, in one pass over each session.

        Parameters
        ----------
        cohort : Cohort, Session or list of Session
        folds : sequence of ndarray of int, optional
            Per session, the fold of each sample (see :func:`sharedrep.folds.fold_labels`);
            the statistics are then kept per fold.
        n_folds : int, optional

        Returns
        -------
        list of SessionStats
            One per session, computed with this model's lags, basis, edges, drift, chunk size
            and backend (and neural Gram matrices for the correlation objective).
        """
        cohort = as_cohort(cohort)
        expansion = self._check_params(cohort.feature_names)
        check_window(expansion, cohort)
        return cohort_stats(
            cohort,
            expansion,
            folds=folds,
            n_folds=n_folds,
            gram=self.objective == "correlation",
            chunk_size=self.chunk_size,
            drift=int(self.drift),
            backend=self.backend,
        )

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, cohort: Cohort | Session | Sequence[Session], y: None = None) -> ShaReD:
        """Fit the shared representation and every session's readout.

        Parameters
        ----------
        cohort : Cohort, Session or list of Session
        y : None
            Ignored (neural data are part of each session).

        Returns
        -------
        self
        """
        cohort = as_cohort(cohort)
        # these statistics are the fit's own: standardized in place, not copied
        return self.fit_from_stats(self.statistics(cohort), cohort, overwrite=True)

    def fit_from_stats(
        self,
        stats: Sequence[SessionStats],
        cohort: Cohort,
        *,
        init: np.ndarray | None = None,
        overwrite: bool = False,
    ) -> ShaReD:
        """Fit from precomputed sufficient statistics (e.g. training folds, or a cluster).

        Parameters
        ----------
        stats : sequence of SessionStats
            One per session of ``cohort``, in the same order; blocks are summed.
        cohort : Cohort
            Session metadata (names, neuron names, subjects); its data are not read.
        init : ndarray, shape (q, n_components), optional
            Starting point of the optimiser in ``coef_`` units (e.g. the ``coef_`` of a fit on
            overlapping data); used only if it starts higher than the default start.
        overwrite : bool
            The statistics are not used again: where their ``phi_phi`` are one array (as
            :meth:`statistics` and :meth:`~sharedrep.selection.FoldStats.train` give them), the
            fit standardizes them in place instead of copying ``S q^2`` floats, and they are
            spent (see :func:`~sharedrep.stats.standardize`). Default: never written.

        Returns
        -------
        self
        """
        # Everything from here on is q-space linear algebra on small matrices: BLAS threads
        # only add synchronisation there (many times slower on a busy machine), whereas the
        # large products of the statistics pass keep them.
        with single_blas_thread():
            return self._fit_from_stats(stats, cohort, init, overwrite)

    def _fit_from_stats(
        self,
        stats: Sequence[SessionStats],
        cohort: Cohort,
        init: np.ndarray | None,
        overwrite: bool,
    ) -> ShaReD:
        cohort = as_cohort(cohort)
        expansion = self._check_params(cohort.feature_names)
        if len(stats) != len(cohort):
            raise ValueError(f"{len(stats)} statistics for {len(cohort)} sessions")
        p = len(cohort.feature_names)
        std = standardize(
            stats,
            expansion,
            cohort.feature_names,
            zscore_neurons=self.zscore,
            ridge=self.alpha,
            overwrite=overwrite,
        )
        act = std.active
        d = int(self.n_components)
        self._check_rank(std, cohort, d)
        # the pooled design covariance and the solver's weighted sum of the C_s: one pass
        C, w = self._ridge_cov(std), self._weights(std, cohort)
        sums = np.tensordot(np.vstack([np.ones_like(w), w]), C, axes=1)
        cov_pooled = sums[0]
        cov_pooled[np.diag_indices_from(cov_pooled)] -= len(stats) * self.alpha  # ridge back out
        cov_pooled /= std.count.sum()
        W = np.zeros((expansion.n_columns(p), d))
        forms = None
        if d > 0:
            problem = SubspaceProblem.build(C, w, factors=self._factors(std), C_bar=sums[1])
            fit = problem.fit(
                d,
                max_iter=self.max_iter,
                tol=self.tol,
                n_restarts=self.n_restarts,
                seed=self.random_state,
                init=None if init is None else init[act],
            )
            w = problem.weights
            sign_map = expansion.lag_matrix(p)[:, act]
            W[act], evals = canonical_basis(fit.W, problem, cov_pooled, sign_map)
            forms = problem.forms(W[act])  # from the search subspace: no C_s read
            objective, n_iter, converged = fit.objective, fit.n_iter, fit.converged
            if not converged:
                warnings.warn(
                    not_converged_message(
                        "the optimiser", n_iter, fit.grad_norm, self.max_iter, self.tol
                    ),
                    SharedRepWarning,
                    stacklevel=3,
                )
        else:  # the null model: intercepts and nuisance regressors only
            w = self._weights(std, cohort)
            evals, objective, n_iter, converged = np.zeros(0), 0.0, 0, True

        self.expansion_ = expansion
        self.feature_names_ = cohort.feature_names
        self.n_features_in_ = p
        self.behavior_scale_ = std.feature_scale
        self._column_scale = std.column_scale
        self.coef_ = W
        if act.all():
            self.design_covariance_ = cov_pooled.copy()  # not a view keeping the sums alive
        else:
            self.design_covariance_ = np.zeros((W.shape[0], W.shape[0]))
            self.design_covariance_[np.ix_(act, act)] = cov_pooled
        self.component_eigenvalues_ = evals
        self.objective_ = objective
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.session_weights_ = pd.Series(
            w, index=pd.Index(cohort.names, name="session"), name="weight"
        )
        readouts = self._readouts(std, forms)
        self.session_fits_ = {
            session.name: self._session_fit(std, i, st, session, readouts[i])
            for i, (session, st) in enumerate(zip(cohort, stats, strict=True))
        }
        self.nuisance_explained_ = pd.Series(
            [float(np.mean(r)) if r.size else 0.0 for r in std.nuisance_r2],
            index=pd.Index(cohort.names, name="session"),
            name="nuisance_r2",
        )
        self.loadings_ = self._loadings(cohort.rate)
        return self

    def _check_rank(self, std: Standardized, cohort: Cohort, d: int) -> None:
        act, p = std.active, len(cohort.feature_names)
        n_total = sum(s.n_neurons for s in cohort)
        if d > act.sum() or d > n_total:
            dead = ~act.reshape(p, -1).any(axis=1)
            constant = [cohort.feature_names[j] for j in np.flatnonzero(dead)]
            advice = ""
            expansion = self._check_params(cohort.feature_names)
            trials = any(s.segments is not None for s in cohort)
            if int(act.sum()) < d and trials and expansion.span > 1 and not expansion.pads_all:
                advice = (
                    "; with trials as segments and edges='drop', samples whose lag window "
                    "crosses a trial start are left out, so an event coded at a trial's first "
                    "samples is never seen: use edges='zero' for event regressors (behavior "
                    "outside a trial counts as no event), or shorter lags"
                )
            elif int(act.sum()) < d:
                advice = f"; features constant over the analysed samples: {constant}"
            raise DataError(
                f"n_components={d} is more than the data support: the design has "
                f"{int(act.sum())} informative columns ({p} features x {act.size // p} "
                f"lags/basis) and the cohort {n_total} neurons{advice}"
            )

    def _ridge_cov(self, std: Standardized) -> np.ndarray:
        """``C_s + alpha I`` restricted to informative columns, (S, q', q'): ``std.cov`` itself
        when it was standardized with this ridge and every column is informative."""
        act = std.active
        if act.all():
            if std.ridge == self.alpha:
                return std.cov
            C = std.cov.copy()
        else:
            C = std.cov[np.ix_(np.arange(len(std.cov)), act, act)]
        idx = np.arange(C.shape[1])
        C[:, idx, idx] += self.alpha - std.ridge
        return C

    def _subspace_problem(self, std: Standardized, cohort: Cohort) -> SubspaceProblem:
        """The solver's problem for standardized statistics: ``C_s + alpha I`` on informative
        columns, the factors ``F_s`` of ``G_s = F_s F_s'`` and the session weights."""
        C, w = self._ridge_cov(std), self._weights(std, cohort)
        return SubspaceProblem.build(C, w, factors=self._factors(std))

    def _factors(self, std: Standardized) -> list[np.ndarray]:
        """``F_s`` (q', n_s) with ``G_s = F_s F_s'``, on informative columns."""
        act = std.active
        factors = []
        for A, yy in zip(std.cross, std.y_sq, strict=True):
            A = A[act]
            if self.objective == "variance":
                factors.append(A)
            else:  # G_s = A (Y'Y + eps I)^-1 A' = F F' with F = A K'^-1
                eps = self.whiten_alpha * float(np.mean(np.diag(yy)))
                K = np.linalg.cholesky(yy + eps * np.eye(yy.shape[0]))
                factors.append(np.linalg.solve(K, A.T).T)
        return factors

    def _weights(self, std: Standardized, cohort: Cohort) -> np.ndarray:
        S = len(std.names)
        if isinstance(self.weights, str):
            if self.objective == "variance":
                base = np.array([np.trace(y) if y.ndim == 2 else y.sum() for y in std.y_sq])
            else:
                base = np.ones(S)
            base = np.where(base > 0, base, 1.0)
            size = {
                "equal": np.ones(S),
                "neurons": np.array([s.n_neurons for s in cohort], dtype=float),
                "samples": std.count.astype(float),
            }[self.weights]
            w = size / base
        elif isinstance(self.weights, Mapping):
            missing = [n for n in std.names if n not in self.weights]
            if missing:
                raise ValueError(f"weights mapping lacks sessions {missing}")
            w = np.array([float(self.weights[n]) for n in std.names])
        else:
            w = np.asarray(self.weights, dtype=float)
            if w.shape != (S,):
                raise ValueError(f"weights must have one value per session ({S}), got {w.shape}")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ValueError(f"session weights must be non-negative and not all zero, got {w}")
        return w / w.sum()

    def _readouts(self, std: Standardized, forms: np.ndarray | None = None) -> list[np.ndarray]:
        """Readout ``V_s`` (d, n_s) of every session of ``std`` from ``coef_`` (``forms``:
        ``W'C_sW`` when already known, see :func:`~sharedrep.solver.readout`)."""
        if self.coef_.shape[1] == 0:
            return [np.zeros((0, a.shape[1])) for a in std.cross]
        act = std.active
        A = np.concatenate([a[act] for a in std.cross], axis=1)
        session = np.repeat(np.arange(len(std.cross)), [a.shape[1] for a in std.cross])
        V = readout(self.coef_[act], self._ridge_cov(std), A, session, forms=forms)
        return np.split(V, np.cumsum([a.shape[1] for a in std.cross])[:-1], axis=1)

    def _session_fit(
        self,
        std: Standardized,
        i: int,
        stats: SessionStats,
        session: Session,
        V: np.ndarray | None = None,
    ) -> SessionFit:
        """Session ``i`` of ``std`` as a :class:`SessionFit`; its readout ``V`` is computed
        unless given."""
        V = self._readouts(std)[i] if V is None else V
        mean_phi, mean_y = stats.means()
        fit = SessionFit(
            session.name,
            V,
            mean_phi,
            mean_y,
            std.neural_scale[i],
            int(std.count[i]),
            session.neuron_names,
            session.subject,
            session.condition,
            fingerprint=known_fingerprint(session),
            neuron_info=getattr(session, "neuron_info", None),
        )
        if not stats.n_nuisance:
            return fit
        # the session's nuisance fit that goes with this readout (least squares on what the
        # shared part leaves), in raw units
        gamma = std.partials[i].nuisance_coef(fit.coef(self.coef_, std.column_scale))
        return replace(
            fit,
            nuisance_coef=gamma,
            mean_nu=stats.mean_nuisance(),
            nuisance_names=stats.nuisance_names,
        )

    def _loadings(self, rate: float | None) -> xr.DataArray:
        p, d = self.n_features_in_, self.coef_.shape[1]
        lags = self.expansion_.lags
        filt = (self.expansion_.lag_matrix(p) @ self.coef_).reshape(p, lags.size, d)
        coords: dict[str, Any] = {
            "feature": list(self.feature_names_),
            "lag": lags,
            "component": np.arange(d),
        }
        if rate is not None:
            coords["lag_s"] = ("lag", lags / rate)
        return xr.DataArray(
            filt,
            dims=("feature", "lag", "component"),
            coords=coords,
            name="loadings",
            attrs={
                "units": "per pooled std of the feature",
                "lag_convention": "x(t - lag) explains y(t); negative lags: "
                "neural activity leads behavior",
            },
        )

    # -- using the model -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if "coef_" not in self.__dict__:
            raise NotFittedError(
                f"this {type(self).__name__} model is not fitted yet; call fit(cohort) first"
            )

    def __getattr__(self, name: str) -> Any:
        # only called for attributes that do not exist: a learned attribute (``loadings_``,
        # ``coef_``, ...) asked for before fit is a NotFittedError (an AttributeError too)
        if name.endswith("_") and not name.startswith("_") and "coef_" not in self.__dict__:
            raise NotFittedError(
                f"{name}: this {type(self).__name__} model is not fitted yet; call fit(cohort) "
                "first"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def save(self, path: Any) -> Any:
        """Save the model (parameters and learned state) to a pickle-free, versioned file.

        Thin wrapper around :func:`sharedrep.persist.save_model`; load with
        :func:`sharedrep.load`. The format is described in :mod:`sharedrep.persist`.

        Parameters
        ----------
        path : str or path-like
            Destination file (``.npz`` suggested; used as given).

        Returns
        -------
        pathlib.Path
        """
        from ..persist import save_model  # local: the estimator never imports I/O at load time

        return save_model(self, path)

    @property
    def readouts_(self) -> dict[str, xr.DataArray]:
        """Readout ``V_s`` of each session, dims (component, neuron)."""
        self._check_fitted()
        return {
            name: xr.DataArray(
                f.readout,
                dims=("component", "neuron"),
                coords={
                    "component": np.arange(f.readout.shape[0]),
                    "neuron": list(f.neuron_names),
                    "session": name,
                },
                name="readout",
                attrs={"session": name},
            )
            for name, f in self.session_fits_.items()
        }


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b
