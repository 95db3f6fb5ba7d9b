"""compare_populations: timing of populations recorded together under one W."""

from __future__ import annotations

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.inference.populations import (
    covariance_filters,
    lag_covariance,
    neuron_timing,
    profile_peak,
    weighted_means,
)
from study_fixtures import MOVEMENT, conditions_study


def test_profile_peak_is_the_centre_of_a_peak_and_only_moves_with_it():
    lags = np.arange(-10, 11)
    bump = np.exp(-0.5 * ((lags - 2.0) / 2.5) ** 2)
    assert profile_peak(bump, lags) == pytest.approx(2.0)
    # scaling and adding a far, lower bump do not move it; shifting moves it by the shift
    assert profile_peak(7.3 * bump, lags) == pytest.approx(2.0)
    far = bump + 0.3 * np.exp(-0.5 * ((lags + 8.0) / 1.0) ** 2)
    assert profile_peak(far, lags) == pytest.approx(2.0, abs=1e-6)
    assert profile_peak(np.roll(bump, 3), lags) == pytest.approx(5.0)
    # between lags: a peak at 2.4 is found between 2 and 3
    between = np.exp(-0.5 * ((lags - 2.4) / 2.5) ** 2)
    assert profile_peak(between, lags) == pytest.approx(2.4, abs=0.1)
    # a flat top is timed at its centre, batches work, an empty profile is NaN
    flat = np.zeros(lags.size)
    flat[12:17] = 1.0  # lags 2..6
    np.testing.assert_allclose(profile_peak(np.stack([flat, bump]), lags), [4.0, 2.0])
    assert np.isnan(profile_peak(np.zeros(lags.size), lags))


def test_weighted_means_and_their_jackknife_variance_by_hand():
    rng = np.random.default_rng(0)
    t, w = rng.normal(size=9), rng.uniform(0.1, 2, size=9)
    member = np.zeros((2, 9))
    member[0, :5] = 1
    member[1, 5:] = 1
    m, V = weighted_means(t, w, member)
    for g, rows in enumerate((slice(0, 5), slice(5, 9))):
        tt, ww = t[rows], w[rows]
        mean = np.sum(ww * tt) / ww.sum()
        h = ww / ww.sum()
        var = np.sum((ww * (tt - mean) / (1 - h)) ** 2) / ww.sum() ** 2
        assert m[g] == pytest.approx(mean) and V[g] == pytest.approx(var)


@pytest.fixture(scope="module")
def study():
    return conditions_study()


@pytest.fixture(scope="module")
def timing(study):
    cohort, _, model, _ = study
    return sr.compare_populations(model, cohort, features=MOVEMENT, n_perm=400, n_boot=400)


def test_lead_and_its_growth_are_recovered(study, timing):
    cohort, truth, model, _ = study
    true = truth.population_timing(model, cohort, MOVEMENT, pooled=True)
    true = true[true["population"] == "lead"].set_index("condition")["peak_lag"]
    diff = timing.differences.xs("m1 - thalamic_axon", level="contrast")
    for cond in ("naive", "expert"):
        row = diff.loc[cond]
        assert row["ci_low"] <= true[cond] <= row["ci_high"]
    exp = diff.loc["expert"]
    assert exp["difference"] > 0 and exp["p_value"] < 0.01  # the thalamus leads
    # in seconds, near the set lead of the axons' drive (60 ms)
    assert 0.02 < exp["difference_s"] < 0.1
    change = timing.change.loc["m1 - thalamic_axon"]
    assert change["change"] > 0 and change["p_value"] < 0.01
    assert change["ci_low"] <= true["expert"] - true["naive"] <= change["ci_high"]
    assert "matched across sessions" in timing.attrs["change_permutation"]


def test_tables_agree_with_each_other(study, timing):
    cohort, _, _, _ = study
    t = timing.timing
    for cond in ("naive", "expert"):
        lead = t.loc[(cond, "m1"), "timing"] - t.loc[(cond, "thalamic_axon"), "timing"]
        assert timing.differences.loc[(cond, "m1 - thalamic_axon"), "difference"] == pytest.approx(
            lead
        )
    # the session table's timing is the weighted mean of the neuron table's
    n = timing.neurons
    s0 = cohort.names[0]
    rows = n[(n["session"] == s0) & (n["population"] == "m1")]
    want = np.average(rows["timing"], weights=rows["weight"])
    got = timing.sessions.query("session == @s0 and population == 'm1'")["timing"].item()
    assert got == pytest.approx(want)
    assert timing.profiles.shape[0] == study[2].expansion_.lags.size
    assert np.allclose(timing.profiles.sum(axis=0), 1.0)
    assert timing.profiles.index.names == ["lag", "lag_s"]
    shares = timing.shares.filter(like="share_")
    np.testing.assert_allclose(shares.groupby(level="condition").sum(), 1.0)


def test_neuron_timing_is_what_covariance_filters_give(study, timing):
    cohort, _, model, _ = study
    s = cohort[0]
    idx = [model.feature_names_.index(f) for f in MOVEMENT]
    F = covariance_filters(model.loadings_.to_numpy(), lag_covariance(model, cohort), idx)
    V = model.session_fits_[s.name].readout
    c = np.einsum("fld,dn->fln", F, V)
    t, w = neuron_timing(np.einsum("fln,fln->nl", c, c), model.expansion_.lags)
    got = timing.neurons[timing.neurons["session"] == s.name]
    np.testing.assert_allclose(got["timing"], t)
    np.testing.assert_allclose(got["weight"], w)


def test_no_lead_gives_no_small_p_and_intervals_cover_zero():
    cohort, truth, model, _ = conditions_study(thalamic_lead=0.0, tag_enrichment=0.0, seed=11)
    res = sr.compare_populations(model, cohort, features=MOVEMENT, n_perm=400, n_boot=400)
    d = res.differences
    assert (d["p_value"] > 0.01).all()
    assert ((d["ci_low"] < 0) & (d["ci_high"] > 0)).all()
    true = truth.population_timing(model, cohort, MOVEMENT, pooled=True)
    assert true.loc[true["population"] == "lead", "peak_lag"].abs().max() < 0.5


def test_basis_model_times_through_the_lag_space_covariance(study):
    cohort, truth, model, _ = study
    # without a basis the lag covariance is the model's design covariance
    np.testing.assert_array_equal(lag_covariance(model, cohort), model.design_covariance_)
    smooth = sr.ShaReD(4, lags=truth.lags, n_basis=12).fit(cohort)
    cov = lag_covariance(smooth, cohort)
    assert cov.shape == model.design_covariance_.shape
    np.testing.assert_allclose(cov, model.design_covariance_, rtol=1e-6, atol=1e-9)
    res = sr.compare_populations(smooth, cohort, features=MOVEMENT, n_perm=50, n_boot=50)
    assert res.differences.loc[("expert", "m1 - thalamic_axon"), "difference"] > 0


def test_errors(study):
    cohort, _, model, _ = study
    with pytest.raises(sr.DataError, match="at least two populations"):
        sr.compare_populations(model, cohort, where="population == 'm1'")
    with pytest.raises(sr.DataError, match="not behavioral variables"):
        sr.compare_populations(model, cohort, features=["speed"])
    with pytest.raises(sr.DataError, match="no neuron_info column"):
        sr.compare_populations(model, cohort, by="layer")
