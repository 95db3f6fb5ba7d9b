"""Cross-validation, ShaReDCV and transfer (sharedrep.selection)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.errors import DataError
from sharedrep.folds import fold_labels
from sharedrep.selection import FoldStats, one_se_choice
from sharedrep.selection._fold_fits import _cv_fold
from sharedrep.stats import standardize


def _subset(session: sr.Session, mask: np.ndarray) -> sr.Session:
    """A new session holding only the masked samples (whole segments), built from raw arrays."""
    return sr.Session(
        np.asarray(session.behavior)[mask],
        np.asarray(session.neural)[mask],
        session.segments[mask],
        name=session.name,
        feature_names=session.feature_names,
        neuron_names=session.neuron_names,
    )


def _heldout_from_raw(cohort, params, K, k):
    """Residual and total sums of squares of fold k, from a model refitted on the raw data of
    the other folds (the independent computation)."""
    labels = [fold_labels(s, K) for s in cohort]
    train = sr.Cohort([_subset(s, lab != k) for s, lab in zip(cohort, labels, strict=True)])
    test = [_subset(s, lab == k) for s, lab in zip(cohort, labels, strict=True)]
    model = sr.ShaReD(**params).fit(train)
    out = []
    for s in test:
        pred = model.predict(s).to_numpy()
        y = np.asarray(s.neural)
        ok = np.isfinite(pred[:, 0])
        out.append((((y[ok] - pred[ok]) ** 2).sum(0), ((y[ok] - y[ok].mean(0)) ** 2).sum(0)))
    return out


def test_fold_subtraction_matches_refit_from_raw_data():
    cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=(700, 900), seed=4)
    params = dict(n_components=2, alpha=3.0, lags=truth.lags)
    K = 4
    fs = FoldStats.compute(cohort, sr.ShaReD(lags=truth.lags), K)

    def fitter(k):  # FoldStats.heldout's protocol (encoding maps, transfer)
        m = sr.ShaReD(**params).fit_from_stats(fs.train(k), fs.cohort)
        return m.coef_, m._column_scale, m.session_fits_

    others = {key: v for key, v in params.items() if key not in ("n_components", "alpha")}
    offsets = np.cumsum([0] + [s.n_neurons for s in cohort])
    for k in (0, 2):
        ref = _heldout_from_raw(cohort, params, K, k)
        _, sse, sst = fs.heldout(fitter, folds=[k])
        # cross-validation's task: ranks 1 then 2 (2 starts from 1), scored in latent space
        cv_sse, cv_sst, _, stopped = _cv_fold(fs, k, params["alpha"], [1, 2], others)
        assert stopped == []
        for i, (resid, total) in enumerate(ref):
            np.testing.assert_allclose(sse[i], resid, rtol=1e-7)
            np.testing.assert_allclose(sst[i], total, rtol=1e-9)
            sl = slice(offsets[i], offsets[i + 1])
            np.testing.assert_allclose(cv_sse[1, sl], resid, rtol=1e-7)
            np.testing.assert_allclose(cv_sst[1, sl], total, rtol=1e-9)


def test_fold_statistics_keep_no_training_sets_alive(monkeypatch):
    """A training set is the total minus a fold, made on request: once its user lets go, its
    S q x q Grams are freed (K cached sets doubled the memory of a wide cross-validation), and
    asking again gives the same sums."""
    import gc
    import weakref

    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=600, seed=5)
    fs = FoldStats.compute(cohort, sr.ShaReD(lags=truth.lags), 3)
    first = fs.train(1)
    kept = [weakref.ref(st.phi_phi) for st in first]
    grams = [st.phi_phi.copy() for st in first]
    del first
    gc.collect()
    assert all(ref() is None for ref in kept)
    for again, gram in zip(fs.train(1), grams, strict=True):
        np.testing.assert_array_equal(again.phi_phi, gram)
    del again
    made = []  # a fold task keeps none either: every training set it makes is freed
    without = sr.stats.SessionStats.without

    def tracked(self, *args, **kwargs):
        out = without(self, *args, **kwargs)
        made.append(weakref.ref(out.phi_phi))
        return out

    monkeypatch.setattr(sr.stats.SessionStats, "without", tracked)
    _cv_fold(fs, 0, 1.0, [1], {"lags": truth.lags})
    gc.collect()
    assert len(made) == len(fs.stats)
    assert all(ref() is None for ref in made)


def test_wide_fold_task_fits_downwards_and_matches_refits():
    """q = 240 (a search subspace): the fold task fits rank 3 first, then 2 and 1 each from the
    rank above; every rank's held-out score equals that of a model refitted on the raw data of
    the other folds."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=(2400, 2800), n_features=6, lags=range(40), seed=5
    )
    K, alpha, ranks = 4, 10.0, [1, 2, 3]
    fs = FoldStats.compute(cohort, sr.ShaReD(lags=truth.lags), K)
    model = sr.ShaReD(3, lags=truth.lags, alpha=alpha)
    std = standardize(fs.train(0), model._check_params(cohort.feature_names), cohort.feature_names)
    problem = model._subspace_problem(std, fs.cohort)
    assert problem.q == 240 and problem.fit_order(ranks) == [2, 1, 0]
    offsets = np.cumsum([0] + [s.n_neurons for s in cohort])
    cv_sse, cv_sst, _, stopped = _cv_fold(fs, 0, alpha, ranks, {"lags": truth.lags})
    assert stopped == []
    for j, d in enumerate(ranks):
        ref = _heldout_from_raw(cohort, dict(n_components=d, alpha=alpha, lags=truth.lags), K, 0)
        for i, (resid, total) in enumerate(ref):
            sl = slice(offsets[i], offsets[i + 1])
            # the same optimum from another start, to the optimiser's tolerance (rank 2, below
            # the true rank, is the flattest: its sums agree to 1e-6)
            np.testing.assert_allclose(cv_sse[j, sl], resid, rtol=5e-6)
            np.testing.assert_allclose(cv_sst[j, sl], total, rtol=1e-9)


def test_one_se_rule_picks_simplest_within_one_standard_error():
    idx = pd.MultiIndex.from_product([[1, 2, 3], [0.1, 10.0]], names=["n_components", "alpha"])
    r2 = [0.10, 0.09, 0.295, 0.29, 0.30, 0.28]
    summary = pd.DataFrame({"r2": r2, "se": 0.01}, index=idx)
    # best is (3, 0.1) at 0.30; within 0.29: (2, 0.1) and (2, 10.0); the simplest with the
    # strongest ridge is (2, 10.0)
    assert one_se_choice(summary, "1se") == (2, 10.0)
    assert one_se_choice(summary, "max") == (3, 0.1)
    with pytest.raises(ValueError, match="rule"):
        one_se_choice(summary, "aic")


def test_cross_validation_finds_true_rank_and_an_interior_alpha():
    alphas = [1e-2, 1.0, 1e2, 1e4]
    hits, interior = 0, 0
    seeds = range(4)
    for seed in seeds:
        cohort, truth = sr.simulate.cohort(
            n_sessions=3, n_samples=(1200, 1500), n_components=3, seed=seed
        )
        cv = sr.cross_validate(
            cohort, n_components=range(1, 6), alpha=alphas, folds=3, lags=truth.lags
        )
        hits += cv.n_components == truth.n_components
        interior += alphas[0] < cv.alpha < alphas[-1]
        # tables are complete and consistent with each other
        assert len(cv.summary) == 5 * len(alphas)
        assert int(cv.summary["chosen"].sum()) == 1
        scores = cv.scores()
        assert scores.pooled == pytest.approx(cv.summary.loc[(cv.n_components, cv.alpha), "r2"])
        n_neurons = sum(s.n_neurons for s in cohort)
        assert len(scores.neuron) == n_neurons
    assert hits >= 3
    assert interior == len(seeds)


def test_shared_cv_refits_the_chosen_model_on_all_data():
    cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=(900, 1100), seed=2)
    model = sr.ShaReDCV(n_components=[1, 2, 3, 4], alpha=[1.0, 1e4], folds=3, lags=truth.lags)
    with pytest.raises(AttributeError, match="not fitted"):
        _ = model.coef_
    model.fit(cohort)
    ref = sr.ShaReD(model.n_components_, alpha=model.alpha_, lags=truth.lags).fit(cohort)
    np.testing.assert_allclose(np.abs(model.coef_), np.abs(ref.coef_), rtol=1e-5, atol=1e-8)
    assert float(model.score(cohort)) == pytest.approx(float(ref.score(cohort)), rel=1e-6)
    assert model.best_estimator_.n_components == model.n_components_
    assert "lags" in model.get_params()
    # the statistics functions accept the CV estimator and use its refitted model
    em = sr.encoding_map(model, cohort, n_null=50)
    assert em.n_components == model.n_components_


def test_cross_validation_errors_name_the_problem():
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=300, trial_length=(100, 150))
    with pytest.raises(DataError, match=r"session0.*fewer than"):
        sr.cross_validate(cohort, n_components=[1], alpha=[1.0], folds=10, lags=truth.lags)
    with pytest.raises(ValueError, match="rule"):
        sr.cross_validate(cohort, n_components=[1], alpha=[1.0], folds=2, rule="best")
    with pytest.raises(ValueError, match="unknown ShaReD parameter"):
        sr.cross_validate(cohort, n_components=[1], alpha=[1.0], folds=2, lag=[0])
    with pytest.raises(ValueError, match="n_components"):
        sr.cross_validate(cohort, n_components=[-1, 1], alpha=[1.0], folds=2)
    with pytest.raises(ValueError, match="folds"):
        sr.cross_validate(cohort, n_components=[1], alpha=[1.0], folds=1)


def test_transfer_beats_individual_fits_on_small_sessions():
    cohort, truth = sr.simulate.cohort(
        n_sessions=5,
        n_samples=(600, 800),
        n_neurons=(20, 30),
        trial_length=(20, 30),
        seed=1,
    )
    res = sr.transfer(cohort, [0.05, 0.1, 0.5], n_components=3, lags=truth.lags)
    small = res.summary.loc[[0.05, 0.1]]
    assert (small["difference"] > 2 * small["se"]).all()
    assert (small["wins"] >= 0.8).all()
    # with more data the individual fit catches up: the advantage shrinks
    assert res.summary.loc[0.5, "difference"] < res.summary.loc[0.05, "difference"]
    # n_train grows with the fraction, tables have one row per session x fraction x method
    assert len(res.session) == 5 * 3 * 2
    n = res.session.groupby("train_fraction")["n_train"].mean()
    assert n.is_monotonic_increasing
    assert set(res.neuron["method"]) == {"shared", "individual"}


def test_transfer_rejects_fractions_without_room_for_testing():
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=1500, seed=0)
    with pytest.raises(ValueError, match="largest usable fraction"):
        sr.transfer(cohort, [0.9], folds=5, lags=truth.lags)
    with pytest.raises(DataError, match="at least two sessions"):
        sr.transfer(cohort[:1], [0.1], lags=truth.lags)


def test_statistics_pass_leaves_the_data_untouched_and_chunks_agree():
    # regression: the pass used to shift behavior in place (a view of the user's array), which
    # changed the data and double-shifted samples shared by two chunks
    cohort, truth = sr.simulate.cohort(n_sessions=1, n_samples=900, seed=5)
    s = cohort[0]
    before = np.array(s.behavior, copy=True)
    e = sr.TemporalExpansion(truth.lags)
    one = sr.compute_stats(s, e)
    np.testing.assert_array_equal(s.behavior, before)
    chunked = sr.compute_stats(s, e, folds=fold_labels(s, 3), chunk_size=100).total()
    np.testing.assert_array_equal(s.behavior, before)
    for a, b in zip(one.means(), chunked.means(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    for a, b in zip(one.centered(), chunked.centered(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_fold_statistics_travel_without_the_recordings():
    """Fold fits may run on a cluster: what they carry is statistics, not data."""
    import pickle

    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=20000, n_neurons=60, seed=1)
    fs = FoldStats.compute(cohort, sr.ShaReD(lags=truth.lags), 3)
    data_bytes = sum(np.asarray(s.behavior).nbytes + np.asarray(s.neural).nbytes for s in cohort)
    assert len(pickle.dumps(fs)) < data_bytes / 4
    clone = pickle.loads(pickle.dumps(fs))
    assert clone.cohort.names == cohort.names
    np.testing.assert_array_equal(clone.stats[1].phi_y, fs.stats[1].phi_y)
