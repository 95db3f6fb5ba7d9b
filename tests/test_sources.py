"""Out-of-core statistics: row ranges, lazy sources (memmap, zarr, HDF5/NWB), vanished files."""

from __future__ import annotations

import itertools
import shutil
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.features import TemporalExpansion
from sharedrep.folds import fold_labels
from sharedrep.sources import MemmapSource, portable
from sharedrep.stats import SessionStats, chunk_ranges, compute_stats, stats_shift

BLOCKED = SessionStats._BLOCKED


def assert_stats_close(a: SessionStats, b: SessionStats, rtol: float = 1e-10) -> None:
    """Every additive field equal to ``rtol`` of its own magnitude (sums over many rows)."""
    for k in BLOCKED:
        x, y = getattr(a, k), getattr(b, k)
        scale = max(1.0, float(np.abs(x).max(initial=0.0)))
        np.testing.assert_allclose(y, x, rtol=0, atol=rtol * scale, err_msg=k)
    assert a.shifts.same_as(b.shifts)


def assert_models_equal(m1: sr.ShaReD, m2: sr.ShaReD, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(m2.coef_, m1.coef_, rtol=0, atol=atol)
    for name, f in m1.session_fits_.items():
        g = m2.session_fits_[name]
        np.testing.assert_allclose(g.readout, f.readout, rtol=0, atol=atol)
        np.testing.assert_allclose(g.mean_y, f.mean_y, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def sim():
    cohort, truth = sr.simulate.cohort(
        n_sessions=3, n_samples=(900, 1300), n_neurons=(6, 12), n_features=3,
        lags=range(-2, 3), seed=5,
    )  # fmt: skip
    return cohort, truth


def write_npy(tmp_path, cohort):
    """Each session's arrays as .npy files; sessions reading them lazily."""
    out = []
    for s in cohort:
        xb, yb = tmp_path / f"{s.name}_x.npy", tmp_path / f"{s.name}_y.npy"
        np.save(xb, s.behavior)
        np.save(yb, s.neural)
        out.append(
            sr.Session(sr.open_npy(xb), sr.open_npy(yb), s.segments, name=s.name, rate=s.rate)
        )
    return sr.Cohort(out)


def write_zarr(tmp_path, cohort, chunk_rows=128):
    zarr = pytest.importorskip("zarr")
    out = []
    for s in cohort:
        store = tmp_path / f"{s.name}.zarr"
        g = zarr.open_group(store, mode="w")
        for key, arr in (("behavior", s.behavior), ("neural", s.neural)):
            z = g.create_array(key, shape=arr.shape, chunks=(chunk_rows, arr.shape[1]), dtype="f8")
            z[:] = arr
        out.append(
            sr.Session(
                sr.open_zarr(store, "behavior"),
                sr.open_zarr(store, "neural"),
                s.segments,
                name=s.name,
                rate=s.rate,
            )
        )
    return sr.Cohort(out)


# -- row ranges and shifts: the building block of every split pass ---------------------------
def test_disjoint_row_ranges_about_one_shift_add_up_to_the_whole_pass(sim):
    cohort, truth = sim
    ex = TemporalExpansion(truth.lags)
    rng = np.random.default_rng(0)
    for s in cohort:
        folds = fold_labels(s, 4)
        whole = compute_stats(s, ex, folds=folds, chunk_size=150)
        shift = stats_shift(s, ex, chunk_size=150)
        # ranges that ignore chunk and segment boundaries, including an empty one
        cuts = np.unique(np.r_[0, rng.integers(1, s.n_samples, 6), 5, 5, s.n_samples])
        parts = [
            compute_stats(s, ex, folds=folds, n_folds=4, chunk_size=150, rows=(a, b), shift=shift)
            for a, b in itertools.pairwise(cuts)
        ]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        assert_stats_close(whole, total)
        # independent check of one range: its count is the number of valid rows in it
        a, b = int(cuts[1]), int(cuts[2])
        valid = sr.features.valid_rows(s.n_samples, ex.lags, s.segments)
        assert parts[1].count.sum() == valid[a:b].sum()


def test_empty_range_gives_zeros_with_a_shift_and_an_error_without(sim):
    cohort, truth = sim
    s = cohort[0]
    ex = TemporalExpansion(truth.lags)
    shift = stats_shift(s, ex)
    empty = compute_stats(s, ex, rows=(0, 1), shift=shift)  # lag 2 needs 2 samples before
    assert empty.count.sum() == 0 and not np.any(empty.phi_y)
    with pytest.raises(ValueError, match="no valid row"):
        compute_stats(s, ex, rows=(0, 1))
    with pytest.raises(ValueError, match="outside the recording"):
        compute_stats(s, ex, rows=(10, s.n_samples + 1), shift=shift)
    with pytest.raises(ValueError, match=r"shift\.x must have shape"):
        compute_stats(s, ex, rows=(10, 20), shift=replace(shift, x=shift.x[:1]))


def test_chunk_ranges_cover_the_recording(sim):
    cohort, truth = sim
    s = cohort[1]
    rg = chunk_ranges(s, TemporalExpansion(truth.lags), chunk_size=100)
    assert rg[0][0] == 0 and rg[-1][1] == s.n_samples
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(rg))
    assert all(b - a <= 100 for a, b in rg)


# -- lazy sources give the in-memory results ---------------------------------------------------
def test_memmap_and_zarr_fits_equal_the_in_memory_fit(sim, tmp_path):
    cohort, truth = sim
    ref = sr.ShaReD(2, lags=truth.lags, chunk_size=170).fit(cohort)
    for lazy in (write_npy(tmp_path, cohort), write_zarr(tmp_path, cohort)):
        assert not isinstance(lazy[0].neural, np.ndarray)  # really out of core
        model = sr.ShaReD(2, lags=truth.lags, chunk_size=170).fit(lazy)
        assert_models_equal(ref, model)
        np.testing.assert_allclose(
            model.score(lazy).neuron.to_numpy(), ref.score(cohort).neuron.to_numpy(), atol=1e-10
        )


def test_numpy_memmap_with_offset_is_made_portable(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 4)).astype("f4")
    path = tmp_path / "raw.bin"
    mm = np.memmap(path, dtype="f4", mode="w+", shape=(60, 4))
    mm[10:] = a
    mm.flush()
    view = np.memmap(path, dtype="f4", mode="r", shape=(60, 4))[10:]
    src = portable(view)
    assert isinstance(src, MemmapSource)
    np.testing.assert_array_equal(src[5:9], a[5:9])
    np.testing.assert_array_equal(np.asarray(src), a)


def test_hdf5_nwb_dataset_read_lazily(sim, tmp_path):
    h5py = pytest.importorskip("h5py")
    cohort, truth = sim
    s = cohort[0]
    path = tmp_path / "rec.nwb"
    try:
        import pynwb  # an NWB file as a lab would write it

        nwb = pynwb.NWBFile("test", "rec", datetime(2024, 1, 1, tzinfo=UTC))
        nwb.add_acquisition(pynwb.TimeSeries(name="behavior", data=s.behavior, unit="a.u.",
                                             rate=30.0))  # fmt: skip
        nwb.add_acquisition(pynwb.TimeSeries(name="neural", data=s.neural, unit="a.u.", rate=30.0))
        with pynwb.NWBHDF5IO(path, "w") as io:
            io.write(nwb)
        io = pynwb.NWBHDF5IO(path, "r")
        f = io.read()
        bds, nds = f.acquisition["behavior"].data, f.acquisition["neural"].data
    except ImportError:
        with h5py.File(path, "w") as f:
            f["acquisition/behavior/data"] = s.behavior
            f["acquisition/neural/data"] = s.neural
        io = None
        h = h5py.File(path, "r")
        bds, nds = h["acquisition/behavior/data"], h["acquisition/neural/data"]
    assert isinstance(nds, h5py.Dataset)  # lazily read, not loaded
    ex = TemporalExpansion(truth.lags)
    ref = compute_stats(s, ex, chunk_size=200)
    direct = compute_stats(sr.Session(bds, nds, s.segments, name=s.name), ex, chunk_size=200)
    by_ref = sr.Session(sr.open_hdf5(bds), sr.open_hdf5(path, nds.name), s.segments, name=s.name)
    assert "rec.nwb" in repr(by_ref.neural)
    assert_stats_close(ref, direct)
    assert_stats_close(ref, compute_stats(by_ref, ex, chunk_size=200))
    if io is not None:
        io.close()


def test_lazy_source_with_nan_is_caught_chunkwise(sim, tmp_path):
    cohort, truth = sim
    s = cohort[0]
    y = s.neural.copy()
    y[700, 2] = np.nan
    np.save(tmp_path / "y.npy", y)
    bad = sr.Session(s.behavior, sr.open_npy(tmp_path / "y.npy"), name="m7")
    with pytest.raises(
        sr.DataError, match=r"'m7': NaN or inf in neural at sample \d+ .found while reading"
    ):
        compute_stats(bad, TemporalExpansion(truth.lags), chunk_size=100)


# -- a source that disappears mid-run ----------------------------------------------------------
class _DeleteAfter(MemmapSource):
    """Test helper: deletes another path after ``n`` reads of this source."""

    def __init__(self, path, victim, n):
        super().__init__(path)
        self.victim, self.n = victim, n

    def _read(self, key):
        out = super()._read(key)
        self.n -= 1
        if self.n == 0:
            v = self.victim
            shutil.rmtree(v) if v.is_dir() else v.unlink()
        return out


@pytest.mark.parametrize("kind", ["npy", "zarr"])
def test_source_that_disappears_mid_run_is_named(sim, tmp_path, kind):
    cohort, truth = sim
    s = cohort[0]
    if kind == "npy":
        victim = tmp_path / "x.npy"
        np.save(victim, s.behavior)
        behavior = sr.open_npy(victim)
    else:
        zarr = pytest.importorskip("zarr")
        victim = tmp_path / "x.zarr"
        z = zarr.open_array(victim, mode="w", shape=s.behavior.shape, chunks=(64, 3), dtype="f8")
        z[:] = s.behavior
        behavior = sr.open_zarr(victim)
    np.save(tmp_path / "y.npy", s.neural)
    # the neural source deletes the behavior store after its third chunk has been read
    session = sr.Session(
        behavior, _DeleteAfter(tmp_path / "y.npy", victim, 3), s.segments, name="mouse-7"
    )
    with pytest.raises(sr.SourceError) as err:
        sr.ShaReD(2, lags=truth.lags, chunk_size=100).fit(session)
    msg = str(err.value)
    assert "'mouse-7'" in msg and str(victim) in msg and "behavior" in msg


# -- memory is bounded by the chunk, not the recording -----------------------------------------
def _peak_bytes(path_x, path_y, chunk):
    s = sr.Session(sr.open_npy(path_x), sr.open_npy(path_y), name="long")
    ex = TemporalExpansion(range(-3, 4))
    tracemalloc.start()
    compute_stats(s, ex, chunk_size=chunk, folds=None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_peak_memory_does_not_grow_with_recording_length(tmp_path):
    rng = np.random.default_rng(2)
    peaks = []
    for T in (20_000, 200_000):
        np.save(tmp_path / f"x{T}.npy", rng.normal(size=(T, 3)))
        np.save(tmp_path / f"y{T}.npy", rng.normal(size=(T, 10)).astype("f4"))
        peaks.append(_peak_bytes(tmp_path / f"x{T}.npy", tmp_path / f"y{T}.npy", 2000))
    # the data alone grow 10x (1 MB -> 10 MB); the pass's allocations must not
    assert peaks[1] < 1.2 * peaks[0], peaks
    assert peaks[1] < 2_000_000, peaks  # a few chunks of 2000 x 31 floats, not the recording
