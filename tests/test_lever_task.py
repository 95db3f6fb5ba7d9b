"""The lever-push simulator: structure, exactness of the returned truth, learning effects."""

from __future__ import annotations

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.features import TemporalExpansion, valid_rows
from sharedrep.simulate import LeverTruth, lever_task


@pytest.fixture(scope="module")
def small():
    return lever_task(n_mice=3, n_trials=(10, 14), n_axons=(6, 12), n_m1=(15, 30), seed=4)


def test_structure(small):
    cohort, truth = small
    assert isinstance(truth, LeverTruth)
    assert cohort.names == tuple(f"mouse{m}-{c}" for m in range(3) for c in ("naive", "expert"))
    assert cohort.feature_names == ("cue", "lever_pos", "lever_vel", "lick", "body")
    for s in cohort:
        assert s.rate == 30.0
        assert s.subject == s.name.split("-")[0] and s.condition == s.name.split("-")[1]
        n_trials = len(truth.trials[s.name])
        assert 10 <= n_trials <= 14
        # segments are the trials, in order, and the trial table's starts match them
        starts = np.flatnonzero(np.r_[True, s.segments[1:] != s.segments[:-1]])
        np.testing.assert_array_equal(starts, truth.trials[s.name]["start"].to_numpy())
        # one cue impulse per trial, at the recorded sample
        np.testing.assert_array_equal(
            np.flatnonzero(s.behavior[:, 0]), truth.trials[s.name]["cue"].to_numpy()
        )
        kind = truth.unit_kind[s.name]
        assert 6 <= (kind == "thalamic_axon").sum() <= 12 and 15 <= (kind == "m1").sum() <= 30
        np.testing.assert_array_equal(s.neuron_info["population"].to_numpy(), kind)
        assert truth.encodes[s.name].shape == (4, s.n_neurons)
    # units belong to the mouse: same count and names in both of its sessions
    for m in range(3):
        a, b = cohort[f"mouse{m}-naive"], cohort[f"mouse{m}-expert"]
        assert a.neuron_names == b.neuron_names
    # numbers differ between mice
    assert len({s.n_neurons for s in cohort}) > 1
    table = truth.units()
    assert len(table) == sum(s.n_neurons for s in cohort)
    assert set(table["kind"]) == {"thalamic_axon", "m1"}


def test_truth_is_exact_for_calcium(small):
    """Activity minus the true shared and body signals is the noise: mean 0.1, sd 1."""
    cohort, truth = small
    exp = TemporalExpansion(truth.lags)
    for s in cohort:
        valid = valid_rows(s.n_samples, exp.lags, s.segments)
        phi = exp.design(np.asarray(s.behavior), valid)[valid]
        resid = np.asarray(s.neural)[valid] - phi @ truth.W @ truth.readouts[s.name]
        clean = ~truth.body_units[s.name]
        assert np.allclose(resid[:, clean].mean(0), 0.1, atol=0.1)
        # an independent noise of sd 1 per unit (the noise was drawn with sd 1)
        assert np.allclose(resid[:, clean].std(0), 1.0, atol=0.1)
        # units that encode nothing and have no body drive are pure noise
        quiet = clean & ~truth.encoding_units(s.name)
        assert np.all(np.abs(truth.readouts[s.name][:, quiet]) == 0)


def test_expert_behavior_and_encoding_change():
    cohort, truth = lever_task(n_mice=4, n_trials=40, n_axons=60, n_m1=40, seed=2)
    lat = {c: [] for c in ("naive", "expert")}
    frac = {c: [] for c in ("naive", "expert")}
    lead = {c: [] for c in ("naive", "expert")}
    for s in cohort:
        trials = truth.trials[s.name]
        lat[s.condition].append((trials["latency_s"].mean(), trials["latency_s"].std()))
        axons = truth.unit_kind[s.name] == "thalamic_axon"
        push = truth.encodes[s.name][1]
        frac[s.condition].append(push[axons].mean())
        lead[s.condition].append(np.nanmean(truth.push_lead[s.name]))
    naive, expert = np.array(lat["naive"]), np.array(lat["expert"])
    assert np.all(expert[:, 0] < naive[:, 0])  # faster
    assert np.all(expert[:, 1] < naive[:, 1])  # more stereotyped
    assert np.all(np.array(frac["expert"]) > np.array(frac["naive"]))  # axons recruited
    assert np.all(np.array(lead["expert"]) > np.array(lead["naive"]))  # timing earlier
    for m in range(4):  # recruitment adds push encoders on top of the naive ones
        a = truth.encodes[f"mouse{m}-naive"][1]
        b = truth.encodes[f"mouse{m}-expert"][1]
        assert np.all(b[a])


def test_shared_recovers_the_true_subspace():
    cohort, truth = lever_task(n_mice=3, n_trials=30, n_axons=(20, 30), n_m1=(40, 60), seed=1)
    model = sr.ShaReD(truth.n_components, lags=truth.lags, alpha=1.0).fit(cohort)
    assert truth.max_angle(model, metric="design") < 10.0


def test_spikes_mode():
    cohort, truth = lever_task(n_mice=2, n_trials=8, n_axons=5, n_m1=10, indicator="spikes")
    np.testing.assert_array_equal(truth.lags, truth.drive_lags)
    assert truth.W.shape == (5 * truth.lags.size, 4)
    for s in cohort:
        y = np.asarray(s.neural)
        assert np.all(y >= 0) and np.all(y == np.round(y))
        assert np.all(np.isnan(truth.noise_sd[s.name]))


def test_calcium_lags_cover_the_kernel():
    _, truth = lever_task(n_mice=1, n_trials=3, n_axons=2, n_m1=2, tau_decay=0.25)
    assert truth.kernel[0] == 0 and truth.kernel.max() == 1.0
    assert truth.lags[0] == truth.drive_lags[0]
    assert truth.lags[-1] == truth.drive_lags[-1] + truth.kernel.size - 1


def test_reproducible_and_conditions_subset():
    a, ta = lever_task(n_mice=1, n_trials=4, n_axons=3, n_m1=4, seed=7, conditions=["expert"])
    b, _ = lever_task(n_mice=1, n_trials=4, n_axons=3, n_m1=4, seed=7, conditions=["expert"])
    assert a.names == ("mouse0-expert",)
    np.testing.assert_array_equal(a[0].neural, b[0].neural)
    assert set(ta.conditions.values()) == {"expert"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"conditions": ["trained"]}, "conditions"),
        ({"indicator": "gcamp"}, "indicator"),
        ({"n_mice": 0}, "n_mice"),
        ({"snr": -1.0}, "snr"),
        ({"n_axons": 0, "n_m1": 0}, "at least one unit"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lever_task(**{"n_trials": 2, **kwargs})
