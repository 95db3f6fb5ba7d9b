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
