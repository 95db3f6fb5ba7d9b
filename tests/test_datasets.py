"""sr.datasets: public recordings fetched by pinned URL and SHA-256, read from the original files.

Nothing is downloaded here (conftest refuses HTTP): files are served from ``../shared/data/raw``
through a ``file://`` mirror, or made up in a temporary folder. Tests that need the real files
skip without ``../shared``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

import sharedrep as sr
from conftest import SHARED_DATA
from sharedrep.io import datasets as ds

V1_NPZ = SHARED_DATA / "v1_gratings"
REACHING_NPZ = SHARED_DATA / "reaching"


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_registry_is_the_pinned_table_of_the_data_readme(raw_data):
    """Repository, commit, path and SHA-256 of every file, as the data's README lists them."""
    readme = (SHARED_DATA / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `raw/([^`]+)` \| (.+?) \| ([0-9a-f]{64}) \|$", readme, flags=re.M)
    assert len(rows) == 9
    reg = sr.datasets.registry()
    assert sorted(reg.index) == sorted(key for key, _, _ in rows)
    origin = None
    for key, where, sha in rows:
        if where.strip() != "same" and not where.startswith("same :"):
            origin = re.match(r"(\S+) @ ([0-9a-f]{40}) : (\S+)", where).groups()
        entry = reg.loc[key]
        assert entry["sha256"] == sha == _sha256(raw_data / key)
        assert (entry["repository"], entry["commit"]) == origin[:2]
        name = where.split(" : ")[1] if where.startswith("same :") else origin[2]
        expected = name if name.endswith(".mat") else name + key.split("/")[1]
        assert entry["path"] == expected
        assert entry["url"] == (
            f"https://raw.githubusercontent.com/{origin[0]}/{origin[1]}/{entry['path']}"
        )


def test_v1_fetcher_reproduces_the_npz_files(raw_data, tmp_path):
    cohort = sr.datasets.fetch_v1_gratings(data_home=tmp_path, mirror=raw_data.as_uri())
    files = sorted(V1_NPZ.glob("*.npz"))
    assert cohort.names == tuple(f.stem for f in files) and len(cohort) == 7
    for s, f in zip(cohort, files, strict=True):
        z = np.load(f)
        np.testing.assert_array_equal(np.asarray(s.behavior), z["behavior"])
        assert np.asarray(s.behavior).dtype == z["behavior"].dtype
        np.testing.assert_array_equal(np.asarray(s.neural), z["neural"])
        assert np.asarray(s.neural).dtype == np.float32
        assert list(s.feature_names) == [str(n) for n in z["behavior_names"]]
        np.testing.assert_array_equal(s.segments, z["trial"])
        np.testing.assert_array_equal(s.trial_time, z["trial_time_s"])
        np.testing.assert_array_equal(s.metadata["direction_deg"], z["direction_deg"])
        assert s.rate == pytest.approx(1 / float(z["bin_s"]))
        assert s.subject == str(z["subject"]) and s.condition == str(z["condition"])
        for key in ("session", "area", "indicator", "license", "source"):
            got = s.metadata["session_id" if key == "session" else key]
            assert got == str(z[key]), key
        assert "Park et al." in s.metadata["citation"]
        assert s.metadata["sha256"] == _sha256(
            raw_data / next(k for k, f in ds._REGISTRY.items() if f.session == s.name)
        )


def test_reaching_fetcher_reproduces_the_npz_files(raw_data, tmp_path):
    cohort = sr.datasets.fetch_reaching(data_home=tmp_path, mirror=raw_data.as_uri())
    assert cohort.names == ("m1_stevenson2011", "s1_area2")
    for s in cohort:
        z = np.load(REACHING_NPZ / f"{s.name}.npz")
        np.testing.assert_array_equal(np.asarray(s.behavior), z["behavior"])
        np.testing.assert_array_equal(np.asarray(s.neural), z["neural"])
        assert np.asarray(s.neural).dtype == np.float32
        assert list(s.feature_names) == [str(n) for n in z["behavior_names"]]
        assert s.segments is None and np.all(z["trial"] == -1)  # continuous recordings
        assert s.rate == pytest.approx(1 / float(z["bin_s"]))
        assert s.subject == str(z["subject"])
        for key in ("session", "area", "license", "source"):
            assert s.metadata["session_id" if key == "session" else key] == str(z[key]), key
        assert s.metadata["url"].startswith("https://raw.githubusercontent.com/KordingLab/")
    # the M1 file's own bin times are kept: 50 ms apart (stored rounded to the millisecond)
    np.testing.assert_allclose(np.diff(cohort[0].time), 0.05, atol=0.6e-3)
    assert cohort[1].time is None


def test_v1_running_and_pupil_as_private_covariates(raw_data, tmp_path):
    both = sr.datasets.fetch_v1_gratings("mrcuts29", data_home=tmp_path, mirror=raw_data.as_uri())
    split = sr.datasets.fetch_v1_gratings(
        ["mrcuts29"],
        covariates=("running_speed", "pupil_z"),
        data_home=tmp_path,
        mirror=raw_data.as_uri(),
    )
    full, s = np.asarray(both[0].behavior), split[0]
    assert s.feature_names == both[0].feature_names[:8]
    assert s.covariate_names == ("running_speed", "pupil_z")
    np.testing.assert_array_equal(np.asarray(s.behavior), full[:, :8])
    np.testing.assert_array_equal(np.asarray(s.covariates), full[:, 8:])
    # pupil alone: running stays a behavioral variable
    one = sr.datasets.fetch_v1_gratings(
        "mrcuts29", covariates=["pupil_z"], data_home=tmp_path, mirror=raw_data.as_uri()
    )[0]
    assert one.feature_names[-1] == "running_speed" and one.covariate_names == ("pupil_z",)
    with pytest.raises(ValueError, match="unknown covariates"):
        sr.datasets.fetch_v1_gratings("mrcuts29", covariates=["speed"], data_home=tmp_path)
    with pytest.raises(ValueError, match=r"unknown mice \['mrcuts99'\]"):
        sr.datasets.fetch_v1_gratings("mrcuts99", data_home=tmp_path)


def _fake_mirror(tmp_path, key: str, content: bytes):
    path = tmp_path / "mirror" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return (tmp_path / "mirror").as_uri()


def test_a_wrong_checksum_is_refused_and_not_cached(tmp_path):
    key = "spykesml/s1_data.mat"
    mirror = _fake_mirror(tmp_path, key, b"not the recording")
    cache = tmp_path / "cache"
    with pytest.raises(sr.SourceError) as err:
        sr.datasets.fetch_reaching("s1_area2", data_home=cache, mirror=mirror)
    text = str(err.value)
    assert "fails its SHA-256 check" in text and key in text
    expected = sr.datasets.registry().loc[key, "sha256"]
    assert f"expected {expected}" in text
    assert f"got {hashlib.sha256(b'not the recording').hexdigest()}" in text
    assert not (cache / key).exists()  # nothing was cached
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True


def test_a_corrupted_cached_file_is_replaced(raw_data, tmp_path):
    key = "spykesml/s1_data.mat"
    cached = tmp_path / key
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    path = sr.datasets.fetch_file(key, data_home=tmp_path, mirror=raw_data.as_uri())
    assert path == cached and _sha256(path) == sr.datasets.registry().loc[key, "sha256"]


def test_a_cached_file_is_used_without_asking_the_mirror(raw_data, tmp_path):
    key = "spykesml/s1_data.mat"
    (tmp_path / "spykesml").mkdir()
    shutil.copyfile(raw_data / key, tmp_path / key)
    empty = (tmp_path / "no-mirror").as_uri()  # would fail if it were asked
    assert sr.datasets.fetch_file(key, data_home=tmp_path, mirror=empty) == tmp_path / key


def test_missing_mirror_file_and_unknown_key(tmp_path):
    with pytest.raises(sr.SourceError, match="the mirror has no file at"):
        sr.datasets.fetch_file(
            "spykesml/s1_data.mat", data_home=tmp_path, mirror=(tmp_path / "nothing").as_uri()
        )
    with pytest.raises(KeyError, match="no registered file"):
        sr.datasets.fetch_file("spykesml/other.mat", data_home=tmp_path)
    with pytest.raises(KeyError, match="no dataset 'mnist'"):
        sr.datasets.fetch("mnist")


def test_cache_folder_argument_then_environment_then_user_cache(tmp_path, monkeypatch):
    import pooch

    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path / "env"))
    assert sr.datasets.cache_folder() == tmp_path / "env"
    assert sr.datasets.cache_folder(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(ds.ENV_DATA_DIR)
    assert sr.datasets.cache_folder() == pooch.os_cache("sharedrep")


def test_mirror_from_the_environment(raw_data, tmp_path, monkeypatch):
    monkeypatch.setenv(ds.ENV_MIRROR, raw_data.as_uri())
    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path))
    cohort = sr.datasets.fetch("reaching", sessions="s1_area2")
    assert cohort.names == ("s1_area2",)
    assert (tmp_path / "spykesml" / "s1_data.mat").is_file()


def test_importing_downloads_nothing(tmp_path):
    code = "import sharedrep as sr, sharedrep.datasets; print(len(sr.datasets.registry()))"
    env = {"SHAREDREP_DATA_DIR": str(tmp_path / "cache"), "PATH": "", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "9" and not (tmp_path / "cache").exists()


# -- the readers on made-up files in the original layouts ---------------------------------------
def _cell(traces):
    out = np.empty((1, len(traces)), dtype=object)
    for i, tr in enumerate(traces):
        out[0, i] = np.asarray(tr, dtype=float)
    return out


def test_park_reader_codes_each_trials_onset_independently(tmp_path):
    """Three trials, two neurons, made up: the onset regressor is 1 at t = 0 of each trial,
    in the column of that trial's direction; the traces are concatenated trial by trial."""
    rng = np.random.default_rng(0)
    t = np.arange(-2, 4) * 0.25  # 6 samples, onset at index 2
    directions = np.array([90, 0, 315], dtype=np.uint16)
    n1, n2 = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    speed, pupil = rng.uniform(0, 5, size=(3, 6)), rng.normal(size=(3, 6))
    path = tmp_path / "fake.mat"
    scipy.io.savemat(
        path,
        {
            # neuron10 before neuron2: columns follow the numbers, not the stored order
            "D": {
                "neuron10": _cell(n2),
                "neuron2": _cell(n1),
                "pupil_zscore": _cell(pupil),
                "speed": _cell(speed),
            },
            "TE": {"direction": directions, "nTrials": 3.0, "dt": 0.25},
            "t": t[None, :],
        },
    )
    entry = ds._REGISTRY[next(iter(ds._REGISTRY))]
    s = ds._read_park(path, entry, "mrcuts24", "rec", ["pupil_z"])
    assert s.n_samples == 18 and s.rate == 4.0 and s.neuron_names == ("neuron2", "neuron10")
    X = np.asarray(s.behavior)
    expected = np.zeros((18, 8))
    for k, d in enumerate(directions):
        expected[6 * k + 2, ds.V1_DIRECTIONS.index(int(d))] = 1.0
    np.testing.assert_array_equal(X[:, :8], expected)
    np.testing.assert_array_equal(X[:, 8], speed.ravel())
    np.testing.assert_array_equal(np.asarray(s.covariates)[:, 0], pupil.ravel())
    expected_y = np.column_stack([n1.ravel(), n2.ravel()]).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(s.neural), expected_y)
    np.testing.assert_array_equal(s.segments, np.repeat([0, 1, 2], 6))
    np.testing.assert_array_equal(s.trial_time, np.tile(t, 3))
    np.testing.assert_array_equal(s.metadata["direction_deg"], directions)


def test_park_reader_names_the_file_and_the_broken_part(tmp_path):
    path = tmp_path / "broken.mat"
    t = np.arange(-2, 4) * 0.25
    scipy.io.savemat(
        path,
        {
            "D": {"neuron1": _cell(np.zeros((2, 5))), "speed": _cell(np.zeros((3, 6)))},
            "TE": {"direction": np.array([0, 45, 90]), "nTrials": 3.0, "dt": 0.25},
            "t": t[None, :],
        },
    )
    entry = ds._REGISTRY[next(iter(ds._REGISTRY))]
    with pytest.raises(sr.DataError, match=r"broken.mat: D.neuron1 should be 3 traces of 6"):
        ds._read_park(path, entry, "mrcuts24", "rec", [])
    (tmp_path / "text.mat").write_text("hello")
    with pytest.raises(sr.DataError, match=r"text\.mat: not a readable MATLAB file"):
        ds._read_park(tmp_path / "text.mat", entry, "mrcuts24", "rec", [])
