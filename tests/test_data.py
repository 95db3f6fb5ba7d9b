"""Containers: accepted input types, and clear errors that name the session and the problem."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sharedrep as sr


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 3)), rng.normal(size=(300, 5))


def test_dataframes_and_dataarrays_give_names(arrays):
    X, Y = arrays
    s = sr.Session(
        pd.DataFrame(X, columns=["lever", "lick", "body"]),
        pd.DataFrame(Y, columns=[f"roi{i}" for i in range(5)]),
        name="a",
    )
    assert s.feature_names == ("lever", "lick", "body")
    assert s.neuron_names[0] == "roi0"
    da = xr.DataArray(
        X.T,
        dims=("feature", "time"),
        coords={"feature": ["lever", "lick", "body"], "time": np.arange(300) / 30},
    )
    s2 = sr.Session(da, Y, name="b")
    assert s2.feature_names == ("lever", "lick", "body")
    np.testing.assert_array_equal(s2.behavior, X)  # transposed to (time, feature)
    np.testing.assert_allclose(s2.time[:2], [0, 1 / 30])


def test_length_mismatch_names_the_session(arrays):
    X, Y = arrays
    with pytest.raises(sr.DataError, match=r"session 'm3'.*300 samples.*299"):
        sr.Session(X, Y[:-1], name="m3")


def test_feature_names_must_agree_across_sessions(arrays):
    X, Y = arrays
    a = sr.Session(X, Y, name="a", feature_names=["lever", "lick", "body"])
    b = sr.Session(X, Y, name="b", feature_names=["lever", "licks", "body"])
    with pytest.raises(sr.DataError, match=r"session 'b' has behavior features.*'a'"):
        sr.Cohort([a, b])


def test_nan_is_an_error_by_default_and_omitted_on_request(arrays):
    X, Y = arrays
    X = X.copy()
    X[[10, 11], 0] = np.nan
    with pytest.raises(sr.DataError, match=r"session 'x': 2 behavior.*nan_policy='omit'"):
        sr.Session(X, Y, name="x")
    with pytest.warns(sr.SharedRepWarning, match="omitting 2 of 300"):
        s = sr.Session(X, Y, name="x", nan_policy="omit")
    assert s.n_omitted == 2 and not s.usable[10]
    assert np.isnan(X[10, 0])  # the caller's data are untouched


def test_constant_feature_warns_and_gets_zero_loading(arrays):
    X, Y = arrays
    X = X.copy()
    X[:, 2] = 4.0
    cohort = sr.Cohort([sr.Session(X, Y, name="a"), sr.Session(X[::-1].copy(), Y, name="b")])
    with pytest.warns(sr.SharedRepWarning, match=r"\['x2'\] are constant"):
        m = sr.ShaReD(1, lags=[0, 1]).fit(cohort)
    np.testing.assert_array_equal(m.loadings_.sel(feature="x2").values, 0.0)
    assert np.isfinite(m.coef_).all()


def test_silent_neuron_warns_and_scores_nan(arrays):
    X, Y = arrays
    Y = Y.copy()
    Y[:, 3] = 0.0
    with pytest.warns(sr.SharedRepWarning, match=r"session 'a': 1 silent neuron.*\[3\]"):
        m = sr.ShaReD(1, lags=[0]).fit(sr.Session(X, Y, name="a"))
    np.testing.assert_array_equal(m.readouts_["a"].values[:, 3], 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        scores = m.score(sr.Session(X, Y, name="a"))
    assert np.isnan(scores.neuron.loc[("a", "n3")])
    assert np.isfinite(scores.pooled)


def test_too_many_components(arrays):
    X, Y = arrays
    with pytest.raises(sr.DataError, match=r"n_components=7 is more than the data support"):
        sr.ShaReD(7, lags=[0, 1]).fit(sr.Session(X, Y, name="a"))


def test_session_too_short_for_lags(arrays):
    X, Y = arrays
    short = sr.Session(X[:8], Y[:8], name="tiny")
    with pytest.raises(sr.DataError, match=r"session 'tiny' is too short for lags -5..5"):
        sr.ShaReD(1, lags=range(-5, 6)).fit(short)
    chopped = sr.Session(X, Y, np.arange(300) // 4, name="trials4")
    with pytest.raises(sr.DataError, match="'trials4' is too short"):
        sr.ShaReD(1, lags=range(-2, 3)).fit(chopped)


def test_empty_cohort_and_duplicates(arrays):
    X, Y = arrays
    with pytest.raises(sr.DataError, match="empty cohort"):
        sr.Cohort([])
    with pytest.raises(sr.DataError, match=r"duplicate session names.*'a'"):
        sr.Cohort([sr.Session(X, Y, name="a"), sr.Session(X, Y, name="a")])
    with pytest.raises(sr.DataError, match="cohort item 1 is a ndarray"):
        sr.Cohort([sr.Session(X, Y, name="a"), X])


def test_other_bad_inputs(arrays):
    X, Y = arrays
    with pytest.raises(sr.DataError, match="segments must have shape"):
        sr.Session(X, Y, np.zeros(10), name="a")
    with pytest.raises(sr.DataError, match="duplicate behavior names"):
        sr.Session(X, Y, name="a", feature_names=["a", "a", "b"])
    with pytest.raises(sr.DataError, match="different sampling rates"):
        sr.Cohort([sr.Session(X, Y, name="a", rate=30), sr.Session(X, Y, name="b", rate=20)])
    with pytest.raises(ValueError, match="lags are counted in samples"):
        sr.ShaReD(1, lags=[0.5, 1]).fit(sr.Session(X, Y, name="a"))
    with pytest.raises(ValueError, match="objective must be one of"):
        sr.ShaReD(1, objective="mutual_information").fit(sr.Session(X, Y, name="a"))
    m = sr.ShaReD(1, lags=[0]).fit(sr.Session(X, Y, name="a"))
    with pytest.raises(KeyError, match=r"session 'b' has no readout.*fit_readout"):
        m.predict(sr.Session(X, Y, name="b"))
    with pytest.raises(sr.DataError, match="session 'c' has behavior features"):
        m.transform(sr.Session(X, Y, name="c", feature_names=["p", "q", "r"]))
    with pytest.raises(sr.DataError, match="session 'a' has behavior features"):
        m.score(sr.Session(X[:, ::-1], Y, name="a", feature_names=["x2", "x1", "x0"]))
    with pytest.raises(sr.NotFittedError, match="not fitted"):
        sr.ShaReD().transform(sr.Session(X, Y))


def test_unit_mismatch_between_sessions_warns(arrays):
    X, Y = arrays
    a = sr.Session(X, Y, name="metres")
    b = sr.Session(X * 100, Y, name="centimetres")
    with pytest.warns(sr.SharedRepWarning, match="Are the units the same"):
        sr.ShaReD(1, lags=[0]).fit(sr.Cohort([a, b]))


def test_cohort_access_and_table(small_cohort):
    cohort, _ = small_cohort
    assert cohort["session1"] is cohort[1]
    assert len(cohort[1:3]) == 2
    table = cohort.to_frame()
    assert list(table.index) == list(cohort.names)
    assert (table["samples"] == [s.n_samples for s in cohort]).all()
    with pytest.raises(KeyError, match="no session named 'nope'"):
        cohort["nope"]


def test_metadata_only_copy_keeps_names_and_refuses_reads(small_cohort):
    cohort, truth = small_cohort
    bare = cohort.without_data()
    assert bare.names == cohort.names and bare.feature_names == cohort.feature_names
    for s, b in zip(cohort, bare, strict=True):
        assert (b.n_samples, b.n_neurons, b.neuron_names) == (
            s.n_samples,
            s.n_neurons,
            s.neuron_names,
        )
        np.testing.assert_array_equal(b.segments, s.segments)
    with pytest.raises(sr.DataError, match=r"session 'session1'.*no neural data"):
        np.asarray(bare[1].neural)
    with pytest.raises(sr.DataError, match="no behavior data"):
        bare[0].behavior[:10]
    # the original keeps its data, and a fit from statistics needs only the metadata
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    from sharedrep.backend import cohort_stats

    stats = cohort_stats(cohort, model.expansion_)
    again = sr.ShaReD(2, lags=truth.lags).fit_from_stats(stats, bare)
    np.testing.assert_array_equal(again.coef_, model.coef_)
    # work that needs the recordings says which session is missing its data
    with pytest.raises(sr.DataError, match="session 'session0'"):
        sr.ShaReD(2, lags=truth.lags).fit(bare)
