"""Reading sessions from NWB files written here with pynwb (an ecephys and an ophys layout)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest

import sharedrep as sr

pynwb = pytest.importorskip("pynwb")
ndx_pose = pytest.importorskip("ndx_pose")

from pynwb import NWBHDF5IO, NWBFile, TimeSeries  # noqa: E402
from pynwb.behavior import BehavioralTimeSeries, Position, SpatialSeries  # noqa: E402
from pynwb.file import Subject  # noqa: E402
from pynwb.ophys import (  # noqa: E402
    DfOverF,
    Fluorescence,
    ImageSegmentation,
    OpticalChannel,
    RoiResponseSeries,
)

# hdmf warns when a test builds an ROI region before its table is in the file; harmless here
pytestmark = pytest.mark.filterwarnings("ignore:The linked table:UserWarning")

BIN = 0.05
RNG = np.random.default_rng(7)
T100 = np.arange(0, 1000) / 100.0  # 0 .. 9.99 s at 100 Hz
T50 = np.arange(0, 500) / 50.0  # 0 .. 9.98 s at 50 Hz: the common range ends at 9.98
SPEED = RNG.normal(size=T100.size)
HAND = RNG.normal(size=(T100.size, 2))
LICK = RNG.normal(size=T100.size)
NOSE = RNG.normal(size=(T50.size, 2))
SPIKES = [np.sort(RNG.uniform(-1, 11, size=k)) for k in (40, 300, 0, 120)]
TRIALS = [(1.0, 3.0), (4.0, 6.0)]


def _nwbfile(**extra) -> NWBFile:
    return NWBFile(
        session_description="test session",
        identifier="abc-123",
        session_start_time=dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC),
        session_id="day3",
        lab="test lab",
        subject=Subject(subject_id="mouse7", species="Mus musculus", sex="F"),
        **extra,
    )


def _write(nwb: NWBFile, path) -> None:
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _add_behavior(nwb: NWBFile) -> None:
    beh = nwb.create_processing_module("behavior", "behavior")
    beh.add(TimeSeries(name="speed", data=SPEED, unit="m/s", rate=100.0, starting_time=0.0))
    beh.add(
        Position(
            spatial_series=SpatialSeries(
                name="hand", data=HAND, timestamps=T100, reference_frame="table"
            )
        )
    )
    beh.add(
        BehavioralTimeSeries(
            time_series=[
                TimeSeries(name="lick", data=LICK, unit="a.u.", timestamps=T100, conversion=2.0)
            ]
        )
    )
    skeleton = ndx_pose.Skeleton(name="body", nodes=["nose"])
    beh.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    nose = ndx_pose.PoseEstimationSeries(
        name="nose",
        data=NOSE,
        confidence=np.ones(T50.size),
        reference_frame="camera",
        timestamps=T50,
    )
    beh.add(ndx_pose.PoseEstimation(name="pose", pose_estimation_series=[nose], skeleton=skeleton))


@pytest.fixture(scope="module")
def ecephys_file(tmp_path_factory):
    nwb = _nwbfile()
    _add_behavior(nwb)
    for i, st in enumerate(SPIKES):
        nwb.add_unit(spike_times=st, id=100 + i)
    for start, stop in TRIALS:
        nwb.add_trial(start_time=start, stop_time=stop)
    path = tmp_path_factory.mktemp("nwb") / "sub-mouse7_ses-day3.nwb"
    _write(nwb, path)
    return path


# ophys: frames at 10 Hz from 0.5 s to 12 s with frames 60..64 dropped (a gap), offset so that
# no bin edge falls on a behavior sample; behavior at 200 Hz from 1 s to 11 s
T_FRAMES = np.delete(0.5013 + np.arange(116) / 10.0, np.arange(60, 65))
T200 = 1.0 + np.arange(2001) / 200.0
BEH200 = RNG.normal(size=T200.size)
DFF = RNG.normal(size=(T_FRAMES.size, 3))
FLUO = RNG.normal(size=(T_FRAMES.size, 3))


@pytest.fixture(scope="module")
def ophys_file(tmp_path_factory):
    nwb = _nwbfile()
    beh = nwb.create_processing_module("behavior", "behavior")
    beh.add(TimeSeries(name="wheel", data=BEH200, unit="cm/s", timestamps=T200))
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(
        name="plane",
        optical_channel=OpticalChannel(name="ch", description="green", emission_lambda=510.0),
        imaging_rate=10.0,
        description="V1",
        device=device,
        excitation_lambda=920.0,
        indicator="GCaMP6f",
        location="V1",
    )
    ophys = nwb.create_processing_module("ophys", "ophys")
    seg = ImageSegmentation()
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="rois", description="cells", imaging_plane=plane)
    for roi_id in (10, 11, 12, 13):
        ps.add_roi(image_mask=np.ones((4, 4)), id=roi_id)
    region = ps.create_roi_table_region(region=[0, 2, 3], description="kept cells")
    dff = RoiResponseSeries(
        name="RoiResponseSeries", data=DFF, rois=region, unit="1", timestamps=T_FRAMES
    )
    ophys.add(DfOverF(roi_response_series=dff))
    region2 = ps.create_roi_table_region(region=[0, 2, 3], description="kept cells")
    fl = RoiResponseSeries(
        name="RoiResponseSeries", data=FLUO, rois=region2, unit="a.u.", timestamps=dff
    )
    ophys.add(Fluorescence(roi_response_series=fl))
    path = tmp_path_factory.mktemp("nwb") / "imaging.nwb"
    _write(nwb, path)
    return path


def _bin_mean(t_src, values, lo, hi):
    """Independent reference: mean of the samples in each bin, by a plain loop."""
    out = np.empty((lo.size, values.shape[1]))
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        m = (t_src >= a) & (t_src < b)
        out[i] = values[m].mean(axis=0)
    return out


# -- ecephys ------------------------------------------------------------------------------------
def test_units_are_binned_and_behavior_resampled(ecephys_file):
    s = sr.Session.from_nwb(
        ecephys_file, behavior=["speed", "Position", "lick", "pose"], neural="units", bin_size=BIN
    )
    assert s.name == "sub-mouse7_ses-day3" and s.subject == "mouse7"
    assert s.feature_names == ("speed", "hand_x", "hand_y", "lick", "nose_x", "nose_y")
    assert s.neuron_names == ("100", "101", "102", "103")
    assert s.rate == pytest.approx(1 / BIN)
    # bins laid out over the common behavior range [0, 9.98] s
    edges = BIN * np.arange(int(9.98 / BIN) + 1)
    np.testing.assert_allclose(s.time, (edges[:-1] + edges[1:]) / 2)
    counts = np.column_stack([np.histogram(st, bins=edges)[0] for st in SPIKES])
    np.testing.assert_array_equal(s.neural, counts)
    # 100 Hz behavior into 20 Hz bins: "auto" averages the 5 samples of each bin
    lo, hi = edges[:-1], edges[1:]
    src = np.column_stack([SPEED, HAND, 2.0 * LICK])  # conversion applied to lick
    np.testing.assert_allclose(s.behavior[:, :4], _bin_mean(T100, src, lo, hi), atol=1e-12)
    # 50 Hz pose: 2.5 samples per bin, still averaged
    np.testing.assert_allclose(s.behavior[:, 4:], _bin_mean(T50, NOSE, lo, hi), atol=1e-12)
    assert s.metadata["resample"] == {
        "speed": "mean",
        "Position/hand": "mean",
        "BehavioralTimeSeries/lick": "mean",
        "pose/nose": "mean",
    }


def test_linear_resampling_matches_interpolation(ecephys_file):
    from scipy.interpolate import interp1d

    s = sr.Session.from_nwb(
        ecephys_file, behavior="Position/hand", neural="units", bin_size=BIN, resample="linear"
    )
    expected = interp1d(T100, HAND, axis=0)(s.time)
    np.testing.assert_allclose(s.behavior, expected, rtol=1e-12, atol=1e-15)


def test_trials_become_segments_and_metadata_is_kept(ecephys_file):
    s = sr.Session.from_nwb(ecephys_file, behavior="speed", bin_size=BIN)
    t = s.time
    # before trial 0, trial 0, between trials, trial 1, after trial 1
    which = np.select([t < 1, t < 3, t < 4, t < 6], [0, 1, 2, 3], default=4)
    np.testing.assert_array_equal(s.segments, which)
    assert list(s.metadata["trials"]["start_time"]) == [1.0, 4.0]
    assert s.metadata["session_id"] == "day3"
    assert s.metadata["identifier"] == "abc-123"
    assert s.metadata["subject_species"] == "Mus musculus"
    assert s.metadata["session_start_time"].startswith("2024-05-01T09:30")
    ignored = sr.Session.from_nwb(ecephys_file, behavior="speed", bin_size=BIN, trials=False)
    assert ignored.segments is None


def test_default_behavior_is_every_series(ecephys_file):
    s = sr.Session.from_nwb(ecephys_file, bin_size=BIN)
    assert set(s.feature_names) == {"speed", "hand_x", "hand_y", "lick", "nose_x", "nose_y"}
    assert s.n_neurons == len(SPIKES)


def test_sessions_from_nwb_fit_a_model(ecephys_file):
    s = sr.Session.from_nwb(ecephys_file, behavior=["speed", "Position"], bin_size=BIN)
    with pytest.warns(sr.SharedRepWarning, match="silent neuron"):  # unit 102 never fires
        model = sr.ShaReD(1, lags=[0, 1]).fit(s)
    assert model.predict(s).sizes == {"time": s.n_samples, "neuron": 4}


# -- ophys --------------------------------------------------------------------------------------
def test_ophys_layout(ophys_file):
    with pytest.warns(sr.SharedRepWarning, match=r"outside the time range") as rec:
        s = sr.Session.from_nwb(ophys_file, behavior="wheel", neural="DfOverF")
    inside = (T_FRAMES >= 1.0) & (T_FRAMES <= 11.0)
    assert str(ophys_file) in str(rec[0].message)
    assert f"{int((~inside).sum())} of {T_FRAMES.size}" in str(rec[0].message)
    assert s.metadata["samples_out_of_range"] == int((~inside).sum())
    np.testing.assert_allclose(s.time, T_FRAMES[inside])
    np.testing.assert_array_equal(s.neural, DFF[inside])
    assert s.neuron_names == ("10", "12", "13")  # ROI ids of the region's rows
    assert s.rate == pytest.approx(10.0)
    # 200 Hz into 10 Hz frames: mean over +-50 ms around each frame
    t = s.time
    expected = _bin_mean(T200, BEH200[:, None], t - 0.05, t + 0.05)
    np.testing.assert_allclose(s.behavior, expected, atol=1e-12)
    # the dropped frames split the recording into two segments
    assert s.segments is not None
    np.testing.assert_array_equal(s.segments, (t > 6.5).astype(int))  # frames 6.5-6.9 s missing


def test_ophys_series_by_path_and_out_of_range_raise(ophys_file):
    with pytest.warns(sr.SharedRepWarning):
        s = sr.Session.from_nwb(ophys_file, neural="Fluorescence/RoiResponseSeries")
    np.testing.assert_array_equal(s.neural, FLUO[(T_FRAMES >= 1.0) & (T_FRAMES <= 11.0)])
    with pytest.raises(sr.DataError, match=r"imaging\.nwb.*outside the time range.*trim"):
        sr.Session.from_nwb(ophys_file, neural="DfOverF", out_of_range="raise")


def test_ambiguous_ophys_series_asks_to_name_one(ophys_file):
    with pytest.raises(sr.DataError, match=r"matches 2 RoiResponseSeries.*name one"):
        sr.Session.from_nwb(ophys_file)


# -- errors -------------------------------------------------------------------------------------
def test_missing_behavior_module(tmp_path):
    nwb = _nwbfile()
    nwb.add_unit(spike_times=[0.1, 0.2])
    path = tmp_path / "nobeh.nwb"
    _write(nwb, path)
    with pytest.raises(sr.DataError, match=r"nobeh\.nwb: no 'behavior' processing module"):
        sr.Session.from_nwb(path, bin_size=BIN)


def test_unknown_series_name_lists_available(ecephys_file):
    with pytest.raises(sr.DataError, match=r"no behavior series named 'tongue'.*'speed'") as err:
        sr.Session.from_nwb(ecephys_file, behavior=["speed", "tongue"], bin_size=BIN)
    assert str(ecephys_file) in str(err.value)


def test_units_need_bin_size(ecephys_file):
    with pytest.raises(sr.DataError, match="needs bin_size"):
        sr.Session.from_nwb(ecephys_file, neural="units")


def test_no_ophys_module(ecephys_file):
    with pytest.raises(sr.DataError, match="no 'ophys' processing module"):
        sr.Session.from_nwb(ecephys_file, neural="DfOverF")


def test_no_overlap_in_time(tmp_path):
    nwb = _nwbfile()
    beh = nwb.create_processing_module("behavior", "behavior")
    beh.add(TimeSeries(name="speed", data=np.ones(100), unit="m/s", rate=10.0, starting_time=0.0))
    nwb.add_unit(spike_times=[50.0, 51.0])
    path = tmp_path / "late_spikes.nwb"
    _write(nwb, path)
    with pytest.raises(sr.DataError, match=r"late_spikes\.nwb: no overlap in time"):
        sr.Session.from_nwb(path, bin_size=BIN)


def test_not_an_nwb_file(tmp_path):
    path = tmp_path / "fake.nwb"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(sr.DataError, match=r"fake\.nwb: not a readable NWB file"):
        sr.Session.from_nwb(path, bin_size=BIN)


def test_trials_required_but_absent(ophys_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        with pytest.raises(sr.DataError, match="no trials table"):
            sr.Session.from_nwb(ophys_file, neural="DfOverF", trials=True)


def test_load_cohort_reads_nwb_files(ecephys_file, tmp_path):
    import shutil

    for name in ("a.nwb", "b.nwb"):
        shutil.copy(ecephys_file, tmp_path / name)
    cohort = sr.load_cohort(tmp_path, nwb={"behavior": ["speed"], "bin_size": BIN})
    assert cohort.names == ("a", "b")
    assert all(s.subject == "mouse7" for s in cohort)
