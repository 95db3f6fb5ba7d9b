"""A small, fast run of benchmarks/compare_methods.py, so that the benchmark cannot rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_methods.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("compare_methods", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # CEBRA is included only where it is installed (extra [benchmark]); skipped cleanly otherwise
    return bench.run(out, quick=True, cebra=True), out


def test_quick_benchmark_outputs(bench, quick):
    _tables, out = quick
    for name in ("methods.csv", "methods.md", "speed.csv"):
        assert (out / name).stat().st_size > 0
    if importlib.util.find_spec("matplotlib"):  # plots are optional (extra [benchmark])
        assert (out / "speed.png").stat().st_size > 0
    sim = pd.read_csv(out / "methods.csv")
    expected = {"ShaReD", "per-session RRR", "per-session ridge", "pooled ridge",
                "trial-average CCA"}  # fmt: skip
    assert expected <= set(sim["method"])
    assert ("CEBRA multi-session" in set(sim["method"])) == bench.bl.cebra_available()
    scored = sim[sim["method"] != "ShaReD + encoding_map (FDR 0.05)"]
    assert scored["heldout_r2"].between(-1, 1).all()
    calls = sim.set_index("method").loc["ShaReD + encoding_map (FDR 0.05)"]
    assert 0 <= calls["recall"] <= 1 and np.isnan(calls["heldout_r2"])
    ok = sim[["precision", "recall", "avg_precision"]].dropna()
    assert ((ok >= 0) & (ok <= 1)).all().all()
    md = (out / "methods.md").read_text()
    assert "| ShaReD |" in md and "Speed" in md
    spd = pd.read_csv(out / "speed.csv")
    assert spd.loc[spd["method"] == "ShaReD", "relative_to_shared"].item() == pytest.approx(1.0)
    assert (spd["fit_seconds"] > 0).all()


def test_sharing_beats_per_session_subspaces_on_small_sessions(quick):
    """On a cohort of small sessions ShaReD's subspace is closer to the truth than any one
    session's reduced-rank regression (the regime the method is made for)."""
    sim = quick[0]["simulated"].set_index("method")
    assert sim.loc["ShaReD", "max_angle_deg"] < sim.loc["per-session RRR", "max_angle_deg"]
    assert np.isnan(sim.loc["per-session ridge", "max_angle_deg"])  # no subspace to compare


def test_scoring_helpers(bench):
    # average precision: 1 for a perfect ranking, the positive fraction's order otherwise
    label = np.array([True, True, False, False])
    assert bench.average_precision(np.array([4.0, 3, 2, 1]), label) == 1.0
    assert bench.average_precision(np.array([1.0, 2, 3, 4]), label) == pytest.approx(
        (1 / 3 + 2 / 4) / 2
    )
    # the angle helper is invariant to column scaling of the design and to the basis
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 2))
    root = np.linalg.cholesky(np.cov(rng.normal(size=(6, 50))) + np.eye(6))
    sd = rng.uniform(0.5, 2, size=6)
    assert bench.max_angle(W @ rng.normal(size=(2, 2)), W, sd, root) < 1e-5
    assert bench.max_angle({"a": W, "b": W}, W, sd, root) < 1e-5
    assert np.isnan(bench.max_angle(None, W, sd, root))
