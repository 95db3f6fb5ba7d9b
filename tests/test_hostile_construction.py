"""Hostile inputs, family "construction": what a Session and a Cohort accept, and what they refuse.

Every case asserts the specific outcome: the values a session holds, checked against an
independent conversion written here, or the library's own error with a message that names the
session, the array, the column and the cause. The rules are those of ``sharedrep._dtypes``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sharedrep as sr
from sharedrep._dtypes import real_values
from sharedrep.errors import DataError

T, P, N = 40, 2, 3
RNG = np.random.default_rng(2024)
X = RNG.normal(size=(T, P))
Y = RNG.normal(size=(T, N))


def session(behavior=None, neural=None, **kw) -> sr.Session:
    return sr.Session(X if behavior is None else behavior, Y if neural is None else neural, **kw)


# -- values: what a recording may hold ---------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("behavior", r"behavior has dtype complex128: complex numbers, whose imaginary part"),
        ("neural", r"neural has dtype complex128: complex numbers"),
        ("covariates", r"covariates has dtype complex128"),
    ],
)
def test_complex_arrays_are_refused_not_truncated(where, message):
    Z = RNG.normal(size=(T, 2)) + 1j
    kw = {"behavior": Z} if where == "behavior" else {"neural": Z} if where == "neural" else {}
    if where == "covariates":
        kw["covariates"] = Z
    with pytest.raises(DataError, match=r"session '<unnamed>': " + message):
        session(**kw)


def test_complex_dataframe_column_is_named():
    df = pd.DataFrame({"lever": X[:, 0], "phase": np.exp(1j * X[:, 1])})
    with pytest.raises(DataError, match=r"behavior column 'phase' has dtype complex128"):
        session(df)


def test_complex_python_number_in_an_object_array_is_refused():
    obj = X.astype(object)
    obj[5, 1] = 1 + 2j
    with pytest.raises(DataError, match=r"holds complex numbers \(sample 5: \(1\+2j\)\)"):
        session(obj)


def test_complex_trial_time_and_segments_are_refused():
    with pytest.raises(DataError, match=r"trial_time has dtype complex128"):
        session(trial_time=np.arange(T) * (1 + 1j))
    with pytest.raises(DataError, match=r"segments are complex numbers"):
        session(segments=np.repeat([1j, 2j], T // 2))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array([["1.5", "2"]] * T), r"<U3: text; nothing is parsed"),
        (np.zeros((T, 2), dtype="datetime64[s]"), r"dates or times; times belong in the index"),
        (np.zeros((T, 2), dtype="timedelta64[ms]"), r"durations; convert them to numbers"),
        (np.zeros((T, 2), dtype="V8"), r"structured records"),
        (np.array([[b"1", b"2"]] * T), r"\|S1: bytes"),
    ],
    ids=["text", "datetime", "timedelta", "structured", "bytes"],
)
def test_non_numeric_dtypes_are_refused_with_their_reason(values, message):
    with pytest.raises(DataError, match=r"session 'm1': behavior has dtype .*" + message):
        session(values, name="m1")


def test_numbers_written_as_text_are_not_parsed():
    df = pd.DataFrame({"lever": X[:, 0], "lick": X[:, 1].astype(object)})
    df.loc[7, "lick"] = "0.5"
    with pytest.raises(DataError, match=r"behavior column 'lick' holds str \(sample 7: '0.5'\)"):
        session(df)


def test_pandas_string_and_categorical_columns_are_refused():
    text = pd.DataFrame({"a": X[:, 0], "b": pd.array(["x"] * T, dtype="string")})
    with pytest.raises(DataError, match=r"column 'b' has dtype string"):
        session(text)
    cat = pd.DataFrame({"a": X[:, 0], "b": pd.Categorical(["l", "r"] * (T // 2))})
    with pytest.raises(DataError, match=r"column 'b' is categorical \(labels, not quantities\)"):
        session(cat)


def test_nullable_integer_with_pd_na_is_a_missing_value_not_a_type_error():
    col = pd.array(np.arange(T), dtype="Int64")
    col[[3, 11]] = pd.NA
    df = pd.DataFrame({"a": col, "b": X[:, 1]})
    with pytest.raises(DataError, match=r"missing values such as pd.NA; first at sample 3"):
        session(df)
    with pytest.warns(sr.SharedRepWarning, match="omitting 2 of 40 samples"):
        s = session(df, nan_policy="omit")
    expected = np.column_stack(
        [np.where(np.isin(np.arange(T), [3, 11]), np.nan, np.arange(T)), X[:, 1]]
    )
    np.testing.assert_array_equal(np.asarray(s.behavior), expected)
    assert s.n_omitted == 2 and not s.usable[[3, 11]].any() and s.usable.sum() == T - 2


def test_nullable_boolean_and_float_columns_read_as_float64():
    flags = pd.array([True, False] * (T // 2), dtype="boolean")
    df = pd.DataFrame({"cue": flags, "lever": pd.array(X[:, 1], dtype="Float64")})
    s = session(df)
    assert s.behavior.dtype == np.float64
    np.testing.assert_array_equal(s.behavior[:, 0], np.tile([1.0, 0.0], T // 2))
    np.testing.assert_array_equal(s.behavior[:, 1], X[:, 1])


def test_boolean_next_to_float_columns_read_as_float64():
    df = pd.DataFrame({"cue": np.arange(T) % 3 == 0, "lever": X[:, 1]})
    s = session(df)
    assert s.behavior.dtype == np.float64
    np.testing.assert_array_equal(s.behavior, np.column_stack([np.arange(T) % 3 == 0, X[:, 1]]))


def test_object_column_of_numbers_and_none_is_converted_exactly():
    col = list(X[:, 0])
    col[4] = None
    df = pd.DataFrame({"a": pd.Series(col, dtype=object), "b": X[:, 1]})
    with pytest.warns(sr.SharedRepWarning, match="omitting 1 of 40"):
        s = session(df, nan_policy="omit")
    assert np.isnan(s.behavior[4, 0]) and s.n_omitted == 1
    np.testing.assert_array_equal(np.delete(s.behavior, 4, axis=0), np.delete(X, 4, axis=0))


@pytest.mark.parametrize(
    "cells",
    [
        [1.5, None, np.float32(2.25), np.nan, -np.inf],
        [3, pd.NA, np.int8(-4), np.uint64(2**64 - 1), 2**70 + 1],
        [True, None, np.bool_(False), pd.NA],
        [1, 2.5, None, np.float16(0.5)],
        [None, pd.NA, np.nan],
        [pd.NaT, 1.0, 2],  # not vectorised: read cell by cell
    ],
)
def test_object_arrays_of_numbers_convert_as_cell_by_cell(cells):
    values = np.array(cells * 2, dtype=object).reshape(2, -1).T
    expected = np.array(
        [[np.nan if v is None or v is pd.NA or v is pd.NaT else float(v) for v in row]
         for row in values]
    )  # fmt: skip
    out = real_values(values, "x")
    assert out.dtype == np.float64 and out.shape == values.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint16, np.int64, np.float16, np.float32])
def test_real_numpy_dtypes_are_kept_by_reference(dtype):
    values = (np.abs(X) * 3).astype(dtype)
    s = session(values)
    assert s.behavior is values  # no copy, no conversion


# -- time labels: pandas indexes and xarray coordinates must agree -------------------------------
def test_pandas_indexes_five_samples_apart_are_refused():
    b = pd.DataFrame(X, index=np.arange(T))
    n = pd.DataFrame(Y, index=np.arange(5, T + 5))
    with pytest.raises(DataError, match=r"neural starts 5 samples later.*nothing is reindexed"):
        session(b, n)


def test_xarray_time_coordinates_five_samples_apart_are_refused():
    t = np.arange(T) * 0.05
    b = xr.DataArray(X, dims=("time", "feature"), coords={"time": t})
    n = xr.DataArray(Y, dims=("time", "neuron"), coords={"time": t + 0.25})
    with pytest.raises(DataError, match=r"behavior: 0\.\.1\.95, neural: 0\.25\.\.2\.2"):
        session(b, n)


def test_equal_time_labels_computed_two_ways_are_accepted():
    b = pd.DataFrame(X, index=pd.Index(np.arange(T) * 0.1, name="time"))
    n = xr.DataArray(Y, dims=("time", "neuron"), coords={"time": np.arange(T) / 10})
    s = session(b, n)
    np.testing.assert_array_equal(s.time, np.arange(T) * 0.1)
    assert s.neuron_names == ("n0", "n1", "n2")  # no neuron coordinate: default names


def test_a_default_range_index_against_times_in_seconds_is_refused():
    n = xr.DataArray(Y, dims=("time", "neuron"), coords={"time": np.arange(T) * 0.05})
    with pytest.raises(DataError, match=r"pass plain arrays \(\.to_numpy\(\)\)"):
        session(pd.DataFrame(X), n)


def test_a_labelled_input_next_to_a_plain_array_is_paired_by_position():
    b = pd.DataFrame(X, index=np.arange(100, 100 + T))
    s = session(b, Y)
    np.testing.assert_array_equal(s.time, np.arange(100, 100 + T))
    np.testing.assert_array_equal(s.behavior, X)


@pytest.mark.parametrize("what", ["covariates", "segments", "trial_time"])
def test_other_per_sample_inputs_must_carry_the_same_labels(what):
    b = pd.DataFrame(X, index=np.arange(T))
    shifted = np.arange(2, T + 2)
    value = {
        "covariates": pd.DataFrame({"run": RNG.normal(size=T)}, index=shifted),
        "segments": pd.Series(np.repeat([0, 1], T // 2), index=shifted),
        "trial_time": pd.Series(np.arange(T) * 0.1, index=shifted),
    }[what]
    with pytest.raises(DataError, match=rf"behavior and {what} carry different time labels"):
        session(b, **{what: value})


def test_string_and_datetime_labels_are_compared_too():
    names = [f"t{i}" for i in range(T)]
    with pytest.raises(DataError, match=r"first difference at sample 0: t0 vs t1"):
        session(pd.DataFrame(X, index=names), pd.DataFrame(Y, index=[*names[1:], "t40"]))
    when = pd.date_range("2024-01-01", periods=T, freq="50ms")
    s = session(pd.DataFrame(X, index=when), pd.DataFrame(Y, index=when))
    assert s.n_samples == T
    with pytest.raises(DataError, match="carry different time labels"):
        session(pd.DataFrame(X, index=when), pd.DataFrame(Y, index=when + pd.Timedelta("50ms")))


# -- shapes, labels, names ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("behavior", "neural", "message"),
    [
        (np.zeros((0, P)), np.zeros((0, N)), r"behavior has no samples \(shape \(0, 2\)\)"),
        (np.zeros((T, 0)), Y, r"behavior has no columns: a session needs at least one behav"),
        (X, np.zeros((T, 0)), r"neural has no columns: a session needs at least one neuron"),
        (np.zeros((T, P, 2)), Y, r"behavior must be 2-D \(samples x columns\)"),
        (X, Y[:-1], r"behavior has 40 samples but neural has 39"),
    ],
    ids=["no-samples", "no-features", "no-neurons", "3d", "lengths"],
)
def test_shapes_that_cannot_be_a_recording(behavior, neural, message):
    with pytest.raises(DataError, match=message):
        session(behavior, neural)


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        (
            np.array([0, 0, 0, None] + [1] * (T - 4), dtype=object),
            r"missing label \(None at sample 3\)",
        ),
        (
            np.r_[0.0, 0.0, np.nan, np.ones(T - 3)],
            r"NaN, inf or missing labels \(first at sample 2\)",
        ),
        (
            pd.Series(pd.array([1] * 5 + [pd.NA] + [2] * (T - 6), dtype="Int64")),
            r"missing labels \(first at sample 5\)",
        ),
        (np.zeros(T - 1), r"segments must have shape \(40,\), got \(39,\)"),
    ],
    ids=["none", "nan", "pd.NA", "shape"],
)
def test_every_sample_needs_a_segment_label(segments, message):
    with pytest.raises(DataError, match=message):
        session(segments=segments)


@pytest.mark.parametrize("value", [{"run": np.zeros(T)}, 3.0, "abc"])
def test_what_is_not_an_array_of_samples_is_refused(value):
    with pytest.raises(DataError, match=r"covariates must be an array, DataFrame or DataArray"):
        session(covariates=value)


def test_segment_labels_of_any_kind_become_codes_in_order_of_appearance():
    labels = np.array(["b"] * 10 + ["a"] * 10 + ["b"] * 20)
    s = session(segments=labels)
    np.testing.assert_array_equal(s.segments, np.repeat([0, 1, 0], [10, 10, 20]))


@pytest.mark.parametrize("name", [3, "", b"m1"])
def test_session_names_are_non_empty_strings(name):
    with pytest.raises(TypeError, match=r"Session name must be a non-empty str"):
        session(name=name)


@pytest.mark.parametrize("rate", ["20", -1.0, 0.0, float("nan"), float("inf"), True])
def test_rate_must_be_a_positive_number(rate):
    with pytest.raises(DataError, match=r"rate must be a positive number in Hz"):
        session(rate=rate, name="m1")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"nan_policy": "drop"}, r"nan_policy must be one of \('raise', 'omit'\), got 'drop'"),
        ({"feature_names": ["lever"]}, r"1 behavior names for 2 columns"),
        ({"neuron_names": ["a", "a", "b"]}, r"duplicate neural names \['a'\]"),
        ({"covariate_names": ["run"]}, r"covariate_names given without covariates"),
        ({"neuron_info": {"area": ["M1"] * 2}}, r"neuron_info has 2 rows for 3 neurons"),
        ({"trial_time": np.arange(T - 1.0)}, r"trial_time must have shape \(40,\)"),
        ({"trial_time": np.r_[np.nan, np.arange(T - 1.0)]}, r"trial_time contains NaN or inf"),
        ({"trial_time": ["a"] * T}, r"trial_time has dtype <U1: text"),
    ],
)
def test_labels_and_metadata_are_checked(kw, message):
    with pytest.raises(DataError, match=message):
        session(name="m1", **kw)


def test_nan_under_raise_names_the_first_sample():
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(DataError, match=r"1 behavior and 0 neural samples .* first at sample 7"):
        session(bad, name="m1")


@pytest.mark.parametrize(("what", "column"), [("neural", "n1"), ("behavior", "x0")])
def test_omit_with_a_column_nan_throughout_names_it(what, column):
    values = (Y if what == "neural" else X).copy()
    values[:, int(column[1])] = np.nan
    kw = {what: values}
    with pytest.raises(DataError, match=rf"would exclude all 40 samples: {what} '{column}' is NaN"):
        session(name="m1", nan_policy="omit", **kw)


def test_omit_that_leaves_nothing_without_a_dead_column_says_so():
    bad = X.copy()
    bad[::2, 0] = np.nan
    bad[1::2, 1] = np.inf
    with pytest.raises(DataError, match=r"every sample has a NaN or inf in some column"):
        session(bad, nan_policy="omit")


# -- cohorts and session identity ---------------------------------------------------------------
def test_cohort_refuses_what_is_not_a_cohort():
    with pytest.raises(DataError, match=r"empty cohort"):
        sr.Cohort([])
    with pytest.raises(DataError, match=r"cohort item 1 is a ndarray, not a Session"):
        sr.Cohort([session(), np.zeros(3)])
    with pytest.raises(DataError, match=r"duplicate session names in cohort: \['m1'\]$"):
        sr.Cohort([session(name="m1"), session(name="m1")])


def test_a_positional_name_colliding_with_a_given_one_is_explained():
    with pytest.raises(DataError, match=r"unnamed sessions are named by their position"):
        sr.Cohort([session(name="session1"), session()])


def test_cohort_refuses_other_features_and_other_rates():
    with pytest.raises(DataError, match=r"session 'b' has behavior features \['u', 'v'\]"):
        sr.Cohort([session(name="a"), session(name="b", feature_names=["u", "v"])])
    with pytest.raises(DataError, match=r"different sampling rates \{'a': 20.0, 'b': 30.0\}"):
        sr.Cohort([session(name="a", rate=20.0), session(name="b", rate=30.0)])


def test_positional_names_are_marked_and_a_given_name_clears_the_mark():
    c = sr.Cohort([session(), session(name="m1"), session()])
    assert c.names == ("session0", "m1", "session2")
    assert [s.named_by_position for s in c] == [True, False, True]
    assert sr.Cohort(list(c))[0].named_by_position  # kept through another cohort
    assert not c[0].replace(name="m7").named_by_position
    assert c[0].without_data().named_by_position


def test_fingerprint_identifies_the_neural_recording():
    a = session(name="a")
    assert session(name="b").fingerprint == a.fingerprint  # same data, other name
    assert a.fingerprint.startswith("40x3:")
    other = Y.copy()
    other[0, 0] += 1.0  # row 0 is always sampled
    assert session(neural=other).fingerprint != a.fingerprint
    assert session(neural=Y[:-1], behavior=X[:-1]).fingerprint.startswith("39x3:")
    assert session(neuron_names=["u", "v", "w"]).fingerprint != a.fingerprint
    assert a.without_data().fingerprint == a.fingerprint  # kept without the data


def test_a_neuron_subset_has_the_fingerprint_of_its_own_recording(tmp_path):
    a = session(name="a")
    a.fingerprint  # noqa: B018 - cached on the full session before the subset is taken
    sub = a.select_neurons([0, 2])
    direct = sr.Session(X, Y[:, [0, 2]], neuron_names=["n0", "n2"])
    assert sub.fingerprint != a.fingerprint
    assert sub.fingerprint == direct.fingerprint
    np.save(tmp_path / "y.npy", Y)  # a lazy source: the subset is a column view
    lazy = sr.Session(X, sr.open_npy(tmp_path / "y.npy"))
    lazy.fingerprint  # noqa: B018
    assert lazy.select_neurons([0, 2]).fingerprint == direct.fingerprint
    # copies of the same recording keep it
    assert a.replace(name="b").fingerprint == a.fingerprint
    assert a.as_covariates(["x1"]).fingerprint == a.fingerprint


def test_fingerprint_of_a_lazy_source_equals_the_in_memory_one(tmp_path):
    np.save(tmp_path / "y.npy", Y)
    lazy = sr.Session(X, sr.open_npy(tmp_path / "y.npy"))
    assert lazy.fingerprint == session().fingerprint


def test_construction_neither_copies_nor_changes_the_arrays():
    b, n = X.copy(), Y.copy()
    s = sr.Session(b, n, segments=np.repeat([0, 1], T // 2), name="m1")
    assert s.behavior is b and s.neural is n
    np.testing.assert_array_equal(b, X)
    np.testing.assert_array_equal(n, Y)


def test_fortran_ordered_npy_is_refused_with_the_remedy(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(Y))
    with pytest.raises(DataError, match=r"Fortran order.*np\.ascontiguousarray"):
        sr.open_npy(tmp_path / "f.npy")


def test_complex_npy_source_is_refused_when_opened(tmp_path):
    np.save(tmp_path / "z.npy", Y + 1j)
    with pytest.raises(DataError, match=r"z\.npy has dtype complex128: complex numbers"):
        sr.open_npy(tmp_path / "z.npy")
