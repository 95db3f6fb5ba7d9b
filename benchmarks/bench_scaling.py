"""How the cost of a fit grows: time and peak memory against sessions, samples, neurons and q.

Each point is one ``ShaReD(4, alpha=10).fit`` in a fresh process, on pure-noise neurons and
smooth behavior (continuous recordings), with one BLAS thread. Axes (the others held fixed):

==========  =====================================  =========================================
axis        values                                 fixed
==========  =====================================  =========================================
sessions    10, 30, 100, 300, 1,000                2,000 samples x 20 neurons, q = 50
samples     1e4, 1e5, 1e6, 1e7 (memory-mapped      1 session x 20 neurons, q = 50
            .npy files on disk: out of core)
neurons     10, 100, 1,000, 10,000                 4 sessions x 5,000 samples, q = 50
q           50, 200, 1,000, 2,000, 4,000           4 sessions x 10,000 samples x 50 neurons
            (5x10, 10x20, 25x40, 50x40, 50x80)
==========  =====================================  =========================================

Reported per point: wall time, and the peak of the memory the fit itself allocates (numpy and
Python, ``tracemalloc``; the recordings, built or mapped before, are not counted, nor are pages
of a memory-mapped file, which the operating system can drop). The slope of each log-log line
(time or memory ~ size^slope, least squares over the points) is printed, written to
``benchmarks/results/scaling.md`` and plotted in ``benchmarks/results/scaling.png``.

Usage::

    python benchmarks/bench_scaling.py            # the full grid (about 20 minutes, 2 GB of disk)
    python benchmarks/bench_scaling.py --quick    # smaller values, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
Q_SHAPES = {50: (5, 10), 200: (10, 20), 1000: (25, 40), 2000: (50, 40), 4000: (50, 80)}
FULL = {
    "sessions": [10, 30, 100, 300, 1000],
    "samples": [10_000, 100_000, 1_000_000, 10_000_000],
    "neurons": [10, 100, 1000, 10_000],
    "q": [50, 200, 1000, 2000, 4000],
}
QUICK = {
    "sessions": [4, 8, 16],
    "samples": [5_000, 20_000, 80_000],
    "neurons": [10, 40, 160],
    "q": [50, 200, 500],
}
Q_SHAPES[500] = (10, 50)


def _behavior(rng: np.random.Generator, T: int, p: int) -> np.ndarray:
    """Smooth behavior: an AR(1) per feature (fast for long recordings)."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -0.9], rng.normal(size=(T, p)), axis=0)


def point(axis: str, value: int, folder: str) -> dict[str, float]:
    """Build the data of one point, then time one fit and trace its allocations."""
    import time

    import sharedrep as sr
    from _common import peak_bytes

    rng = np.random.default_rng(0)
    S, T, n, q = 4, 5000, 50, 50
    if axis == "sessions":
        S, T, n = value, 2000, 20
    elif axis == "samples":
        S, T, n = 1, value, 20
    elif axis == "neurons":
        S, T, n = 4, 5000, value
    else:
        S, T, n, q = 4, 10_000, 50, value
    p, L = Q_SHAPES[q]
    sessions = []
    for i in range(S):
        if axis == "samples":  # on disk, read chunk by chunk
            px, py = Path(folder) / f"x_{T}.npy", Path(folder) / f"y_{T}.npy"
            if not px.exists():
                X = np.lib.format.open_memmap(px, mode="w+", dtype="f8", shape=(T, p))
                Y = np.lib.format.open_memmap(py, mode="w+", dtype="f4", shape=(T, n))
                for a in range(0, T, 1_000_000):
                    b = min(a + 1_000_000, T)
                    X[a:b] = _behavior(rng, b - a, p)
                    Y[a:b] = rng.normal(size=(b - a, n))
                X.flush()
                Y.flush()
                del X, Y
            sessions.append(sr.Session(sr.open_npy(px), sr.open_npy(py), name=f"s{i}"))
        else:
            X = _behavior(rng, T, p)
            Y = rng.normal(size=(T, n)).astype(np.float32)
            sessions.append(sr.Session(X, Y, name=f"s{i}"))
    model = sr.ShaReD(4, lags=range(L), alpha=10.0)
    t0 = time.perf_counter()
    model.fit(sessions)
    wall = time.perf_counter() - t0
    peak = peak_bytes(model.fit, sessions)
    return {"wall_s": wall, "peak_bytes": peak, "S": S, "T": T, "n": n, "q": q}


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y on log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--axes", nargs="*", default=list(FULL))
    ap.add_argument("--out", default=str(HERE / "results" / "scaling.md"))
    args = ap.parse_args()
    grid = QUICK if args.quick else FULL
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=HERE / "results") as folder:
        for axis in args.axes:
            results[axis] = []
            for value in grid[axis]:
                cmd = [sys.executable, __file__, "_point", axis, str(value), folder]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                res = json.loads(out.strip().splitlines()[-1])
                results[axis].append({"value": value, **res})
                print(axis, value, f"{res['wall_s']:.3f} s", f"{res['peak_bytes'] / 2**20:.1f} MB",
                      flush=True)  # fmt: skip
    lines = [
        "# How the cost of a fit grows",
        "",
        f"Command: `python benchmarks/bench_scaling.py{' --quick' if args.quick else ''}`. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, one BLAS thread, numpy "
        f"{np.__version__}. One fit of rank 4 per point, in a fresh process; memory: the peak "
        "the fit allocates (tracemalloc), recordings excluded.",
        "",
        "| axis | values | time (s) | peak memory (MB) | time slope | memory slope |",
        "|---|---|---|---|---:|---:|",
    ]
    for axis, rows in results.items():
        v = [r["value"] for r in rows]
        t = [r["wall_s"] for r in rows]
        m = [r["peak_bytes"] / 2**20 for r in rows]
        lines.append(
            f"| {axis} | {', '.join(f'{x:,}' for x in v)} | {', '.join(f'{x:.3g}' for x in t)} | "
            f"{', '.join(f'{x:.3g}' for x in m)} | {slope(v, t):.2f} | {slope(v, m):.2f} |"
        )
    text = "\n".join([*lines, ""])
    print(text)
    if not args.quick:
        Path(args.out).write_text(text, encoding="utf-8")
        plot(results, Path(args.out).with_suffix(".png"))


def plot(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for axis, rows in results.items():
        v = np.array([r["value"] for r in rows], float)
        v = v / v[0]
        axes[0].loglog(v, [r["wall_s"] for r in rows], "o-", label=axis)
        axes[1].loglog(v, [r["peak_bytes"] / 2**20 for r in rows], "o-", label=axis)
    for ax, what in zip(axes, ("time (s)", "peak memory of the fit (MB)"), strict=True):
        ax.set_xlabel("size relative to the smallest point of the axis")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(frameon=False)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_point":
        print(json.dumps(point(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    else:
        main()
