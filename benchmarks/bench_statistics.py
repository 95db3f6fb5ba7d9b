"""Cost of model selection and of the circular-shift null, as ratios to one fit.

Cohort (the core benchmark's): 20 sessions x 20,000 samples x 200 neurons, 10 behavioral
features x lags range(-5, 5) = q 100 lagged features. The reference is one ``ShaReD.fit`` on the
same cohort in the same run (statistics pass + solve), timed with one BLAS thread and with all
of them, the better kept (``_common.best_of_threads``); the steps measured run as the library
runs them (cross-validation pins one BLAS thread per fold task). Every time is the best of 2
runs (3 for the reference). Measured:

* 5-fold cross-validation over ranks 1..10 at one alpha (the issue's target: <= 3x one fit),
  and over ranks 1..10 x 3 alphas;
* ``encoding_map`` with a 1000-shift circular null (target: <= 10x one fit), and the part of it
  that is the FFT null itself (latents, FFT cross-correlations, p-values);
* with ``--cluster N``: the CV over ranks x 3 alphas again, its fold tasks on a local Dask
  cluster of N single-threaded worker processes (what the tasks carry to the workers shows
  here; the statistics pass stays in process).

Usage::

    python benchmarks/bench_statistics.py [--sessions 20] [--samples 20000] [--neurons 200]
        [--cluster 2] [--out benchmarks/results/statistics.md]

Set ``OPENBLAS_NUM_THREADS=1`` to pin BLAS to one thread (the q-space loops are then faster on
a small, shared machine; the statistics pass is slower).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from functools import partial

import numpy as np

import sharedrep as sr
from _common import LAGS, best_of_threads, core_cohort, emit, peak_bytes
from sharedrep import inference, selection
from sharedrep.selection import FoldStats
from sharedrep.selection._cv import _base_params, _cross_validate_stats


def timed(fn, *args, repeat: int = 2, **kw):
    """Result and best wall time of ``repeat`` calls (the machine is shared: best of n)."""
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


def reference_fit(model: sr.ShaReD, cohort, repeat: int) -> tuple[sr.ShaReD, float, int]:
    """The fitted model, and the best wall time of ``model.fit`` over ``repeat`` rounds, each
    timed with one BLAS thread and with all of them (``_common.best_of_threads``), and the
    thread count of the best: the library's own steps are measured against a fair fit."""
    times = [best_of_threads(model.fit, cohort) for _ in range(repeat)]
    t, n = min(times)
    return model, t, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--components", type=int, default=4, help="true rank; also the fit's")
    ap.add_argument("--n-null", type=int, default=1000)
    ap.add_argument("--cluster", type=int, default=0, help="also time CV on N local workers")
    ap.add_argument("--out", default=None, help="append a markdown report to this file")
    ap.add_argument(
        "--wide",
        action="store_true",
        help="q = 1,000 (25 features x 40 lags), 8 x 20,000 x 100 pure-noise neurons: "
        "5-fold CV over ranks 1..10 against one fit (target <= 2.5x)",
    )
    args = ap.parse_args()
    if args.wide:
        wide(args)
        return
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")  # use_cluster sets it to 1
    warnings.simplefilter("ignore", sr.SharedRepWarning)
    lags = LAGS
    cohort, _ = core_cohort(
        args.sessions, args.samples, args.neurons, args.components, trial_length=(200, 400)
    )
    q = 10 * len(lags)
    model, t_fit, fit_threads = reference_fit(sr.ShaReD(args.components, lags=lags), cohort, 3)
    cv, t_cv = timed(sr.cross_validate, cohort, range(1, 11), [1.0], folds=5, lags=lags)
    cv3, t_cv3 = timed(
        sr.cross_validate, cohort, range(1, 11), [1.0, 100.0, 10000.0], folds=5, lags=lags
    )
    em, t_em = timed(inference.encoding_map, model, cohort, n_null=args.n_null)

    # the FFT null alone: latents of every session, all shifts at once, p-values
    def null_only() -> None:
        rng = np.random.default_rng(0)
        for s in cohort:
            labels = np.zeros(s.n_samples, dtype=np.int64)
            inference.nulls._null_stats(
                model, s, "none", [model], labels, "circular", args.n_null, None, rng
            )

    _, t_null = timed(null_only)
    _, t_pass = timed(FoldStats.compute, cohort, model, 5)
    if args.cluster:
        # the grid from precomputed fold statistics, in process and with fold tasks on workers
        folds = FoldStats.compute(cohort, model, 5)
        grid = (list(range(1, 11)), [1.0, 100.0, 10000.0])
        params = _base_params(None, {"lags": lags})
        run = partial(_cross_validate_stats, folds, *grid, params, "1se", selection.CV_TOL)
        _, t_grid = timed(run)
        client = sr.use_cluster(n_workers=args.cluster, threads_per_worker=1)
        try:
            _, t_dask = timed(run)
        finally:
            sr.use_serial()
            client.close()
    rows = [
        (f"one ShaReD.fit (reference; {fit_threads} BLAS thread(s), the better)", t_fit, 1.0, ""),
        ("fold statistics pass (5 folds)", t_pass, t_pass / t_fit, ""),
        ("5-fold CV, ranks 1..10, 1 alpha", t_cv, t_cv / t_fit, "<= 3"),
        ("5-fold CV, ranks 1..10 x 3 alphas", t_cv3, t_cv3 / t_fit, ""),
        *(
            [
                ("  its grid from fold statistics, in process", t_grid, t_grid / t_fit, ""),
                (f"  the same on {args.cluster} local Dask workers", t_dask, t_dask / t_fit, ""),
            ]
            if args.cluster
            else []
        ),
        (f"encoding_map, {args.n_null}-shift circular null", t_em, t_em / t_fit, "<= 10"),
        (f"  of which the FFT null ({args.n_null} shifts)", t_null, t_null / t_fit, ""),
    ]
    lines = [
        f"### {args.sessions} sessions x {args.samples} samples x {args.neurons} neurons, "
        f"q = {q}, d = {args.components}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, "
        f"OPENBLAS_NUM_THREADS={threads}. Chosen by CV: n_components={cv.n_components} "
        f"(true {args.components}); with 3 alphas: n_components={cv3.n_components}, "
        f"alpha={cv3.alpha:g}. Encoding at q<0.05: "
        f"{em.neurons['encodes'].mean():.3f} of neurons.",
        "",
        "| step | seconds | ratio to one fit | target |",
        "|---|---:|---:|---|",
        *[f"| {name} | {t:.2f} | {r:.2f} | {tgt} |" for name, t, r, tgt in rows],
        "",
    ]
    text = "\n".join(lines)
    emit(text, args.out)


def wide(args: argparse.Namespace) -> None:
    """Cross-validation on a wide design: interleaved rounds of one fit and one CV."""
    from bench_fit import wide_cohort

    warnings.simplefilter("ignore", sr.SharedRepWarning)
    cohort = wide_cohort(8, 20_000, 100, 25)
    lags = range(40)
    fit_t, cv_t = [], []
    for _ in range(2):
        _, t, n = reference_fit(sr.ShaReD(4, lags=lags, alpha=10.0), cohort, 1)
        fit_t.append((t, n))
        cpu = time.process_time()
        cv, t = timed(sr.cross_validate, cohort, range(1, 11), [10.0], folds=5, lags=lags,
                      repeat=1)  # fmt: skip
        cv_t.append((t, time.process_time() - cpu))
    (t_fit, fit_threads), (t_cv, cpu_cv) = min(fit_t), min(cv_t)
    # the work: CPU seconds of all threads, against what the cores give in the target's time
    cpu = time.process_time()
    sr.ShaReD(4, lags=lags, alpha=10.0).fit(cohort)
    cpu_fit = time.process_time() - cpu
    n_cpu = os.cpu_count() or 1
    # peak memory, in an untimed run of each (tracemalloc sees numpy's allocations)
    fit_mb = peak_bytes(sr.ShaReD(4, lags=lags, alpha=10.0).fit, cohort) / 1e6
    cv_mb = peak_bytes(sr.cross_validate, cohort, range(1, 11), [10.0], folds=5, lags=lags) / 1e6
    lines = [
        "### Wide design: 8 sessions x 20,000 samples x 100 pure-noise neurons, q = 1,000 "
        "(25 features x 40 lags), continuous",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs. Best of 2 interleaved rounds. "
        f"CV chose n_components={cv.n_components} ({cv.split}).",
        "",
        "| step | seconds | ratio to one fit | target | peak memory (MB) |",
        "|---|---:|---:|---|---:|",
        f"| one ShaReD.fit, rank 4 (reference; {fit_threads} BLAS thread(s), the better) "
        f"| {t_fit:.2f} | 1.00 | | {fit_mb:.0f} |",
        f"| 5-fold CV, ranks 1..10, 1 alpha | {t_cv:.2f} | {t_cv / t_fit:.2f} | <= 2.5 "
        f"| {cv_mb:.0f} |",
        "",
        f"CPU time (all threads): one fit {cpu_fit:.2f} s (default threads), the CV above "
        f"{cpu_cv:.2f} s. In 2.5x the fit's time the {n_cpu} cores give at most "
        f"{2.5 * t_fit * n_cpu:.2f} CPU-s.",
        "",
    ]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
