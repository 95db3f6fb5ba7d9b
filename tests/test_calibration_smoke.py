"""A small run of benchmarks/calibration_study.py, so that the calibration study cannot rot.

The full study (200 simulated cohorts per null, minutes) writes the table of the README; this
runs two tiny cohorts per null through the same code and checks the table's shape and that
every test of every null produced p-values.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def study():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(
            "calibration_study", BENCH / "calibration_study.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_small_calibration_run(study):
    tiny = {"n_mice": 3, "n_trials": 12, "n_axons": (8, 12), "n_m1": (15, 25)}
    text, arrays = study.run(2, 0, 1, 50, 19, size=tiny)
    assert set(arrays) == {"A", "B", "C"}
    for kind, prefixes in study.NULL_ROWS.items():
        tests = [t for t in arrays[kind] if t.startswith(prefixes)]
        assert tests, kind
        for t in tests:
            p = arrays[kind][t]
            assert p.shape == (2,) and np.all((p > 0) & (p <= 1))
    header = "| null | test | cohorts | p_value < 0.05 | p_animals < 0.05 | within 0.05 ± 2 SE |"
    assert header in text
    rows = [line for line in text.splitlines() if line.startswith("| A |")]
    assert any("lead change" in r for r in rows) and any("enrichment change" in r for r in rows)
