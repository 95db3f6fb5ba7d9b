"""One consistent surface: fast import, complete namespace, the same defaults everywhere.

Timings here are generous bounds checked in fresh interpreters (the benchmark with the figure
is ``benchmarks/bench_import.py``); what the tests mainly pin is *what* gets imported, which
does not depend on the machine's load.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.config import KEYS

HEAVY = ("pandas", "xarray", "scipy", "matplotlib", "pynwb", "pynapple", "pooch", "dask", "h5py")


def _fresh(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return res.stdout.strip()


def test_import_is_light_and_fast():
    out = _fresh(
        "import sys, time; t = time.perf_counter(); import sharedrep; "
        "dt = time.perf_counter() - t; "
        f"print(dt, [m for m in {HEAVY!r} + ('numpy',) if m in sys.modules])"
    )
    seconds, loaded = out.split(" ", 1)
    assert loaded == "[]"  # nothing heavy, not even numpy, until a name is used
    assert float(seconds) < 0.5  # target 0.3 s; measured ~0.02 s (benchmarks/bench_import.py)


def test_cli_help_imports_no_library_module():
    out = _fresh(
        "import sys, contextlib, io\n"
        "from sharedrep.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['fit', '--help'])\n    except SystemExit:\n        pass\n"
        f"print([m for m in {HEAVY!r} + ('numpy',) if m in sys.modules])"
    )
    assert out == "[]"


def test_first_use_loads_what_the_name_needs():
    out = _fresh(
        "import sys, sharedrep as sr; sr.ShaReD; "
        "print('pandas' in sys.modules, 'matplotlib' in sys.modules, 'pynwb' in sys.modules)"
    )
    assert out == "True False False"  # the estimator needs pandas, never plotting or readers


def test_namespace_is_complete_and_cached():
    names = set(sr.__all__)
    assert names == set(sr._ATTRIBUTES) | set(sr._SUBMODULES) | {
        "DataError",
        "ModelFileError",
        "NotFittedError",
        "OutputError",
        "SharedRepWarning",
        "SourceError",
        "__version__",
    }
    assert names <= set(dir(sr))
    for name in sorted(names):
        assert getattr(sr, name) is getattr(sr, name)  # loaded once, kept
    assert sr.save_session is sr.io.write_npz and sr.write_npz is sr.io.write_npz
    assert sr.datasets.fetch_reaching is sr.io.datasets.fetch_reaching
    for internal in ("estimator", "stats", "selection", "reporting"):
        assert getattr(sr, internal).__name__ == f"sharedrep.{internal}"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sr.nope  # noqa: B018


def test_session_to_npz_round_trips(tmp_path, small_cohort):
    cohort, _ = small_cohort
    s = cohort[1]
    path = s.to_npz(tmp_path / "one.npz")
    back = sr.Session.from_npz(path)
    np.testing.assert_array_equal(np.asarray(back.behavior), np.asarray(s.behavior))
    np.testing.assert_array_equal(np.asarray(back.neural), np.asarray(s.neural))
    np.testing.assert_array_equal(back.segments, s.segments)
    assert back.rate == s.rate and back.feature_names == s.feature_names
    assert sr.save_session(s, tmp_path / "two.npz").read_bytes() == path.read_bytes()


def test_python_and_cli_share_the_default_lags():
    from sharedrep.estimator import DEFAULT_LAGS

    lags = KEYS["lags"][1]
    assert list(range(lags["min"], lags["max"] + 1)) == list(DEFAULT_LAGS)
    assert list(sr.ShaReD().lags) == list(DEFAULT_LAGS)
    # ShaReDCV takes every parameter it is not given from ShaReD's defaults
    assert list(sr.selection._cv._base_params(None, {})["lags"]) == list(DEFAULT_LAGS)


def test_repr_shows_every_non_default_and_the_fitted_rank(small_cohort):
    cohort, _ = small_cohort
    assert repr(sr.ShaReD()) == "ShaReD(n_components=3)"  # the rank, even at its default
    model = sr.ShaReD(2, lags=range(-2, 3), alpha=10.0, n_restarts=1)
    assert repr(model) == "ShaReD(n_components=2, lags=range(-2, 3), alpha=10.0, n_restarts=1)"
    model.fit(cohort)
    assert repr(model).endswith("[fitted: 2 shared components, 4 sessions]")


def test_shared_cv_best_params_and_repr(small_cohort):
    cohort, truth = small_cohort
    search = sr.ShaReDCV(n_components=[1, 2, 3], alpha=[1.0, 100.0], folds=3, lags=truth.lags)
    assert repr(search).startswith("ShaReDCV(n_components=[1, 2, 3], alpha=[1.0, 100.0], folds=3")
    assert "rule" not in repr(search)  # a default
    with pytest.raises(AttributeError, match="not fitted"):
        search.best_params_  # noqa: B018
    search.fit(cohort)
    assert search.best_params_ == {"n_components": search.n_components_, "alpha": search.alpha_}
    row = search.cv_results_.summary.loc[(search.n_components_, search.alpha_)]
    assert f"n_components={search.n_components_}" in repr(search)
    assert f"held-out R² {row['r2']:.3g}" in repr(search)


def test_cv_provenance_is_kept_in_the_model_file(small_cohort, tmp_path):
    cohort, truth = small_cohort
    search = sr.ShaReDCV(n_components=[1, 2, 3], alpha=[1.0, 100.0], folds=3, lags=truth.lags)
    model = search.fit(cohort).best_estimator_
    loaded = sr.load(model.save(tmp_path / "m.npz"))
    prov, cv = loaded.cv_provenance_, search.cv_results_
    assert prov["n_components_grid"] == [1, 2, 3] and prov["alpha_grid"] == [1.0, 100.0]
    assert prov["folds"] == 3 and prov["rule"] == "1se"
    assert (prov["n_components"], prov["alpha"]) == (cv.n_components, cv.alpha)
    chosen = cv.summary.loc[(cv.n_components, cv.alpha)]
    assert prov["r2_heldout"] == chosen["r2"] and prov["se"] == chosen["se"]
    best = cv.summary["r2"].idxmax()
    assert (prov["best"]["n_components"], prov["best"]["alpha"]) == best
    np.testing.assert_array_equal(prov["summary"].to_numpy(), cv.summary.to_numpy())
    assert list(prov["summary"].index) == list(cv.summary.index)


def test_import_benchmark_runs(tmp_path):
    """benchmarks/bench_import.py, one round: it writes its table (so the script cannot rot)."""
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_import.py"
    out = tmp_path / "import.md"
    subprocess.run(
        [sys.executable, str(script), "--repeat", "1", "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=script.parent,
    )
    table = out.read_text()
    for case in ("`import sharedrep`", "`import sharedrep; sr.ShaReD`", "`sharedrep --help`"):
        assert case in table
    seconds = float(re.search(r"\| `import sharedrep` \| ([0-9.]+) \|", table).group(1))
    assert seconds < 0.5
