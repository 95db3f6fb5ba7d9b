"""Every result is a labelled xarray object or pandas table (session, neuron, feature, lag,
component coordinates), so that results of many sessions can be combined by label."""

import numpy as np
import xarray as xr

import sharedrep as sr


def test_results_carry_their_labels():
    cohort, _ = sr.simulate.cohort(n_sessions=2, n_samples=300, seed=4, rate=10.0)
    model = sr.ShaReD(2, lags=range(0, 3)).fit(cohort)
    load = model.loadings_
    assert load.dims == ("feature", "lag", "component")
    assert list(load.feature.values) == list(cohort.feature_names)
    np.testing.assert_array_equal(load.lag, [0, 1, 2])
    np.testing.assert_allclose(load.lag_s, [0.0, 0.1, 0.2])
    for s in cohort:
        z, y = model.transform(s), model.predict(s)
        v = model.readouts_[s.name]
        assert z.dims == ("time", "component") and z.session.item() == s.name
        assert y.dims == ("time", "neuron") and y.session.item() == s.name
        assert list(y.neuron.values) == list(s.neuron_names)
        assert v.dims == ("component", "neuron") and v.session.item() == s.name
    # latents of several sessions concatenate with the session kept per sample
    latents = [model.transform(s) for s in cohort]
    both = xr.concat(latents, dim="time", coords="different", compat="equals")
    assert both.sizes["time"] == sum(s.n_samples for s in cohort)
    assert list(np.unique(both.session.values)) == list(cohort.names)
    scores = model.score(cohort)
    assert scores.neuron.index.names == ["session", "neuron"]
    assert scores.session.index.name == "session"
