"""Baselines against independent computations on raw arrays, and their shared-fold machinery."""

from __future__ import annotations

import numpy as np
import pytest

import sharedrep as sr
from sharedrep import baselines as bl
from sharedrep.backend import cohort_stats
from sharedrep.features import TemporalExpansion, valid_rows
from sharedrep.folds import fold_labels

LAGS = range(-2, 3)


@pytest.fixture(scope="module")
def data():
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=(500, 700), n_neurons=(6, 12), lags=LAGS, snr=0.5, seed=5
    )
    exp = TemporalExpansion(LAGS)
    # statistics from copies: the raw arrays of `cohort` stay untouched for the independent
    # computations (the core's compute_stats shifted behavior in place before issue3's fix)
    copies = sr.Cohort(
        [sr.Session(np.array(s.behavior), s.neural, s.segments, name=s.name) for s in cohort]
    )
    return cohort, truth, exp, cohort_stats(copies, exp, n_folds=4)


def _raw_design(session, exp, rows_mask=None):
    """Design, activity and the kept rows of a session, straight from the arrays."""
    valid = valid_rows(session.n_samples, exp.lags, session.segments)
    if rows_mask is not None:
        valid &= rows_mask
    X, Y = np.asarray(session.behavior, float), np.asarray(session.neural, float)
    return exp.design(X, valid)[valid], Y[valid], X[valid], valid


def _predict(coef_intercept, phi):
    coef, intercept = coef_intercept
    return intercept + phi @ coef


def _independent_ridge(phi, Y, X0, alpha, p):
    """Ridge on the session's own standardized design and z-scored neurons (raw arrays)."""
    sd = np.repeat(X0.std(axis=0), phi.shape[1] // p)
    Phi = (phi - phi.mean(0)) / sd
    Yz = (Y - Y.mean(0)) / Y.std(0)
    B = np.linalg.solve(Phi.T @ Phi + alpha * np.eye(Phi.shape[1]), Phi.T @ Yz)
    return Phi, Yz, B, sd


def test_per_session_ridge_matches_direct_ridge(data):
    cohort, _, exp, stats = data
    method = bl.PerSessionRidge(alpha=[3.0, 30.0, 300.0]).fit(cohort, stats, exp)
    for i, s in enumerate(cohort):
        phi, Y, X0, _ = _raw_design(s, exp)
        Phi, _, B, _ = _independent_ridge(phi, Y, X0, [3.0, 30.0, 300.0][i], s.n_features)
        expected = Y.mean(0) + (Phi @ B) * Y.std(0)
        np.testing.assert_allclose(_predict(method.coefs_[s.name], phi), expected, atol=1e-8)
    assert method.subspace_ is None


def test_per_session_rrr_matches_projected_ridge(data):
    """Reduced-rank ridge = ridge coefficients projected on the top right singular vectors of
    the augmented fitted values (Mukherjee & Zhu 2011), an independent formula."""
    cohort, _, exp, stats = data
    d, alpha = 2, 20.0
    method = bl.PerSessionRRR(d, alpha=alpha).fit(cohort, stats, exp)
    for s in cohort:
        phi, Y, X0, _ = _raw_design(s, exp)
        Phi, _Yz, B, _ = _independent_ridge(phi, Y, X0, alpha, s.n_features)
        aug = np.vstack([Phi, np.sqrt(alpha) * np.eye(Phi.shape[1])]) @ B
        _, _, Vt = np.linalg.svd(aug, full_matrices=False)
        B_rrr = B @ Vt[:d].T @ Vt[:d]
        expected = Y.mean(0) + (Phi @ B_rrr) * Y.std(0)
        np.testing.assert_allclose(_predict(method.coefs_[s.name], phi), expected, atol=1e-8)
        assert method.subspace_[s.name].shape == (phi.shape[1], d)


def test_pooled_ridge_subspace_is_rrr_for_one_session(data):
    cohort, _, exp, stats = data
    one = sr.Cohort([cohort[0]])
    pooled = bl.PooledRidge(2, alpha=1e-6).fit(one, stats[:1], exp)
    rrr = bl.PerSessionRRR(2, alpha=1e-6).fit(one, stats[:1], exp)
    angles = sr.simulate.principal_angles(pooled.subspace_, rrr.subspace_[cohort[0].name])
    assert angles.max() < 1e-3


def test_held_out_sums_match_direct_computation(data):
    """The shared folds: training on folds != k from the statistics equals fitting on the raw
    training rows, and the held-out SSE equals the one computed on the raw test rows."""
    cohort, _, exp, stats = data
    k, alpha = 1, 10.0
    method = bl.PerSessionRidge(alpha=alpha)
    res = bl.cross_validate(method, cohort, stats, exp, grid=None, folds=[k])
    for i, s in enumerate(cohort):
        folds = fold_labels(s, 4)
        phi_tr, Y_tr, X0, _ = _raw_design(s, exp, folds != k)
        phi_te, Y_te, _, _ = _raw_design(s, exp, folds == k)
        _Phi, _, B, sd = _independent_ridge(phi_tr, Y_tr, X0, alpha, s.n_features)
        pred = Y_tr.mean(0) + ((phi_te - phi_tr.mean(0)) / sd @ B) * Y_tr.std(0)
        np.testing.assert_allclose(res.sse[i], ((Y_te - pred) ** 2).sum(0), rtol=1e-8)
        np.testing.assert_allclose(res.sst[i], ((Y_te - Y_te.mean(0)) ** 2).sum(0), rtol=1e-8)


def test_tune_alpha_prefers_heavy_penalty_for_noise():
    rng = np.random.default_rng(0)
    sessions = [
        sr.Session(rng.normal(size=(400, 3)), rng.normal(size=(400, 5)), name=f"s{i}")
        for i in range(2)
    ]
    cohort = sr.Cohort(sessions)
    exp = TemporalExpansion(range(0, 3))
    stats = cohort_stats(cohort, exp, n_folds=4)
    best = bl.tune_alpha(bl.PooledRidge(2), cohort, stats, exp, 0, grid=(0.1, 10.0, 1e5))
    assert best == 1e5
    # and a light one when behavior explains the neurons well
    cohort2, truth = sr.simulate.cohort(n_sessions=2, n_samples=1500, snr=5.0, seed=2)
    exp2 = TemporalExpansion(truth.lags)
    stats2 = cohort_stats(cohort2, exp2, n_folds=4)
    best2 = bl.tune_alpha(bl.PerSessionRidge(), cohort2, stats2, exp2, 0, grid=(0.1, 10.0, 1e5))
    assert np.all(best2 < 1e5)


def test_trial_average_cca_aligns_latents():
    """Two sessions whose neurons mix the same latents differently: the aligned latents agree."""
    rng = np.random.default_rng(1)
    n_trials, L = 20, 40
    X = np.zeros((n_trials * L, 2))
    X[np.arange(n_trials) * L + 5, 0] = 1.0  # the cue
    t = np.arange(L)
    Z1 = np.tile(np.exp(-0.5 * ((t - 15) / 3) ** 2), n_trials)
    Z2 = np.tile(np.sin(t / 6.0), n_trials)
    Z = np.column_stack([Z1, Z2]) + 0.01 * rng.normal(size=(n_trials * L, 2))
    X[:, 1] = rng.normal(size=n_trials * L)
    seg = np.repeat(np.arange(n_trials), L)
    sessions = [
        sr.Session(X, Z @ rng.normal(size=(2, n)), seg, name=f"s{i}", feature_names=["cue", "x"])
        for i, n in enumerate((5, 8))
    ]
    cohort = sr.Cohort(sessions)
    exp = TemporalExpansion(range(0, 3))
    stats = cohort_stats(cohort, exp, n_folds=4)
    m = bl.TrialAverageCCA(2, alpha=1.0, window=(-5, 30), n_pcs=4).fit(cohort, stats, exp)
    lat = []
    for s, P in zip(cohort, m.projections_, strict=True):
        Y = np.asarray(s.neural)
        lat.append(((Y - Y.mean(0)) / Y.std(0)) @ P)
    for j in range(2):
        assert abs(np.corrcoef(lat[0][:, j], lat[1][:, j])[0, 1]) > 0.99


def test_trial_average_cca_needs_trials(data):
    cohort, _, exp, _stats = data
    no_trials = sr.Cohort([sr.Session(s.behavior, s.neural, name=s.name) for s in cohort])
    stats_nt = cohort_stats(no_trials, exp, n_folds=4)
    with pytest.raises(ValueError, match="no trials"):
        bl.TrialAverageCCA(2).fit(no_trials, stats_nt, exp)


@pytest.mark.skipif(not bl.cebra_available(), reason="cebra is not installed")
def test_cebra_method_runs(data):
    cohort, _, exp, stats = data
    m = bl.CEBRAMultiSession(2, alpha=10.0, max_iterations=5, batch_size=64)
    res = bl.cross_validate(m, cohort, stats, exp, grid=(1.0, 100.0), folds=[0])
    assert m.subspace_.shape == (exp.n_columns(cohort[0].n_features), 2)
    assert np.isfinite(res.pooled_r2())
    assert len(m._cache) == 1  # one embedding for the outer fold, reused by the inner CV


def test_neurons_silent_in_held_out_folds_get_nan():
    """A neuron without held-out variance (round-off sst) has no R², instead of -1e11."""
    res = bl.CVResult(
        sse=[np.array([5.0, 1.0, 3e-9])], sst=[np.array([10.0, 4.0, 1e-20])], subspaces=[],
        alphas=[],
    )  # fmt: skip
    r2 = res.neuron_r2()[0]
    np.testing.assert_allclose(r2[:2], [0.5, 0.75])
    assert np.isnan(r2[2])
    assert res.pooled_r2() == pytest.approx(0.625)
