"""The ShaReD estimator: one shared behavioral representation, a readout per session."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._guards import (
    check_window,
    describe_difference,
    is_int,
    is_real,
    known_fingerprint,
    naming_advice,
    same_recording,
)
from ._threads import single_blas_thread
from .backend import cohort_stats
from .data import Cohort, Session, as_cohort
from .errors import DataError, NotFittedError, SharedRepWarning
from .features import TemporalExpansion, resolve_edges
from .metrics import Scores
from .solver import SubspaceProblem, canonical_basis, readout
from .stats import SessionStats, Standardized, compute_stats, nuisance_rows, standardize

__all__ = ["DEFAULT_LAGS", "SessionFit", "ShaReD"]

#: default lags (samples), shared by ``ShaReD``, ``ShaReDCV`` and ``sharedrep fit``: a window of
#: -5..5 samples, symmetric because neural activity may lead behavior (motor cortex, negative
#: lags) or follow it (sensory areas, positive lags); 11 lags per variable keep q small. It is a
#: start, not a recommendation: choose the window in seconds for your sampling rate
DEFAULT_LAGS = range(-5, 6)

OBJECTIVES = ("variance", "correlation")
WEIGHTINGS = ("equal", "neurons", "samples")


@dataclass(frozen=True)
class SessionFit:
    """What the model learned about one session.

    Attributes
    ----------
    name : str
    readout : ndarray, shape (d, n)
        Readout ``V_s`` from the standardized latents to (z-scored) neurons.
    mean_phi : ndarray, shape (q,)
        Mean of the (unscaled) design over the analysed samples.
    mean_y : ndarray, shape (n,)
        Mean activity of each neuron.
    neural_scale : ndarray, shape (n,)
        Standard deviation used to z-score each neuron (1 in raw-unit mode).
    n_samples : int
        Rows that entered the fit.
    neuron_names : tuple of str
    subject, condition : str or None
    nuisance_coef : ndarray, shape (c, n)
        Coefficients of the session's nuisance regressors (covariates, then drift functions)
        in raw units, fitted with the shared model (``c = 0`` without any).
    mean_nu : ndarray, shape (c,)
        Means of the nuisance regressors over the analysed samples.
    nuisance_names : tuple of str
    fingerprint : str
        :attr:`Session.fingerprint <sharedrep.data.Session.fingerprint>` of the recording the
        readout was fitted on (``""`` in model files written before it was kept): a stored
        readout is never applied to another recording by mistake.
    neuron_info : pandas.DataFrame or None
        The session's per-neuron metadata (one row per neuron, indexed by neuron name), so
        that a saved model keeps which neuron is which (population, tags, ...).
    """

    name: str
    readout: np.ndarray
    mean_phi: np.ndarray
    mean_y: np.ndarray
    neural_scale: np.ndarray
    n_samples: int
    neuron_names: tuple[str, ...]
    subject: str | None = None
    condition: str | None = None
    nuisance_coef: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    mean_nu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nuisance_names: tuple[str, ...] = ()
    fingerprint: str = ""
    neuron_info: pd.DataFrame | None = None

    def coef(self, W: np.ndarray, column_scale: np.ndarray) -> np.ndarray:
        """Map from the unscaled design to neurons in raw units, shape ``(q, n)``."""
        return (column_scale[:, None] * W) @ (self.readout * self.neural_scale[None, :])

    def intercept(self, coef: np.ndarray) -> np.ndarray:
        """Intercept matching :meth:`coef` (and the nuisance coefficients), shape ``(n,)``."""
        out = self.mean_y - self.mean_phi @ coef
        if self.mean_nu.size:
            out = out - self.mean_nu @ self.nuisance_coef
        return out

    @property
    def n_nuisance(self) -> int:
        """Number of nuisance regressors."""
        return int(self.mean_nu.size)


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


class ShaReD:
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
        return self.fit_from_stats(self.statistics(cohort), cohort)

    def fit_from_stats(
        self,
        stats: Sequence[SessionStats],
        cohort: Cohort,
        *,
        init: np.ndarray | None = None,
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

        Returns
        -------
        self
        """
        # Everything from here on is q-space linear algebra on small matrices: BLAS threads
        # only add synchronisation there (many times slower on a busy machine), whereas the
        # large products of the statistics pass keep them.
        with single_blas_thread():
            return self._fit_from_stats(stats, cohort, init)

    def _fit_from_stats(
        self, stats: Sequence[SessionStats], cohort: Cohort, init: np.ndarray | None
    ) -> ShaReD:
        cohort = as_cohort(cohort)
        expansion = self._check_params(cohort.feature_names)
        if len(stats) != len(cohort):
            raise ValueError(f"{len(stats)} statistics for {len(cohort)} sessions")
        p = len(cohort.feature_names)
        std = standardize(
            stats, expansion, cohort.feature_names, zscore_neurons=self.zscore, ridge=self.alpha
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

    # -- new sessions ------------------------------------------------------------------------
    def fit_readout(self, session: Session, *, replace: bool = False) -> ShaReD:
        """Fit the readout of a new session with ``W`` unchanged (a new animal).

        The session's behavior is scaled by the fitted pooled standard deviations, so its
        latents are in the same units as the training sessions'. The readout is stored under the
        session's name and used by :meth:`predict` and :meth:`score`.

        Parameters
        ----------
        session : Session
            Give a new animal its own name: a readout already stored under the session's name
            and fitted on another recording (another :attr:`~sharedrep.Session.fingerprint`;
            an unnamed session is named by its position, ``session0``, ...) is not replaced
            unless ``replace=True``. Refitting the readout of the same recording is allowed.
        replace : bool
            Replace a stored readout of another recording under the same name.

        Returns
        -------
        self

        Raises
        ------
        DataError
            A readout of another recording is stored under the session's name (without
            ``replace``), or the session's behavioral features differ from the model's.
        """
        self._check_fitted()
        self._check_features(session)
        if not isinstance(replace, bool | np.bool_):
            raise ValueError(f"replace must be True or False, got {replace!r}")
        old = self.session_fits_.get(session.name)
        if old is not None and not replace and not same_recording(old, session):
            raise DataError(
                f"session {session.name!r}: the model already holds a readout under this name, "
                f"fitted on another recording ({describe_difference(old, session)}); "
                "fit_readout would replace it. "
                + naming_advice(session)
                + "; or pass replace=True to replace it"
            )
        stats = compute_stats(
            session, self.expansion_, chunk_size=self.chunk_size, drift=int(self.drift)
        )
        self.session_fits_[session.name] = self.readout_from_stats(stats, session)
        return self

    def has_readout_for(self, session: Session) -> bool:
        """Whether the model holds a readout fitted on this session's recording.

        True when a readout is stored under the session's name and its recording has the same
        :attr:`~sharedrep.Session.fingerprint` (for readouts of model files written before
        fingerprints were kept: the same neuron names). A session of the same name but another
        recording gives False: :meth:`fit_readout` it (with ``replace=True``).

        Parameters
        ----------
        session : Session

        Returns
        -------
        bool
        """
        self._check_fitted()
        fit = self.session_fits_.get(session.name)
        return fit is not None and same_recording(fit, session)

    def readout_from_stats(self, stats: SessionStats, session: Session) -> SessionFit:
        """A session's readout from its statistics (all blocks summed), ``W`` fixed.

        Parameters
        ----------
        stats : SessionStats
            Statistics of (part of) the session, computed with ``self.expansion_``.
        session : Session
            For names and metadata.

        Returns
        -------
        SessionFit
        """
        return self._session_fit(self.standardize_like_fit([stats]), 0, stats, session)

    def standardize_like_fit(
        self, stats: Sequence[SessionStats], *, warn: bool = True
    ) -> Standardized:
        """Centre and scale statistics of (new) sessions as this model scaled its training data.

        Behavior is divided by the fitted pooled standard deviations (so latents and filters are
        in the model's units); neurons are z-scored within each session when ``zscore`` is set.

        Parameters
        ----------
        stats : sequence of SessionStats
            Computed with ``self.expansion_``.
        warn : bool
            Emit warnings for silent neurons.

        Returns
        -------
        Standardized
        """
        self._check_fitted()
        return standardize(
            stats,
            self.expansion_,
            self.feature_names_,
            zscore_neurons=self.zscore,
            feature_scale=self.behavior_scale_,
            warn=warn,
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

    def _check_features(self, session: Session) -> None:
        if session.feature_names != self.feature_names_:
            raise DataError(
                f"session {session.name!r} has behavior features "
                f"{list(session.feature_names)}, the model was fitted on "
                f"{list(self.feature_names_)}"
            )

    def _session_fit_for(self, session: Session) -> SessionFit:
        """The stored readout of a session, checked to belong to its recording.

        A session named by its position (it was given no name) must be the very recording the
        readout was fitted on (same fingerprint): another animal that happens to take the same
        position in its cohort must never receive a training animal's readout. A session named
        by the user may be other data of the same neurons (e.g. a held-out part): its neuron
        names must match.
        """
        self._check_fitted()
        fit = self.session_fits_.get(session.name)
        if fit is None:
            raise KeyError(
                f"session {session.name!r} has no readout; the model knows "
                f"{list(self.session_fits_)}. Call fit_readout(session) for a new one"
            )
        if len(fit.neuron_names) != session.n_neurons:
            raise DataError(
                f"session {session.name!r} has {session.n_neurons} neurons but its "
                f"readout was fitted on {len(fit.neuron_names)}"
            )
        if tuple(fit.neuron_names) != tuple(session.neuron_names):
            differ = [
                (a, b)
                for a, b in zip(session.neuron_names, fit.neuron_names, strict=True)
                if a != b
            ]
            raise DataError(
                f"session {session.name!r}: its neurons are not those its readout was fitted on "
                f"(first differences, session vs readout: {differ[:3]})"
            )
        if session.named_by_position and not same_recording(fit, session):
            raise DataError(
                f"session {session.name!r} was given no name, so it is named by its position in "
                "the cohort, and it is not the recording the model's readout "
                f"{session.name!r} was fitted on ({describe_difference(fit, session)}): that "
                "readout belongs to another animal. " + naming_advice(session)
            )
        return fit

    def _design(self, session: Session) -> tuple[np.ndarray, np.ndarray]:
        """The session's design ``(T, q)`` (NaN where the window cannot be built) and the
        valid rows."""
        self._check_fitted()
        self._check_features(session)
        valid = self.expansion_.valid(
            session.n_samples, session.segments, session.usable if session.n_omitted else None
        )
        phi = self.expansion_.design(
            np.asarray(session.behavior, dtype=float), valid, session.segments
        )
        return phi, valid

    def _nuisance(self, session: Session, fit: SessionFit, valid: np.ndarray) -> np.ndarray:
        """The session's nuisance regressors ``(T, c)`` (NaN on invalid rows)."""
        covs = fit.nuisance_names[: fit.n_nuisance - int(self.drift)]
        if tuple(session.covariate_names) != tuple(covs):
            raise DataError(
                f"session {session.name!r} has covariates {list(session.covariate_names)} but "
                f"its readout was fitted with {list(covs)}"
            )
        out = np.full((session.n_samples, fit.n_nuisance), np.nan)
        rows = np.flatnonzero(valid)
        out[rows] = nuisance_rows(session, rows, int(self.drift))
        return out

    def _time_coord(self, session: Session) -> np.ndarray:
        return np.arange(session.n_samples) if session.time is None else session.time

    def transform(self, session: Session) -> xr.DataArray:
        """Shared latents ``Z_s = Phi_s W`` of one session.

        Parameters
        ----------
        session : Session
            Any session with the model's behavioral features (its own neurons are not used).

        Returns
        -------
        xarray.DataArray, dims (time, component), shape (n_samples, d)
            Unit pooled variance per component. NaN on samples whose lag window crosses a
            segment boundary or the recording's edge.
        """
        phi, valid = self._design(session)
        fit = self.session_fits_.get(session.name)
        if fit is not None and session.named_by_position and not same_recording(fit, session):
            fit = None  # another recording that took a training session's position
        mean = fit.mean_phi if fit is not None else np.nanmean(phi[valid], axis=0)
        Z = ((phi - mean) * self._column_scale) @ self.coef_
        return xr.DataArray(
            Z,
            dims=("time", "component"),
            coords={
                "time": self._time_coord(session),
                "component": np.arange(Z.shape[1]),
                "session": session.name,
            },
            name="latents",
            attrs={"session": session.name},
        )

    def predict(self, session: Session) -> xr.DataArray:
        """Predicted neural activity of a session with a fitted readout, in raw units.

        Returns
        -------
        xarray.DataArray, dims (time, neuron), shape (n_samples, n_neurons)
            NaN where the lag window is incomplete (see :meth:`transform`).
        """
        fit = self._session_fit_for(session)
        phi, valid = self._design(session)
        coef = fit.coef(self.coef_, self._column_scale)
        Y = fit.intercept(coef) + phi @ coef
        if fit.n_nuisance:
            Y = Y + self._nuisance(session, fit, valid) @ fit.nuisance_coef
        return xr.DataArray(
            Y,
            dims=("time", "neuron"),
            coords={
                "time": self._time_coord(session),
                "neuron": list(fit.neuron_names),
                "session": session.name,
            },
            name="prediction",
            attrs={"session": session.name},
        )

    def score(self, data: Cohort | Session | Sequence[Session]) -> Scores:
        """R² of the fitted model on sessions it has readouts for.

        Computed from the sessions' sufficient statistics (one pass), with each session's
        fitted intercept and readout; the total variance is about the data's own mean.

        Returns
        -------
        Scores
            ``.neuron``, ``.session`` and ``.pooled`` R²; ``float(scores)`` is the pooled one.
        """
        self._check_fitted()
        cohort = as_cohort(data)
        sse, sst, neurons = [], [], []
        for session in cohort:
            self._check_features(session)
            fit = self._session_fit_for(session)
            st = compute_stats(
                session, self.expansion_, chunk_size=self.chunk_size, drift=int(self.drift)
            )
            coef = fit.coef(self.coef_, self._column_scale)
            e, t = st.residual_ss(coef, fit.intercept(coef), fit.nuisance_coef)
            sse.append(e)
            sst.append(t)
            neurons.append(fit.neuron_names)
        return Scores.from_sums(cohort.names, neurons, sse, sst)

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
        from .persist import save_model  # local: the estimator never imports I/O at load time

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
