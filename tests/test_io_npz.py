"""npz sessions, the folder layout, and the real reaching recordings in ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr

REACHING = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reaching"
needs_reaching = pytest.mark.skipif(
    not (REACHING / "m1_stevenson2011.npz").is_file(), reason="../shared/data/reaching absent"
)


def _write(path, **keys):
    with open(path, "wb") as f:
        np.savez(f, **keys)
    return path


@pytest.fixture
def small(tmp_path):
    rng = np.random.default_rng(0)
    keys = {
        "behavior": rng.normal(size=(60, 2)),
        "behavior_names": np.array(["lever", "lick"]),
        "neural": rng.poisson(2.0, size=(60, 3)).astype(np.float32),
        "trial": np.repeat([-1, 0, 1, -1, 2, -1], 10),
        "bin_s": np.float64(0.1),
        "subject": np.array("m7"),
        "session": np.array("day1"),
        "area": np.array("M2"),
    }
    return _write(tmp_path / "m7_day1.npz", **keys), keys


@needs_reaching
@pytest.mark.parametrize("stem", ["m1_stevenson2011", "s1_area2"])
def test_reads_reaching_files(stem):
    path = REACHING / f"{stem}.npz"
    s = sr.Session.from_npz(path)
    with np.load(path, allow_pickle=False) as raw:
        np.testing.assert_array_equal(s.behavior, raw["behavior"])
        np.testing.assert_array_equal(s.neural, raw["neural"])
        assert s.feature_names == tuple(raw["behavior_names"])
        assert s.rate == pytest.approx(1 / float(raw["bin_s"]))
        assert s.subject == str(raw["subject"])
        assert s.metadata["session_id"] == str(raw["session"])
        assert s.metadata["area"] == str(raw["area"])
        assert s.metadata["license"] == str(raw["license"])
        assert np.all(raw["trial"] == -1)
    assert s.name == stem and s.segments is None  # trial == -1 everywhere: continuous


@needs_reaching
def test_reaching_folder_is_a_cohort():
    cohort = sr.load_cohort(REACHING)
    assert cohort.names == ("m1_stevenson2011", "s1_area2")
    assert cohort.feature_names == ("hand_x", "hand_y", "hand_vx", "hand_vy")
    assert [s.n_neurons for s in cohort] == [171, 52]
    assert cohort.rate == pytest.approx(20.0)


def test_trial_ids_and_minus_one_stretches_become_segments(small):
    path, keys = small
    s = sr.Session.from_npz(path, condition="expert")
    # -1 | trial 0 | trial 1 | -1 | trial 2 | -1: six segments, in order
    np.testing.assert_array_equal(s.segments, np.repeat(np.arange(6), 10))
    assert s.name == "m7_day1" and s.subject == "m7" and s.condition == "expert"
    assert s.metadata["session_id"] == "day1" and s.metadata["area"] == "M2"
    np.testing.assert_array_equal(s.neural, keys["neural"])


def test_write_read_round_trip(tmp_path, small):
    s = sr.Session.from_npz(small[0])
    t = 5.0 + np.arange(s.n_samples) * 0.1
    s2 = sr.Session(
        pd.DataFrame(s.behavior, index=pd.Index(t, name="time")),
        s.neural,
        s.segments,
        name="x",
        subject="m7",
        condition="naive",
        feature_names=s.feature_names,
        neuron_names=["u1", "u2", "u3"],
        rate=10.0,
        metadata={"session_id": "day1", "area": "M2", "notes": ["not", "written"], "trial": 3},
    )
    back = sr.io.read_npz(sr.io.write_npz(s2, tmp_path / "x.npz"))
    np.testing.assert_array_equal(back.behavior, s2.behavior)
    np.testing.assert_array_equal(back.neural, s2.neural)
    np.testing.assert_array_equal(back.segments, s2.segments)
    np.testing.assert_allclose(back.time, t)
    assert back.neuron_names == ("u1", "u2", "u3") and back.feature_names == s.feature_names
    assert (back.subject, back.condition, back.rate) == ("m7", "naive", 10.0)
    assert back.metadata["session_id"] == "day1" and back.metadata["area"] == "M2"
    assert "notes" not in back.metadata  # not a scalar: not part of the layout
    assert "trial" not in back.metadata  # a reserved key is never overwritten by metadata


def test_missing_key_names_file_and_key(tmp_path):
    path = _write(tmp_path / "bad.npz", behavior=np.zeros((5, 2)))
    with pytest.raises(sr.DataError, match=r"bad\.npz: required keys \['neural'\] are missing"):
        sr.Session.from_npz(path)


def test_pickled_member_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    with open(path, "wb") as f:
        np.savez(
            f,
            behavior=np.zeros((5, 1)),
            neural=np.zeros((5, 1)),
            subject=np.array([{"a": 1}], dtype=object),
        )
    with pytest.raises(sr.DataError, match=r"pickled\.npz: key 'subject' holds pickled"):
        sr.Session.from_npz(path)


def test_shape_mismatch_names_file(tmp_path):
    path = _write(tmp_path / "short.npz", behavior=np.zeros((5, 2)), neural=np.zeros((4, 3)))
    with pytest.raises(sr.DataError, match=r"short\.npz: .*5 samples but neural has 4"):
        sr.Session.from_npz(path)


def test_time_disagreeing_with_bin_s_is_a_rate_mismatch(tmp_path):
    path = _write(
        tmp_path / "rates.npz",
        behavior=np.zeros((5, 1)),
        neural=np.zeros((5, 1)),
        bin_s=np.float64(0.05),
        time=np.arange(5) * 0.1,
    )
    with pytest.raises(sr.DataError, match=r"rates\.npz: mismatched rates: bin_s is 0\.05"):
        sr.Session.from_npz(path)


def test_not_an_archive(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(sr.DataError, match=r"junk\.npz: not a readable npz archive"):
        sr.Session.from_npz(path)


def test_folder_with_mismatched_rates_names_files(tmp_path):
    for name, bin_s in (("a", 0.05), ("b", 0.1)):
        _write(
            tmp_path / f"{name}.npz",
            behavior=np.zeros((5, 1)),
            neural=np.zeros((5, 1)),
            bin_s=np.float64(bin_s),
        )
    with pytest.raises(sr.DataError, match=r"mismatched rates: .*a\.npz: 20 Hz, .*b\.npz: 10 Hz"):
        sr.load_cohort(tmp_path)


def test_folder_with_mismatched_features_names_files(tmp_path):
    for name, feats in (("a", ["x", "y"]), ("b", ["x", "z"])):
        _write(
            tmp_path / f"{name}.npz",
            behavior=np.zeros((5, 2)),
            behavior_names=np.array(feats),
            neural=np.zeros((5, 1)),
        )
    with pytest.raises(sr.DataError, match=r"b\.npz: behavioral features \['x', 'z'\]"):
        sr.load_cohort(tmp_path)


def test_folder_conditions_and_errors(tmp_path):
    for name in ("s1", "s2"):
        _write(tmp_path / f"{name}.npz", behavior=np.ones((5, 1)), neural=np.ones((5, 2)))
    cohort = sr.load_cohort(tmp_path, conditions={"s2": "expert"})
    assert [s.condition for s in cohort] == [None, "expert"]
    with pytest.raises(
        sr.DataError, match=r"conditions given for sessions without a file: \['s3'\]"
    ):
        sr.load_cohort(tmp_path, conditions={"s3": "naive"})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sr.DataError, match="no session files"):
        sr.load_cohort(empty)


@needs_reaching
def test_reaching_cohort_fit_save_load(tmp_path):
    cohort = sr.load_cohort(REACHING)
    # the two files store hand position and velocity in different units (about 100x apart)
    with pytest.warns(sr.SharedRepWarning, match="Are the units the same"):
        model = sr.ShaReD(2, lags=range(-3, 1)).fit(cohort)
    loaded = sr.load(model.save(tmp_path / "reaching.npz"))
    for s in cohort:
        assert loaded.predict(s).identical(model.predict(s))
    assert loaded.score(cohort).pooled == model.score(cohort).pooled


def test_missing_optional_dependency_names_the_extra(monkeypatch, tmp_path):
    import sharedrep.io as sio
    import sharedrep.io._timebase as timebase

    def unavailable(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(timebase.importlib, "import_module", unavailable)
    with pytest.raises(ImportError, match=r"needs pynwb.*pip install sharedrep\[nwb\]"):
        sio.read_nwb(tmp_path / "x.nwb")
    with pytest.raises(ImportError, match=r"pip install sharedrep\[pynapple\]"):
        sio.from_pynapple(None, None)


def test_importing_sharedrep_loads_no_io_dependency():
    import subprocess
    import sys

    code = (
        "import sys, sharedrep\n"
        "loaded = [m for m in ('pynwb', 'pynapple', 'h5py', 'hdmf') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
