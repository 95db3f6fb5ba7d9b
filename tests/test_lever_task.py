"""The lever-push simulator: structure, exactness of the returned truth, learning effects."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
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


# -- the study's effects: tag, lead, days, drift -------------------------------------------------
def test_neuron_info_and_the_tag(small):
    cohort, truth = small
    for s in cohort:
        info = s.neuron_info
        assert list(info.columns) == ["population", "thalamus_driven"]
        axons = info["population"] == "thalamic_axon"
        assert info.loc[axons, "thalamus_driven"].isna().all()  # axons are not tagged
        assert info.loc[~axons, "thalamus_driven"].notna().all()
        pd.testing.assert_frame_equal(info, truth.neuron_info[s.name])
    # the tag belongs to the neuron: the same in both sessions of a mouse
    a, b = cohort["mouse0-naive"], cohort["mouse0-expert"]
    pd.testing.assert_series_equal(
        a.neuron_info["thalamus_driven"], b.neuron_info["thalamus_driven"]
    )


def test_enrichment_is_set_and_its_null_is_null():
    _, truth = lever_task(
        n_mice=6, n_trials=3, n_axons=5, n_m1=400, tag_enrichment=(0.1, 0.4), seed=3
    )
    u = truth.units()
    m1 = u[u["kind"] == "m1"]
    for cond, enrichment in (("naive", 0.1), ("expert", 0.4)):
        x = m1[m1["condition"] == cond]
        tagged = x.loc[x["thalamus_driven"] == True, "encodes_push_early"]  # noqa: E712
        rest = x.loc[x["thalamus_driven"] == False, "encodes_push_early"]  # noqa: E712
        se = np.sqrt(tagged.var() / tagged.size + rest.var() / rest.size)
        assert abs(tagged.mean() - rest.mean() - enrichment) < 3 * se
        name = f"mouse0-{cond}"
        probs = truth.push_probability[name]
        assert probs["m1_tagged"] - probs["m1_untagged"] == pytest.approx(enrichment)
        # the mean push fraction of M1 is kept as it is without a tag
        f = 0.3 if cond == "naive" else 0.4
        assert 0.3 * probs["m1_tagged"] + 0.7 * probs["m1_untagged"] == pytest.approx(f)
    _, null = lever_task(n_mice=1, n_trials=3, n_axons=2, n_m1=5, tag_enrichment=0.0, seed=3)
    for probs in null.push_probability.values():
        assert probs["m1_tagged"] == pytest.approx(probs["m1_untagged"])


def test_lead_is_set_through_the_early_weights():
    _, truth = lever_task(n_mice=2, n_trials=3, n_axons=300, n_m1=300, seed=1,
                          thalamic_lead=(0.02, 0.06))  # fmt: skip
    for name in truth.encodes:
        w = truth.push_lead[name]
        kind = truth.unit_kind[name]
        gap = np.nanmean(w[kind == "thalamic_axon"]) - np.nanmean(w[kind == "m1"])
        # the axons weigh push_early (100 ms earlier) more by lead / 0.1 s (less clipping)
        assert gap == pytest.approx(truth.thalamic_lead[name] / 0.1, abs=0.05)
    _, null = lever_task(n_mice=1, n_trials=3, n_axons=300, n_m1=300, seed=1, thalamic_lead=0.0)
    for name in null.encodes:
        w, kind = null.push_lead[name], null.unit_kind[name]
        a, b = w[(kind == "thalamic_axon") & np.isfinite(w)], w[(kind == "m1") & np.isfinite(w)]
        se = np.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se


def test_days_change_gradually_and_a_flat_curve_is_the_null():
    cohort, truth = lever_task(n_mice=2, days=5, n_trials=4, n_axons=8, n_m1=10, seed=2)
    assert cohort.names[:2] == ("mouse0-day01", "mouse0-day02")
    assert [s.metadata["day"] for s in cohort][:5] == [1, 2, 3, 4, 5]
    assert all(s.condition is None for s in cohort)
    np.testing.assert_allclose([truth.progress[n] for n in cohort.names[:5]], np.linspace(0, 1, 5))
    enr = [truth.tag_enrichment[n] for n in cohort.names[:5]]
    np.testing.assert_allclose(enr, np.linspace(0.1, 0.4, 5))
    # recruitment only adds encoders day after day
    enc = [truth.encodes[n][1] for n in cohort.names[:5]]
    for a, b in itertools.pairwise(enc):
        assert np.all(b[a])
    _, flat = lever_task(n_mice=1, days=3, learning_curve=[0.5] * 3, n_trials=4, n_axons=8,
                         n_m1=10, seed=2)  # fmt: skip
    names = list(flat.encodes)
    for n in names[1:]:  # every day the same: the same units encode the same components
        np.testing.assert_array_equal(flat.encodes[n], flat.encodes[names[0]])
        assert flat.tag_enrichment[n] == flat.tag_enrichment[names[0]]


def test_drift_is_slow_sized_and_returned():
    cohort, truth = lever_task(
        n_mice=1,
        n_trials=20,
        n_axons=3,
        n_m1=6,
        conditions=["expert"],
        baseline_drift=0.5,
        gain_drift=0.2,
        body_fraction=0.0,
        seed=4,
    )
    s = cohort[0]
    drift = truth.drift[s.name]
    assert np.allclose(drift["baseline"].std(axis=0), 0.5)
    assert np.allclose(np.log(drift["gain"]).std(axis=0), 0.2)
    # slow: neighbouring samples nearly equal, compared with the range over the session
    step = np.abs(np.diff(drift["baseline"], axis=0)).mean()
    assert step < 0.01 * np.ptp(drift["baseline"], axis=0).mean()
    # activity = 0.1 + gain * shared signal + baseline + unit noise, exactly
    exp = TemporalExpansion(truth.lags)
    valid = valid_rows(s.n_samples, exp.lags, s.segments)
    phi = exp.design(np.asarray(s.behavior), valid)[valid]
    shared = phi @ truth.W @ truth.readouts[s.name]
    resid = (
        np.asarray(s.neural)[valid] - 0.1 - drift["gain"][valid] * shared - drift["baseline"][valid]
    )
    assert np.allclose(resid.std(axis=0), 1.0, atol=0.1) and np.allclose(resid.mean(0), 0, atol=0.1)
    # without drift nothing is stored
    assert lever_task(n_mice=1, n_trials=2, n_axons=1, n_m1=1)[1].drift == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tag_enrichment": 0.9}, "tag_enrichment"),
        ({"thalamic_lead": 0.2}, "thalamic_lead"),
        ({"tag_fraction": 1.0}, "tag_fraction"),
        ({"days": 3, "conditions": ["naive"]}, "not both"),
        ({"days": 3, "learning_curve": [0.1, 0.2]}, "learning_curve"),
        ({"learning_curve": [0.1, 0.2]}, "days=N only"),
        ({"baseline_drift": -1.0}, "drift"),
    ],
)
def test_bad_effects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lever_task(**{"n_trials": 2, "n_axons": 2, "n_m1": 2, **kwargs})
