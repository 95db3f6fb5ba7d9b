"""Per-neuron metadata: kept through subsetting, fits, encoding maps, model files and readers."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.backend import cohort_stats
from sharedrep.io import read_npz, write_npz


def _info(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Every kind of column a lab has: text with gaps, a tag defined for some neurons only,
    numbers with NaN, integers, categories, plain booleans."""
    pop = np.where(np.arange(n) < n // 3, "thalamic_axon", "m1").astype(object)
    pop[1] = None
    tag = [None if p != "m1" else bool(rng.random() < 0.4) for p in pop]
    depth = rng.uniform(100, 300, size=n)
    depth[2] = np.nan
    return pd.DataFrame(
        {
            "population": pop,
            "thalamus_driven": tag,
            "depth": depth,
            "plane": rng.integers(0, 3, size=n),
            "cell_type": pd.Categorical(rng.choice(["pyr", "int"], size=n)),
            "responsive": rng.random(n) < 0.5,
            "n_spikes": pd.array([None if i == 0 else i for i in range(n)], dtype="Int64"),
        }
    )


@pytest.fixture(scope="module")
def tagged():
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=(500, 700), n_neurons=(9, 12), lags=range(-1, 2), seed=2
    )
    rng = np.random.default_rng(0)
    sessions = [s.replace(neuron_info=_info(s.n_neurons, rng)) for s in cohort]
    return sr.Cohort(sessions), truth


def test_object_booleans_become_nullable_and_rows_match_names(tagged):
    cohort, _ = tagged
    info = cohort[0].neuron_info
    assert str(info["thalamus_driven"].dtype) == "boolean"
    assert info["thalamus_driven"].isna().sum() == (info["population"] != "m1").sum()
    assert list(info.index) == list(cohort[0].neuron_names)
    # rows given in another order are matched by name
    shuffled = info.iloc[::-1]
    again = cohort[0].replace(neuron_info=shuffled)
    pd.testing.assert_frame_equal(again.neuron_info, info)
    with pytest.raises(sr.DataError, match="rows for"):
        cohort[0].replace(neuron_info=info.iloc[:3])


def test_select_neurons_by_query_names_mask_positions(tagged):
    cohort, _ = tagged
    s = cohort[1]
    m1 = s.select_neurons("population == 'm1'")
    keep = (s.neuron_info["population"] == "m1").fillna(False).to_numpy()
    assert m1.neuron_names == tuple(np.array(s.neuron_names)[keep])
    np.testing.assert_array_equal(np.asarray(m1.neural), np.asarray(s.neural)[:, keep])
    pd.testing.assert_frame_equal(m1.neuron_info, s.neuron_info[keep])
    np.testing.assert_array_equal(m1.behavior, s.behavior)  # behavior untouched
    by_name = s.select_neurons([s.neuron_names[4], s.neuron_names[2]])
    assert by_name.neuron_names == (s.neuron_names[2], s.neuron_names[4])  # session order
    assert s.select_neurons([0, 3]).neuron_names == (s.neuron_names[0], s.neuron_names[3])
    assert s.select_neurons(keep).n_neurons == keep.sum()
    # metadata-only copies keep the metadata and select too
    bare = s.without_data()
    pd.testing.assert_frame_equal(bare.neuron_info, s.neuron_info)
    assert bare.select_neurons("depth > 150").n_neurons == (s.neuron_info["depth"] > 150).sum()
    # the cohort: one query for every session; subset keeps metadata
    c = cohort.select_neurons("population == 'm1'")
    assert [x.n_neurons for x in c] == [
        int((x.neuron_info["population"] == "m1").sum()) for x in cohort
    ]
    assert cohort.subset(["session2"])[0].neuron_info.equals(cohort[2].neuron_info)


@pytest.mark.parametrize(
    ("which", "match"),
    [
        ("nope == 1", "query 'nope == 1' failed"),
        (["n0", "missing"], "no neurons named"),
        ([0, 99], "out of range"),
        (np.ones(3, bool), "mask of"),
        ("depth > 1e9", "keeps no neuron"),
    ],
)
def test_select_neurons_errors_name_the_session(tagged, which, match):
    with pytest.raises(sr.DataError, match=rf"session 'session0'.*{match}"):
        tagged[0][0].select_neurons(which)


def test_query_without_metadata():
    s = sr.Session(np.zeros((20, 1)), np.ones((20, 2)), name="bare")
    with pytest.raises(sr.DataError, match=r"session 'bare'.*needs neuron_info"):
        s.select_neurons("population == 'm1'")


def test_selected_lazy_session_gives_the_statistics_of_the_selection(tagged, tmp_path):
    cohort, truth = tagged
    s = cohort[0]
    np.save(tmp_path / "x.npy", np.asarray(s.behavior))
    np.save(tmp_path / "y.npy", np.asarray(s.neural))
    lazy = sr.Session(
        sr.open_npy(tmp_path / "x.npy"),
        sr.open_npy(tmp_path / "y.npy"),
        s.segments,
        name="lazy",
        neuron_info=s.neuron_info,
    ).select_neurons("population == 'm1'")
    memory = s.select_neurons("population == 'm1'")
    exp = sr.TemporalExpansion(truth.lags)
    a = cohort_stats(sr.Cohort([lazy]), exp)[0].total()
    b = cohort_stats(sr.Cohort([memory.replace(name="lazy")]), exp)[0].total()
    np.testing.assert_allclose(a.centered()[1], b.centered()[1])


def test_fit_and_model_file_keep_neuron_info(tagged, tmp_path):
    cohort, truth = tagged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    for s in cohort:
        pd.testing.assert_frame_equal(model.session_fits_[s.name].neuron_info, s.neuron_info)
    model.save(tmp_path / "m.npz")
    again = sr.load(tmp_path / "m.npz")
    for s in cohort:
        got = again.session_fits_[s.name].neuron_info
        pd.testing.assert_frame_equal(got, s.neuron_info)  # values, gaps and dtypes
    # a session without metadata stays without
    plain = sr.ShaReD(2, lags=truth.lags).fit(sr.simulate.cohort(n_sessions=2, seed=1)[0])
    plain.save(tmp_path / "p.npz")
    assert sr.load(tmp_path / "p.npz").session_fits_["session0"].neuron_info is None


def test_encoding_map_tables_carry_the_columns(tagged):
    cohort, truth = tagged
    s = cohort[0]
    info = s.neuron_info.assign(r2_crossfit=np.arange(s.n_neurons, dtype=float))  # a colliding name
    c = sr.Cohort([s.replace(neuron_info=info), *cohort[1:]])
    model = sr.ShaReD(2, lags=truth.lags).fit(c)
    em = sr.encoding_map(model, c, n_null=19, folds=3)
    rows = em.neurons[em.neurons["session"] == s.name]
    np.testing.assert_array_equal(rows["depth"].to_numpy(), info["depth"].to_numpy())
    np.testing.assert_array_equal(
        rows["info_r2_crossfit"].to_numpy(), info["r2_crossfit"].to_numpy()
    )
    assert rows["r2_crossfit"].to_numpy().max() < 1  # the table's own R² is not overwritten
    comp = em.components[(em.components["session"] == s.name) & (em.components["component"] == 1)]
    assert list(comp["population"].fillna("-")) == list(info["population"].fillna("-"))


def test_npz_round_trip_keeps_values_gaps_and_types(tagged, tmp_path):
    s = tagged[0][2]
    path = write_npz(s, tmp_path / "s.npz")
    back = read_npz(path)
    want = s.neuron_info.copy()
    want["cell_type"] = want["cell_type"].astype(str)  # categories are stored as text
    pd.testing.assert_frame_equal(back.neuron_info, want, check_dtype=False)
    assert str(back.neuron_info["thalamus_driven"].dtype) == "boolean"
    assert str(back.neuron_info["n_spikes"].dtype) == "Int64"
    assert back.neuron_info["population"].isna().sum() == 1
    with np.load(path) as z:  # the documented layout, readable without sharedrep
        assert list(z["neuron_info_columns"]) == list(s.neuron_info.columns)
        np.testing.assert_array_equal(z["neuron_info__depth"], s.neuron_info["depth"])
        assert z["neuron_info_missing__thalamus_driven"].sum() == int(
            s.neuron_info["thalamus_driven"].isna().sum()
        )


def test_npz_neuron_info_errors_name_file_and_key(tmp_path):
    base = {"behavior": np.zeros((30, 1)), "neural": np.zeros((30, 3))}
    np.savez(tmp_path / "bad.npz", **base, neuron_info__depth=np.arange(4.0))
    with pytest.raises(sr.DataError, match=r"bad.npz.*neuron_info__depth.*3 neurons"):
        read_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "mask.npz", **base, neuron_info_missing__depth=np.zeros(3, bool))
    with pytest.raises(sr.DataError, match="no values"):
        read_npz(tmp_path / "mask.npz")
    s = sr.Session(
        base["behavior"], base["neural"], neuron_info={"x": [object(), 1, 2]}, name="odd"
    )
    with pytest.raises(sr.DataError, match=r"session 'odd'.*column 'x'"):
        write_npz(s, tmp_path / "odd.npz")


def _nwb(tmp_path, **kw):
    pytest.importorskip("pynwb")
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(
        session_description="t",
        identifier="i",
        session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    beh = nwb.create_processing_module("behavior", "behavior")
    rng = np.random.default_rng(0)
    beh.add(TimeSeries(name="lever", data=rng.normal(size=1000), unit="mm", rate=100.0))
    kw["build"](nwb, rng)
    path = tmp_path / "f.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def test_nwb_units_columns_become_neuron_info(tmp_path):
    def build(nwb, rng):
        dev = nwb.create_device(name="probe")
        grp = nwb.create_electrode_group(name="shank0", description="d", location="M1", device=dev)
        nwb.add_unit_column(name="population", description="p")
        nwb.add_unit_column(name="thalamus_driven", description="opto tag")
        nwb.add_unit_column(name="depth", description="um")
        nwb.add_unit_column(name="burst_times", description="ragged", index=True)
        for i in range(3):
            nwb.add_unit(
                spike_times=np.sort(rng.uniform(0, 10, 40)),
                population=["th", "m1", "m1"][i],
                thalamus_driven=[False, True, False][i],
                depth=[100.0, 200.0, 300.0][i],
                burst_times=[0.5 * i, 1.0],
                electrode_group=grp,
                id=10 + i,
            )

    s = sr.Session.from_nwb(_nwb(tmp_path, build=build), neural="units", bin_size=0.1)
    info = s.neuron_info
    assert list(info.index) == ["10", "11", "12"]
    assert info["population"].tolist() == ["th", "m1", "m1"]
    assert info["thalamus_driven"].tolist() == [False, True, False]
    np.testing.assert_array_equal(info["depth"], [100.0, 200.0, 300.0])
    assert info["electrode_group"].tolist() == ["shank0"] * 3
    assert info["location"].tolist() == ["M1"] * 3
    assert s.metadata["neuron_info_skipped"] == ["burst_times"]  # said, not silently dropped


def test_nwb_plane_segmentation_columns_follow_the_series_rois(tmp_path):
    pytest.importorskip("pynwb")
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    def build(nwb, rng):
        device = nwb.create_device(name="scope")
        plane = nwb.create_imaging_plane(
            name="plane",
            optical_channel=OpticalChannel(name="ch", description="g", emission_lambda=510.0),
            imaging_rate=10.0,
            description="M1",
            device=device,
            excitation_lambda=920.0,
            indicator="GCaMP6f",
            location="M1",
        )
        ophys = nwb.create_processing_module("ophys", "ophys")
        seg = ImageSegmentation()
        ophys.add(seg)
        ps = seg.create_plane_segmentation(name="rois", description="c", imaging_plane=plane)
        ps.add_column(name="thalamus_driven", description="opto tag")
        ps.add_column(name="cell_type", description="t")
        for i, roi in enumerate((20, 21, 22, 23)):
            ps.add_roi(
                image_mask=np.ones((4, 4)), id=roi, thalamus_driven=bool(i % 2),
                cell_type=["pyr", "int", "pyr", "pyr"][i],
            )  # fmt: skip
        region = ps.create_roi_table_region(region=[3, 0, 2], description="kept")
        t = np.arange(95) / 10.0
        ophys.add(
            DfOverF(
                roi_response_series=RoiResponseSeries(
                    name="RoiResponseSeries",
                    data=rng.normal(size=(t.size, 3)),
                    rois=region,
                    unit="1",
                    timestamps=t,
                )
            )
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = sr.Session.from_nwb(_nwb(tmp_path, build=build), neural="DfOverF")
    assert s.neuron_names == ("23", "20", "22")
    assert s.neuron_info["thalamus_driven"].tolist() == [True, False, False]
    assert s.neuron_info["cell_type"].tolist() == ["pyr", "pyr", "pyr"]
    assert "image_mask" not in s.neuron_info


def test_pynapple_metadata_become_neuron_info():
    nap = pytest.importorskip("pynapple")
    rng = np.random.default_rng(1)
    group = nap.TsGroup(
        {3: nap.Ts(np.sort(rng.uniform(0, 10, 80))), 7: nap.Ts(np.sort(rng.uniform(0, 10, 30)))},
        metadata={"population": ["m1", "th"], "depth": [120.0, 80.0]},
    )
    beh = nap.Tsd(t=np.arange(0, 10, 0.01), d=rng.normal(size=1000))
    s = sr.Session.from_pynapple(beh, group, bin_size=0.1)
    assert s.neuron_info["population"].tolist() == ["m1", "th"]
    assert "rate" not in s.neuron_info  # computed by pynapple from the spikes: not metadata
    frame = nap.TsdFrame(
        t=np.arange(0, 10, 0.1), d=rng.random((100, 2)), columns=["a", "b"],
        metadata={"population": ["x", "y"]},
    )  # fmt: skip
    assert sr.Session.from_pynapple(beh, frame).neuron_info["population"].tolist() == ["x", "y"]
