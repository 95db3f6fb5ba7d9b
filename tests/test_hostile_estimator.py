"""Hostile inputs, family "estimator": arguments, unfitted models and session identity.

Each case asserts the library's own error with a message naming the argument (or session) and
what is wrong, or, where the input is legitimate, the right result checked independently.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.errors import DataError, NotFittedError

LAGS = range(-1, 2)


def small(seed: int, n: int = 3, T: int = 300, names: bool = True, **kw) -> sr.Cohort:
    cohort, _ = sr.simulate.cohort(
        n_sessions=n, n_samples=T, n_neurons=6, n_features=2, lags=LAGS, seed=seed, **kw
    )
    if names:
        return cohort
    return sr.Cohort([sr.Session(np.asarray(s.behavior), np.asarray(s.neural)) for s in cohort])


@pytest.fixture(scope="module")
def cohort():
    return small(0, conditions=["naive", "expert"])


@pytest.fixture(scope="module")
def model(cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        return sr.ShaReD(2, lags=LAGS).fit(cohort)


def fresh(model):
    """A copy of the fitted module model whose readouts may be changed by a test."""
    import copy

    m = copy.copy(model)
    m.session_fits_ = dict(model.session_fits_)
    return m


# -- parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_components": True}, r"n_components must be a non-negative integer .* got True"),
        ({"n_components": 1.5}, r"n_components must be a non-negative integer"),
        ({"n_components": -1}, r"n_components must be a non-negative integer"),
        ({"n_components": "2"}, r"n_components must be a non-negative integer .* got '2'"),
        ({"alpha": None}, r"alpha must be a non-negative number, got None"),
        ({"alpha": -1.0}, r"alpha must be a non-negative number, got -1.0"),
        ({"alpha": float("nan")}, r"alpha must be a non-negative number, got nan"),
        ({"alpha": float("inf")}, r"alpha must be a non-negative number, got inf"),
        ({"alpha": "1"}, r"alpha must be a non-negative number, got '1'"),
        ({"whiten_alpha": None}, r"whiten_alpha must be a positive number, got None"),
        ({"whiten_alpha": 0.0}, r"whiten_alpha must be a positive number, got 0.0"),
        ({"drift": -1}, r"drift must be a non-negative integer, got -1"),
        ({"drift": 1.5}, r"drift must be a non-negative integer, got 1.5"),
        ({"zscore": "yes"}, r"zscore must be True or False, got 'yes'"),
        ({"max_iter": 0}, r"max_iter must be a positive integer, got 0"),
        ({"tol": -1e-3}, r"tol must be a non-negative number"),
        ({"n_restarts": -1}, r"n_restarts must be a non-negative integer, got -1"),
        ({"random_state": "x"}, r"random_state must be a non-negative integer or None"),
        ({"lags": []}, r"lags must be a non-empty"),
        ({"lags": [0.5]}, r"lags are counted in samples and must be integers"),
        ({"lags": [0, 0]}, r"lags contain duplicates"),
        ({"n_basis": 0}, r"n_basis must be between 1 and the number of lags"),
        ({"edges": "pad"}, r"edges must be one of \('drop', 'zero'\)"),
        ({"objective": "cca"}, r"objective must be one of \('variance', 'correlation'\)"),
        ({"weights": "uniform"}, r"weights must be one of \('equal', 'neurons', 'samples'\)"),
        ({"weights": [1.0, 2.0]}, r"weights must have one value per session \(3\)"),
        ({"weights": [1.0, -1.0, 1.0]}, r"session weights must be non-negative"),
        ({"chunk_size": 0}, r"chunk_size must be a positive number of rows"),
        ({"backend": "gpu"}, r"backend must be 'serial', 'dask'"),
    ],
)
def test_invalid_parameters_name_themselves(cohort, params, message):
    with pytest.raises(ValueError, match=message):
        sr.ShaReD(**{"n_components": 1, "lags": LAGS, **params}).fit(cohort)


def test_set_params_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"invalid parameter 'alhpa' for ShaReD"):
        sr.ShaReD().set_params(alhpa=1.0)


# -- a model used before it is fitted -----------------------------------------------------------
@pytest.mark.parametrize(
    "use",
    [
        lambda m, c: m.score(c),
        lambda m, c: m.predict(c[0]),
        lambda m, c: m.transform(c[0]),
        lambda m, c: m.fit_readout(c[0]),
        lambda m, c: m.has_readout_for(c[0]),
        lambda m, c: m.loadings_,
        lambda m, c: m.coef_,
        lambda m, c: m.readouts_,
        lambda m, c: m.session_fits_,
        lambda m, c: sr.encoding_map(m, c),
        lambda m, c: sr.bootstrap_loadings(m, c, n_boot=2),
        lambda m, c: sr.report(m, c, "never-written"),
    ],
    ids=[
        "score",
        "predict",
        "transform",
        "fit_readout",
        "has_readout_for",
        "loadings_",
        "coef_",
        "readouts_",
        "session_fits_",
        "encoding_map",
        "bootstrap",
        "report",
    ],
)
def test_unfitted_model_raises_not_fitted(cohort, use):
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(cohort\)"):
        use(sr.ShaReD(2, lags=LAGS), cohort)


def test_not_fitted_is_value_and_attribute_error_as_in_scikit_learn():
    m = sr.ShaReD(2)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(m, "coef_") and not hasattr(m, "loadings_")
    with pytest.raises(AttributeError, match=r"'ShaReD' object has no attribute 'nope'"):
        m.nope  # noqa: B018 - a misspelt name is a plain AttributeError, not "not fitted"


def test_fitted_model_missing_an_optional_attribute_is_not_called_unfitted(model):
    with pytest.raises(AttributeError, match=r"no attribute 'cv_provenance_'") as err:
        model.cv_provenance_  # noqa: B018 - not chosen by cross-validation
    assert not isinstance(err.value, NotFittedError)


def test_unfitted_shared_cv_raises_not_fitted():
    search = sr.ShaReDCV([1], [1.0])
    with pytest.raises(NotFittedError, match=r"'best_params_': this ShaReDCV is not fitted"):
        search.best_params_  # noqa: B018
    with pytest.raises(NotFittedError, match=r"'loadings_': this ShaReDCV is not fitted"):
        search.loadings_  # noqa: B018


# -- session identity: a readout belongs to one recording ---------------------------------------
@pytest.fixture(scope="module")
def unnamed():
    train = small(0, names=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        m = sr.ShaReD(2, lags=LAGS).fit(train)
    return train, m, small(5, names=False)


def test_new_unnamed_animals_never_get_a_training_readout_in_score(unnamed):
    train, m, new = unnamed
    assert new.names == train.names  # the collision of the issue: session0, session1, ...
    with pytest.raises(
        DataError, match=r"session 'session0' was given no name.*belongs to another"
    ):
        m.score(new)
    with pytest.raises(DataError, match=r"same shape 300x6 but other values"):
        m.predict(new[0])


def test_the_same_unnamed_recording_is_recognised(unnamed):
    train, m, _ = unnamed
    again = sr.Cohort([sr.Session(np.asarray(s.behavior), np.asarray(s.neural)) for s in train])
    np.testing.assert_allclose(m.score(again).neuron, m.score(train).neuron, rtol=1e-12)
    assert all(m.has_readout_for(s) for s in again)


def test_fit_readout_never_replaces_a_training_readout_silently(unnamed):
    train, m0, new = unnamed
    m = fresh(m0)
    before = m.score(train).session["session0"]
    with pytest.raises(DataError, match=r"already holds a readout under this name, fitted on"):
        m.fit_readout(new[0])
    assert m.score(train).session["session0"] == before  # untouched
    m.fit_readout(new[0], replace=True)  # asked for
    assert m.has_readout_for(new[0]) and not m.has_readout_for(train[0])


def test_refitting_the_readout_of_the_same_recording_reproduces_it(model, cohort):
    m = fresh(model)
    stored = m.session_fits_["session1"].readout
    m.fit_readout(cohort[1])  # same recording: allowed without replace
    np.testing.assert_allclose(m.session_fits_["session1"].readout, stored, atol=1e-8)


def test_a_named_held_out_part_is_scored_with_its_readout(model, cohort):
    """A name the user gave is a claim of identity: other data of the same neurons (a held-out
    part) are scored with the stored readout, as scikit-learn's score(X_test) is."""
    s = cohort[0]
    part = sr.Session(
        np.asarray(s.behavior)[:150], np.asarray(s.neural)[:150], name=s.name, rate=s.rate
    )
    pred = model.predict(part).to_numpy()
    y = np.asarray(part.neural)
    ok = np.isfinite(pred[:, 0])
    by_hand = 1 - ((y[ok] - pred[ok]) ** 2).sum(0) / ((y[ok] - y[ok].mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(model.score(part).neuron.to_numpy(), by_hand, rtol=1e-8)


def test_other_neurons_under_a_known_name_are_refused(model, cohort):
    s = cohort[0]
    renamed = sr.Session(
        s.behavior, s.neural, name=s.name, neuron_names=[f"u{i}" for i in range(6)]
    )
    with pytest.raises(DataError, match=r"its neurons are not those its readout was fitted on"):
        model.score(renamed)
    fewer = sr.Session(s.behavior, np.asarray(s.neural)[:, :4], name=s.name)
    with pytest.raises(DataError, match=r"has 4 neurons but its readout was fitted on 6"):
        model.predict(fewer)


def test_statistics_of_a_model_refuse_namesakes_of_its_sessions(unnamed):
    _, m, new = unnamed
    with pytest.raises(DataError, match=r"session 'session0' was given no name"):
        sr.bootstrap_loadings(m, new, n_boot=2)
    labelled = sr.Cohort(
        [s.replace(condition=c) for s, c in zip(new, ["a", "b", "a"], strict=True)]
    )
    assert all(s.named_by_position for s in labelled)  # replace() kept the positional names
    with pytest.raises(DataError, match=r"session 'session0' was given no name"):
        sr.compare_conditions(m, labelled, n_perm=10, n_null=19, cross_fit="none")


def test_transform_of_another_recording_uses_its_own_mean(unnamed):
    train, m, new = unnamed
    z = m.transform(new[0]).to_numpy()
    assert np.allclose(np.nanmean(z, axis=0), 0.0, atol=1e-12)  # centred on itself
    z_train = m.transform(train[0]).to_numpy()
    phi, valid = m._design(train[0])
    by_hand = ((phi - m.session_fits_["session0"].mean_phi) * m._column_scale) @ m.coef_
    np.testing.assert_allclose(z_train[valid], by_hand[valid], atol=1e-12)


def test_model_files_keep_the_fingerprints(model, cohort, tmp_path):
    loaded = sr.load(model.save(tmp_path / "m.npz"))
    assert {k: f.fingerprint for k, f in loaded.session_fits_.items()} == {
        s.name: s.fingerprint for s in cohort
    }


def test_readouts_of_older_model_files_compare_neurons(model, cohort):
    m = fresh(model)
    m.session_fits_["session0"] = replace(m.session_fits_["session0"], fingerprint="")
    assert m.has_readout_for(cohort[0])
    other = sr.Session(cohort[0].behavior, cohort[0].neural, neuron_names=list("abcdef"))
    assert not m.has_readout_for(other.replace(name="session0"))


def test_unknown_sessions_and_features(model, cohort):
    s = cohort[0]
    with pytest.raises(KeyError, match=r"session 'm9' has no readout; the model knows"):
        model.score(s.replace(name="m9"))
    other = sr.Session(s.behavior, s.neural, name=s.name, feature_names=["u", "v"])
    with pytest.raises(DataError, match=r"behavior features \['u', 'v'\], the model was fitted"):
        model.score(other)
    with pytest.raises(DataError, match=r"fitted on \['x0', 'x1'\]"):
        model.fit_readout(other)


def test_fit_needs_sessions():
    with pytest.raises(DataError, match=r"empty cohort"):
        sr.ShaReD(1).fit([])
    with pytest.raises(DataError, match=r"cohort item 0 is a ndarray, not a Session"):
        sr.ShaReD(1).fit(np.zeros((30, 3)))


def test_replace_must_be_a_bool(model, cohort):
    with pytest.raises(ValueError, match=r"replace must be True or False, got 'yes'"):
        fresh(model).fit_readout(cohort[0], replace="yes")


# -- model selection arguments ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"folds": 1}, ValueError, r"folds must be an integer >= 2, got 1"),
        ({"folds": "3"}, ValueError, r"folds must be an integer >= 2, got '3'"),
        ({"folds": 2.5}, ValueError, r"folds must be an integer >= 2, got 2.5"),
        ({"folds": True}, ValueError, r"folds must be an integer >= 2, got True"),
        ({"n_components": []}, ValueError, r"n_components grid is empty"),
        ({"n_components": [1, 1]}, ValueError, r"n_components grid has duplicates"),
        ({"n_components": [0.5]}, ValueError, r"n_components must be integers >= 0"),
        ({"alpha": [-1.0]}, ValueError, r"alpha must be non-negative numbers"),
        ({"rule": "best"}, ValueError, r"rule must be one of \('1se', 'max'\)"),
        ({"split": "random"}, ValueError, r"split must be one of \('auto', 'interleaved'"),
        ({"split": {"nobody": np.zeros(300, int)}}, DataError, r"sessions not in the cohort"),
    ],
)
def test_cross_validation_arguments(cohort, kw, error, message):
    args = {"n_components": [1], "alpha": [1.0], "folds": 3, "lags": LAGS, **kw}
    with pytest.raises(error, match=message):
        sr.cross_validate(cohort, **args)


def test_explicit_fold_labels_out_of_range(cohort):
    split = {s.name: np.full(s.n_samples, 3) for s in cohort}
    with pytest.raises(DataError, match=r"fold labels must lie in 0\.\.2 \(folds=3\), got 3\.\.3"):
        sr.cross_validate(cohort, [1], [1.0], folds=3, split=split, lags=LAGS)


def _short(T=30, segments=None):
    rng = np.random.default_rng(1)
    return sr.Session(rng.normal(size=(T, 2)), rng.normal(size=(T, 3)), segments, name="s")


def test_more_folds_than_samples_says_so():
    with pytest.raises(DataError, match=r"session 's' has 30 samples, fewer than the 50 folds"):
        sr.cross_validate(_short(), [1], [1.0], folds=50, lags=[0])


def test_folds_too_small_to_score_are_named_not_blamed_on_silent_neurons():
    message = r"folds=29 is too many for session 's': fold 0 holds 1 .*30 samples, 28 analysed"
    with pytest.raises(DataError, match=message):
        sr.cross_validate(_short(), [1], [1.0], folds=29, lags=LAGS)


def test_more_folds_than_trials_says_so():
    s = _short(40, np.repeat(np.arange(10), 4))
    with pytest.raises(DataError, match=r"has 10 segments, fewer than the 20 folds"):
        sr.cross_validate(s, [1], [1.0], folds=20, lags=[0])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"train_fraction": 0.0}, r"train_fraction must be positive \(the readout needs"),
        ({"train_fraction": [0.9]}, r"largest usable fraction is 0\.8"),
        ({"n_blocks": 0}, r"n_blocks must be an integer >= 2, got 0"),
        ({"folds": 7}, r"n_blocks=20 must be a multiple of folds=7"),
    ],
)
def test_transfer_arguments(cohort, kw, message):
    with pytest.raises(ValueError, match=message):
        sr.transfer(cohort, **{"train_fraction": 0.5, "n_components": 1, "lags": [0], **kw})


def test_transfer_needs_two_sessions(cohort):
    with pytest.raises(DataError, match=r"transfer needs at least two sessions"):
        sr.transfer(cohort[:1], 0.5, n_components=1, lags=[0])


def test_too_many_blocks_for_a_session_name_n_blocks():
    short = sr.Cohort([_short(30).replace(name=n) for n in ("a", "b")])
    with pytest.raises(DataError, match=r"n_blocks=20 is too many for session 'a'.*fewer n_blocks"):
        sr.transfer(short, 0.5, n_components=1, lags=LAGS, n_blocks=20, folds=2)


# -- inference arguments ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, c: sr.bootstrap_loadings(m, c, n_boot=0), r"n_boot must be an integer >= 2"),
        (lambda m, c: sr.bootstrap_loadings(m, c, n_boot=1), r"a standard error needs two"),
        (lambda m, c: sr.bootstrap_loadings(m, c, n_boot=2.5), r"n_boot .* got 2\.5"),
        (lambda m, c: sr.bootstrap_loadings(m, c, n_boot=True), r"n_boot .* got True"),
        (lambda m, c: sr.bootstrap_loadings(m, c, ci=1.0), r"ci must be a number in \(0, 1\)"),
        (lambda m, c: sr.bootstrap_loadings(m, c, seed="x"), r"seed must be an integer >= 0"),
        (lambda m, c: sr.compare_conditions(m, c, n_perm=-1), r"n_perm must be an integer >= 1"),
        (lambda m, c: sr.compare_conditions(m, c, n_perm=0), r"n_perm .* got 0"),
        (lambda m, c: sr.compare_conditions(m, c, n_perm=1.5), r"n_perm .* got 1\.5"),
        (lambda m, c: sr.encoding_map(m, c, n_null=5), r"n_null must be an integer >= 19"),
        (lambda m, c: sr.encoding_map(m, c, fdr=0.0), r"fdr must be a number in \(0, 1\)"),
        (lambda m, c: sr.encoding_map(m, c, fdr=1.5), r"fdr must be a number in \(0, 1\)"),
        (lambda m, c: sr.encoding_map(m, c, min_shift=0), r"min_shift must be an integer >= 1"),
        (lambda m, c: sr.encoding_map(m, c, folds=1), r"folds must be an integer >= 2"),
        (lambda m, c: sr.variance_split(m, c, max_private=-1), r"max_private must be an integer"),
        (lambda m, c: sr.variance_split(m, c, ceiling_alphas=[]), r"ceiling_alphas must be a"),
        (lambda m, c: sr.variance_split(m, c, rule="best"), r"rule must be '1se' or 'max'"),
    ],
)
def test_inference_arguments_name_themselves(model, cohort, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, cohort)


def test_condition_attribute_must_be_a_name(model, cohort):
    with pytest.raises(TypeError, match=r"by must be the name of a session attribute .* got 3"):
        sr.compare_conditions(model, cohort, by=3)


def test_p_values_and_loadings_are_checked():
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\] .* got \[2\.0\]"):
        sr.benjamini_hochberg(np.array([0.5, 2.0]))
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\]"):
        sr.benjamini_hochberg(np.array([-0.1]))
    with pytest.raises(TypeError, match=r"loadings must be an xarray\.DataArray .* got ndarray"):
        sr.peak_lag(np.zeros((2, 3, 1)))


def test_bootstrap_needs_two_sessions(model, cohort):
    with pytest.raises(DataError, match=r"bootstrap over sessions needs at least two sessions"):
        sr.bootstrap_loadings(model, cohort[:1], n_boot=5)


def test_two_resamples_give_finite_standard_errors(model, cohort):
    bands = sr.bootstrap_loadings(model, cohort, n_boot=2, seed=1)
    samples = bands["samples"].to_numpy()
    np.testing.assert_allclose(bands["se"].to_numpy(), samples.std(axis=0, ddof=1))
    assert np.isfinite(bands["se"].to_numpy()).all()
