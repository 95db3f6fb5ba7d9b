"""Sessions from pynapple objects: TsGroup spike trains, TsdFrame traces, IntervalSet epochs."""

from __future__ import annotations

import numpy as np
import pytest

import sharedrep as sr

nap = pytest.importorskip("pynapple")

RNG = np.random.default_rng(3)
T200 = np.arange(2001) / 200.0  # 0 .. 10 s
XY = RNG.normal(size=(T200.size, 2))
T40 = np.arange(401) / 40.0
SPEED = RNG.normal(size=T40.size)
SPIKES = {3: np.sort(RNG.uniform(-1, 11, 500)), 8: np.sort(RNG.uniform(-1, 11, 80))}
BIN = 0.05


def _bin_mean(t_src, values, lo, hi):
    """Independent reference: mean of the samples in each bin, by a plain loop."""
    values = values.reshape(len(t_src), -1)
    rows = [values[(t_src >= a) & (t_src < b)].mean(axis=0) for a, b in zip(lo, hi, strict=True)]
    return np.array(rows)


def _behavior():
    return {
        "hand": nap.TsdFrame(t=T200, d=XY, columns=["hand_x", "hand_y"]),
        "speed": nap.Tsd(t=T40, d=SPEED),
    }


def test_tsgroup_counts_and_behavior_means():
    spikes = nap.TsGroup({k: nap.Ts(t=v) for k, v in SPIKES.items()})
    s = sr.Session.from_pynapple(_behavior(), spikes, bin_size=BIN, name="m1", subject="mouse1")
    assert (s.name, s.subject) == ("m1", "mouse1")
    assert s.feature_names == ("hand_x", "hand_y", "speed")
    assert s.neuron_names == ("3", "8")
    assert s.rate == pytest.approx(20.0)
    t = s.time
    assert t[0] >= 0 and t[-1] <= 10 and np.allclose(np.diff(t), BIN)
    edges = np.append(t - BIN / 2, t[-1] + BIN / 2)
    counts = np.column_stack([np.histogram(v, bins=edges)[0] for v in SPIKES.values()])
    np.testing.assert_array_equal(s.neural, counts)
    lo, hi = t - BIN / 2, t + BIN / 2
    np.testing.assert_allclose(s.behavior[:, :2], _bin_mean(T200, XY, lo, hi), atol=1e-12)
    np.testing.assert_allclose(s.behavior[:, 2:], _bin_mean(T40, SPEED, lo, hi), atol=1e-12)
    assert s.segments is None


def test_epochs_restrict_and_become_segments():
    spikes = nap.TsGroup({k: nap.Ts(t=v) for k, v in SPIKES.items()})
    epochs = nap.IntervalSet(start=[1.0, 5.0], end=[4.0, 8.0])
    s = sr.Session.from_pynapple(_behavior(), spikes, bin_size=BIN, epochs=epochs)
    t = s.time
    assert np.all(((t > 1) & (t < 4)) | ((t > 5) & (t < 8)))
    assert s.n_samples == 60 + 60
    np.testing.assert_array_equal(s.segments, (t > 5).astype(int))
    # counts inside the second epoch, recomputed independently
    second = t > 5
    edges = np.append(t[second] - BIN / 2, t[second][-1] + BIN / 2)
    counts = np.column_stack([np.histogram(v, bins=edges)[0] for v in SPIKES.values()])
    np.testing.assert_array_equal(s.neural[second], counts)


def test_tsdframe_neural_with_linear_interpolation_and_trimming():
    from scipy.interpolate import interp1d

    t_img = 0.3 + np.arange(120) / 10.0  # 0.3 .. 12.2 s; behavior ends at 10 s
    traces = RNG.normal(size=(t_img.size, 4))
    neural = nap.TsdFrame(t=t_img, d=traces, columns=["c0", "c1", "c2", "c3"])
    beh = nap.Tsd(t=np.arange(51) / 5.0, d=RNG.normal(size=51))  # 5 Hz: slower than frames
    with pytest.warns(sr.SharedRepWarning, match=r"22 of 120 neural samples .* excluded"):
        s = sr.Session.from_pynapple({"pupil": beh}, neural)
    keep = t_img <= 10.0
    np.testing.assert_array_equal(s.neural, traces[keep])
    assert s.neuron_names == ("c0", "c1", "c2", "c3") and s.feature_names == ("pupil",)
    expected = interp1d(beh.t, beh.values)(t_img[keep])
    np.testing.assert_allclose(s.behavior[:, 0], expected, rtol=1e-12)
    assert s.metadata["resample"] == {"pupil": "linear"}
    with pytest.raises(sr.DataError, match="outside the time range"):
        sr.Session.from_pynapple({"pupil": beh}, neural, out_of_range="raise")


def test_errors():
    spikes = nap.TsGroup({k: nap.Ts(t=v) for k, v in SPIKES.items()})
    with pytest.raises(sr.DataError, match="needs bin_size"):
        sr.Session.from_pynapple(_behavior(), spikes)
    with pytest.raises(sr.DataError, match="neural must be a pynapple TsGroup"):
        sr.Session.from_pynapple(_behavior(), np.zeros((10, 2)))
    with pytest.raises(sr.DataError, match=r"behavior\['hand'\] must be a pynapple Tsd"):
        sr.Session.from_pynapple({"hand": XY}, spikes, bin_size=BIN)
    late = nap.TsdFrame(t=20 + np.arange(50) / 10, d=np.ones((50, 1)))
    with pytest.raises(sr.DataError, match=r"no overlap in time .*20-24\.9 s"):
        sr.Session.from_pynapple(_behavior(), late)


def test_measured_rates_of_the_same_nominal_rate_agree():
    # 1 / median(diff(t)) is 9.999999999999991 Hz for one clock and 10.000000000000036 Hz for
    # the other; both sessions must still form a cohort (rates are rounded to 6 digits)
    sessions = []
    for i, t0 in enumerate((0.2, 3.7)):
        t = t0 + np.arange(50) / 10
        neural = nap.TsdFrame(t=t, d=RNG.normal(size=(50, 2)), columns=["a", "b"])
        beh = nap.Tsd(t=np.arange(0, 1000) / 100, d=RNG.normal(size=1000))
        sessions.append(sr.Session.from_pynapple({"x": beh}, neural, name=f"s{i}"))
    assert sessions[0].rate == sessions[1].rate == 10.0
    assert sr.Cohort(sessions).rate == 10.0
