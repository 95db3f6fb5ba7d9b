"""Cost of a full ShaReD fit relative to the unavoidable products, measured in one run.

The reference is one pass of the products ``Phi_s' [Phi_s Y_s]`` over every session's analysed
rows, with the design prebuilt (contiguous float64), timed with one BLAS thread and with all of
them, the better kept (see ``_common.best_of_threads``). The fit does its own statistics pass
(building what it needs chunk by chunk; for long runs of rows ``Phi'Phi`` comes from lagged
products of the behavior, see ``sharedrep.stats.lagged``), standardisation, the q-space
optimisation and the canonical basis. Both are timed in interleaved rounds; best of
``--repeat``. Also reported: the statistics pass alone and the q-space part alone (a fit from
precomputed statistics, standardized in place as ``fit`` does with the statistics it owns), and
the q-space part's share of the fit.

Presets (``--preset``):

* ``core``: 20 sessions x 20,000 samples x 200 neurons, 10 features x 10 lags (q = 100),
  trials of 40-100 samples (``--continuous``: no trials);
* ``wide``: 8 x 20,000 x 100 pure-noise neurons, continuous, rank 4, alpha 10, at
  q = 100 (10 x 10), 1,000 (25 x 40) and 2,000 (50 x 40): pose-tracking widths and windows.

Usage::

    python benchmarks/bench_fit.py [--preset core|wide] [--continuous] [--quick]

Results are printed and written to ``benchmarks/results/fit*.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import sharedrep as sr
from _common import LAGS, best_of_threads, core_cohort, emit


def reference_products(designs: list[tuple[np.ndarray, int]]) -> None:
    """``Phi' [Phi Y]`` over prebuilt designs."""
    for z, q in designs:
        z[:, :q].T @ z


def prebuilt(cohort: sr.Cohort, expansion: sr.TemporalExpansion) -> list[tuple[np.ndarray, int]]:
    q = expansion.n_columns(cohort[0].n_features)
    out = []
    for s in cohort:
        rows = np.flatnonzero(expansion.valid(s.n_samples, s.segments))
        phi = expansion.rows_of(np.asarray(s.behavior, float), rows, s.segments)
        out.append((np.hstack([phi, np.asarray(s.neural, float)[rows]]), q))
    return out


def wide_cohort(sessions: int, samples: int, neurons: int, features: int) -> sr.Cohort:
    """Pure-noise neurons and smooth behavior, continuous recordings (no trials)."""
    cohort, _ = sr.simulate.cohort(
        n_sessions=sessions, n_samples=samples, n_neurons=neurons, n_features=features,
        lags=range(0, 2), snr=0.0, smoothness=2.0, seed=0,
    )  # fmt: skip
    return sr.Cohort([sr.Session(s.behavior, s.neural, name=s.name) for s in cohort])


def measure(cohort, model: sr.ShaReD, repeat: int) -> dict[str, float]:
    expansion = model._check_params(cohort.feature_names)
    designs = prebuilt(cohort, expansion)
    times: dict[str, list[float]] = {"ref": [], "fit": [], "stats": [], "qspace": []}
    threads = []
    for _ in range(repeat):  # interleaved rounds: load biases every column alike
        t, n = best_of_threads(reference_products, designs)
        times["ref"].append(t)
        threads.append(n)
        t0 = time.perf_counter()
        model.fit(cohort)
        times["fit"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        stats = model.statistics(cohort)
        times["stats"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.fit_from_stats(stats, cohort, overwrite=True)  # as fit() runs it: in place
        times["qspace"].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    best["ref_threads"] = threads[int(np.argmin(times["ref"]))]
    best["rows"] = sum(z.shape[0] for z, _ in designs)
    best["q"] = expansion.n_columns(cohort[0].n_features)
    del designs
    return best


def row(label: str, m: dict[str, float]) -> str:
    return (
        f"| {label} | {m['q']:,} | {m['rows']:,} | {m['ref']:.3f} ({m['ref_threads']}) | "
        f"{m['stats']:.3f} | {m['qspace']:.3f} | {m['fit']:.3f} | **{m['fit'] / m['ref']:.2f}** "
        f"| {m['qspace'] / m['fit']:.0%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("core", "wide"), default="core")
    parser.add_argument("--continuous", action="store_true", help="core: sessions without trials")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a small size, seconds")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "fit.md"))
    args = parser.parse_args()
    header = [
        "| cohort | q | rows used | products (s) (BLAS threads) | statistics pass (s) | "
        "q-space part (s) | full fit (s) | fit / products | q-space share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = []
    if args.preset == "core":
        S, T, n = (4, 5_000, 50) if args.quick else (20, 20_000, 200)
        cohort, truth = core_cohort(S, T, n)
        if args.continuous:
            cohort = sr.Cohort([sr.Session(s.behavior, s.neural, name=s.name) for s in cohort])
        model = sr.ShaReD(truth.n_components, lags=LAGS, alpha=1.0)
        kind = "continuous" if args.continuous else "trials of 40-100 samples"
        rows.append(row(f"{S} x {T:,} x {n}, {kind}", measure(cohort, model, args.repeat)))
        out = Path(args.out)
        if args.continuous:
            out = out.with_name(out.stem + "_continuous" + out.suffix)
        title = "core benchmark (10 features x 10 lags)"
    else:
        S, T, n = (4, 4_000, 50) if args.quick else (8, 20_000, 100)
        for p, L in ((10, 10), (25, 40), (50, 40)):
            if args.quick and p * L > 1000:
                continue
            cohort = wide_cohort(S, T, n, p)
            model = sr.ShaReD(4, lags=range(L), alpha=10.0)
            rows.append(
                row(f"{S} x {T:,} x {n}, {p} x {L} lags", measure(cohort, model, args.repeat))
            )
            print(rows[-1], flush=True)
        out = Path(args.out).with_name("fit_wide.md")
        title = "wide designs: many features and long windows"
    lines = [
        f"# Fit cost relative to the Phi'[Phi Y] products: {title}",
        "",
        f"Command: `python benchmarks/bench_fit.py --preset {args.preset}"
        f"{' --continuous' if args.continuous else ''}{' --quick' if args.quick else ''}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}. "
        f"Best of {args.repeat} interleaved rounds; the products with the better of 1 and "
        f"{os.cpu_count()} BLAS threads (shown).",
        "",
        *header,
        *rows,
    ]
    emit("\n".join(lines), None if args.quick else out, append=False)


if __name__ == "__main__":
    main()
