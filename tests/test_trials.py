"""Trial-based recordings: trial-shaped input, edges at trial starts, folds, drift, covariates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sharedrep as sr
from conftest import SHARED_DATA, reference_drift
from sharedrep.errors import DataError, SharedRepWarning
from sharedrep.features import TemporalExpansion, resolve_edges
from sharedrep.folds import fold_labels
from sharedrep.selection import FoldStats


def _trials(seed=0, n_trials=12, length=30, p=2, n=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_trials, length, p)), rng.normal(size=(n_trials, length, n))


# -- trial-shaped input ---------------------------------------------------------------------
def test_from_trials_equals_the_flat_layout_in_every_input_form():
    X, Y = _trials()
    t = np.arange(30) / 16.0 - 0.5
    flat = sr.Session(
        X.reshape(-1, 2), Y.reshape(-1, 4), np.repeat(np.arange(12), 30), name="m"
    )  # fmt: skip
    forms = {
        "array": sr.Session.from_trials(X, Y, trial_time=t, name="m"),
        "list": sr.Session.from_trials(list(X), list(Y), trial_time=[t] * 12, name="m"),
        "xarray": sr.Session.from_trials(
            xr.DataArray(X, dims=("trial", "time", "feature"), coords={"time": t}),
            xr.DataArray(Y, dims=("trial", "time", "neuron"), coords={"time": t}),
            name="m",
        ),
    }
    ex = TemporalExpansion(range(0, 4), None, [True, False])
    ref = sr.compute_stats(flat, ex, drift=1)
    for form, s in forms.items():
        assert s.rate == pytest.approx(16.0), form
        np.testing.assert_allclose(s.trial_time, np.tile(t, 12))
        st = sr.compute_stats(s, ex, drift=1)
        for key in ("count", "phi_phi", "phi_y", "y_sq", "nu_nu", "phi_nu", "nu_y"):
            np.testing.assert_allclose(
                getattr(st, key), getattr(ref, key), rtol=1e-12, err_msg=form
            )


def test_from_trials_keeps_ids_info_and_covariates_and_names_what_is_wrong():
    X, Y = _trials()
    info = pd.DataFrame({"direction": np.arange(12) * 30})
    s = sr.Session.from_trials(
        X, Y, trial_ids=np.arange(100, 112), trial_info=info, covariates=X[:, :, :1],
        covariate_names=["running"], rate=10.0, name="m",
    )  # fmt: skip
    assert s.covariate_names == ("running",) and s.n_covariates == 1
    assert s.metadata["trials"].loc[103, "direction"] == 90
    np.testing.assert_allclose(s.trial_time[:3], [0.0, 0.1, 0.2])
    with pytest.raises(DataError, match=r"'m'.*trial 2 has 30 behavior samples but 29"):
        ys = list(Y)
        ys[2] = ys[2][:-1]
        sr.Session.from_trials(list(X), ys, name="m")
    with pytest.raises(DataError, match="different trial coordinates"):
        sr.Session.from_trials(
            xr.DataArray(X, dims=("trial", "time", "f"), coords={"trial": np.arange(12)}),
            xr.DataArray(Y, dims=("trial", "time", "n"), coords={"trial": np.arange(1, 13)}),
            name="m",
        )
    with pytest.raises(DataError, match="trial ids repeat"):
        sr.Session.from_trials(X, Y, trial_ids=[0] * 12, name="m")


def test_as_covariates_moves_features_out_of_the_shared_behavior():
    X, Y = _trials(p=3)
    s = sr.Session.from_trials(X, Y, feature_names=["a", "b", "run"], name="m")
    t = s.as_covariates(["run"])
    assert t.feature_names == ("a", "b") and t.covariate_names == ("run",)
    np.testing.assert_array_equal(np.asarray(t.covariates)[:, 0], X.reshape(-1, 3)[:, 2])
    with pytest.raises(DataError, match="no behavioral features"):
        s.as_covariates(["speed"])


# -- edges -----------------------------------------------------------------------------------
def test_edges_are_chosen_per_feature_by_name_or_pattern():
    names = ["grating_0_onset", "grating_90_onset", "running"]
    assert resolve_edges("zero", names) == (True, True, True)
    assert resolve_edges({"grating_*_onset": "zero"}, names) == (True, True, False)
    with pytest.raises(ValueError, match="matches no behavioral feature"):
        resolve_edges({"gratings_*": "zero"}, names)
    with pytest.raises(ValueError, match="edges"):
        resolve_edges("pad", names)


def test_zero_edges_recover_an_event_kernel_that_starts_at_the_trial_start():
    cohort, truth = sr.simulate.cohort(
        n_sessions=4, n_samples=2000, design="events", lags=range(0, 12), n_features=3,
        n_components=2, trial_length=(25, 35), seed=3,
    )  # fmt: skip
    model = sr.ShaReD(2, lags=truth.lags, edges="zero").fit(cohort)
    assert truth.max_angle(model) < 6.0
    with (
        warnings.catch_warnings(),
        pytest.raises(DataError, match=r"0 informative columns.*edges='zero'"),
    ):
        warnings.simplefilter("ignore", SharedRepWarning)
        sr.ShaReD(2, lags=truth.lags).fit(cohort)


def test_trial_average_shows_what_the_neurons_carry_against_the_trial_time():
    """Noise-free neurons: the latent they carry is the latent behavior predicts."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=2, n_samples=1500, design="events", lags=range(0, 8), n_features=3,
        n_components=2, trial_length=(20, 24), snr=1e8, conditions=["a", "b"], seed=5,
    )  # fmt: skip
    model = sr.ShaReD(2, lags=truth.lags, edges="zero", alpha=1e-6).fit(cohort)
    from sharedrep.plot._trials import _neural_latents

    for s in cohort:
        neural, predicted = _neural_latents(model, s), model.transform(s).to_numpy()
        np.testing.assert_allclose(neural, predicted, atol=1e-4 * np.abs(predicted).max())
    fig = sr.plot.trial_average(model, cohort)
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_xlabel().startswith("time from the trial's event (s)")
    t = axes[0].get_lines()[0].get_xdata()
    assert t.min() == 0.0 and t.max() == pytest.approx(23 / 30)  # trial_time in seconds
    s = cohort[0]
    untimed = sr.Session(s.behavior, s.neural, s.segments, name=s.name, rate=s.rate)
    with pytest.raises(DataError, match="'session0' has no trial_time"):
        sr.plot.trial_average(model, untimed)


# -- folds -----------------------------------------------------------------------------------
def test_splits_assign_whole_trials_as_documented():
    X, Y = _trials(n_trials=10, length=5)
    s = sr.Session.from_trials(X, Y, name="m")
    seg = s.segments
    np.testing.assert_array_equal(fold_labels(s, 3, "interleaved"), seg % 3)
    np.testing.assert_array_equal(fold_labels(s, 3), seg % 3)  # the default with trials
    np.testing.assert_array_equal(fold_labels(s, 2, "blocks"), (seg >= 5).astype(int))
    labels = np.tile([0, 1], 25)
    np.testing.assert_array_equal(fold_labels(s, 2, {"m": labels}), labels)
    continuous = sr.Session(X.reshape(-1, 2), Y.reshape(-1, 4), name="c")
    np.testing.assert_array_equal(fold_labels(continuous, 2), np.repeat([0, 1], 25))
    with pytest.raises(DataError, match=r"'c' has no segments.*interleaved"):
        fold_labels(continuous, 2, "interleaved")
    with pytest.raises(DataError, match=r"'m': fold labels must lie in 0\.\.1"):
        fold_labels(s, 2, {"m": np.full(50, 2)})
    with pytest.raises(DataError, match=r"leave folds \[1\] empty"):
        fold_labels(s, 2, {"m": np.zeros(50, int)})


def test_every_result_says_which_split_it_used():
    cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=900, seed=1)
    cv = sr.cross_validate(cohort, n_components=[0, 1, 2], alpha=[1.0], lags=truth.lags)
    assert cv.split == "interleaved segments" and 0 in cv.summary.index.get_level_values(0)
    blocks = sr.cross_validate(
        cohort, n_components=[1], alpha=[1.0], lags=truth.lags, split="blocks"
    )  # fmt: skip
    assert blocks.split == "contiguous blocks"
    tr = sr.transfer(cohort, [0.2], n_components=2, n_blocks=10, lags=truth.lags)
    assert tr.split == "interleaved segments"
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    em = sr.encoding_map(model, cohort, n_null=19, split="blocks")
    assert em.split == "contiguous blocks"


def test_explicit_fold_labels_reach_the_statistics():
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=600, seed=2)
    split = {s.name: (np.arange(s.n_samples) // 7) % 3 for s in cohort}
    fs = FoldStats.compute(cohort, sr.ShaReD(lags=truth.lags), 3, split=split)
    s = cohort[0]
    valid = TemporalExpansion(truth.lags).valid(s.n_samples, s.segments)
    for k in range(3):
        assert fs.stats[0].count[k] == np.sum(valid & (split[s.name] == k))


# -- drift and covariates ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drifting():
    return sr.simulate.cohort(
        n_sessions=5, n_samples=3000, snr=0.1, baseline_drift=1.5, trial_length=(50, 80), seed=2
    )


def test_contiguous_blocks_misjudge_drifting_data_and_say_so(drifting):
    cohort, truth = drifting
    with pytest.warns(SharedRepWarning, match="baseline drifts.*split='interleaved'.*drift=k"):
        cv = sr.cross_validate(
            cohort, n_components=[0, 1, 2, 3, 4], alpha=[1.0, 100.0], lags=truth.lags,
            split="blocks",
        )  # fmt: skip
    assert cv.n_components != truth.n_components
    assert cv.diagnostics["offset"] > 0.5 and cv.diagnostics["r2"] < 0


def test_interleaved_folds_and_drift_recover_the_truth(drifting):
    cohort, truth = drifting
    with warnings.catch_warnings():
        warnings.simplefilter("error", SharedRepWarning)  # no drift warning here
        cv = sr.cross_validate(
            cohort, n_components=[0, 1, 2, 3, 4], alpha=[1.0, 100.0], lags=truth.lags, drift=8
        )  # fmt: skip
    assert cv.n_components == truth.n_components
    summary = cv.summary.xs(cv.alpha, level="alpha")
    assert summary.loc[3, "r2"] - summary.loc[0, "r2"] > 10 * summary.loc[3, "se"]
    model = sr.ShaReD(3, alpha=cv.alpha, lags=truth.lags, drift=8).fit(cohort)
    assert truth.max_angle(model) < 6.0
    assert model.nuisance_explained_.min() > 0.5  # the drift took most of the variance


def test_predictions_include_the_fitted_covariates_and_drift():
    """A one-session model: the nuisance fit is least squares on what the shared part leaves."""
    rng = np.random.default_rng(4)
    T = 800
    X = rng.normal(size=(T, 2))
    run = np.cumsum(rng.normal(size=T)) / 20
    Y = np.column_stack([X[:, 0] + 2 * run, X[:, 1] - run]) + rng.normal(size=(T, 2))
    s = sr.Session(X, Y, covariates=run, covariate_names=["run"], name="m")
    model = sr.ShaReD(1, lags=[0, 1], drift=2).fit(s)
    pred = model.predict(s).values
    phi = model.expansion_.rows_of(X, np.arange(1, T))
    fit = model.session_fits_["m"]
    coef = fit.coef(model.coef_, model._column_scale)
    resid = Y[1:] - phi @ coef
    t = np.arange(1, T)
    N = np.column_stack([np.ones(T - 1), run[1:], reference_drift(t, T, 2)])
    gamma, *_ = np.linalg.lstsq(N, resid, rcond=None)
    np.testing.assert_allclose(pred[1:], phi @ coef + N @ gamma, atol=1e-8)
    assert np.isnan(pred[0]).all()
    assert fit.nuisance_names == ("run", "drift1", "drift2")
    np.testing.assert_allclose(fit.nuisance_coef[0], gamma[1], rtol=1e-8)
    held = model.score(s)
    np.testing.assert_allclose(
        held.neuron.to_numpy(),
        1 - ((Y[1:] - pred[1:]) ** 2).sum(0) / ((Y[1:] - Y[1:].mean(0)) ** 2).sum(0),
        rtol=1e-8,
    )


def test_a_covariate_does_not_leak_into_the_shared_representation():
    rng = np.random.default_rng(5)
    sessions = []
    for i in range(3):
        T = 1500
        X = rng.normal(size=(T, 3))
        pupil = np.convolve(rng.normal(size=T), np.ones(20) / 20, "same") * 5
        Y = np.outer(X[:, 0], rng.normal(size=10)) + np.outer(pupil, np.ones(10) * 3)
        Y += rng.normal(size=Y.shape)
        # the behavior holds a copy of the pupil: without the covariate it enters W
        Xp = np.column_stack([X, pupil + 0.1 * rng.normal(size=T)])
        sessions.append(
            sr.Session(Xp, Y, covariates=pupil, feature_names=["a", "b", "c", "p"], name=f"s{i}")
        )
    model = sr.ShaReD(1).fit(sessions)
    load = np.abs(model.loadings_.sel(lag=0, component=0).to_numpy())
    assert load[0] > 20 * load[3]  # the pupil copy gets (almost) nothing


@pytest.mark.slow
def test_encoding_map_stays_calibrated_with_zero_edges_and_drift():
    """Pure-noise neurons, trial-cut events and baseline drift (benchmarks: the full table)."""
    fractions = []  # per session: neurons of a session share their latents, so they are the unit
    for seed in range(12):
        cohort, truth = sr.simulate.cohort(
            n_sessions=4, n_samples=(1200, 1500), n_neurons=(30, 40), snr=0.0, design="events",
            lags=range(0, 12), trial_length=(30, 40), baseline_drift=1.0, seed=200 + seed,
        )  # fmt: skip
        model = sr.ShaReD(3, lags=truth.lags, edges="zero", drift=8).fit(cohort)
        em = sr.encoding_map(model, cohort, n_null=200)
        fractions += (em.neurons["p"] < 0.05).groupby(em.neurons["session"]).mean().tolist()
    se = np.std(fractions, ddof=1) / np.sqrt(len(fractions))
    assert abs(np.mean(fractions) - 0.05) < 3 * se


def test_circular_null_refuses_trials_that_realign_and_segments_test_them():
    """Equal trials with the event at their first sample: shifts by whole trials compare the
    neurons with their own stimulus-locked responses, so they are not admissible."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=4, n_samples=1200, n_neurons=30, snr=0.5, design="events",
        lags=range(0, 12), trial_length=(30, 30), seed=5,
    )  # fmt: skip
    model = sr.ShaReD(3, lags=truth.lags, edges="zero").fit(cohort)
    with pytest.raises(DataError, match=r"realign the responses.*use null='segments'"):
        sr.encoding_map(model, cohort, n_null=199)
    em = sr.encoding_map(model, cohort, n_null=199, null="segments")
    assert (em.neurons["p"] < 0.05).mean() > 0.9  # every neuron carries the responses


def test_rank_zero_is_the_model_of_intercepts_and_nuisance(drifting):
    cohort, truth = drifting
    zero = sr.ShaReD(0, lags=truth.lags, drift=8).fit(cohort)
    assert zero.coef_.shape[1] == 0 and zero.loadings_.sizes["component"] == 0
    assert float(zero.score(cohort)) > 0.5  # the drift alone
    with pytest.raises(DataError, match="no shared component"):
        sr.encoding_map(zero, cohort, n_null=19)


def test_transfer_on_one_hot_positions_with_ridge_does_not_crash():
    rng = np.random.default_rng(0)
    sessions = []
    for i in range(3):
        pos = (np.sin(np.cumsum(rng.normal(size=2000)) / 30) + 1) / 2
        X = np.eye(12)[np.minimum((pos * 12).astype(int), 11)]  # one-hot: columns sum to one
        fields = rng.integers(0, 12, 20)
        Y = (np.argmax(X, 1)[:, None] == fields[None]).astype(float) + rng.normal(size=(2000, 20))
        sessions.append(sr.Session(X, Y, name=f"m{i}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SharedRepWarning)  # bins never visited in a fold
        tr = sr.transfer(sessions, [0.05, 0.2], n_components=2, alpha=10.0, lags=[0])
    assert np.isfinite(tr.summary[["shared", "individual"]].to_numpy()).all()


# -- the real V1 recordings ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def v1():
    path = SHARED_DATA / "v1_gratings"
    if not path.is_dir():
        pytest.skip("../shared/data/v1_gratings is not available")
    return sr.load_cohort(path).as_covariates(["running_speed", "pupil_z"])


V1 = dict(lags=range(0, 33), edges={"grating_*_onset": "zero"})


@pytest.mark.slow
def test_v1_trials_give_a_shared_representation_that_predicts_held_out_trials(v1):
    """The issue's analysis: onsets zero-padded, running and pupil private, default split."""
    cv = sr.cross_validate(v1, n_components=[0, 1, 2, 3, 4, 6, 8], alpha=[10, 100, 1000], **V1)
    best = cv.summary.loc[(cv.n_components, cv.alpha)]
    assert cv.split == "interleaved segments"
    assert cv.n_components > 1
    assert best["r2"] > 0 and best["se"] < best["r2"] / 5
    tr = sr.transfer(v1, [0.05, 0.1, 0.2], n_components=cv.n_components, alpha=cv.alpha, **V1)
    small = tr.summary.loc[[0.1, 0.2]]  # 13 and 26 of 128 trials fit the new animal's readout
    assert (small["difference"] > 0).all() and (small["wins"] >= 0.8).all()
    assert small.loc[0.2, "difference"] > 3 * small.loc[0.2, "se"]


@pytest.mark.slow
def test_v1_circular_null_is_refused_for_stimulus_locked_trials(v1):
    """Real data: every V1 trial holds its grating at the same time (49 samples, lags 0..32)."""
    model = sr.ShaReD(3, alpha=100.0, **V1).fit(v1)
    with pytest.raises(DataError, match=r"session '.+': only \d+ circular shifts are admissible"):
        sr.encoding_map(model, v1, n_null=199)
    em = sr.encoding_map(model, v1, n_null=199, null="segments")
    encoding = (em.neurons["p"] < 0.05).groupby(em.neurons["session"]).mean()
    assert encoding.size == len(v1) and encoding.max() > 0.2


def test_the_report_says_how_trials_folds_and_nuisance_entered(tmp_path):
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=1200, design="events", lags=range(0, 8), n_features=3,
        n_components=2, trial_length=(25, 30), baseline_drift=0.5, seed=6,
    )  # fmt: skip
    search = sr.ShaReDCV(
        n_components=[0, 1, 2], alpha=[1.0], folds=3, lags=truth.lags, edges="zero", drift=4
    ).fit(cohort)
    page = sr.report(search, cohort, tmp_path / "rep").read_text(encoding="utf-8")
    assert "3-fold cross-validation over interleaved segments" in page
    assert "Behavior outside a trial counted as zero (no event) for x0, x1, x2" in page
    assert "4 smooth functions of recording time" in page and "of the neural variance" in page
    assert 'id="trials"' in page and (tmp_path / "rep" / "figures" / "trial_average.png").is_file()
