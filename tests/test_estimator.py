"""The ShaReD estimator against independent computations, invariances and ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

import sharedrep as sr
from conftest import reduced_rank_ridge, reference_design
from sharedrep.metrics import principal_angles
from sharedrep.solver import SubspaceProblem, subspace_objective


def _standardized_single(session, lags):
    """Design and neural data standardized as the spec says, built by hand."""
    X = np.asarray(session.behavior, float)
    Phi, rows = reference_design(X, lags, session.segments)
    x0 = X[rows]
    sd = np.sqrt(((x0 - x0.mean(0)) ** 2).mean(0))  # pooled std of one session
    Phi = (Phi - Phi.mean(0)) / np.repeat(sd, len(lags))
    Y = np.asarray(session.neural, float)[rows]
    Y = (Y - Y.mean(0)) / Y.std(0)
    return Phi, Y


@pytest.mark.parametrize("alpha", [0.0, 3.0, 300.0])
def test_single_session_equals_reduced_rank_ridge(small_cohort, alpha):
    cohort, _ = small_cohort
    session, lags, d = cohort[0], [-2, -1, 0, 1, 2], 2
    model = sr.ShaReD(n_components=d, lags=lags, alpha=alpha).fit(session)
    Phi, Y = _standardized_single(session, lags)
    W_ref = reduced_rank_ridge(Phi, Y, alpha, d)
    angles = sla.subspace_angles(model.coef_, W_ref)
    assert angles.max() < 1e-6
    # the readouts reproduce the rank-d ridge coefficient B V_d V_d'
    B_model = model.coef_ @ model.session_fits_[session.name].readout
    B = np.linalg.solve(Phi.T @ Phi + alpha * np.eye(Phi.shape[1]), Phi.T @ Y)
    _, _, vt = np.linalg.svd(np.vstack([Phi @ B, np.sqrt(alpha) * B]), full_matrices=False)
    np.testing.assert_allclose(B_model, B @ vt[:d].T @ vt[:d], atol=1e-8 * np.abs(B).max())


def test_correlation_objective_single_session_is_ridge_cca(small_cohort):
    cohort, _ = small_cohort
    session, lags, d = cohort[1], [-1, 0, 1], 2
    model = sr.ShaReD(d, lags=lags, alpha=2.0, objective="correlation", whiten_alpha=0.05)
    model.fit(session)
    Phi, Y = _standardized_single(session, lags)
    gram = Y.T @ Y
    eps = 0.05 * np.mean(np.diag(gram))
    # whiten the neural side, then the spans must match reduced-rank ridge on whitened data
    evals, evecs = np.linalg.eigh(gram + eps * np.eye(len(gram)))
    Yw = Y @ evecs @ np.diag(evals**-0.5) @ evecs.T
    W_ref = reduced_rank_ridge(Phi, Yw, 2.0, d)
    assert sla.subspace_angles(model.coef_, W_ref).max() < 1e-6


def test_objective_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    S, q, d = 3, 6, 2
    R = rng.normal(size=(S, q, q))
    C = R @ R.transpose(0, 2, 1) + q * np.eye(q)
    H = rng.normal(size=(S, q, 4))
    G = H @ H.transpose(0, 2, 1)
    w = np.array([0.2, 0.5, 0.3])
    W = rng.normal(size=(q, d))
    _, grad = subspace_objective(W, C, G, w)
    num = np.zeros_like(W)
    h = 1e-6
    for i in range(q):
        for j in range(d):
            E = np.zeros_like(W)
            E[i, j] = h
            num[i, j] = (
                subspace_objective(W + E, C, G, w)[0] - subspace_objective(W - E, C, G, w)[0]
            ) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_multi_session_solution_is_a_maximum(small_cohort):
    cohort, _ = small_cohort
    model = sr.ShaReD(3, lags=range(-2, 3), alpha=1.0).fit(cohort)
    assert model.converged_
    # F at the solution beats every small rotation of the subspace and the pooled start
    from sharedrep.backend import cohort_stats
    from sharedrep.stats import standardize

    std = standardize(
        cohort_stats(cohort, model.expansion_), model.expansion_, cohort.feature_names
    )
    problem = model._subspace_problem(std, cohort)
    C, G = problem.C, problem.G
    w = model.session_weights_.to_numpy()
    f_opt = subspace_objective(model.coef_, C, G, w)[0]
    rng = np.random.default_rng(5)
    for _ in range(20):
        f = subspace_objective(model.coef_ + 1e-3 * rng.normal(size=model.coef_.shape), C, G, w)
        assert f[0] <= f_opt + 1e-9 * abs(f_opt)
    evecs = sla.eigh(np.tensordot(w, G, 1), np.tensordot(w, C, 1))[1][:, ::-1][:, :3]
    assert subspace_objective(evecs, C, G, w)[0] <= f_opt


def test_two_fits_agree_exactly(small_cohort):
    cohort, _ = small_cohort
    a = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    b = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    for name in cohort.names:
        np.testing.assert_array_equal(a.session_fits_[name].readout, b.session_fits_[name].readout)


def test_canonical_basis_is_ordered_scaled_and_signed(small_cohort):
    cohort, _ = small_cohort
    model = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    var = np.einsum("qd,qk,kd->d", model.coef_, model.design_covariance_, model.coef_)
    np.testing.assert_allclose(var, 1.0, rtol=1e-10)
    assert np.all(np.diff(model.component_eigenvalues_) <= 0)
    L = model.loadings_.values.reshape(-1, 3)
    assert np.all(L[np.argmax(np.abs(L), axis=0), range(3)] > 0)


def test_permuting_neurons_permutes_readouts_only(small_cohort):
    cohort, _ = small_cohort
    s = cohort[2]
    perm = np.random.default_rng(3).permutation(s.n_neurons)
    shuffled = sr.Session(
        s.behavior,
        np.asarray(s.neural)[:, perm],
        s.segments,
        name=s.name,
        neuron_names=[s.neuron_names[i] for i in perm],
    )
    other = sr.Cohort([shuffled if x.name == s.name else x for x in cohort])
    a = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    b = sr.ShaReD(3, lags=range(-2, 3)).fit(other)
    np.testing.assert_allclose(b.coef_, a.coef_, atol=1e-8)
    np.testing.assert_allclose(
        b.session_fits_[s.name].readout, a.session_fits_[s.name].readout[:, perm], atol=1e-8
    )
    assert b.readouts_[s.name].neuron.values.tolist() == [s.neuron_names[i] for i in perm]


def test_reordering_sessions_changes_nothing(small_cohort):
    cohort, _ = small_cohort
    a = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    b = sr.ShaReD(3, lags=range(-2, 3)).fit(sr.Cohort(list(cohort)[::-1]))
    np.testing.assert_allclose(b.coef_, a.coef_, atol=1e-8)
    for name in cohort.names:
        np.testing.assert_allclose(
            b.session_fits_[name].readout, a.session_fits_[name].readout, atol=1e-8
        )


def test_neuron_units_do_not_matter_when_zscored(small_cohort):
    cohort, _ = small_cohort
    s = cohort[0]
    scaled = sr.Session(s.behavior, np.asarray(s.neural) * 37.0 + 5.0, s.segments, name=s.name)
    a = sr.ShaReD(2, lags=[0, 1]).fit(cohort)
    b = sr.ShaReD(2, lags=[0, 1]).fit(sr.Cohort([scaled, *list(cohort)[1:]]))
    np.testing.assert_allclose(b.coef_, a.coef_, atol=1e-8)


def test_recovers_true_representation_at_default_snr():
    cohort, truth = sr.simulate.cohort(seed=0)
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    assert truth.max_angle(model) < 5.0


def test_recovery_improves_with_more_small_sessions():
    """The point of the method: many small sessions pin down W that one cannot."""
    angles = {}
    for n_sessions in (1, 4, 16):
        per_seed = []
        for seed in range(3):
            cohort, truth = sr.simulate.cohort(
                n_sessions=n_sessions, n_samples=300, n_neurons=(10, 20), seed=seed
            )
            model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
            per_seed.append(truth.max_angle(model))
        angles[n_sessions] = np.mean(per_seed)
    assert angles[1] > angles[4] > angles[16]
    assert angles[16] < angles[1] / 2


def test_smooth_behavior_is_identified_in_the_design_metric():
    cohort, truth = sr.simulate.cohort(smoothness=3.0, seed=2)
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    assert truth.max_angle(model, metric="design") < 5.0


def test_score_matches_r2_from_predictions(small_cohort):
    cohort, _ = small_cohort
    model = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    scores = model.score(cohort)
    for s in cohort:
        pred = model.predict(s).values
        ok = ~np.isnan(pred[:, 0])
        Y = np.asarray(s.neural)[ok]
        r2 = 1 - ((Y - pred[ok]) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
        np.testing.assert_allclose(scores.neuron.loc[s.name].to_numpy(), r2, atol=1e-9)
        assert scores.session[s.name] == pytest.approx(r2.mean())
    assert float(scores) == pytest.approx(scores.session.mean())


def test_transform_gives_unit_variance_latents_with_nan_edges(small_cohort):
    cohort, _ = small_cohort
    model = sr.ShaReD(3, lags=range(-2, 3)).fit(cohort)
    Z = [model.transform(s) for s in cohort]
    assert Z[0].dims == ("time", "component")
    assert np.isnan(Z[0].values[:2]).all()  # the first two samples lack their lag window
    stacked = np.concatenate([z.values[~np.isnan(z.values[:, 0])] for z in Z])
    np.testing.assert_allclose(stacked.var(0), 1.0, rtol=1e-10)


def test_fit_readout_for_a_new_animal_keeps_w():
    cohort, truth = sr.simulate.cohort(n_sessions=6, seed=4)
    train, new = cohort[:5], cohort[5]
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(train)
    W = model.coef_.copy()
    model.fit_readout(new)
    np.testing.assert_array_equal(model.coef_, W)
    assert new.name in model.readouts_
    joint = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    assert model.score(new).pooled == pytest.approx(joint.score(new).pooled, abs=0.01)
    assert model.score(new).pooled > 0.15


def test_session_weights_options(small_cohort):
    cohort, _ = small_cohort
    n = np.array([s.n_neurons for s in cohort], float)
    for scheme, size in (("equal", np.ones(4)), ("neurons", n), ("samples", None)):
        m = sr.ShaReD(2, lags=[0], weights=scheme).fit(cohort)
        T = np.array([m.session_fits_[k].n_samples for k in cohort.names], float)
        # a session's influence is w_s tr(Y_s'Y_s) = w_s n_s T_s (z-scored neurons)
        influence = m.session_weights_.to_numpy() * n * T
        want = T if size is None else size
        np.testing.assert_allclose(influence / influence.sum(), want / want.sum(), rtol=1e-10)
    explicit = dict(zip(cohort.names, [1.0, 0.0, 0.0, 0.0], strict=True))
    alone = sr.ShaReD(2, lags=[0], alpha=0.0, weights=explicit).fit(cohort)
    single = sr.ShaReD(2, lags=[0], alpha=0.0).fit(cohort[0])
    # zero weight: the other sessions do not shape W; only the pooled scaling differs
    rescale = single.behavior_scale_ / alone.behavior_scale_
    assert sla.subspace_angles(rescale[:, None] * alone.coef_, single.coef_).max() < 1e-6


def test_basis_fit_reports_loadings_over_lags(small_cohort):
    cohort, _ = small_cohort
    m = sr.ShaReD(2, lags=range(-4, 5), n_basis=4).fit(cohort)
    assert m.coef_.shape == (3 * 4, 2)
    assert m.loadings_.shape == (3, 9, 2)
    B = sr.raised_cosine_basis(range(-4, 5), 4)
    np.testing.assert_allclose(m.loadings_.values[0, :, 0], B @ m.coef_[:4, 0], atol=1e-12)


def test_get_set_params_and_repr():
    m = sr.ShaReD(4, lags=range(-1, 2), alpha=2.5)
    assert m.get_params()["alpha"] == 2.5
    assert m.set_params(alpha=1.0) is m and m.alpha == 1.0
    assert "n_components=4" in repr(m)
    with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
        m.set_params(bogus=1)


def test_restarts_never_lower_the_objective():
    """Without shared structure F has several local optima; restarts keep the best one."""
    rng = np.random.default_rng(0)
    sessions = []
    for i in range(6):  # every session encodes its own random filters: nothing is shared
        X = rng.normal(size=(400, 6))
        Y = X @ rng.normal(size=(6, 12)) + rng.normal(size=(400, 12))
        sessions.append(sr.Session(X, Y, name=f"s{i}"))
    cohort = sr.Cohort(sessions)
    plain = sr.ShaReD(3, lags=[0, 1]).fit(cohort)
    more = sr.ShaReD(3, lags=[0, 1], n_restarts=4).fit(cohort)
    assert more.objective_ >= plain.objective_ * (1 - 1e-12)
    again = sr.ShaReD(3, lags=[0, 1], n_restarts=4).fit(cohort)
    np.testing.assert_array_equal(again.coef_, more.coef_)


def _small_dense_problem(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``C`` (4, 8, 8), dense ``G`` (4, 8, 8) and equal weights of a random 4-session problem."""
    rng = np.random.default_rng(seed)
    S, q = 4, 8
    X = rng.normal(size=(S, 60, q))
    A = rng.normal(size=(S, q, 5))
    return X.transpose(0, 2, 1) @ X + np.eye(q), A @ A.transpose(0, 2, 1), np.full(S, 1.0 / S)


def test_start_completes_a_smaller_rank_solution():
    """Cross-validation of a narrow design fits rank d from rank d-1: the start keeps that
    solution and adds the best pooled direction orthogonal to it (found here by brute force in
    its complement)."""
    C, G, w = _small_dense_problem(3)
    problem = SubspaceProblem.build(C, w, G=G)
    W2 = problem.fit(2).W
    U = problem.start(3, init=W2)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)
    default = problem.objective(problem.starts[:, :3])[0]
    assert problem.objective(U)[0] >= default
    W_start = problem.unwhiten(U)  # back to the original coordinates
    coef, *_ = np.linalg.lstsq(W_start, W2, rcond=None)
    np.testing.assert_allclose(W_start @ coef, W2, atol=1e-10)  # span(W2) is kept
    # the added direction: the top of the pooled whitened G in the complement of span(W2),
    # whitening written out here: L L' = sum_s w_s C_s
    L = np.linalg.cholesky(C.mean(axis=0))
    L_inv = np.linalg.inv(L)
    G_white = L_inv @ G.mean(axis=0) @ L_inv.T
    U2, _ = np.linalg.qr(L.T @ W2)
    comp = sla.null_space(U2.T)
    best = np.linalg.eigvalsh(comp.T @ G_white @ comp)[-1]
    u3 = U[:, 2]
    assert u3 @ G_white @ u3 == pytest.approx(best, rel=1e-10)


def test_start_reduces_a_larger_rank_solution():
    """Cross-validation of a wide design fits the largest rank first and each smaller rank from
    the one above: the start is the leading pooled generalised eigenvectors within span(init)
    (found here from the 3 x 3 pencil written out), or the default start where that is
    higher."""
    C, G, w = _small_dense_problem(4)
    problem = SubspaceProblem.build(C, w, G=G)
    W3 = problem.fit(3).W
    Q, _ = np.linalg.qr(W3)
    R = sla.eigh(Q.T @ G.mean(axis=0) @ Q, Q.T @ C.mean(axis=0) @ Q)[1]
    within = problem.whiten(Q @ R[:, -2:])  # the two leading directions within span(W3)
    within, _ = np.linalg.qr(within)
    default = problem.starts[:, :2]
    U = problem.start(2, init=W3)
    np.testing.assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
    values = {k: problem.objective(V)[0] for k, V in (("within", within), ("default", default))}
    chosen = max(values, key=values.get)
    assert principal_angles(U, {"within": within, "default": default}[chosen]).max() < 1e-8
    assert problem.objective(U)[0] == pytest.approx(max(values.values()), rel=1e-12)
    # and the fit from it reaches the optimum a fresh fit of rank 2 reaches (or a better one)
    fresh = SubspaceProblem.build(C, w, G=G).fit(2)
    assert problem.fit(2, init=W3).objective >= fresh.objective * (1 - 1e-9)


def test_a_fit_that_stops_at_max_iter_says_so():
    cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=800, seed=2)
    with pytest.warns(sr.SharedRepWarning, match=r"stopped after 1 iterations without converging"):
        model = sr.ShaReD(3, lags=truth.lags, max_iter=1).fit(cohort)
    assert not model.converged_
    with pytest.warns(sr.SharedRepWarning, match=r"of 6 fold fits \(worst: rank \d, alpha"):
        sr.cross_validate(cohort, [0, 1, 2], [1.0], folds=3, lags=truth.lags, max_iter=1)
