"""Alternatives to ShaReD, for benchmarks, not for users' conclusions.

Every method here maps the same lagged design (one :class:`~sharedrep.features.TemporalExpansion`)
onto each session's neurons, is fitted on the training folds of the same per-session
sufficient statistics (:func:`sharedrep.backend.cohort_stats`, folds from
:func:`sharedrep.folds.fold_labels`) and predicts the held-out fold. Behavior is scaled and
neurons are z-scored on the training data exactly as ShaReD does. Each method exposes:

``coefs_``
    dict of session name to ``(coef (q, n), intercept (n,))`` in raw units, so that every
    method is scored by the same :meth:`SessionStats.residual_ss`.
``subspace_``
    Its estimate of the shared behavioral subspace in raw design coordinates: an array
    ``(q, d)``, a dict of one per session (methods without sharing), or None.

Methods (see ``SPEC.md``, "Baselines"):

- :class:`ShaReDMethod`: ShaReD itself, through :meth:`ShaReD.fit_from_stats`.
- :class:`PerSessionRidge`: full-rank ridge regression per session (no sharing, no rank limit).
- :class:`PerSessionRRR`: reduced-rank ridge per session (generalised eigenvectors of
  ``(A A', C + alpha I)``, written here independently of the ShaReD solver).
- :class:`PooledRidge`: all sessions in one regression problem with one penalty and pooled
  behavior scaling, session-wise readouts and no rank limit; its subspace is the top ``d``
  directions of the pooled predictions.
- :class:`TrialAverageCCA`: the "forced alignment" approach: trial-averaged activity aligned
  on a task event, PCA per session, multi-set CCA to common latents, then one ridge map from
  behavior to the aligned latents and a readout per session.
- :class:`CEBRAMultiSession`: CEBRA-Behavior multi-session embedding (optional dependency
  ``cebra``), then the same linear stages as :class:`TrialAverageCCA`.

:func:`tune_alpha` chooses each method's ridge penalty by inner cross-validation over the
training folds only; :func:`cross_validate` runs the outer loop.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .data import Cohort, Session
from .estimator import ShaReD
from .features import TemporalExpansion
from .folds import fold_labels
from .solver import readout
from .stats import SessionStats, Standardized, compute_stats, standardize

__all__ = [
    "CEBRAMultiSession",
    "CVResult",
    "PerSessionRRR",
    "PerSessionRidge",
    "PooledRidge",
    "ShaReDMethod",
    "TrialAverageCCA",
    "cebra_available",
    "cross_validate",
    "tune_alpha",
]

ALPHA_GRID = tuple(10.0 ** np.arange(0, 6))


def cebra_available() -> bool:
    """Whether the optional ``cebra`` package can be imported."""
    try:
        return importlib.util.find_spec("cebra") is not None
    except ValueError:  # a module set to None in sys.modules (import blocked)
        return False


def _train(stats: Sequence[SessionStats], exclude: Sequence[int]) -> list[SessionStats]:
    """Training statistics: all blocks except ``exclude`` (summed)."""
    if len(exclude) == 0:
        return [s.total() for s in stats]
    return [s.without(list(exclude)) for s in stats]


def _raw(std: Standardized, i: int, B: np.ndarray, stats: SessionStats) -> tuple:
    """Standardized coefficients ``(q, n)`` of session ``i`` to raw ``(coef, intercept)``."""
    coef = std.column_scale[:, None] * B * std.neural_scale[i][None, :]
    mean_phi, mean_y = stats.means()
    return coef, mean_y - mean_phi @ coef


def _ridge_cov(std: Standardized, i: int, alpha: float) -> np.ndarray:
    return std.cov[i] + alpha * np.eye(std.cov.shape[1])


def _top_geneig(G: np.ndarray, C: np.ndarray, d: int) -> np.ndarray:
    """Top ``d`` generalised eigenvectors of ``(G, C)``, shape ``(q, d)``."""
    q = G.shape[0]
    _, vecs = sla.eigh((G + G.T) / 2, (C + C.T) / 2, subset_by_index=[q - d, q - 1])
    return vecs[:, ::-1]


class _Method:
    """Common interface: ``fit(cohort, stats, exclude)`` then ``coefs_`` and ``subspace_``."""

    name = "method"
    #: "session": alpha tuned per session; "pooled": one alpha for all sessions
    alpha_scope = "pooled"

    def __init__(self, n_components: int = 3, alpha: float | Sequence[float] = 1.0) -> None:
        self.n_components = n_components
        self.alpha = alpha

    def _alpha(self, i: int) -> float:
        a = np.atleast_1d(np.asarray(self.alpha, dtype=float))
        return float(a[i] if a.size > 1 else a[0])

    def fit(
        self,
        cohort: Cohort,
        stats: Sequence[SessionStats],
        expansion: TemporalExpansion,
        exclude: Sequence[int] = (),
    ) -> _Method:
        """Fit on the blocks of ``stats`` not in ``exclude``.

        Parameters
        ----------
        cohort : Cohort
            The sessions ``stats`` were computed from (raw data are read only by the methods
            that need them: trial averages, CEBRA).
        stats : sequence of SessionStats
            Per-session statistics with one block per fold.
        expansion : TemporalExpansion
            The expansion ``stats`` were computed with (the same for every method).
        exclude : sequence of int
            Fold indices left out of training.

        Returns
        -------
        self
        """
        raise NotImplementedError


class ShaReDMethod(_Method):
    """ShaReD with a given rank and ridge penalty (``ShaReD.fit_from_stats``)."""

    name = "ShaReD"

    def __init__(self, n_components: int = 3, alpha: float = 1.0, *, lags=(0,), **kwargs) -> None:
        super().__init__(n_components, alpha)
        self.lags = lags
        self.kwargs = kwargs

    def fit(self, cohort, stats, expansion, exclude=()):
        train = _train(stats, exclude)
        model = ShaReD(self.n_components, lags=self.lags, alpha=float(self.alpha), **self.kwargs)
        model.fit_from_stats(train, cohort)
        self.model_ = model
        self.coefs_ = {}
        for name, fit in model.session_fits_.items():
            coef = fit.coef(model.coef_, model._column_scale)
            self.coefs_[name] = (coef, fit.intercept(coef))
        self.subspace_ = model._column_scale[:, None] * model.coef_
        return self


class PerSessionRidge(_Method):
    """Full-rank ridge regression of each session's neurons on its own design.

    Behavior is scaled by the session's own standard deviations (a single-animal analysis);
    ``alpha`` is one value or one per session. No subspace estimate (``subspace_ = None``).
    """

    name = "per-session ridge"
    alpha_scope = "session"

    def fit(self, cohort, stats, expansion, exclude=()):
        self.coefs_ = {}
        for i, st in enumerate(_train(stats, exclude)):
            std = standardize([st], expansion, cohort.feature_names, warn=False)
            B = np.linalg.solve(_ridge_cov(std, 0, self._alpha(i)), std.cross[0])
            self.coefs_[st.name] = _raw(std, 0, B, st)
        self.subspace_ = None
        return self


class PerSessionRRR(_Method):
    """Reduced-rank ridge regression of each session on its own (no sharing).

    ``W_s`` = top ``d`` generalised eigenvectors of ``(A_s A_s', C_s + alpha I)``, readout
    ``V_s = (W_s' (C_s + alpha I) W_s)^-1 W_s' A_s``. ``subspace_`` is a dict of ``W_s``.
    """

    name = "per-session RRR"
    alpha_scope = "session"

    def fit(self, cohort, stats, expansion, exclude=()):
        self.coefs_, self.subspace_ = {}, {}
        d = int(self.n_components)
        for i, st in enumerate(_train(stats, exclude)):
            std = standardize([st], expansion, cohort.feature_names, warn=False)
            C, A = _ridge_cov(std, 0, self._alpha(i)), std.cross[0]
            k = min(d, A.shape[1])
            W = _top_geneig(A @ A.T, C, k)
            V = np.linalg.solve(W.T @ C @ W, W.T @ A)
            self.coefs_[st.name] = _raw(std, 0, W @ V, st)
            self.subspace_[st.name] = std.column_scale[:, None] * W
        return self


class PooledRidge(_Method):
    """One regression problem for all sessions: pooled scaling, one penalty, no rank limit.

    Each session keeps its own full-rank coefficients ``B_s = (C_s + alpha I)^-1 A_s``; the
    subspace estimate is the top ``d`` directions of the pooled predictions ``Phi_s B_s``: the
    ``W`` maximising ``sum_s w_s ||P_{Phi_s W} Phi_s B_s||^2``, approximated by the generalised
    eigenvectors of ``(sum_s w_s C_s B_s B_s' C_s, sum_s w_s C_s)`` (``C_s = Phi_s'Phi_s``,
    no penalty), with ShaReD's default session weights ``w_s = 1 / tr(Y_s'Y_s)``.
    """

    name = "pooled ridge"

    def fit(self, cohort, stats, expansion, exclude=()):
        train = _train(stats, exclude)
        std = standardize(train, expansion, cohort.feature_names, warn=False)
        q = std.cov.shape[1]
        H, Cb = np.zeros((q, q)), np.zeros((q, q))
        self.coefs_ = {}
        for i, st in enumerate(train):
            C = _ridge_cov(std, i, float(self.alpha))
            B = np.linalg.solve(C, std.cross[i])
            self.coefs_[st.name] = _raw(std, i, B, st)
            w = 1.0 / max(float(np.sum(std.y_sq[i])), 1e-300)
            F = std.cov[i] @ B
            H += w * F @ F.T
            Cb += w * std.cov[i]
        # the design metric without the penalty (what the predictions live in), kept
        # positive definite for constant or collinear columns
        Cb += 1e-9 * np.trace(Cb) / q * np.eye(q)
        W = _top_geneig(H, Cb, int(self.n_components))
        self.subspace_ = std.column_scale[:, None] * W
        return self


def _latent_pipeline(
    std: Standardized, latent_cross: Sequence[np.ndarray], alpha: float, d: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Behavior -> aligned latents by pooled ridge, then a ridge readout per session.

    Parameters
    ----------
    std : Standardized
        Training statistics of the neurons (pooled behavior scaling).
    latent_cross : list of ndarray, shape (q, d)
        ``Phi_s' L_s`` of each session's aligned latents on the same rows.
    alpha : float
    d : int

    Returns
    -------
    W : ndarray, shape (q, d)
        Standardized design coordinates.
    B : list of ndarray, shape (q, n_s)
    """
    q = std.cov.shape[1]
    W = np.linalg.solve(std.cov.sum(axis=0) + alpha * np.eye(q), np.sum(latent_cross, axis=0))
    # a rank-deficient latent map (e.g. a collapsed embedding) would make the readout singular
    U, s, _ = np.linalg.svd(W, full_matrices=False)
    W = U[:, s > 1e-10 * max(s.max(initial=0.0), 1e-300)][:, :d]
    B = [W @ readout(W, _ridge_cov(std, i, alpha), A) for i, A in enumerate(std.cross)]
    return W, B


class TrialAverageCCA(_Method):
    """Forced alignment: trial-averaged activity, PCA per session, multi-set CCA.

    1. Per session, average z-scored activity over the training trials in a window around the
       event where ``align_feature`` peaks in each trial (e.g. the cue).
    2. PCA of each session's average to ``n_pcs`` dimensions; multi-set CCA (MAXVAR: the
       top ``d`` left singular vectors of the concatenated orthonormalised PC time courses)
       gives each session a projection ``P_s`` (n_s x d) onto common latents.
    3. The latents ``L_s = Y_s P_s`` of every sample are regressed on the lagged behavior,
       pooled over sessions (ridge ``alpha``): ``W`` (q x d), the subspace estimate.
    4. Each session's neurons are read out from ``Phi_s W`` by ridge regression.

    Needs segments (trials) with the alignment event; raises ``ValueError`` otherwise.
    """

    name = "trial-average CCA"

    def __init__(
        self,
        n_components: int = 3,
        alpha: float = 1.0,
        *,
        align_feature: str = "cue",
        window: tuple[int, int] = (-15, 75),
        n_pcs: int = 10,
    ) -> None:
        super().__init__(n_components, alpha)
        self.align_feature = align_feature
        self.window = window
        self.n_pcs = n_pcs

    def _averages(self, session: Session, train: np.ndarray, mean, sd) -> np.ndarray:
        if session.segments is None:
            raise ValueError(
                f"session {session.name!r} has no trials: trial-average alignment needs "
                "segments with an alignment event"
            )
        j = session.feature_names.index(self.align_feature)
        x = np.asarray(session.behavior[:, j], dtype=float)
        lo, hi = self.window
        seg = session.segments
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        ends = np.r_[starts[1:], seg.size]
        acc, count = np.zeros((hi - lo, session.n_neurons)), 0
        for a, b in zip(starts, ends, strict=True):
            if not train[a]:
                continue
            t = a + int(np.argmax(x[a:b]))
            if t + lo < a or t + hi > b:  # the window must fit inside the trial
                continue
            # z-scored: only the windows are read and scaled, not the whole recording
            acc += (np.asarray(session.neural[t + lo : t + hi], dtype=float) - mean) / sd
            count += 1
        if count == 0:
            raise ValueError(
                f"session {session.name!r}: no training trial holds the window {self.window} "
                f"around the peak of {self.align_feature!r}"
            )
        return acc / count

    def fit(self, cohort, stats, expansion, exclude=()):
        train = _train(stats, exclude)
        std = standardize(train, expansion, cohort.feature_names, warn=False)
        d = int(self.n_components)
        bases, maps = [], []
        for i, (session, st) in enumerate(zip(cohort, train, strict=True)):
            folds = fold_labels(session, stats[i].n_blocks)
            keep = ~np.isin(folds, list(exclude))
            _, mean_y = st.means()
            M = self._averages(session, keep, mean_y, std.neural_scale[i])
            M = M - M.mean(axis=0)
            U, s, Vt = np.linalg.svd(M, full_matrices=False)
            m = int(min(self.n_pcs, np.sum(s > 1e-10 * s[0])))
            # orthonormal time courses U[:, :m]; neurons -> them: Vt[:m].T / s[:m]
            bases.append(U[:, :m])
            maps.append(Vt[:m].T / s[:m])
        _, _, Vc = np.linalg.svd(np.hstack(bases), full_matrices=False)
        self.projections_, start = [], 0
        for Ub, Pm in zip(bases, maps, strict=True):
            m = Ub.shape[1]
            R = Vc[:d, start : start + m].T  # (m, d): this session's share of the MCCA axes
            self.projections_.append(Pm @ R)
            start += m
        latent_cross = [A @ P for A, P in zip(std.cross, self.projections_, strict=True)]
        W, B = _latent_pipeline(std, latent_cross, float(self.alpha), d)
        self.coefs_ = {st.name: _raw(std, i, B[i], st) for i, st in enumerate(train)}
        self.subspace_ = std.column_scale[:, None] * W
        return self


class CEBRAMultiSession(_Method):
    """CEBRA-Behavior multi-session embedding, then a linear map from behavior and readouts.

    A CEBRA model (``offset10-model``, InfoNCE, ``conditional="time_delta"``) is trained on
    the training samples of every session at once, with each session's z-scored activity as
    input and its standardized behavior (lag 0) as auxiliary labels; its ``d``-dimensional
    embedding is consistent across sessions. The embedding of every sample then plays the role
    of the aligned latents of :class:`TrialAverageCCA` (ridge map from the lagged behavior, the
    subspace estimate, and a ridge readout per session).

    The embedding is trained once per set of held-out folds given as the first entry of
    ``exclude``, and its per-fold statistics computed once and cached: inner cross-validation
    of ``alpha`` reuses them (it only tunes the linear stages). Requires ``pip install cebra``
    (extra ``[benchmark]``).
    """

    name = "CEBRA multi-session"

    def __init__(
        self,
        n_components: int = 3,
        alpha: float = 1.0,
        *,
        max_iterations: int = 300,
        batch_size: int = 256,
        learning_rate: float = 3e-4,
        num_hidden_units: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__(n_components, alpha)
        self.max_iterations = max_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.num_hidden_units = num_hidden_units
        self.seed = seed
        self._cache: dict = {}

    def settings(self) -> dict:
        """The CEBRA settings used (for reports)."""
        return {
            "model_architecture": "offset10-model",
            "conditional": "time_delta",
            "output_dimension": int(self.n_components),
            "max_iterations": self.max_iterations,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "num_hidden_units": self.num_hidden_units,
            "temperature": 1.0,
        }

    def _latent_stats(self, cohort: Cohort, stats, expansion, outer: tuple) -> list:
        """Per-fold statistics of each session's embedding trained without ``outer`` (cached)."""
        key = (id(cohort), outer)
        if key not in self._cache:
            emb = self._embed(cohort, stats, expansion, outer)
            self._cache[key] = [
                compute_stats(
                    Session(s.behavior, E, s.segments, name=s.name, rate=s.rate),
                    expansion,
                    folds=fold_labels(s, st.n_blocks),
                    n_folds=st.n_blocks,
                )
                for s, E, st in zip(cohort, emb, stats, strict=True)
            ]
        return self._cache[key]

    def _embed(self, cohort: Cohort, stats, expansion, outer: tuple) -> list[np.ndarray]:
        import cebra
        import torch

        torch.manual_seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002 (CEBRA's samplers use the global state)
        train = _train(stats, outer)
        scale = standardize(train, expansion, cohort.feature_names, warn=False)
        Ys, Xs, full = [], [], []
        for i, (session, st) in enumerate(zip(cohort, train, strict=True)):
            _, mean_y = st.means()
            Y = (np.asarray(session.neural, dtype=float) - mean_y) / scale.neural_scale[i]
            X = np.asarray(session.behavior, dtype=float) / scale.feature_scale
            keep = ~np.isin(fold_labels(session, stats[i].n_blocks), list(outer))
            Ys.append(Y[keep].astype(np.float32))
            Xs.append(X[keep].astype(np.float32))
            full.append(Y.astype(np.float32))
        model = cebra.CEBRA(
            model_architecture="offset10-model",
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            temperature=1.0,
            output_dimension=int(self.n_components),
            max_iterations=self.max_iterations,
            num_hidden_units=self.num_hidden_units,
            conditional="time_delta",
            device="cpu",
            verbose=False,
        )
        model.fit(Ys, Xs)
        return [np.asarray(model.transform(Y, session_id=i)) for i, Y in enumerate(full)]

    def fit(self, cohort, stats, expansion, exclude=()):
        exclude = tuple(exclude)
        latent = _train(self._latent_stats(cohort, stats, expansion, exclude[:1]), exclude)
        train = _train(stats, exclude)
        std = standardize(train, expansion, cohort.feature_names, warn=False)
        latent_cross = [std.column_scale[:, None] * ls.centered()[1] for ls in latent]
        W, B = _latent_pipeline(std, latent_cross, float(self.alpha), int(self.n_components))
        self.coefs_ = {st.name: _raw(std, i, B[i], st) for i, st in enumerate(train)}
        self.subspace_ = std.column_scale[:, None] * W
        return self


def _held_out(method: _Method, stats: Sequence[SessionStats], k: Sequence[int]):
    """Per-session (sse, sst) of ``method`` on blocks ``k``."""
    out = []
    for st in stats:
        coef, intercept = method.coefs_[st.name]
        out.append(st.block(list(k)).residual_ss(coef, intercept))
    return out


def _has_variance(sst: np.ndarray) -> np.ndarray:
    """Neurons with held-out variance: a neuron silent in the held-out samples has a total sum
    of squares of round-off size (1e-20), and ``1 - sse/sst`` would be ~ -1e11."""
    return sst > 1e-9 * max(float(np.max(sst, initial=0.0)), 1e-300)


def _r2(sse: np.ndarray, sst: np.ndarray) -> float:
    ok = _has_variance(sst)
    return float(np.mean(1 - sse[ok] / sst[ok])) if ok.any() else np.nan


def tune_alpha(
    method: _Method,
    cohort: Cohort,
    stats: Sequence[SessionStats],
    expansion: TemporalExpansion,
    outer: int,
    grid: Sequence[float] = ALPHA_GRID,
) -> float | np.ndarray:
    """Choose ``alpha`` by inner cross-validation on the training folds of fold ``outer``.

    For each inner fold ``j != outer`` the method is fitted without folds ``{outer, j}`` and
    scored on ``j`` (mean held-out R² over neurons). Per-session methods
    (``alpha_scope == "session"``) choose one alpha per session from that session's score;
    the others choose one alpha from the mean over sessions.

    Returns
    -------
    float, or ndarray of shape (S,)
        Also set on ``method.alpha``.
    """
    K = stats[0].n_blocks
    inner = [j for j in range(K) if j != outer]
    score = np.zeros((len(grid), len(stats)))
    for g, a in enumerate(grid):
        method.alpha = a
        for j in inner:
            method.fit(cohort, stats, expansion, exclude=(outer, j))
            for s, (e, t) in enumerate(_held_out(method, stats, [j])):
                score[g, s] += _r2(e, t) / len(inner)
    if method.alpha_scope == "session":
        best = np.asarray(grid)[np.argmax(score, axis=0)]
    else:
        best = float(np.asarray(grid)[np.argmax(score.mean(axis=1))])
    method.alpha = best
    return best


@dataclass
class CVResult:
    """Outer cross-validation of one method.

    Attributes
    ----------
    sse, sst : list of ndarray, shape (n_s,)
        Held-out sums over all outer folds, per session.
    subspaces : list
        The method's ``subspace_`` of each outer fold.
    alphas : list
        Chosen alpha of each outer fold.
    """

    sse: list[np.ndarray]
    sst: list[np.ndarray]
    subspaces: list
    alphas: list

    def neuron_r2(self) -> list[np.ndarray]:
        """Held-out R² of each neuron (sums over folds), per session; NaN for neurons without
        held-out variance (silent in the evaluated folds)."""
        out = []
        for e, t in zip(self.sse, self.sst, strict=True):
            ok = _has_variance(t)
            out.append(np.where(ok, 1 - e / np.where(ok, t, 1), np.nan))
        return out

    def pooled_r2(self) -> float:
        """Mean over sessions of the mean over neurons (as :class:`sharedrep.Scores`)."""
        return float(np.mean([np.nanmean(r) for r in self.neuron_r2()]))


def cross_validate(
    method: _Method,
    cohort: Cohort,
    stats: Sequence[SessionStats],
    expansion: TemporalExpansion,
    *,
    grid: Sequence[float] | None = ALPHA_GRID,
    folds: Sequence[int] | None = None,
) -> CVResult:
    """Held-out predictions of ``method`` over the outer folds, alpha tuned inside each.

    Parameters
    ----------
    method : a method of this module
    cohort : Cohort
    stats : sequence of SessionStats
        One block per fold (``cohort_stats(cohort, expansion, n_folds=K)``).
    expansion : TemporalExpansion
    grid : sequence of float, optional
        Alphas for :func:`tune_alpha`; None keeps ``method.alpha``.
    folds : sequence of int, optional
        Outer folds to evaluate (default all); the sums cover only these.

    Returns
    -------
    CVResult
    """
    K = stats[0].n_blocks
    sse = [np.zeros(s.sum_y.shape[1]) for s in stats]
    sst = [np.zeros(s.sum_y.shape[1]) for s in stats]
    subspaces, alphas = [], []
    for k in range(K) if folds is None else folds:
        if grid is not None:
            alphas.append(tune_alpha(method, cohort, stats, expansion, k, grid))
        else:
            alphas.append(method.alpha)
        method.fit(cohort, stats, expansion, exclude=(k,))
        for s, (e, t) in enumerate(_held_out(method, stats, [k])):
            sse[s] += e
            sst[s] += t
        subspaces.append(method.subspace_)
    return CVResult(sse, sst, subspaces, alphas)
