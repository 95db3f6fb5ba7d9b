"""Cost of a full ShaReD fit relative to the unavoidable work, measured in one run.

The unavoidable work is one pass of products ``Phi_s' [Phi_s Y_s]`` over every session's
analysed rows (the design prebuilt, contiguous, float64). The fit does that pass (building each
chunk's design on the fly) plus standardisation, the q-space optimisation and the canonical basis.

    python benchmarks/bench_fit.py            # the issue's size: 20 x 20,000 x 200, q = 100
    python benchmarks/bench_fit.py --quick    # a small size, seconds

Timings are the best of ``--repeat`` runs, interleaved, so that a noisy shared machine biases
both sides alike. Results are printed and written to ``benchmarks/results/fit.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import sharedrep as sr
from _common import LAGS, core_cohort, emit
from sharedrep.features import valid_rows


def reference_products(designs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Seconds for ``Phi' [Phi Y]`` over prebuilt designs."""
    t0 = time.perf_counter()
    for z, q in designs:
        z[:, :q].T @ z
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--neurons", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="4 x 5,000 x 50")
    parser.add_argument(
        "--continuous",
        action="store_true",
        help="sessions without trial segments (every row valid: no gather of neural rows)",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "fit.md"))
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.samples, args.neurons = 4, 5_000, 50
    lags = LAGS  # 10 features x 10 lags: q = 100
    cohort, truth = core_cohort(args.sessions, args.samples, args.neurons)
    if args.continuous:
        cohort = sr.Cohort([sr.Session(s.behavior, s.neural, name=s.name) for s in cohort])
    expansion = sr.TemporalExpansion(lags)
    q = expansion.n_columns(10)
    designs = []
    for s in cohort:
        rows = np.flatnonzero(valid_rows(s.n_samples, expansion.lags, s.segments))
        phi = expansion.design_rows(np.asarray(s.behavior, float), rows)
        designs.append((np.hstack([phi, np.asarray(s.neural, float)[rows]]), q))
    n_rows = sum(z.shape[0] for z, _ in designs)

    model = sr.ShaReD(truth.n_components, lags=lags, alpha=1.0)
    fit_times, ref_times = [], []
    for _ in range(args.repeat):
        ref_times.append(reference_products(designs))
        t0 = time.perf_counter()
        model.fit(cohort)
        fit_times.append(time.perf_counter() - t0)
    fit_t, ref_t = min(fit_times), min(ref_times)
    ratio = fit_t / ref_t
    angle = truth.max_angle(model)
    lines = [
        "# Fit cost relative to the Phi'[Phi Y] products",
        "",
        f"Command: `python benchmarks/bench_fit.py{' --quick' if args.quick else ''}"
        f"{' --continuous' if args.continuous else ''}`  ",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; numpy {np.__version__}",
        "",
        "| sessions | samples | neurons | q | rows used | products (s) | full fit (s) | ratio |",
        "|---|---|---|---|---|---|---|---|",
        f"| {args.sessions} | {args.samples:,} | {args.neurons} | {q} | {n_rows:,} | "
        f"{ref_t:.3f} | {fit_t:.3f} | **{ratio:.2f}** |",
        "",
        f"Optimiser iterations: {model.n_iter_}; largest principal angle to the true W: "
        f"{angle:.2f} deg. Best of {args.repeat} interleaved runs.",
    ]
    out = Path(args.out)
    if args.continuous:
        out = out.with_name(out.stem + "_continuous" + out.suffix)
    emit("\n".join(lines), None if args.quick else out, append=False)


if __name__ == "__main__":
    main()
