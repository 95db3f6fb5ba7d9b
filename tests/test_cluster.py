"""The dask backend: same statistics and fits as in process, progress, lost workers, lost files."""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings

import numpy as np
import pytest

import sharedrep as sr
from sharedrep import backend as bk
from sharedrep.backend import cohort_stats
from sharedrep.features import TemporalExpansion

distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

sys.path.insert(0, os.path.dirname(__file__))
from test_sources import (  # noqa: E402  (shared helpers of the out-of-core tests)
    assert_models_equal,
    assert_stats_close,
    write_npy,
    write_zarr,
)


@pytest.fixture(scope="module")
def client():
    # real worker processes, as on a cluster: sessions travel pickled, workers can be killed
    c = sr.use_cluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, progress=False
    )
    yield c
    c.close()
    sr.use_serial()


@pytest.fixture(scope="module")
def sim():
    return sr.simulate.cohort(
        n_sessions=3, n_samples=(900, 1300), n_neurons=(6, 12), n_features=3,
        lags=range(-2, 3), seed=8,
    )  # fmt: skip


def test_dask_statistics_equal_in_process_ones(client, sim):
    cohort, truth = sim
    ex = TemporalExpansion(truth.lags)
    for kw in ({"n_folds": 4}, {"gram": True}):
        serial = cohort_stats(cohort, ex, chunk_size=150, backend="serial", **kw)
        dask = cohort_stats(cohort, ex, chunk_size=150, backend=client, **kw)
        assert [s.name for s in dask] == list(cohort.names)
        for a, b in zip(serial, dask, strict=True):
            assert_stats_close(a, b)


def test_dask_fit_equals_in_memory_fit_for_every_kind_of_source(client, sim, tmp_path):
    cohort, truth = sim
    ref = sr.ShaReD(2, lags=truth.lags, chunk_size=200, backend="serial").fit(cohort)
    assert ref.objective_ > 0
    for data in (cohort, write_npy(tmp_path, cohort), write_zarr(tmp_path, cohort)):
        assert_models_equal(
            ref, sr.ShaReD(2, lags=truth.lags, chunk_size=200, backend="dask").fit(data)
        )
    # use_cluster made the cluster the default: backend=None runs there too
    assert isinstance(bk.get_backend(None), bk.DaskBackend)
    corr = dict(objective="correlation", chunk_size=200)
    assert_models_equal(
        sr.ShaReD(2, lags=truth.lags, backend="serial", **corr).fit(cohort),
        sr.ShaReD(2, lags=truth.lags, **corr).fit(cohort),
    )


def test_memmap_views_travel_as_references(client, sim, tmp_path):
    cohort, truth = sim
    s = cohort[0]
    np.save(tmp_path / "y.npy", s.neural)
    view = sr.Session(s.behavior, np.load(tmp_path / "y.npy", mmap_mode="r"), s.segments, name="m")
    ported = bk._portable_session(view)
    assert isinstance(ported.neural, sr.sources.MemmapSource)
    assert view.neural is not ported.neural and isinstance(view.neural, np.memmap)  # untouched
    ex = TemporalExpansion(truth.lags)
    (a,) = cohort_stats(sr.Cohort([view]), ex, chunk_size=300, backend="serial")
    (b,) = cohort_stats(sr.Cohort([view]), ex, chunk_size=300, backend=client)
    assert_stats_close(a, b)
    # an open h5py dataset (as pynwb hands out) cannot be pickled: it goes as file + name
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rec.h5", "w") as f:
        f["neural"] = s.neural
    with h5py.File(tmp_path / "rec.h5", "r") as f:
        h5 = sr.Session(s.behavior, f["neural"], s.segments, name="m")
        assert isinstance(bk._portable_session(h5).neural, sr.sources.HDF5Source)
        (c,) = cohort_stats(sr.Cohort([h5]), ex, chunk_size=300, backend=client)
    assert_stats_close(a, c)


def test_progress_is_shown(client, sim, capsys):
    cohort, truth = sim
    backend = bk.DaskBackend(client, progress=True)
    backend.cohort_stats(cohort[:1], TemporalExpansion(truth.lags), chunk_size=300)
    out = capsys.readouterr()
    assert "100% Completed" in out.out + out.err


def test_map_runs_functions_as_tasks(client):
    assert bk.get_backend(client).map(pow, [2, 3], [5, 2]) == [32, 9]
    assert bk.SerialBackend().map(pow, [2, 3], [5, 2]) == [32, 9]


def test_worker_warnings_are_shown_on_the_client(client):
    with pytest.warns(UserWarning, match="from a worker"):
        assert bk.get_backend(client).map(warnings.warn, ["from a worker"]) == [None]


def test_cross_validation_folds_run_as_tasks_with_the_same_result(client, sim, monkeypatch):
    cohort, truth = sim
    kw = dict(n_components=[1, 2], alpha=[1.0], folds=3, lags=truth.lags, chunk_size=300)
    calls = []
    real_map = bk.DaskBackend.map

    def spy(self, fn, *its):
        calls.append(len(its[0]))
        return real_map(self, fn, *its)

    monkeypatch.setattr(bk.DaskBackend, "map", spy)
    on_cluster = sr.cross_validate(cohort, **kw)
    assert calls and all(c == 3 for c in calls)  # one task per fold
    monkeypatch.setattr(bk, "_active", None)  # in process
    serial = sr.cross_validate(cohort, **kw)
    np.testing.assert_allclose(on_cluster.summary["r2"], serial.summary["r2"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        on_cluster.neuron["r2"].to_numpy(), serial.neuron["r2"].to_numpy(), rtol=0, atol=1e-10
    )
    assert on_cluster.n_components == serial.n_components


def test_null_shuffles_run_as_tasks_with_the_same_p_values(client, sim, tmp_path, monkeypatch):
    cohort, truth = sim
    lazy = write_npy(tmp_path, cohort)  # workers read the sessions from the files
    model = sr.ShaReD(2, lags=truth.lags, backend="serial").fit(cohort)
    kw = dict(null="segments", n_null=19, folds=3, seed=3)
    on_cluster = sr.encoding_map(model, lazy, **kw)
    monkeypatch.setattr(bk, "_active", None)
    serial = sr.encoding_map(model, cohort, **kw)
    for col in ("r2_crossfit", "p", "q"):
        np.testing.assert_allclose(
            on_cluster.neurons[col].to_numpy(), serial.neurons[col].to_numpy(), atol=1e-10
        )
    np.testing.assert_allclose(
        on_cluster.components["p"].to_numpy(), serial.components["p"].to_numpy(), atol=1e-10
    )


def test_missing_source_on_the_cluster_names_session_and_path(client, sim, tmp_path):
    cohort, truth = sim
    lazy = write_npy(tmp_path, cohort[:2])
    victim = tmp_path / f"{cohort.names[1]}_y.npy"
    ex = TemporalExpansion(truth.lags)
    backend = bk.get_backend(client)
    totals, chunks = backend.submit_cohort_stats(lazy, ex, chunk_size=25)
    distributed.wait(chunks[:3])
    victim.unlink()  # while the other chunks are still queued or running
    with pytest.raises(sr.SourceError) as err:
        client.gather(totals)
    assert f"'{cohort.names[1]}'" in str(err.value) and str(victim) in str(err.value)
    client.cancel(totals + chunks)


def test_dask_backend_needs_distributed(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r"sharedrep\[cluster\]"):
        bk._distributed()
    with pytest.raises(ValueError, match="backend must be"):
        bk.get_backend("spark")


def test_killed_worker_does_not_change_the_result(client, sim, tmp_path):
    cohort, truth = sim
    lazy = write_zarr(tmp_path, cohort, chunk_rows=32)
    ex = TemporalExpansion(truth.lags)
    serial = cohort_stats(lazy, ex, n_folds=3, chunk_size=20, backend="serial")
    pids = client.run(os.getpid)  # worker address -> process id
    assert len(pids) == 2
    backend = bk.get_backend(client)
    totals, chunks = backend.submit_cohort_stats(lazy, ex, n_folds=3, chunk_size=20)
    distributed.wait(chunks[:10])
    n_done = sum(f.done() for f in chunks)
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)  # mid-run: most chunks are still to come
    assert n_done < len(chunks)
    stats = client.gather(totals)
    for a, b in zip(serial, stats, strict=True):
        assert_stats_close(a, b)
    # the worker really died (its nanny started a new process in its place)
    client.wait_for_workers(2, timeout=30)
    deadline = time.time() + 30
    while victim in client.run(os.getpid).values() and time.time() < deadline:
        time.sleep(0.2)
    assert victim not in client.run(os.getpid).values()
