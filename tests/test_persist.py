"""Model files: exact round trip, versioning, integrity checks, and no pickle ever."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sharedrep as sr
from sharedrep.estimator import SessionFit
from sharedrep.features import TemporalExpansion
from sharedrep.persist import FORMAT_VERSION


@pytest.fixture(scope="module")
def fitted():
    cohort, _ = sr.simulate.cohort(n_sessions=3, n_samples=400, seed=3, rate=20.0)
    model = sr.ShaReD(2, lags=range(-2, 4), n_basis=3, alpha=0.5).fit(cohort)
    return model, cohort


def _assert_same(a, b, where="model"):
    """Independent, exact deep equality over the types a fitted model holds."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, xr.DataArray):
        assert a.identical(b), where
    elif isinstance(a, pd.Series):
        assert a.equals(b) and a.index.equals(b.index), where
        assert a.index.dtype == b.index.dtype and a.name == b.name, where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, SessionFit):
        for f in fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, TemporalExpansion):
        _assert_same(a.lags, b.lags, f"{where}.lags")
        assert a.n_basis == b.n_basis
        _assert_same(a.basis, b.basis, f"{where}.basis")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite(
    path: Path, members: dict[str, np.ndarray], header: dict | None = None, *, rehash=True
):
    """Write a modified copy of a model file (optionally with a new, re-hashed header)."""
    if header is not None:
        raw = json.dumps(header).encode()
        members["__header__"] = np.frombuffer(raw, np.uint8)
        if rehash:
            digest = hashlib.sha256(raw).hexdigest().encode()
            members["__header_sha256__"] = np.frombuffer(digest, np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **members)


def _header(members):
    return json.loads(members["__header__"].tobytes().decode())


def test_round_trip_is_exact(fitted, tmp_path):
    model, cohort = fitted
    path = model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.is_file()
    loaded = sr.load(path)
    assert isinstance(loaded, sr.ShaReD)
    # parameters, including the range of lags, come back as they were given
    assert loaded.get_params() == model.get_params()
    assert isinstance(loaded.lags, range)
    state = {k: v for k, v in vars(model).items() if k not in model.get_params()}
    assert set(state) >= {"session_fits_", "expansion_", "coef_", "_column_scale", "loadings_"}
    for key, value in state.items():
        _assert_same(value, getattr(loaded, key), key)
    for session in cohort:
        assert loaded.predict(session).identical(model.predict(session))
        assert loaded.transform(session).identical(model.transform(session))
    s0, s1 = model.score(cohort), loaded.score(cohort)
    pd.testing.assert_series_equal(s0.neuron, s1.neuron, check_exact=True)
    assert s1.pooled == s0.pooled


def test_loaded_model_fits_new_readout_like_original(fitted, tmp_path):
    model, _ = fitted
    new, _ = sr.simulate.cohort(n_sessions=1, n_samples=300, seed=11, rate=20.0)
    session = new[0].replace(name="new_animal")
    loaded = sr.load(model.save(tmp_path / "m.npz"))
    a = sr.ShaReD(**model.get_params())
    a.__dict__.update(model.__dict__)
    a.session_fits_ = dict(model.session_fits_)  # do not alter the shared fixture
    a.fit_readout(session)
    loaded.fit_readout(session)
    _assert_same(a.session_fits_["new_animal"], loaded.session_fits_["new_animal"])


def test_correlation_objective_and_explicit_weights_round_trip(tmp_path):
    cohort, _ = sr.simulate.cohort(n_sessions=2, n_samples=300, seed=5)
    weights = {"session0": 2.0, "session1": 1.0}
    model = sr.ShaReD(1, lags=[0, 2], objective="correlation", weights=weights).fit(cohort)
    loaded = sr.load(model.save(tmp_path / "c.npz"))
    assert loaded.weights == weights and loaded.lags == [0, 2]
    for s in cohort:
        assert loaded.predict(s).identical(model.predict(s))


def test_unfitted_model_round_trips_parameters(tmp_path):
    model = sr.ShaReD(4, lags=(-1, 0, 1), weights=np.array([0.2, 0.8]))
    loaded = sr.load(model.save(tmp_path / "u.npz"))
    assert loaded.lags == (-1, 0, 1) and loaded.n_components == 4
    np.testing.assert_array_equal(loaded.weights, model.weights)
    assert not hasattr(loaded, "coef_")


def test_file_is_plain_npz_without_pickles(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)  # allow_pickle=False: would raise on any object member
    header = _header(members)
    assert header["format"] == "sharedrep.model"
    assert header["format_version"] == FORMAT_VERSION
    assert header["sharedrep_version"] == sr.__version__
    # every array is announced in the header with its checksum
    arrays = {k for k in members if not k.startswith("__")}
    assert arrays == set(header["arrays"])
    for key in arrays:
        a = members[key]
        assert a.dtype.kind != "O"
        assert header["arrays"][key]["shape"] == list(a.shape)


def test_text_columns_store_every_kind_of_missing_entry_as_null():
    from sharedrep.persist import _Encoder

    # the gaps sharedrep reads as missing elsewhere (sharedrep._dtypes): also pd.NaT and a
    # numpy float NaN, which the file format refused before as needing pickle
    text = np.array(["m1", None, pd.NA, np.nan, pd.NaT, np.float32("nan")], dtype=object)
    stored = _Encoder().array(text, "neuron_info column 'population'")
    assert stored == {"__type__": "object_strings", "values": ["m1"] + [None] * 5}


def test_newer_format_version_is_refused(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    header["format_version"] = FORMAT_VERSION + 1
    header["sharedrep_version"] = "9.0.0"
    _rewrite(path, members, header)
    with pytest.raises(sr.ModelFileError, match=r"format\s+version 2.*Upgrade sharedrep") as err:
        sr.load(path)
    assert str(path) in str(err.value) and "9.0.0" in str(err.value)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.02])
def test_truncated_file_is_refused(fitted, tmp_path, keep):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(sr.ModelFileError, match="truncated") as err:
        sr.load(path)
    assert str(path) in str(err.value)


def test_tampered_array_is_refused(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    key = header["state"]["coef_"]["key"]
    members[key] = members[key].copy()
    members[key][0, 0] += 1e-9  # a tiny edit still fails the checksum
    _rewrite(path, members)
    with pytest.raises(sr.ModelFileError, match=f"{key}.*SHA-256"):
        sr.load(path)


def test_tampered_header_is_refused(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    header["params"]["alpha"] = 100.0
    _rewrite(path, members, header, rehash=False)
    with pytest.raises(sr.ModelFileError, match="header fails its SHA-256"):
        sr.load(path)


def test_unknown_type_in_header_is_refused(fitted, tmp_path):
    # even with a consistent checksum, only the documented types are ever constructed
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    header["state"]["evil_"] = {"__type__": "os.system", "args": ["echo hi"]}
    _rewrite(path, members, header)
    with pytest.raises(sr.ModelFileError, match=r"unknown value type 'os\.system'"):
        sr.load(path)


_PICKLE_RAN = []


class _Payload:
    """Unpickling this object would record that code ran."""

    def __reduce__(self):
        return (_PICKLE_RAN.append, ("executed",))


def test_pickle_inside_is_refused_and_never_executed(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    key = header["state"]["coef_"]["key"]
    members[key] = np.array([_Payload()], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, allow_pickle=True, **members)
    with pytest.raises(sr.ModelFileError, match="pickle"):
        sr.load(path)
    assert _PICKLE_RAN == []


def test_not_a_model_file(tmp_path):
    other = tmp_path / "data.npz"
    np.savez(other, behavior=np.zeros((3, 2)))
    with pytest.raises(sr.ModelFileError, match="not a sharedrep model"):
        sr.load(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(sr.ModelFileError, match=r"notes\.txt"):
        sr.load(text)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        sr.load(tmp_path / "missing.npz")


def test_unsupported_attribute_fails_at_save_and_leaves_no_file(fitted, tmp_path):
    model, _ = fitted
    clone = sr.ShaReD(**model.get_params())
    clone.__dict__.update(model.__dict__)
    clone.callback_ = lambda x: x
    target = tmp_path / "m.npz"
    with pytest.raises(sr.ModelFileError, match=r"attribute 'callback_'.*function"):
        clone.save(target)
    assert list(tmp_path.iterdir()) == []


def test_state_cannot_shadow_methods(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.npz")
    members = _members(path)
    header = _header(members)
    header["state"]["predict"] = "not a method"
    _rewrite(path, members, header)
    with pytest.raises(sr.ModelFileError, match="invalid attribute name 'predict'"):
        sr.load(path)


def test_random_corruption_is_detected_or_harmless(fitted, tmp_path):
    # flip single bytes anywhere in the file: loading either fails with ModelFileError or (a
    # byte the format does not use, e.g. a zip timestamp) gives the same model; nothing else
    model, cohort = fitted
    data = bytearray(model.save(tmp_path / "m.npz").read_bytes())
    reference = model.predict(cohort[0])
    rng = np.random.default_rng(0)
    outcomes = {"refused": 0, "same": 0}
    for pos in rng.choice(len(data), size=40, replace=False):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        path = tmp_path / f"bad{pos}.npz"
        path.write_bytes(bytes(bad))
        try:
            loaded = sr.load(path)
        except sr.ModelFileError as err:
            assert str(path) in str(err)
            outcomes["refused"] += 1
            continue
        assert loaded.predict(cohort[0]).identical(reference)
        outcomes["same"] += 1
    assert outcomes["refused"] > 0


def test_a_cluster_client_as_backend_is_not_saved(tmp_path):
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=300, seed=1)
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    model.backend = object()  # stands for a dask.distributed.Client: not serialisable
    model.save(tmp_path / "m.npz")
    loaded = sr.load(tmp_path / "m.npz")
    assert loaded.backend is None
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
