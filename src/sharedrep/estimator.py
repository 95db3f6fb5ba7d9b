"""The ShaReD estimator: one shared behavioral representation, a readout per session."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._threads import single_blas_thread
from .backend import cohort_stats
from .data import Cohort, Session, as_cohort
from .errors import DataError
from .features import TemporalExpansion, valid_rows
from .metrics import Scores
from .solver import SubspaceProblem, canonical_basis, readout
from .stats import SessionStats, Standardized, compute_stats, standardize

__all__ = ["SessionFit", "ShaReD"]

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
    neuron_info: pd.DataFrame | None = None

    def coef(self, W: np.ndarray, column_scale: np.ndarray) -> np.ndarray:
        """Map from the unscaled design to neurons in raw units, shape ``(q, n)``."""
        return (column_scale[:, None] * W) @ (self.readout * self.neural_scale[None, :])

    def intercept(self, coef: np.ndarray) -> np.ndarray:
        """Intercept matching :meth:`coef`, shape ``(n,)``."""
        return self.mean_y - self.mean_phi @ coef


class ShaReD:
    """Shared Representation Discovery.

    Fits ``Y_s ≈ 1 mu_s' + Phi_s W V_s`` for every session ``s``: a behavioral representation
    ``W`` (q x d) shared by all sessions, and a readout ``V_s`` (d x n_s) per session that maps
    it onto that session's own neurons. Trials and time courses are never aligned across
    sessions. See ``SPEC.md`` of the project for the definition.

    Parameters
    ----------
    n_components : int
        Dimension ``d`` of the shared representation.
    lags : iterable of int
        Lags in samples; negative lags let neural activity lead behavior.
    n_basis : int, optional
        Project the lags of each feature onto this many raised-cosine bumps.
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
        Most optimiser iterations.
    tol : float
        Relative convergence tolerance of the optimiser.
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
        lags: Sequence[int] | range = (0,),
        n_basis: int | None = None,
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
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_params(self) -> TemporalExpansion:
        if not (isinstance(self.n_components, int | np.integer) and self.n_components >= 1):
            raise ValueError(f"n_components must be a positive integer, got {self.n_components!r}")
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number, got {self.alpha!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if isinstance(self.weights, str) and self.weights not in WEIGHTINGS:
            raise ValueError(
                f"weights must be one of {WEIGHTINGS} or explicit weights, got {self.weights!r}"
            )
        if not self.whiten_alpha > 0:
            raise ValueError(f"whiten_alpha must be positive, got {self.whiten_alpha!r}")
        return TemporalExpansion(self.lags, self.n_basis)

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
        expansion = self._check_params()
        stats = cohort_stats(
            cohort,
            expansion,
            gram=self.objective == "correlation",
            chunk_size=self.chunk_size,
            backend=self.backend,
        )
        return self.fit_from_stats(stats, cohort)

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
        expansion = self._check_params()
        cohort = as_cohort(cohort)
        if len(stats) != len(cohort):
            raise ValueError(f"{len(stats)} statistics for {len(cohort)} sessions")
        p = len(cohort.feature_names)
        std = standardize(stats, expansion, cohort.feature_names, zscore_neurons=self.zscore)
        act = std.active
        d = int(self.n_components)
        self._check_rank(std, cohort, d)
        problem = self._subspace_problem(std, cohort)
        fit = problem.fit(
            d,
            max_iter=self.max_iter,
            tol=self.tol,
            n_restarts=self.n_restarts,
            seed=self.random_state,
            init=None if init is None else init[act],
        )
        w = problem.weights
        cov_pooled = std.cov[:, act][:, :, act].sum(axis=0) / std.count.sum()
        sign_map = expansion.lag_matrix(p)[:, act]
        W_act, evals = canonical_basis(fit.W, problem.C_bar, problem.G_bar, cov_pooled, sign_map)
        W = np.zeros((expansion.n_columns(p), d))
        W[act] = W_act

        self.expansion_ = expansion
        self.feature_names_ = cohort.feature_names
        self.n_features_in_ = p
        self.behavior_scale_ = std.feature_scale
        self._column_scale = std.column_scale
        self.coef_ = W
        self.design_covariance_ = np.zeros((W.shape[0], W.shape[0]))
        self.design_covariance_[np.ix_(act, act)] = cov_pooled
        self.component_eigenvalues_ = evals
        self.objective_ = fit.objective
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.converged
        self.session_weights_ = pd.Series(
            w, index=pd.Index(cohort.names, name="session"), name="weight"
        )
        readouts = self._readouts(std)
        self.session_fits_ = {
            session.name: self._session_fit(std, i, st, session, readouts[i])
            for i, (session, st) in enumerate(zip(cohort, stats, strict=True))
        }
        self.loadings_ = self._loadings(cohort.rate)
        return self

    def _check_rank(self, std: Standardized, cohort: Cohort, d: int) -> None:
        act, p = std.active, len(cohort.feature_names)
        n_total = sum(s.n_neurons for s in cohort)
        if d > act.sum() or d > n_total:
            raise DataError(
                f"n_components={d} is more than the data support: the design has "
                f"{int(act.sum())} informative columns ({p} features x {act.size // p} "
                f"lags/basis) and the cohort {n_total} neurons"
            )

    def _ridge_cov(self, std: Standardized) -> np.ndarray:
        """``C_s + alpha I`` restricted to informative columns, (S, q', q')."""
        act = std.active
        return std.cov[:, act][:, :, act] + self.alpha * np.eye(int(act.sum()))

    def _subspace_problem(self, std: Standardized, cohort: Cohort) -> SubspaceProblem:
        """The solver's problem for standardized statistics: ``C_s + alpha I`` and ``G_s`` on
        informative columns, and the session weights."""
        act = std.active
        C = self._ridge_cov(std)
        G = np.empty_like(C)
        for i, (A, yy) in enumerate(zip(std.cross, std.y_sq, strict=True)):
            A = A[act]
            if self.objective == "variance":
                G[i] = A @ A.T
            else:
                eps = self.whiten_alpha * float(np.mean(np.diag(yy)))
                K = np.linalg.cholesky(yy + eps * np.eye(yy.shape[0]))
                B = np.linalg.solve(K, A.T)  # K^-1 A'
                G[i] = B.T @ B
        return SubspaceProblem.build(C, G, self._weights(std, cohort))

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

    def _readouts(self, std: Standardized) -> list[np.ndarray]:
        """Readout ``V_s`` (d, n_s) of every session of ``std`` from ``coef_``."""
        act = std.active
        A = np.concatenate([a[act] for a in std.cross], axis=1)
        session = np.repeat(np.arange(len(std.cross)), [a.shape[1] for a in std.cross])
        V = readout(self.coef_[act], self._ridge_cov(std), A, session)
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
        return SessionFit(
            session.name,
            V,
            mean_phi,
            mean_y,
            std.neural_scale[i],
            int(std.count[i]),
            session.neuron_names,
            session.subject,
            session.condition,
            getattr(session, "neuron_info", None),
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
    def fit_readout(self, session: Session) -> ShaReD:
        """Fit the readout of a new session with ``W`` unchanged (a new animal).

        The session's behavior is scaled by the fitted pooled standard deviations, so its
        latents are in the same units as the training sessions'. The readout is stored under the
        session's name (replacing one of the same name) and used by :meth:`predict` and
        :meth:`score`.

        Parameters
        ----------
        session : Session

        Returns
        -------
        self
        """
        self._check_fitted()
        self._check_features(session)
        stats = compute_stats(session, self.expansion_, gram=False, chunk_size=self.chunk_size)
        self.session_fits_[session.name] = self.readout_from_stats(stats, session)
        return self

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
        if not hasattr(self, "coef_"):
            raise RuntimeError("this ShaReD model is not fitted yet; call fit(cohort) first")

    def _check_features(self, session: Session) -> None:
        if session.feature_names != self.feature_names_:
            raise DataError(
                f"session {session.name!r} has behavior features "
                f"{list(session.feature_names)}, the model was fitted on "
                f"{list(self.feature_names_)}"
            )

    def _session_fit_for(self, session: Session) -> SessionFit:
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
        return fit

    def _design(self, session: Session) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        self._check_features(session)
        valid = valid_rows(
            session.n_samples,
            self.expansion_.lags,
            session.segments,
            session.usable if session.n_omitted else None,
        )
        return self.expansion_.design(np.asarray(session.behavior, dtype=float), valid), valid

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
        phi, _ = self._design(session)
        coef = fit.coef(self.coef_, self._column_scale)
        Y = fit.intercept(coef) + phi @ coef
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
        cohort = as_cohort(data)
        sse, sst, neurons = [], [], []
        for session in cohort:
            self._check_features(session)
            fit = self._session_fit_for(session)
            st = compute_stats(session, self.expansion_, chunk_size=self.chunk_size)
            coef = fit.coef(self.coef_, self._column_scale)
            e, t = st.residual_ss(coef, fit.intercept(coef))
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
