"""Encoding map, nulls, FDR, condition comparison, bootstrap bands, variance split."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as ss
import xarray as xr

import sharedrep as sr
from sharedrep.errors import DataError, SharedRepWarning
from sharedrep.folds import fold_labels
from sharedrep.inference.nulls import _circular_cross, _explained, _prev_fast_len, _shift_grid
from test_selection import _subset


def _null_cohort(seed: int, n_sessions: int = 4, **kw):
    kw = {"n_samples": (1200, 1500), "n_neurons": (30, 40), **kw}
    return sr.simulate.cohort(n_sessions=n_sessions, snr=0.0, seed=seed, **kw)


def test_benjamini_hochberg_matches_its_definition():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=40) ** 3, [np.nan, np.nan]])
    rng.shuffle(p)
    q = sr.benjamini_hochberg(p)
    ok = np.isfinite(p)
    m = ok.sum()
    for i in np.flatnonzero(ok):
        ranks = {j: (p[ok] <= p[j]).sum() for j in np.flatnonzero(ok)}
        expect = min(min(1.0, p[j] * m / ranks[j]) for j in ranks if p[j] >= p[i])
        assert q[i] == pytest.approx(expect)
    assert np.isnan(q[~ok]).all()
    # rejections at level 0.1 = the step-up rule: largest k with p_(k) <= k * 0.1 / m
    ps = np.sort(p[ok])
    k = np.max(np.flatnonzero(ps <= np.arange(1, m + 1) * 0.1 / m), initial=-1) + 1
    assert (q[ok] < 0.1 + 1e-12).sum() == k


@pytest.mark.parametrize(("T", "delta"), [(300, 1), (300, 4), (301, 7)])
def test_fft_null_equals_explicit_shifted_regressions(T, delta):
    rng = np.random.default_rng(1)
    d, n = 3, 4
    Z = np.cumsum(rng.normal(size=(T, d)), axis=0)  # strongly autocorrelated latents
    Y = rng.normal(size=(T, n)) + Z[:, :1] * 0.1
    Zc, Yc = Z - Z.mean(0), Y - Y.mean(0)
    ks = np.array([0, 1, 7, T // delta // 2, T // delta - 1])
    c = _circular_cross(Zc, np.fft.rfft(Yc, axis=0), delta, ks)
    ess, dess = _explained(c, np.linalg.inv(Zc.T @ Zc))
    X = np.column_stack([np.ones(T), Z])
    for a, tau in enumerate(ks * delta):
        y = np.roll(Y, tau, axis=0)  # y[t] = Y[t - tau]
        resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        sst = ((y - y.mean(0)) ** 2).sum(0)
        np.testing.assert_allclose(ess[a], sst - (resid**2).sum(0), rtol=1e-8)
        for j in range(d):
            Xj = np.delete(X, j + 1, axis=1)
            rj = y - Xj @ np.linalg.lstsq(Xj, y, rcond=None)[0]
            np.testing.assert_allclose(dess[a, j], (rj**2).sum(0) - (resid**2).sum(0), rtol=1e-7)


def test_shift_grid_spacing_and_range():
    delta, ks = _shift_grid(19440, 25, 1000)
    shifts = ks * delta
    assert 19440 % delta == 0 and ks.size >= 1000
    assert shifts.min() >= 25 and shifts.max() <= 19440 - 25
    # the largest such spacing: the next divisor up would leave fewer than 1000 shifts
    bigger = next(a for a in range(delta + 1, 19440) if 19440 % a == 0)
    assert (
        (np.arange(0, 19440, bigger) >= 25) & (np.arange(0, 19440, bigger) <= 19415)
    ).sum() < 1000
    # too short for the request: every allowed shift
    delta, ks = _shift_grid(120, 10, 1000)
    assert delta == 1 and ks.tolist() == list(range(10, 111))
    assert _prev_fast_len(19406) <= 19406 and _prev_fast_len(19406) >= 19406 * 0.99


def test_null_cohort_is_calibrated_and_in_sample_w_is_not():
    p_all, pc_all, naive = [], [], []
    for seed in (0, 1):
        cohort, truth = _null_cohort(seed)
        model = sr.ShaReD(3, lags=truth.lags).fit(cohort)
        em = sr.encoding_map(model, cohort, n_null=200)
        assert em.cross_fit == "session"
        # FDR: no neuron (or at most 5%) called encoding when nothing is encoded
        assert em.neurons["encodes"].mean() <= 0.05
        assert em.components["encodes"].mean() <= 0.05
        p_all.append(em.neurons["p"].to_numpy())
        pc_all.append(em.components["p"].to_numpy())
        bad = sr.encoding_map(model, cohort, n_null=200, cross_fit="none")
        naive.append(bad.neurons["p"].to_numpy())
    p, pc, pn = (np.concatenate(v) for v in (p_all, pc_all, naive))
    assert ss.kstest(p, "uniform").pvalue > 0.01
    assert ss.kstest(pc, "uniform").pvalue > 0.001  # components of a neuron are dependent
    assert 0.02 <= (p < 0.05).mean() <= 0.08
    # the pitfall: W fitted on the tested neurons makes the circular null anti-conservative
    assert ss.kstest(pn, "uniform").pvalue < 1e-4
    assert pn.mean() < p.mean() - 0.1


def test_single_session_is_cross_fitted_over_folds_and_calibrated():
    cohort, truth = _null_cohort(2, n_sessions=1, n_samples=4000, n_neurons=120)
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    em = sr.encoding_map(model, cohort, n_null=100, folds=4)
    assert em.cross_fit == "folds"
    assert ss.kstest(em.neurons["p"], "uniform").pvalue > 0.01
    assert em.neurons["encodes"].mean() <= 0.05


def test_power_at_default_snr_and_segment_null():
    cohort, truth = sr.simulate.cohort(
        n_sessions=4, n_samples=(1200, 1500), n_neurons=(30, 40), seed=3
    )
    model = sr.ShaReD(3, lags=truth.lags).fit(cohort)
    em = sr.encoding_map(model, cohort, n_null=200)
    power = em.neurons["encodes"].mean()
    assert power >= 0.95
    assert (em.neurons["r2_crossfit"] > 0).mean() >= 0.95
    assert em.summary().shape == (4, 4)
    seg = sr.encoding_map(model, cohort, null="segments", n_null=100)
    assert seg.neurons["encodes"].mean() >= 0.95
    assert np.isnan(seg.sessions["min_shift"]).all()
    # the segment null is calibrated too
    cohort0, truth0 = _null_cohort(4)
    model0 = sr.ShaReD(3, lags=truth0.lags).fit(cohort0)
    seg0 = sr.encoding_map(model0, cohort0, null="segments", n_null=100)
    assert ss.kstest(seg0.neurons["p"], "uniform").pvalue > 0.01


def test_heldout_r2_with_fixed_w_matches_raw_data_refits():
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=(700, 800), seed=6)
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    K = 3
    em = sr.encoding_map(model, cohort, n_null=50, folds=K, cross_fit="none", min_shift=20)
    s = cohort[1]
    lab = fold_labels(s, K)
    sse = np.zeros(s.n_neurons)
    sst = np.zeros(s.n_neurons)
    for k in range(K):
        m = sr.ShaReD(2, lags=truth.lags).fit(cohort)  # same W; readout refitted below
        m.fit_readout(_subset(s, lab != k), replace=True)  # part of a training session
        test = _subset(s, lab == k)
        pred = m.predict(test).to_numpy()
        y = np.asarray(test.neural)
        ok = np.isfinite(pred[:, 0])
        sse += ((y[ok] - pred[ok]) ** 2).sum(0)
        sst += ((y[ok] - y[ok].mean(0)) ** 2).sum(0)
    mine = em.neurons[em.neurons["session"] == s.name]["r2_crossfit"].to_numpy()
    np.testing.assert_allclose(mine, 1 - sse / sst, rtol=1e-6)


def test_encoding_map_rejects_bad_arguments():
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=600, seed=0)
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    with pytest.raises(ValueError, match="null must be"):
        sr.encoding_map(model, cohort, null="shuffle")
    with pytest.raises(ValueError, match="n_null"):
        sr.encoding_map(model, cohort, n_null=5)
    with pytest.raises(DataError, match="circular-shift null cannot test this session"):
        sr.encoding_map(model, cohort, n_null=100, min_shift=290)
    with pytest.raises(sr.NotFittedError, match="not fitted"):
        sr.encoding_map(sr.ShaReD(2), cohort)


def _two_condition_cohort(n_subjects: int, seed: int = 3):
    """Each subject: one naive and one expert session; naive sessions lose half their signal."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=2 * n_subjects, n_samples=(800, 1000), n_neurons=(20, 30), seed=seed
    )
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(cohort):
        cond = "naive" if i % 2 == 0 else "expert"
        y = np.array(s.neural, copy=True)
        if cond == "naive":
            k = s.n_neurons // 2
            y[:, :k] = rng.normal(size=(s.n_samples, k)) * y[:, :k].std(0) + 2.0
        out.append(
            sr.Session(
                s.behavior,
                y,
                s.segments,
                name=s.name,
                subject=f"mouse{i // 2}",
                condition=cond,
                feature_names=s.feature_names,
                rate=30.0,
            )
        )
    return sr.Cohort(out), truth


def test_compare_conditions_answers_naive_vs_expert_in_one_table():
    cohort, truth = _two_condition_cohort(6)
    model = sr.ShaReD(3, lags=truth.lags).fit(cohort)
    em = sr.encoding_map(model, cohort, n_null=100)
    table = sr.compare_conditions(model, cohort, encoding=em, n_perm=300)
    assert list(table.columns) == ["naive", "expert", "difference", "p_value"]
    assert table.attrs["permutation"] == "within-subject"
    # the fractions are those of the encoding map, pooled over each condition's neurons
    frac = em.neurons.groupby("condition")["encodes"].mean()
    row = table.loc[("any", "fraction_encoding")]
    assert row["naive"] == pytest.approx(frac["naive"])
    assert row["expert"] == pytest.approx(frac["expert"])
    assert row["difference"] > 0.3
    assert row["p_value"] < 0.05
    strength = table.xs("strength", level="measure")
    assert (strength["expert"] > strength["naive"]).all()
    # peak lags in samples and seconds, consistent with the rate
    lag = table.xs("peak_lag", level="measure")["naive"].to_numpy()
    lag_s = table.xs("peak_lag_s", level="measure")["naive"].to_numpy()
    np.testing.assert_allclose(lag_s, lag / 30.0)
    assert set(lag) <= set(truth.lags.tolist())


def test_compare_conditions_permutes_between_subjects_without_paired_sessions():
    cohort, truth = sr.simulate.cohort(
        n_sessions=4, n_samples=(800, 900), conditions=["a", "b"], seed=1
    )
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    table = sr.compare_conditions(model, cohort, n_perm=50, n_null=50)
    assert table.attrs["permutation"] == "between-subject"
    # no real difference between conditions: nothing comes out significant
    assert (table["p_value"] > 0.05).all()
    with pytest.raises(DataError, match="no 'group' label"):
        sr.compare_conditions(model, cohort, by="group", n_null=50)


def test_peak_lag_is_the_lag_of_largest_energy_over_features():
    vals = np.zeros((2, 5, 2))
    vals[0, 1, 0], vals[1, 3, 0] = 1.0, 0.9  # energy at lag index 1 wins (1.0 > 0.81)
    vals[0, 4, 1], vals[1, 4, 1] = -0.5, 0.5
    vals[1, 0, 1] = 0.6  # 0.36 < 0.5
    da = xr.DataArray(
        vals,
        dims=("feature", "lag", "component"),
        coords={"feature": ["a", "b"], "lag": [-2, -1, 0, 1, 2], "component": [0, 1]},
    )
    da = da.assign_coords(lag_s=("lag", np.array([-2, -1, 0, 1, 2]) / 10.0))
    peaks = sr.peak_lag(da)
    assert peaks.to_numpy().tolist() == [-1, 2]
    assert peaks["lag_s"].to_numpy().tolist() == [-0.1, 0.2]


def test_bootstrap_bands_shrink_with_signal_and_contain_the_estimate():
    widths = {}
    for snr in (0.05, 1.0):
        cohort, truth = sr.simulate.cohort(
            n_sessions=6,
            n_samples=(700, 900),
            n_neurons=(20, 30),
            n_components=2,
            snr=snr,
            seed=8,
        )
        model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
        bands = sr.bootstrap_loadings(model, cohort, n_boot=25, seed=1)
        inside = (bands["lower"] <= bands["loadings"] + 1e-9) & (
            bands["loadings"] <= bands["upper"] + 1e-9
        )
        assert float(inside.mean()) >= 0.9
        assert (bands["peak_lag_lower"] <= bands["peak_lag_upper"]).all()
        assert bands["samples"].sizes["sample"] == 25
        widths[snr] = float((bands["upper"] - bands["lower"]).mean())
    # 20x the signal-to-noise ratio: bands about sqrt(20) ~ 4.5x narrower
    assert widths[1.0] < 0.4 * widths[0.05]
    with pytest.raises(DataError, match="at least two sessions"):
        sr.bootstrap_loadings(model, cohort[:1])


def test_variance_split_finds_private_dimensions():
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=(1500, 1800), n_neurons=(30, 40), seed=2
    )
    rng = np.random.default_rng(0)
    expansion = sr.TemporalExpansion(truth.lags)
    sessions = []
    for i, s in enumerate(cohort):
        y = np.array(s.neural, copy=True)
        # sessions 1, 2: one private dimension of their own, weaker than the shared ones
        # (a stronger one would rightly be taken into the rank-3 shared W)
        if i > 0:
            x = np.asarray(s.behavior)
            valid = np.ones(s.n_samples, dtype=bool)
            valid[: expansion.span] = valid[-expansion.span :] = False
            phi = np.nan_to_num(expansion.design(x, valid))
            z = phi @ rng.normal(size=phi.shape[1])
            y += np.outer(z / z.std(), rng.normal(size=s.n_neurons)) * 0.2 * y.std(0)
        sessions.append(
            sr.Session(s.behavior, y, s.segments, name=s.name, feature_names=s.feature_names)
        )
    cohort = sr.Cohort(sessions)
    model = sr.ShaReD(3, lags=truth.lags).fit(cohort)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SharedRepWarning)
        split = sr.variance_split(model, cohort, max_private=3, folds=4)
    assert split.loc["session0", "n_private"] == 0
    assert (split.loc[["session1", "session2"], "n_private"] == 1).all()
    gain = split["r2_private"] - split["r2_shared"]
    assert (gain.loc[["session1", "session2"]] > 0.01).all()
    assert split.attrs["curve"].shape == (3, 4)
    np.testing.assert_allclose(split["private_fraction"], gain / split["r2_full"], rtol=1e-12)


def test_statistics_of_a_correlation_model_keep_the_neural_gram(monkeypatch):
    # variance_split refits W per fold; objective="correlation" whitens with the neural Gram
    # matrices, so its fold statistics must keep them
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=(500, 600), seed=3)
    model = sr.ShaReD(2, lags=truth.lags, objective="correlation").fit(cohort)
    seen = []
    compute = sr.selection.FoldStats.compute

    def spy(*args, **kwargs):
        fs = compute(*args, **kwargs)
        seen.append(all(st.has_gram for st in fs.stats))
        return fs

    monkeypatch.setattr(sr.selection.FoldStats, "compute", spy)
    sr.variance_split(model, cohort, max_private=1, folds=3, ceiling_alphas=(1.0,))
    assert seen == [True]
