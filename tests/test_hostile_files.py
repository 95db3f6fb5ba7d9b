"""Hostile inputs, family "files": session files that round-trip exactly, model files, and lazy
sources that change or lose chunks under a fit.

Each case checks the right result against an independent reading (numpy, zarr, h5py), or the
library's own error naming the file (and session) and the cause.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.errors import DataError, ModelFileError, SourceError

LAGS = range(-1, 2)
RNG = np.random.default_rng(5)


def recording(T=200, n=4, segments=None, **kw) -> sr.Session:
    return sr.Session(RNG.normal(size=(T, 2)), RNG.normal(size=(T, n)), segments, **kw)


# -- session files: write_npz then read_npz gives the same session -------------------------------
def test_a_trial_id_that_reappears_comes_back_as_the_same_segment(tmp_path):
    seg = np.repeat([3, 7, 3, 9], 50)  # trial 3 again after trial 7
    s = recording(segments=seg, name="m1")
    back = sr.io.read_npz(sr.write_npz(s, tmp_path / "m1.npz"))
    np.testing.assert_array_equal(back.segments, s.segments)
    assert int(back.segments.max()) + 1 == 3  # three trials, not four


def test_the_round_trip_keeps_the_cross_validation_result(tmp_path):
    seg = np.repeat([0, 1, 2, 0, 3, 1, 4, 5], 25)
    cohort = sr.Cohort([recording(segments=seg, name=n, rate=20.0) for n in ("a", "b")])
    back = sr.Cohort([sr.io.read_npz(sr.write_npz(s, tmp_path / f"{s.name}.npz")) for s in cohort])
    kw = {"n_components": [1], "alpha": [1.0], "folds": 3, "lags": LAGS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        a, b = sr.cross_validate(cohort, **kw), sr.cross_validate(back, **kw)
    np.testing.assert_array_equal(a.neuron["r2"].to_numpy(), b.neuron["r2"].to_numpy())


def test_stretches_outside_trials_stay_segments_of_their_own(tmp_path):
    trial = np.repeat([-1, 0, -1, 1, -1, 0], 10)
    np.savez(
        tmp_path / "s.npz",
        behavior=RNG.normal(size=(60, 2)),
        neural=RNG.normal(size=(60, 3)),
        trial=trial,
    )
    s = sr.io.read_npz(tmp_path / "s.npz")
    # -1 | 0 | -1 | 1 | -1 | 0: the -1 stretches are three segments, trial 0 is one
    np.testing.assert_array_equal(s.segments, np.repeat([0, 1, 2, 3, 4, 1], 10))


def test_every_field_survives_the_round_trip(tmp_path):
    s = recording(
        segments=np.repeat([0, 1], 100),
        name="m1",
        subject="mouse1",
        condition="expert",
        rate=20.0,
        feature_names=["lever", "lick"],
        neuron_names=["a", "b", "c", "d"],
        covariates=RNG.normal(size=(200, 1)),
        covariate_names=["run"],
        trial_time=np.tile(np.arange(100) / 20.0, 2),
        metadata={"area": "M1", "day": 3},
    )
    back = sr.io.read_npz(sr.write_npz(s, tmp_path / "m1.npz"))
    for key in ("feature_names", "neuron_names", "covariate_names", "subject", "condition", "rate"):
        assert getattr(back, key) == getattr(s, key), key
    for key in ("behavior", "neural", "covariates", "trial_time", "segments"):
        np.testing.assert_array_equal(np.asarray(getattr(back, key)), np.asarray(getattr(s, key)))
    assert back.metadata["area"] == "M1" and back.metadata["day"] == 3
    assert back.fingerprint == s.fingerprint


def test_a_failed_write_npz_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = sr.write_npz(recording(name="old"), tmp_path / "s.npz")
    before = path.read_bytes()

    def broken(f, **kw):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sr.io.npz.np, "savez", broken)
    with pytest.raises(sr.OutputError, match=rf"cannot write session file {path}: No space left"):
        sr.write_npz(recording(name="new"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]  # no temporary left


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_follow_the_umask(tmp_path, umask):
    model = sr.ShaReD(1, lags=[0]).fit(recording(name="m1"))
    old = os.umask(umask)
    try:
        a = sr.write_npz(recording(name="m1"), tmp_path / "s.npz")
        b = model.save(tmp_path / "model.npz")
    finally:
        os.umask(old)
    assert os.stat(a).st_mode & 0o777 == 0o666 & ~umask
    assert os.stat(b).st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"behavior": RNG.normal(size=(20, 2)) + 1j, "neural": np.zeros((20, 3))}, r"complex"),
        ({"behavior": np.zeros((20, 2))}, r"required keys \['neural'\] are missing"),
        (
            {"behavior": np.zeros((20, 2)), "neural": np.zeros((20, 3)), "trial": np.zeros(20)},
            r"trial must hold integer ids, got dtype float64",
        ),
        (
            {"behavior": np.zeros((20, 2)), "neural": np.zeros((20, 3)), "trial": np.full(20, -3)},
            r"trial ids must be >= 0, or -1 outside any trial",
        ),
        (
            {
                "behavior": np.zeros((20, 2)),
                "neural": np.zeros((20, 3)),
                "bin_s": 0.05,
                "time": np.arange(20) * 0.1,
            },
            r"mismatched rates: bin_s is 0.05 s but the time stamps are 0.1 s apart",
        ),
    ],
    ids=["complex", "missing-key", "float-trials", "bad-trials", "rates"],
)
def test_bad_session_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    with pytest.raises(DataError, match=rf"^{path}: .*{message}"):
        sr.io.read_npz(path)


def test_a_pickled_member_is_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, behavior=np.zeros((5, 1)), neural=np.array([{"a": 1}] * 5, dtype=object))
    with pytest.raises(DataError, match=r"key 'neural' holds pickled Python objects"):
        sr.io.read_npz(path)


# -- model files --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    s = recording(name="m1")
    return s, sr.ShaReD(1, lags=LAGS).fit(s)


def test_a_failed_save_leaves_the_previous_model_file_whole(fitted, tmp_path, monkeypatch):
    _, model = fitted
    path = model.save(tmp_path / "model.npz")
    before = path.read_bytes()

    def full(f, **kw):
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sr.persist.np, "savez_compressed", full)
    with pytest.raises(
        sr.OutputError, match=rf"cannot write model file {path}: No space left"
    ) as e:
        model.save(path)
    assert e.value.errno == 28 and isinstance(e.value, OSError)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    np.testing.assert_array_equal(sr.load(path).coef_, model.coef_)


def test_an_interrupted_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    _, model = fitted

    def interrupted(f, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(sr.persist.np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/model.npz", r"cannot write model file .*missing/model\.npz: No such file"),
        ("folder", r"cannot write model file .*folder: it is a folder"),
    ],
)
def test_save_destinations_that_cannot_be_written(fitted, tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    with pytest.raises(sr.OutputError, match=message):
        fitted[1].save(tmp_path / where)


def test_damaged_model_files_are_refused(fitted, tmp_path):
    path = fitted[1].save(tmp_path / "model.npz")
    raw = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.npz: not a readable model file"):
        sr.load(tmp_path / "cut.npz")
    with pytest.raises(FileNotFoundError, match=r"no model file at"):
        sr.load(tmp_path / "none.npz")
    sr.write_npz(fitted[0], tmp_path / "session.npz")
    with pytest.raises(ModelFileError, match=r"not a sharedrep model file"):
        sr.load(tmp_path / "session.npz")


def test_a_loaded_model_still_refuses_another_recording(fitted, tmp_path):
    _, model = fitted
    loaded = sr.load(model.save(tmp_path / "model.npz"))
    other = recording()  # unnamed: named session0 by position
    loaded.session_fits_["session0"] = loaded.session_fits_["m1"]
    with pytest.raises(DataError, match=r"session 'session0' was given no name"):
        loaded.score(other)


# -- lazy sources: what changes under a fit is named --------------------------------------------
def zarr_session(tmp_path, chunks=(32, 2), **kw):
    zarr = pytest.importorskip("zarr")
    store = tmp_path / "rec.zarr"
    g = zarr.open_group(store, mode="w")
    Y = RNG.normal(size=(200, 4))
    arr = g.create_array("neural", shape=Y.shape, chunks=chunks, dtype="f8")
    arr[:] = Y
    X = RNG.normal(size=(200, 2))
    return store, arr, X, Y, sr.Session(X, sr.open_zarr(store, "neural", **kw), name="m1")


def test_a_missing_zarr_chunk_is_named_not_read_as_zeros(tmp_path):
    store, arr, *_, s = zarr_session(tmp_path)
    os.remove(store / "neural" / arr.metadata.encode_chunk_key((2, 1)))
    message = r"session 'm1': .*chunk 2\.1 \(samples 64\.\.95\) is missing from the store"
    with pytest.raises(SourceError, match=message):
        sr.ShaReD(1, lags=LAGS).fit(s)


def test_missing_chunks_fill_reads_what_zarr_reads(tmp_path):
    store, arr, *_, s = zarr_session(tmp_path, missing_chunks="fill")
    os.remove(store / "neural" / arr.metadata.encode_chunk_key((2, 1)))
    expected = pytest.importorskip("zarr").open_array(store / "neural", mode="r")[
        60:100
    ]  # zarr's own reading
    np.testing.assert_array_equal(s.neural[60:100], expected)
    np.testing.assert_array_equal(expected[4:36, 2:], 0.0)  # the fill value, as zarr does


def test_missing_chunks_must_be_raise_or_fill(tmp_path):
    with pytest.raises(ValueError, match=r"missing_chunks must be one of \('raise', 'fill'\)"):
        zarr_session(tmp_path, missing_chunks="zero")


def test_a_zarr_array_rewritten_with_another_shape_is_named(tmp_path):
    store, *_, s = zarr_session(tmp_path)
    g = pytest.importorskip("zarr").open_group(store, mode="a")
    del g["neural"]
    g.create_array("neural", shape=(150, 4), chunks=(32, 2), dtype="f8")[:] = 0.0
    with pytest.raises(SourceError, match=r"changed since it was opened: it held shape \(200, 4\)"):
        sr.ShaReD(1, lags=LAGS).fit(s)


@pytest.mark.parametrize(
    ("replacement", "now"),
    [(np.zeros((120, 4)), r"\(120, 4\)"), (np.zeros((200, 5)), r"\(200, 5\)")],
    ids=["shorter", "wider"],
)
def test_a_npy_file_replaced_under_a_fit_is_named(tmp_path, replacement, now):
    Y = RNG.normal(size=(200, 4))
    np.save(tmp_path / "y.npy", Y)
    s = sr.Session(RNG.normal(size=(200, 2)), sr.open_npy(tmp_path / "y.npy"), name="m1")
    np.save(tmp_path / "y.npy", replacement)
    message = (
        r"session 'm1': could not read neural samples .*y\.npy changed since it was opened: "
        rf"it held shape \(200, 4\) of float64, it now holds {now}"
    )
    with pytest.raises(SourceError, match=message):
        sr.ShaReD(1, lags=LAGS).fit(s)


def test_a_vanished_file_is_named(tmp_path):
    np.save(tmp_path / "y.npy", RNG.normal(size=(200, 4)))
    s = sr.Session(RNG.normal(size=(200, 2)), sr.open_npy(tmp_path / "y.npy"), name="m1")
    os.remove(tmp_path / "y.npy")
    with pytest.raises(SourceError, match=r"session 'm1': could not read neural samples"):
        sr.ShaReD(1, lags=LAGS).fit(s)


def test_an_hdf5_dataset_rewritten_with_another_shape_is_named(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as f:
        f["neural"] = RNG.normal(size=(200, 4))
    s = sr.Session(RNG.normal(size=(200, 2)), sr.open_hdf5(path, "neural"), name="m1")
    with h5py.File(path, "a") as f:
        del f["neural"]
        f["neural"] = np.zeros((200, 3))
    with pytest.raises(SourceError, match=r"rec\.h5::neural changed since it was opened"):
        sr.ShaReD(1, lags=LAGS).fit(s)


def test_a_lazy_fit_equals_the_in_memory_fit(tmp_path):
    _, _, X, Y, s = zarr_session(tmp_path)
    a = sr.ShaReD(1, lags=LAGS, chunk_size=50).fit(s)
    b = sr.ShaReD(1, lags=LAGS).fit(sr.Session(X, Y, name="m1"))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    assert a.session_fits_["m1"].fingerprint == b.session_fits_["m1"].fingerprint


# -- NWB: errors name the true cause ------------------------------------------------------------
def _nwb_without_units(path, ophys: bool):
    pynwb = pytest.importorskip("pynwb")
    import datetime as dt

    nwb = pynwb.NWBFile(
        session_description="t", identifier="x", session_start_time=dt.datetime.now(dt.UTC)
    )
    beh = nwb.create_processing_module("behavior", "behavior")
    beh.add(pynwb.TimeSeries(name="speed", data=RNG.normal(size=100), unit="m/s", rate=10.0))
    if ophys:
        nwb.create_processing_module("ophys", "ophys").add(
            pynwb.TimeSeries(name="raw", data=RNG.normal(size=100), unit="a.u.", rate=10.0)
        )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.mark.parametrize(
    ("ophys", "message"),
    [
        (False, r"has no Units table \(or an empty one\); it has no 'ophys' module either"),
        (True, r"has no Units table .*its neural data are imaging .*Drop bin_size"),
    ],
)
def test_nwb_bin_size_without_units_names_the_missing_table(tmp_path, ophys, message):
    path = _nwb_without_units(tmp_path / "s.nwb", ophys)
    with pytest.raises(
        DataError, match=rf"{path}: bin_size asks to count the spike times.*{message}"
    ):
        sr.Session.from_nwb(path, bin_size=0.05)


def test_nwb_units_asked_for_without_units(tmp_path):
    path = _nwb_without_units(tmp_path / "s.nwb", ophys=False)
    with pytest.raises(DataError, match=rf"{path}: no Units table \(or an empty one\)"):
        sr.Session.from_nwb(path, neural="units", bin_size=0.05)
