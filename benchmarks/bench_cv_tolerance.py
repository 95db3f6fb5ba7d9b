"""How much the optimiser tolerance inside cross-validation moves the held-out R².

Runs the 5-fold CV over ranks 1..10 of ``bench_statistics.py``'s cohort at several
tolerances and reports the time and the largest change of any grid point's pooled held-out R²
relative to ``tol=1e-10``, in absolute terms and in units of that grid point's standard error
over folds.

Usage::

    python benchmarks/bench_cv_tolerance.py [--sessions 20] [--samples 20000] [--out FILE]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import sharedrep as sr
from _common import LAGS, core_cohort, emit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore", sr.SharedRepWarning)
    lags = LAGS
    cohort, _ = core_cohort(args.sessions, args.samples, args.neurons, 4, trial_length=(200, 400))
    lines = [
        f"### CV optimiser tolerance ({args.sessions} x {args.samples} x {args.neurons}, "
        "5 folds, ranks 1..10, alpha 1)",
        "",
        "| cv_tol | seconds | chosen rank | max abs change of held-out R² | max change / SE |",
        "|---:|---:|---:|---:|---:|",
    ]
    ref = None
    for tol in (1e-10, 1e-6, 1e-5, 1e-4):
        t = time.perf_counter()
        cv = sr.cross_validate(cohort, range(1, 11), [1.0], folds=5, lags=lags, cv_tol=tol)
        el = time.perf_counter() - t
        r2, se = cv.summary["r2"].to_numpy(), cv.summary["se"].to_numpy()
        ref = r2 if ref is None else ref
        lines.append(
            f"| {tol:g} | {el:.2f} | {cv.n_components} | {np.abs(r2 - ref).max():.2e} | "
            f"{(np.abs(r2 - ref) / se).max():.3f} |"
        )
    text = "\n".join([*lines, ""])
    emit(text, args.out)


if __name__ == "__main__":
    main()
