"""Pieces the benchmark scripts share: the core benchmark cohort and writing a result."""

from __future__ import annotations

from pathlib import Path

import sharedrep as sr

#: lags of the core benchmark: with 10 features, q = 100 lagged columns
LAGS = range(-5, 5)


def core_cohort(
    sessions: int = 20,
    samples: int = 20_000,
    neurons: int = 200,
    components: int = 3,
    trial_length: tuple[int, int] = (40, 100),
) -> tuple[sr.Cohort, sr.simulate.Truth]:
    """The issues' benchmark cohort: ``sessions x samples x neurons``, 10 features x 10 lags."""
    return sr.simulate.cohort(
        n_sessions=sessions,
        n_samples=samples,
        n_neurons=neurons,
        n_features=10,
        n_components=components,
        lags=LAGS,
        trial_length=trial_length,
        seed=0,
    )


def emit(text: str, out: str | Path | None, *, append: bool = True) -> None:
    """Print a markdown result and write it to ``out`` (appended, or replacing the file)."""
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a" if append else "w") as fh:
            fh.write(text.rstrip("\n") + "\n")


def blas_threads() -> list[int]:
    """The BLAS thread counts a fair reference tries: one, and all the machine has."""
    import os

    return sorted({1, os.cpu_count() or 1})


def best_of_threads(fn, *args, **kwargs) -> tuple[float, int]:
    """Best wall time of ``fn(*args)`` over BLAS thread counts (one and all), and that count.

    A reference run with the default threads alone is unfair on a busy machine (multithreaded
    BLAS was up to 18x slower than one thread on a loaded 2-core box), and with one thread alone
    unfair on an idle one: take the better of both, measured in the same run.
    """
    import time

    from threadpoolctl import threadpool_limits

    best, best_n = float("inf"), 1
    for n in blas_threads():
        with threadpool_limits(limits=n, user_api="blas"):
            t0 = time.perf_counter()
            fn(*args, **kwargs)
            t = time.perf_counter() - t0
        if t < best:
            best, best_n = t, n
    return best, best_n


def peak_bytes(fn, *args, **kw) -> int:
    """Peak memory (bytes) that ``fn(*args)`` allocates (tracemalloc: numpy's and Python's
    allocations; data built before the call are not counted)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn(*args, **kw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
