"""Hostile inputs, family "invariants": what must not change a result, and what must not change
at all.

A fit never writes into the caller's arrays, refits are bit-identical, and the result is the same
(or transforms as it should) under changes that carry no information: the order of sessions and
neurons, names, input containers and dtypes, units of a behavioral variable or of the neural
data, and where the data are stored.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr

LAGS = range(-1, 2)


@pytest.fixture(scope="module")
def cohort():
    c, _ = sr.simulate.cohort(
        n_sessions=3, n_samples=300, n_neurons=6, n_features=2, lags=LAGS, seed=8
    )
    return c


def fit(cohort, d=2, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        return sr.ShaReD(d, lags=LAGS, **kw).fit(cohort)


@pytest.fixture(scope="module")
def model(cohort):
    return fit(cohort)


def remake(
    cohort, behavior=lambda s: np.asarray(s.behavior), neural=lambda s: np.asarray(s.neural), **kw
):
    return sr.Cohort(
        [
            sr.Session(
                behavior(s), neural(s), s.segments, name=s.name, feature_names=s.feature_names, **kw
            )
            for s in cohort
        ]
    )


def predictions(model, cohort) -> np.ndarray:
    return np.concatenate([model.predict(s).to_numpy().ravel() for s in cohort])


# -- nothing of the caller's is changed ---------------------------------------------------------
def test_no_user_array_is_written(cohort):
    arrays = [(np.array(s.behavior), np.array(s.neural)) for s in cohort]
    frames = [pd.DataFrame(x, columns=["a", "b"]) for x, _ in arrays]
    copies = copy.deepcopy((arrays, frames))
    data = sr.Cohort(
        [
            sr.Session(f, y, s.segments, name=s.name)
            for f, (_, y), s in zip(frames, arrays, cohort, strict=True)
        ]
    )
    m = fit(data)
    m.score(data)
    m.predict(data[0])
    m.transform(data[1])
    sr.cross_validate(data, [1], [1.0], folds=2, lags=LAGS)
    for (x, y), (x0, y0) in zip(arrays, copies[0], strict=True):
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(x, x0)
    for f, f0 in zip(frames, copies[1], strict=True):
        pd.testing.assert_frame_equal(f, f0)


def test_refits_are_bit_identical(cohort, model):
    again = fit(cohort)
    np.testing.assert_array_equal(again.coef_, model.coef_)
    for name, f in model.session_fits_.items():
        np.testing.assert_array_equal(again.session_fits_[name].readout, f.readout)


def test_cross_validation_is_deterministic(cohort):
    a = sr.cross_validate(cohort, [1, 2], [1.0], folds=3, lags=LAGS)
    b = sr.cross_validate(cohort, [1, 2], [1.0], folds=3, lags=LAGS)
    pd.testing.assert_frame_equal(a.neuron, b.neuron)
    pd.testing.assert_frame_equal(a.summary, b.summary)


# -- changes that carry no information ----------------------------------------------------------
def test_session_order_does_not_matter(cohort, model):
    reordered = sr.Cohort([cohort[2], cohort[0], cohort[1]])
    m = fit(reordered)
    np.testing.assert_allclose(predictions(m, cohort), predictions(model, cohort), atol=1e-8)


def test_neuron_order_within_a_session_does_not_matter(cohort, model):
    order = np.array([3, 0, 5, 1, 4, 2])
    s = cohort[1]
    shuffled = sr.Cohort(
        [
            x
            if x.name != s.name
            else sr.Session(
                x.behavior,
                np.asarray(x.neural)[:, order],
                x.segments,
                name=x.name,
                neuron_names=[x.neuron_names[i] for i in order],
            )
            for x in cohort
        ]
    )
    m = fit(shuffled)
    np.testing.assert_allclose(m.coef_, model.coef_, atol=1e-8)
    np.testing.assert_allclose(
        m.session_fits_[s.name].readout, model.session_fits_[s.name].readout[:, order], atol=1e-8
    )


def test_session_names_do_not_matter(cohort, model):
    renamed = sr.Cohort([s.replace(name=f"mouse_{i}") for i, s in enumerate(cohort)])
    np.testing.assert_array_equal(fit(renamed).coef_, model.coef_)


@pytest.mark.parametrize("factor", [1e-3, 1e3])
def test_units_of_a_behavioral_variable_do_not_matter(cohort, model, factor):
    scaled = remake(cohort, behavior=lambda s: np.asarray(s.behavior) * [factor, 1.0])
    m = fit(scaled)
    np.testing.assert_allclose(m.loadings_.to_numpy(), model.loadings_.to_numpy(), atol=1e-7)
    np.testing.assert_allclose(predictions(m, scaled), predictions(model, cohort), atol=1e-7)


@pytest.mark.parametrize(("scale", "offset"), [(1e-4, 0.0), (250.0, -3.0), (1.0, 1e7)])
def test_units_of_the_neural_data_do_not_matter(cohort, model, scale, offset):
    changed = remake(cohort, neural=lambda s: np.asarray(s.neural) * scale + offset)
    m = fit(changed)
    np.testing.assert_allclose(m.coef_, model.coef_, atol=1e-6)
    np.testing.assert_allclose(
        predictions(m, changed),
        predictions(model, cohort) * scale + offset,
        rtol=1e-6,
        atol=1e-6 * scale,
    )


def test_integer_and_float_inputs_give_the_same_fit(cohort):
    counts = remake(cohort, neural=lambda s: np.round(np.asarray(s.neural) * 3).astype(np.int32))
    floats = remake(cohort, neural=lambda s: np.round(np.asarray(s.neural) * 3))
    np.testing.assert_array_equal(fit(counts).coef_, fit(floats).coef_)


def test_boolean_and_zero_one_events_give_the_same_fit(cohort):
    events = remake(cohort, behavior=lambda s: np.asarray(s.behavior) > 0)
    zero_one = remake(cohort, behavior=lambda s: (np.asarray(s.behavior) > 0).astype(float))
    np.testing.assert_array_equal(fit(events).coef_, fit(zero_one).coef_)


def test_dataframes_and_arrays_give_the_same_fit(cohort, model):
    frames = remake(
        cohort,
        behavior=lambda s: pd.DataFrame(np.asarray(s.behavior), columns=s.feature_names),
        neural=lambda s: pd.DataFrame(np.asarray(s.neural), columns=s.neuron_names),
    )
    np.testing.assert_array_equal(fit(frames).coef_, model.coef_)


def test_single_precision_gives_the_same_fit_within_its_precision(cohort, model):
    single = remake(
        cohort,
        behavior=lambda s: np.asarray(s.behavior, np.float32),
        neural=lambda s: np.asarray(s.neural, np.float32),
    )
    np.testing.assert_allclose(fit(single).coef_, model.coef_, atol=1e-4)


def test_data_on_disk_give_the_same_fit(cohort, model, tmp_path):
    sessions = []
    for s in cohort:
        np.save(tmp_path / f"{s.name}_x.npy", np.asarray(s.behavior))
        np.save(tmp_path / f"{s.name}_y.npy", np.asarray(s.neural))
        sessions.append(
            sr.Session(
                sr.open_npy(tmp_path / f"{s.name}_x.npy"),
                sr.open_npy(tmp_path / f"{s.name}_y.npy"),
                s.segments,
                name=s.name,
            )
        )
    lazy = fit(sr.Cohort(sessions), chunk_size=64)
    np.testing.assert_allclose(lazy.coef_, model.coef_, atol=1e-10)
    assert {k: f.fingerprint for k, f in lazy.session_fits_.items()} == {
        k: f.fingerprint for k, f in model.session_fits_.items()
    }


# -- numbers that must agree with an independent computation ------------------------------------
def test_score_equals_r2_of_the_predictions(cohort, model):
    scores = model.score(cohort).neuron
    for s in cohort:
        pred = model.predict(s).to_numpy()
        y = np.asarray(s.neural)
        ok = np.isfinite(pred[:, 0])
        r2 = 1 - ((y[ok] - pred[ok]) ** 2).sum(0) / ((y[ok] - y[ok].mean(0)) ** 2).sum(0)
        np.testing.assert_allclose(scores.loc[s.name].to_numpy(), r2, rtol=1e-9)


def test_a_saved_model_predicts_what_it_predicted(cohort, model, tmp_path):
    loaded = sr.load(model.save(tmp_path / "model.npz"))
    np.testing.assert_array_equal(predictions(loaded, cohort), predictions(model, cohort))
    np.testing.assert_array_equal(
        loaded.score(cohort).neuron.to_numpy(), model.score(cohort).neuron.to_numpy()
    )
