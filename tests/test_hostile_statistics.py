"""Hostile inputs, family "statistics": the one pass over the data under offsets, extreme scales,
NaN appearing after construction, omitted samples, constant and silent columns, and windows that
cannot fit.

The right answers are independent computations written here (sums of squares with numpy, a fit
on the rows kept, the same data without the offset), or the library's error naming the session,
the array, the column or the sample.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.errors import DataError
from sharedrep.features import TemporalExpansion

LAGS = range(-1, 2)
RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def base():
    cohort, _ = sr.simulate.cohort(
        n_sessions=3, n_samples=300, n_neurons=6, n_features=2, lags=LAGS, seed=3
    )
    return cohort


def rebuilt(cohort, *, dx=0.0, sx=1.0, dy=0.0, sy=1.0, **kw):
    return sr.Cohort(
        [
            sr.Session(
                np.asarray(s.behavior) * sx + dx,
                np.asarray(s.neural) * sy + dy,
                s.segments,
                name=s.name,
                **kw,
            )
            for s in cohort
        ]
    )


def fit(cohort, d=2, **kw):
    with warnings.catch_warnings(record=True) as met:
        warnings.simplefilter("always", sr.SharedRepWarning)
        model = sr.ShaReD(d, lags=LAGS, **kw).fit(cohort)
    return model, [str(w.message) for w in met]


@pytest.fixture(scope="module")
def reference(base):
    return fit(base)[0]


# -- offsets: sums about shifts -----------------------------------------------------------------
@pytest.mark.parametrize("offset", [1e6, 1e8, -1e8])
def test_a_neural_offset_changes_nothing(base, reference, offset):
    data = rebuilt(base, dy=offset)
    model, met = fit(data)
    assert not [m for m in met if "silent" in m]  # 1e8 + noise is not silent
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(
        model.score(data).neuron.to_numpy(), reference.score(base).neuron.to_numpy(), atol=1e-6
    )
    pred = model.predict(data[0]).to_numpy() - offset
    np.testing.assert_allclose(pred, reference.predict(base[0]).to_numpy(), atol=1e-5)


@pytest.mark.parametrize("offset", [1e6, -1e9])
def test_a_behavior_offset_changes_nothing(base, reference, offset):
    model, _ = fit(rebuilt(base, dx=offset))
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)


def test_centred_sums_under_a_large_offset_match_numpy(base):
    s = base[0]
    y = np.asarray(s.neural) + 1e8
    shifted = sr.Session(s.behavior, y, name="s")
    st = sr.compute_stats(shifted, TemporalExpansion([0])).partial()
    yc = y - y.mean(axis=0)  # numpy, in one go: the reference
    np.testing.assert_allclose(st.y_sq_centred, (yc**2).sum(axis=0), rtol=1e-6)


# -- extreme scales: overflow and underflow are named -------------------------------------------
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"sx": 1e300}, r"behavior 'x0' has values of magnitude .*e\+300, whose squares overflow"),
        ({"sx": 1e-300}, r"behavior 'x0' has values of magnitude .*e-300, whose squares underflow"),
        ({"sy": 1e200}, r"neural 'n0' has values of magnitude .*e\+200, whose squares overflow"),
        ({"sy": 1e-200}, r"neural 'n0' .* whose squares underflow"),
    ],
)
def test_scales_whose_squares_leave_double_precision_are_named(base, kw, message):
    with pytest.raises(DataError, match=r"session 'session0': " + message):
        fit(rebuilt(base, **kw))


def test_covariates_out_of_range_are_named(base):
    s = base[0]
    run = pd.DataFrame({"run": np.full(300, 1e200)})
    bad = sr.Session(s.behavior, s.neural, name="s", covariates=run)
    with pytest.raises(DataError, match=r"covariates 'run' has values of magnitude 1e\+200"):
        sr.ShaReD(1, lags=LAGS).fit(bad)


# -- values changed after the session was built -------------------------------------------------
@pytest.mark.parametrize(
    ("what", "sample", "value"),
    [
        ("behavior", 10, np.nan),
        ("behavior", 250, np.inf),
        ("neural", 3, np.nan),
        ("neural", 200, -np.inf),
        ("covariates", 120, np.nan),
    ],
)
def test_a_value_written_after_construction_is_traced_to_its_sample(base, what, sample, value):
    s = base[0]
    X, Y, C = np.array(s.behavior), np.array(s.neural), RNG.normal(size=(300, 1))
    session = sr.Session(X, Y, name="m1", covariates=C)
    {"behavior": X, "neural": Y, "covariates": C}[what][sample, 0] = value
    message = rf"session 'm1': NaN or inf in {what} at sample {sample} \(the array was changed"
    with pytest.raises(DataError, match=message):
        sr.ShaReD(1, lags=LAGS, chunk_size=64).fit(session)


# -- omitted samples ----------------------------------------------------------------------------
def test_omitted_samples_give_the_fit_of_the_rows_kept(base):
    """With lag 0 only, omitting samples is dropping rows: the same fit on the rows kept."""
    s = base[0]
    X, Y = np.array(s.behavior), np.array(s.neural)
    bad = np.zeros(300, bool)
    bad[[5, 77, 78, 200]] = True
    Y[bad, 1] = np.nan
    with pytest.warns(sr.SharedRepWarning, match=r"omitting 4 of 300 samples"):
        omitted = sr.Session(X, Y, name="s", nan_policy="omit")
    kept = sr.Session(X[~bad], Y[~bad], name="s")
    a = sr.ShaReD(1, lags=[0]).fit(omitted)
    b = sr.ShaReD(1, lags=[0]).fit(kept)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    assert a.session_fits_["s"].n_samples == 296


def test_omit_on_lazy_sources_equals_omit_in_memory(base, tmp_path):
    s = base[0]
    X, Y = np.array(s.behavior), np.array(s.neural)
    Y[[20, 150], 2] = np.nan
    X[90, 0] = np.inf
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    with pytest.warns(sr.SharedRepWarning, match=r"omitting 3 of 300"):
        memory = sr.Session(X, Y, name="s", nan_policy="omit")
    lazy = sr.Session(
        sr.open_npy(tmp_path / "x.npy"),
        sr.open_npy(tmp_path / "y.npy"),
        name="s",
        nan_policy="omit",
    )
    a = sr.ShaReD(1, lags=LAGS).fit(memory)
    with pytest.warns(sr.SharedRepWarning, match=r"omitting 3 of 300 samples .* found while read"):
        b = sr.ShaReD(1, lags=LAGS, chunk_size=64).fit(lazy)
    np.testing.assert_allclose(b.coef_, a.coef_, atol=1e-10)
    assert a.session_fits_["s"].n_samples == b.session_fits_["s"].n_samples


def test_nan_in_a_lazy_source_under_raise_is_found_while_reading(base, tmp_path):
    s = base[0]
    Y = np.array(s.neural)
    Y[170, 4] = np.nan
    np.save(tmp_path / "y.npy", Y)
    lazy = sr.Session(np.asarray(s.behavior), sr.open_npy(tmp_path / "y.npy"), name="m1")
    message = r"NaN or inf in neural at sample 170 \(found while reading the data.*'omit'\)"
    with pytest.raises(DataError, match=message):
        sr.ShaReD(1, lags=LAGS, chunk_size=64).fit(lazy)


def test_a_lazy_neuron_nan_throughout_is_not_called_too_short(base, tmp_path):
    s = base[0]
    Y = np.array(s.neural)
    Y[:, 3] = np.nan
    np.save(tmp_path / "y.npy", Y)
    lazy = sr.Session(
        np.asarray(s.behavior), sr.open_npy(tmp_path / "y.npy"), name="m1", nan_policy="omit"
    )
    message = r"'m1': nan_policy='omit' excluded 300 of its 300 samples .* NaN throughout"
    with pytest.raises(DataError, match=message):
        sr.ShaReD(1, lags=LAGS).fit(lazy)


# -- constant features, silent neurons, windows that cannot fit ---------------------------------
def test_a_constant_feature_is_named_when_it_leaves_too_few_columns(base):
    data = sr.Cohort(
        [
            sr.Session(np.c_[np.asarray(s.behavior)[:, 0], np.ones(300)], s.neural, name=s.name)
            for s in base
        ]
    )
    with pytest.warns(sr.SharedRepWarning, match=r"behavior features \['x1'\] are constant"):
        model = sr.ShaReD(1, lags=LAGS).fit(data)
    np.testing.assert_array_equal(model.loadings_.sel(feature="x1").to_numpy(), 0.0)
    message = r"n_components=4 is more than the data support: the design has 3 informative"
    with (
        pytest.raises(DataError, match=message + r".*features constant .*\['x1'\]"),
        pytest.warns(sr.SharedRepWarning, match="constant"),
    ):
        sr.ShaReD(4, lags=LAGS).fit(data)


def test_events_at_trial_starts_with_dropped_edges_get_the_remedy():
    rng = np.random.default_rng(4)
    seg = np.repeat(np.arange(20), 15)
    onset = np.zeros((300, 1))
    onset[seg != np.r_[-1, seg[:-1]]] = 1.0  # an impulse at the first sample of every trial
    s = sr.Session(onset, rng.normal(size=(300, 4)), seg, name="m1", feature_names=["cue"])
    with (
        pytest.raises(DataError, match=r"use edges='zero' for event regressors"),
        pytest.warns(sr.SharedRepWarning, match=r"\['cue'\] are constant"),  # never seen
    ):
        sr.ShaReD(1, lags=range(0, 4)).fit(s)
    model = sr.ShaReD(1, lags=range(0, 4), edges="zero").fit(s)
    assert np.abs(model.loadings_.to_numpy()).max() > 0


def test_a_silent_neuron_is_kept_with_r2_nan(base):
    s = base[0]
    Y = np.array(s.neural)
    Y[:, 2] = 7.0
    data = sr.Session(s.behavior, Y, name="m1")
    with pytest.warns(sr.SharedRepWarning, match=r"'m1': 1 silent neuron\(s\) .* index \[2\]"):
        model = sr.ShaReD(1, lags=LAGS).fit(data)
    r2 = model.score(data).neuron.to_numpy()
    assert np.isnan(r2[2]) and np.isfinite(np.delete(r2, 2)).all()
    np.testing.assert_array_equal(model.session_fits_["m1"].readout[:, 2], 0.0)


@pytest.mark.parametrize("lags", [range(0, 400), [0, 10**8]])
def test_lags_longer_than_the_session_are_refused_before_allocating(base, lags):
    with pytest.raises(DataError, match=r"session 'session0' is too short for lags 0\.\."):
        sr.ShaReD(1, lags=lags).fit(base)


def test_zero_padded_lags_beyond_every_segment_are_refused_before_allocating(base):
    longest = max(int(np.bincount(s.segments).max()) for s in base)  # trials of the simulation
    message = rf"lags 0\.\.99999 reach 99999 samples, but the longest segment .* has {longest} "
    with pytest.raises(DataError, match=message):
        sr.ShaReD(1, lags=range(0, 100_000), edges="zero").fit(base)


def test_statistics_do_not_depend_on_the_chunk_size(base):
    s = base[1]
    ex = TemporalExpansion(LAGS)
    whole = sr.compute_stats(s, ex).partial()
    for chunk in (7, 64, 299):
        part = sr.compute_stats(s, ex, chunk_size=chunk).partial()
        np.testing.assert_allclose(part.cov_phi, whole.cov_phi, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(part.cross, whole.cross, rtol=1e-10, atol=1e-9)
