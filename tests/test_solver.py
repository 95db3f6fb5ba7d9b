"""The q-space solver: the search-subspace ascent finds what an ascent in the whole space finds,
and fits of many ranks from one problem (cross-validation) stay as cheap as the first."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from threadpoolctl import threadpool_limits

import sharedrep as sr
import sharedrep.solver._problem as solver  # where the search-subspace constants live
from sharedrep.metrics import principal_angles
from sharedrep.solver import SubspaceProblem
from sharedrep.stats import standardize


def _problem(rng: np.random.Generator, S: int, q: int, n: int, d_true: int, T: int = 400):
    """Per-session C_s = X'X + I and factors F_s = X'Y of a shared rank-d_true model."""
    W = rng.normal(size=(q, d_true))
    C, F = [], []
    for _ in range(S):
        X = rng.normal(size=(T, q))
        Y = X @ W @ rng.normal(size=(d_true, n)) + 3.0 * rng.normal(size=(T, n))
        C.append(X.T @ X + np.eye(q))
        F.append(X.T @ Y / np.sqrt(T))
    return np.stack(C), F


def _plain_value(W: np.ndarray, C: np.ndarray, F: list[np.ndarray], w: np.ndarray) -> float:
    """F(W) = sum_s w_s tr((W'C_sW)^-1 W'G_sW), written out."""
    total = 0.0
    for ws, Cs, Fs in zip(w, C, F, strict=True):
        M = W.T @ Cs @ W
        N = W.T @ Fs @ Fs.T @ W
        total += ws * np.trace(np.linalg.solve(M, N))
    return float(total)


@pytest.mark.parametrize(
    ("q", "n", "dense", "d"),
    # the last: wider than _EXACT_START, with dense G_s (more neurons than twice q)
    [(260, 30, False, 2), (260, 30, False, 4), (620, 300, True, 2)],
)
def test_search_subspace_finds_the_whole_space_optimum(monkeypatch, q, n, dense, d):
    rng = np.random.default_rng(7)
    S = 5  # q wider than _WHOLE_SPACE: the search-subspace path
    C, F = _problem(rng, S, q, n=n, d_true=3)
    w = np.full(S, 1.0 / S)
    assert q > solver._WHOLE_SPACE
    problem = SubspaceProblem.build(C, w, factors=F)
    assert (problem.factors is None) == dense
    sub = problem.fit(d, tol=1e-12)
    monkeypatch.setattr(solver, "_WHOLE_SPACE", 10_000)
    whole = SubspaceProblem.build(C, w, factors=F).fit(d, tol=1e-12)
    assert sub.converged and whole.converged
    assert sub.objective == pytest.approx(whole.objective, rel=1e-8)
    assert _plain_value(sub.W, C, F, w) == pytest.approx(sub.objective, rel=1e-10)
    # beyond the true rank (d = 4 > 3) the objective is nearly flat: equal values, and
    # subspaces equal to a fraction of a degree
    assert principal_angles(sub.W, whole.W).max() < (0.05 if d <= 3 else 0.5)  # degrees


def test_optimum_is_stationary_by_finite_differences():
    rng = np.random.default_rng(2)
    S, q, d = 3, 240, 2
    C, F = _problem(rng, S, q, n=20, d_true=2)
    w = np.array([0.5, 0.3, 0.2])
    fit = SubspaceProblem.build(C, w, factors=F).fit(d, tol=1e-12)
    f0 = _plain_value(fit.W, C, F, w)
    # no direction outside span(W) increases F to first order
    for _ in range(5):
        step = rng.normal(size=(q, d))
        step -= fit.W @ np.linalg.lstsq(fit.W, step, rcond=None)[0]
        step *= 1e-4 / np.linalg.norm(step)
        slope = (_plain_value(fit.W + step, C, F, w) - _plain_value(fit.W - step, C, F, w)) / 2
        assert abs(slope) < 1e-6 * abs(f0)


@pytest.mark.parametrize("q", [60, 240])
def test_fits_of_many_ranks_from_one_problem_keep_the_subspace_within_q(q):
    rng = np.random.default_rng(5)
    C, F = _problem(rng, 4, q, n=25, d_true=3)
    problem = SubspaceProblem.build(C, np.full(4, 0.25), factors=F)
    previous = None
    for d in range(1, 8):
        fit = problem.fit(d, tol=1e-8, init=previous)
        assert problem._r <= q  # the subspace never holds more columns than the space
        fresh = SubspaceProblem.build(C, np.full(4, 0.25), factors=F).fit(d, tol=1e-8)
        # the nested start reaches the optimum a fresh problem reaches (or a better one)
        assert fit.objective >= fresh.objective * (1 - 1e-5)
        previous = fit.W


def test_single_session_is_the_generalised_eigenproblem():
    rng = np.random.default_rng(1)
    C, F = _problem(rng, 1, 250, n=15, d_true=3)
    fit = SubspaceProblem.build(C, np.ones(1), factors=F).fit(3)
    G = F[0] @ F[0].T
    vals, vecs = sla.eigh(G, C[0])
    assert fit.objective == pytest.approx(vals[-3:].sum(), rel=1e-9)
    assert principal_angles(fit.W, vecs[:, -3:]).max() < 1e-4


def test_the_preconditioned_ascent_reaches_the_plain_ascents_optimum():
    """Sessions that differ (T/q = 5): the Davidson correction is not exact, only a better
    direction; the optimum, judged on the full problem, is the same."""
    rng = np.random.default_rng(11)
    C, F = _problem(rng, 5, 300, n=30, d_true=3, T=1500)
    w = np.full(5, 0.2)
    fits, sizes = {}, {}
    for precondition in (False, True):
        problem = SubspaceProblem.build(C, w, factors=F)
        U0 = problem.start(3)
        U, value, _, converged, _ = problem._ascend_in_subspace(U0, 5000, 1e-12, precondition)
        assert converged
        fits[precondition], sizes[precondition] = problem.unwhiten(U), problem._r
        assert value == pytest.approx(_plain_value(fits[precondition], C, F, w), rel=1e-10)
    assert principal_angles(fits[True], fits[False]).max() < 1e-3
    v = {k: _plain_value(W, C, F, w) for k, W in fits.items()}
    assert v[True] == pytest.approx(v[False], rel=1e-9)
    assert sizes[True] < problem.q  # it searched a subspace, not the whole space


@pytest.mark.usefixtures("raw_data")  # skips when ../shared/data/raw is absent
def test_a_long_window_on_the_reaching_recordings_converges(monkeypatch):
    """60 lags of smooth hand kinematics (q = 240: the search-subspace route) on the two monkey
    recordings: the fit converges within the default max_iter, to the optimum of the ascent in
    the whole space. With every restricted problem solved to tol it stopped at 2,000
    iterations, 0.2% below that optimum (it needed 6,693)."""
    cohort = sr.datasets.fetch_reaching()
    model = sr.ShaReD(6, lags=range(-30, 30), alpha=100.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(cohort)
    assert not [w for w in caught if "without converging" in str(w.message)]
    assert model.converged_ and model.n_iter_ < model.max_iter
    std = standardize(
        model.statistics(cohort), model.expansion_, cohort.feature_names, ridge=model.alpha
    )
    monkeypatch.setattr(solver, "_WHOLE_SPACE", 10_000)
    with threadpool_limits(1):
        whole = model._subspace_problem(std, cohort).fit(6)
    assert model.objective_ == pytest.approx(whole.objective, rel=1e-9)
    assert principal_angles(model.coef_, whole.W).max() < 0.05  # degrees
