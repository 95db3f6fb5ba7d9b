"""How much the optimiser tolerance inside cross-validation moves the held-out R².

Runs a 5-fold CV over ranks 1..10 at several tolerances and reports the time and the largest
change of any grid point's pooled held-out R² relative to ``tol=1e-10``, in absolute terms and
in units of that grid point's standard error over folds. Cohorts (``--cohort``, several
allowed):

* ``core``: ``bench_statistics.py``'s cohort (20 x 20,000 x 200, q = 100, alpha 1);
* ``wide``: ``bench_statistics.py --wide``'s pure-noise cohort (8 x 20,000 x 100, q = 1,000,
  alpha 10), where the speed target of cross-validation is set;
* ``reaching``: the two monkey reaching sessions (``sr.datasets.fetch_reaching``, lags 0..59,
  q = 240, alphas 1 and 100), as distributed (their kinematics ~100x apart in units);
* ``v1``: the seven V1 mice (``sr.datasets.fetch_v1_gratings``, running and pupil as
  covariates, onsets with zero edges, lags 0..32, q = 264, alphas 1 and 100).

The real recordings are fetched (or read from ``SHAREDREP_DATA_MIRROR``); a cohort that cannot
be fetched is skipped with a message.

Usage::

    python benchmarks/bench_cv_tolerance.py [--cohort core wide reaching v1] [--out FILE]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import sharedrep as sr
from _common import LAGS, core_cohort, emit

TOLERANCES = (1e-10, 1e-6, 1e-5, 1e-4)


def cohorts(
    names: list[str], args: argparse.Namespace
) -> list[tuple[str, sr.Cohort, list[float], dict]]:
    """``(label, cohort, alphas, other cross_validate keywords)`` for each cohort asked for."""
    out = []
    for name in names:
        if name == "core":
            cohort, _ = core_cohort(
                args.sessions, args.samples, args.neurons, 4, trial_length=(200, 400)
            )
            label = f"core ({args.sessions} x {args.samples} x {args.neurons}, q = 100)"
            out.append((label, cohort, [1.0], dict(lags=LAGS)))
        elif name == "wide":
            from bench_fit import wide_cohort

            label = "wide (8 x 20,000 x 100 pure noise, q = 1,000)"
            out.append((label, wide_cohort(8, 20_000, 100, 25), [10.0], dict(lags=range(40))))
        else:
            try:
                if name == "reaching":
                    cohort = sr.datasets.fetch_reaching()
                    kw = dict(lags=range(60))
                    label = "reaching (2 monkeys, q = 240)"
                else:
                    cohort = sr.datasets.fetch_v1_gratings(covariates=("running_speed", "pupil_z"))
                    kw = dict(lags=range(33), edges={"grating_*_onset": "zero"})
                    label = "v1 (7 mice, q = 264)"
            except sr.SourceError as err:
                print(f"  {name}: {err} (skipped)")
                continue
            out.append((label, cohort, [1.0, 100.0], kw))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", nargs="+", default=["core"],
                    choices=["core", "wide", "reaching", "v1"])  # fmt: skip
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore", sr.SharedRepWarning)
    lines = [
        "### CV optimiser tolerance (5 folds, ranks 1..10)",
        "",
        "| cohort | cv_tol | seconds | chosen (rank, alpha) | max abs change of held-out R² "
        "| max change / SE |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for label, cohort, alphas, kw in cohorts(args.cohort, args):
        ref = None
        for tol in TOLERANCES:
            t = time.perf_counter()
            cv = sr.cross_validate(cohort, range(1, 11), alphas, folds=5, cv_tol=tol, **kw)
            el = time.perf_counter() - t
            r2, se = cv.summary["r2"].to_numpy(), cv.summary["se"].to_numpy()
            ref = r2 if ref is None else ref
            lines.append(
                f"| {label} | {tol:g} | {el:.2f} | ({cv.n_components}, {cv.alpha:g}) | "
                f"{np.abs(r2 - ref).max():.2e} | {(np.abs(r2 - ref) / se).max():.3f} |"
            )
            print(lines[-1], flush=True)
    text = "\n".join([*lines, ""])
    emit(text, args.out)


if __name__ == "__main__":
    main()
